"""A scripted run touching every event type, shared by the frontend tests."""

from __future__ import annotations

from engine.events import (
    AccountFinished,
    AccountStarted,
    Countdown,
    Error,
    Event,
    FolderFinished,
    FolderStarted,
    Level,
    Log,
    PasswordRequest,
    PlannedAction,
    Progress,
    RunFinished,
    Scope,
    SyncCounts,
    ThreadState,
    ThreadStateChanged,
)

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def sample_run(exit_code: int = 1) -> list[Event]:
    """Two accounts: ``work`` syncs with one failing folder, ``home`` fails to log in."""
    return [
        ThreadStateChanged("main", ThreadState.MAIN, ts=T0),
        ThreadStateChanged("work", ThreadState.ACCOUNT_SYNC, account="work", ts=T0),
        AccountStarted("work", folders_total=2, ts=T0),
        ThreadStateChanged("work-1", ThreadState.CONNECTING, account="work", ts=T0 + 0.1),
        FolderStarted("work", "INBOX", 1, 2, ts=T0 + 0.2),
        ThreadStateChanged("work-1", ThreadState.COPYING, account="work", folder="INBOX", ts=T0),
        Progress("work", "INBOX", 1, 3, 1000, 3000, ts=T0 + 1),
        Progress("work", "INBOX", 3, 3, 3000, 3000, ts=T0 + 2),
        Log(Level.DEBUG, "UID FETCH 1:3", account="work", folder="INBOX", thread="work-1", ts=T0),
        Log(Level.INFO, "copied 3 messages", account="work", folder="INBOX", thread="work-1"),
        FolderFinished("work", "INBOX", SyncCounts(copied_to_local=3, bytes=3000), ts=T0 + 2),
        FolderStarted("work", "Sent", 2, 2, ts=T0 + 2),
        PlannedAction("work", "Sent", "delete message 7 on the server", ts=T0 + 2),
        Error(Scope.FOLDER, "Sent: permission denied", account="work", folder="Sent", ts=T0 + 3),
        FolderFinished("work", "Sent", SyncCounts(), error="permission denied", ts=T0 + 3),
        AccountFinished(
            "work", SyncCounts(copied_to_local=3, bytes=3000), folders_failed=1, ts=T0 + 3
        ),
        PasswordRequest("home", "home-remote", "Password for me@example.org:", ts=T0 + 4),
        AccountFinished("home", SyncCounts(), error="login refused", ts=T0 + 5),
        Log(Level.WARNING, "certificate expires in 3 days", account="home", ts=T0 + 5),
        Countdown("work", 300, ts=T0 + 6),
        Countdown("work", 299, ts=T0 + 7),
        ThreadStateChanged("work-1", ThreadState.TERMINATED, account="work", ts=T0 + 8),
        RunFinished(exit_code, ts=T0 + 9),
    ]


# The OfflineIMAP manual's list, written out here rather than read from ui.states.
MANUAL_COLOURS = {
    ThreadState.IDLE: "black",
    ThreadState.TERMINATED: "black",
    ThreadState.MAIN: "red",
    ThreadState.CONNECTING: "gray",
    ThreadState.ACCOUNT_SYNC: "purple",
    ThreadState.FOLDER_SYNC: "cyan",
    ThreadState.LOADING_LIST: "green",
    ThreadState.SYNC_CONTROLLER: "blue",
    ThreadState.COPYING: "orange",
    ThreadState.DELETING: "red",
    ThreadState.ADDING_FLAGS: "yellow",
    ThreadState.REMOVING_FLAGS: "pink",
    ThreadState.COUNTDOWN: "red",
}
