"""The dashboard model, without urwid: LEDs, progress, rates, countdown and the bounded log."""

from __future__ import annotations

import pytest

from engine.events import (
    AccountFinished,
    AccountStarted,
    Countdown,
    FolderFinished,
    FolderStarted,
    Level,
    Log,
    PasswordRequest,
    Progress,
    SyncCounts,
    ThreadState,
    ThreadStateChanged,
)
from tests.ui.sample_events import T0, sample_run
from ui.blinken_model import MAX_THREADS_PER_GROUP, DashboardModel, Tally


def test_leds_are_grouped_main_first_then_by_account_order() -> None:
    model = DashboardModel(["work", "home"])
    model.apply_all(
        [
            ThreadStateChanged("home-1", ThreadState.CONNECTING, account="home"),
            ThreadStateChanged("work-1", ThreadState.COPYING, account="work"),
            ThreadStateChanged("main", ThreadState.MAIN),
            ThreadStateChanged("work-2", ThreadState.DELETING, account="work"),
        ]
    )
    groups = [(account, [led.name for led in leds]) for account, leds in model.groups()]
    assert groups == [(None, ["main"]), ("work", ["work-1", "work-2"]), ("home", ["home-1"])]
    assert model.hotkeys() == {"1": "work", "2": "home"}


def test_a_thread_keeps_its_account_and_takes_each_new_state() -> None:
    model = DashboardModel()
    model.apply(ThreadStateChanged("w", ThreadState.CONNECTING, account="work"))
    model.apply(ThreadStateChanged("w", ThreadState.COPYING, dry_run=True))
    led = model.threads["w"]
    assert (led.account, led.state, led.colour()) == ("work", ThreadState.COPYING, "fuchsia")
    assert "work" in model.accounts  # first seen in an event: gets a view and a hotkey
    assert model.accounts["work"].hotkey == "1"


def test_finished_threads_make_room_when_a_group_grows() -> None:
    model = DashboardModel()
    for i in range(MAX_THREADS_PER_GROUP + 10):
        model.apply(ThreadStateChanged(f"t{i}", ThreadState.COPYING, account="a"))
        model.apply(ThreadStateChanged(f"t{i}", ThreadState.TERMINATED, account="a"))
    model.apply(ThreadStateChanged("live", ThreadState.COPYING, account="a"))
    names = [led.name for led in model.groups()[0][1]]
    assert len(names) == MAX_THREADS_PER_GROUP
    assert "live" in names and "t0" not in names


def test_progress_sums_the_latest_counters_of_the_folders_in_flight() -> None:
    model = DashboardModel(["work"])
    model.apply_all(
        [
            AccountStarted("work", folders_total=2, ts=T0),
            Progress("work", "INBOX", 1, 10, 100, 1000, ts=T0),
            Progress("work", "INBOX", 5, 10, 500, 1000, ts=T0 + 1),
            Progress("work", "Sent", 2, 4, 20, 40, ts=T0 + 2),
        ]
    )
    view = model.accounts["work"]
    assert view.in_flight() == Tally(7, 14, 520, 1040)
    model.apply(FolderFinished("work", "INBOX", SyncCounts(copied_to_local=5)))
    assert view.in_flight() == Tally(2, 4, 20, 40)
    assert (view.messages_done, view.bytes_done) == (7, 520)  # what the rate is measured on
    model.apply(AccountStarted("work", folders_total=2, ts=T0 + 3))
    assert (view.in_flight(), view.messages_done, view.phase) == (Tally(), 0, "syncing")


def test_eta_is_the_accounts_only_once_the_last_folder_has_started() -> None:
    model = DashboardModel(["a"])
    model.apply(AccountStarted("a", folders_total=3, ts=T0))
    model.apply(FolderStarted("a", "INBOX", 1, 3, ts=T0))
    for second in range(1, 20):  # 100 messages, 100 kB a second
        model.apply(
            Progress("a", "INBOX", 100 * second, 1900, 10**5 * second, 19 * 10**5, ts=T0 + second)
        )
    model.apply(FolderFinished("a", "INBOX", SyncCounts(copied_to_local=1900), ts=T0 + 19))
    view = model.accounts["a"]
    assert view.eta() is None  # nothing in flight: no "ETA 0:00" with two folders to go
    model.apply(FolderStarted("a", "Sent", 2, 3, ts=T0 + 19))
    model.apply(Progress("a", "Sent", 52, 90, 52_000, 90_000, ts=T0 + 19.5))
    assert (view.eta(), view.all_started()) == (1.0, False)  # 0.38 s, rounded up
    model.apply(Progress("a", "Sent", 90, 90, 90_000, 90_000, ts=T0 + 20))
    model.apply(FolderFinished("a", "Sent", SyncCounts(copied_to_local=90), ts=T0 + 20))
    model.apply(FolderStarted("a", "Drafts", 3, 3, ts=T0 + 20))
    model.apply(Progress("a", "Drafts", 10, 500, 10_000, 500_000, ts=T0 + 20.5))
    assert view.all_started()
    assert view.eta() == 6.0  # 490 kB at 95 kB/s (the last 9.5 s), rounded up


def test_several_folders_in_flight_are_all_counted() -> None:
    model = DashboardModel(["a"])
    model.apply_all(
        [
            AccountStarted("a", folders_total=4, ts=T0),
            FolderStarted("a", "INBOX", 1, 4, thread="a.1", ts=T0),
            FolderStarted("a", "Sent", 2, 4, thread="a.2", ts=T0),
            Progress("a", "INBOX", 3, 10, 0, 0, ts=T0),
            Progress("a", "Sent", 1, 5, 0, 0, ts=T0),
        ]
    )
    view = model.accounts["a"]
    assert list(view.active) == ["INBOX", "Sent"] and view.folder == "Sent"
    assert view.in_flight().messages_total == 15
    model.apply(FolderFinished("a", "Sent", SyncCounts(), thread="a.2"))
    assert list(view.active) == ["INBOX"] and view.folder == "INBOX"
    assert (view.folder_index, view.all_started()) == (2, False)


