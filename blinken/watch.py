"""IDLE watchers for the accounts that ask for them (``idlefolders``).

They live for the whole run, beside the account loop; a change in a watched
folder wakes the loop with that folder's name, and the loop syncs just it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from engine.errors import SyncError
from engine.imap import ImapRepository
from engine.imap_idle import IdleWatcher
from engine.imap_trace import Trace
from engine.report import Reporter
from engine.settings import ImapSettings

ALL_FOLDERS = "*"


def watched_folders(settings: ImapSettings, wanted: tuple[str, ...], report: Reporter) -> list[str]:
    """``idlefolders`` as names; ``*`` means every folder the filter lets through."""
    if ALL_FOLDERS not in wanted:
        return list(wanted)
    repo = ImapRepository(settings)
    try:
        names = repo.list_folders()
    except SyncError as e:
        report.warn(f"cannot list folders to watch: {e}")
        return []
    finally:
        repo.close()
    return [n for n in names if settings.rules.folderfilter(n)]


class Watchers:
    """The IDLE threads of one account."""

    def __init__(
        self,
        account: str,
        settings: ImapSettings,
        on_change: Callable[[str], None],
        report: Reporter,
        trace: Trace | None = None,
    ) -> None:
        self.account = account
        self.settings = settings
        self.on_change = on_change
        self.report = report
        self.trace = trace
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, wanted: tuple[str, ...]) -> None:
        for folder in watched_folders(self.settings, wanted, self.report):
            watcher = IdleWatcher(
                self.settings, folder, self.on_change, self.stop, self.report, self.trace
            )
            thread = threading.Thread(
                target=watcher.run, name=f"{self.account}.idle.{folder}", daemon=True
            )
            thread.start()
            self.threads.append(thread)
        if self.threads:
            self.report.info(f"watching {len(self.threads)} folder(s) with IDLE")

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)
