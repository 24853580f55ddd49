"""A thin helper that stamps events with the account, folder and thread.

Engine code says ``report.state(COPYING)`` or ``report.warn(...)``; the
context it runs in is filled in here, once, so that no call site can forget
which LED an event belongs to.

An LED stands for a server connection.  A worker of a Maildir account holds
one, so its thread is its LED.  A worker of an IMAP-to-IMAP account holds two,
one per server, and gets two LEDs: the thread's own name for the remote
server's connection and ``<thread>/<local repository>`` for the local one.
Work that concerns one side lights that side's LED and shows the other as
waiting on the sync controller.
"""

from __future__ import annotations

import threading
import time

from engine.events import (
    Emit,
    Error,
    Level,
    Log,
    Progress,
    Scope,
    ThreadState,
    ThreadStateChanged,
)
from engine.sides import Side

PROGRESS_EVERY = 0.1  # seconds


class Reporter:
    def __init__(
        self,
        emit: Emit,
        account: str,
        folder: str | None = None,
        dry_run: bool = False,
        local_connection: str | None = None,
    ) -> None:
        self.emit = emit
        self.account = account
        self.folder = folder
        self.dry_run = dry_run
        # The local repository's name when it is an IMAP server too (two LEDs).
        self.local_connection = local_connection
        self._last_progress = float("-inf")

    def for_folder(self, folder: str) -> Reporter:
        return Reporter(self.emit, self.account, folder, self.dry_run, self.local_connection)

    @property
    def thread(self) -> str:
        return threading.current_thread().name

    def state(self, state: ThreadState, side: Side | None = None) -> None:
        """``side``: the work concerns that side's connection only."""
        thread = self.thread
        if self.local_connection is None:
            self._state(thread, state)
            return
        for s, led in ((Side.LOCAL, f"{thread}/{self.local_connection}"), (Side.REMOTE, thread)):
            self._state(led, state if side in (None, s) else ThreadState.SYNC_CONTROLLER)

    def _state(self, led: str, state: ThreadState) -> None:
        self.emit(ThreadStateChanged(led, state, self.account, self.folder, self.dry_run))

    def log(self, level: Level, message: str) -> None:
        self.emit(Log(level, message, self.account, self.folder, self.thread))

    def debug(self, message: str) -> None:
        self.log(Level.DEBUG, message)

    def info(self, message: str) -> None:
        self.log(Level.INFO, message)

    def warn(self, message: str) -> None:
        self.log(Level.WARNING, message)

    def error(self, scope: Scope, message: str) -> None:
        self.emit(Error(scope, message, self.account, self.folder))

    def progress(self, done: int, total: int, bytes_done: int, bytes_total: int) -> None:
        """Cumulative counters, at most ``PROGRESS_EVERY`` seconds apart (and the last one).

        Thousands of messages a second would otherwise mean thousands of events
        for every frontend to digest, for numbers nobody can read that fast.
        """
        now = time.monotonic()
        if done < total and now - self._last_progress < PROGRESS_EVERY:
            return
        self._last_progress = now
        self.emit(Progress(self.account, self.folder or "", done, total, bytes_done, bytes_total))