def test_rate_and_eta_come_from_recent_samples() -> None:
    model = DashboardModel(["a"])
    model.apply(AccountStarted("a", ts=T0))
    for second in range(5):
        model.apply(Progress("a", "INBOX", second * 2, 100, second * 1000, 20_000, ts=T0 + second))
    view = model.accounts["a"]
    byte_rate, msg_rate = view.rates()
    assert byte_rate == pytest.approx(1000.0)
    assert msg_rate == pytest.approx(2.0)
    assert view.eta() == pytest.approx((20_000 - 4000) / 1000)


def test_eta_falls_back_to_messages_without_sizes_and_is_none_when_stalled() -> None:
    model = DashboardModel(["a"])
    model.apply(Progress("a", "INBOX", 0, 10, 0, 0, ts=T0))
    view = model.accounts["a"]
    assert view.eta() is None
    model.apply(Progress("a", "INBOX", 4, 10, 0, 0, ts=T0 + 2))
    assert view.eta() == pytest.approx(3.0)


def test_a_burst_of_progress_keeps_few_rate_samples() -> None:
    model = DashboardModel(["a"])
    for i in range(10_000):
        model.apply(Progress("a", "INBOX", i, 10_000, i, 10_000, ts=T0 + i * 0.001))
    assert len(model.accounts["a"].samples) <= 64
    assert model.accounts["a"].rates()[1] == pytest.approx(1000.0, rel=0.01)


def test_folder_position_and_finish_show_in_the_account_view() -> None:
    model = DashboardModel(["a"])
    model.apply(FolderStarted("a", "Sent", 3, 12))
    view = model.accounts["a"]
    assert (view.folder, view.folder_index, view.folders_total) == ("Sent", 3, 12)
    model.apply(AccountFinished("a", SyncCounts(copied_to_local=2, flags_remote=1)))
    assert (view.phase, view.changes, view.folder) == ("done", 3, None)
    model.apply(AccountFinished("a", SyncCounts(), error="login refused"))
    assert (view.phase, view.error) == ("failed", "login refused")


def test_countdown_keeps_ticking_between_events() -> None:
    model = DashboardModel(["a"])
    model.apply(Countdown("a", 300, ts=T0))
    view = model.accounts["a"]
    assert view.next_sync_in(T0) == 300
    assert view.next_sync_in(T0 + 2.4) == 298
    assert view.next_sync_in(T0 + 1000) == 0


def test_idle_wait_shows_as_idle() -> None:
    model = DashboardModel(["a"])
    model.apply(ThreadStateChanged("a", ThreadState.IDLE_WAIT, account="a"))
    assert model.accounts["a"].phase == "idle"


def test_log_lines_take_the_colour_of_the_thread_that_wrote_them() -> None:
    model = DashboardModel()
    model.apply(ThreadStateChanged("w", ThreadState.COPYING, account="a"))
    model.apply(Log(Level.INFO, "copying", thread="w"))
    model.apply(ThreadStateChanged("w", ThreadState.ADDING_FLAGS, account="a"))
    model.apply(Log(Level.INFO, "flagging", thread="w"))
    model.apply(Log(Level.INFO, "from nowhere", thread="ghost"))
    colours = {entry.text: entry.colour for entry in model.log}
    assert colours == {"copying": "orange", "flagging": "yellow", "from nowhere": None}


def test_log_is_bounded_and_numbered() -> None:
    model = DashboardModel(max_log=100)
    for i in range(1000):
        model.apply(Log(Level.INFO, f"line {i}"))
    assert len(model.log) == 100
    assert model.logged == 1000
    assert model.log[0].text == "line 900" and model.log[0].seq == 900


def test_debug_lines_are_kept_only_in_debug_mode() -> None:
    quiet, loud = DashboardModel(), DashboardModel(debug=True)
    for model in (quiet, loud):
        model.apply(Log(Level.DEBUG, "noise"))
    assert len(quiet.log) == 0 and len(loud.log) == 1


def test_password_requests_queue_up_and_changes_are_reported_once() -> None:
    model = DashboardModel()
    model.apply(PasswordRequest("a", "remote", "Password:"))
    assert len(model.passwords) == 1
    assert {"prompt", "log"} <= model.take_changes()
    assert model.take_changes() == set()


def test_the_whole_sample_run_applies_and_ends_with_a_summary() -> None:
    model = DashboardModel(["work", "home"])
    model.apply_all(sample_run(exit_code=1))
    assert model.exit_code == 1
    assert model.final is not None and "exit code 1" in model.final.text
    assert model.accounts["home"].phase == "failed"
    assert model.threads["work-1"].state is ThreadState.TERMINATED


@pytest.mark.parametrize(
    ("prompt", "logged"),
    [
        ("Password for me@example.org (remote)", "a: Password for me@example.org (remote)"),
        ("\nKeep it?\x1b[31m\nType y and Enter", "a: Keep it??[31m"),
        ("", "a: password needed for repository 'remote'"),
    ],
)
def test_a_password_request_is_logged_by_the_first_line_of_its_prompt(
    prompt: str, logged: str
) -> None:
    model = DashboardModel()
    model.apply(PasswordRequest("a", "remote", prompt))
    assert [entry.text for entry in model.log] == [logged]
