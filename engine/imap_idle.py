"""Watching folders with IMAP IDLE: a connection per folder that says when to sync it.

A watcher never syncs by itself; it calls ``on_change(folder)`` and goes
back to waiting, so a sync always takes the one well-tested path.  It keeps
going for as long as the run lasts: IDLE is renewed well before the server's
29-minute limit, and a dropped connection (the server restarting, a
``doveadm kick``, a laptop suspend) is re-established with growing pauses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from engine.errors import AuthenticationError, SyncError
from engine.events import ThreadState
from engine.imap import ImapRepository
from engine.imap_trace import Trace
from engine.report import Reporter
from engine.settings import ImapSettings

RENEW_AFTER = 25 * 60.0  # seconds; RFC 2177 servers may drop an IDLE after 30 minutes
POLL = 1.0  # seconds between looks at the stop flag while idling
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
SETTLE = 0.3  # seconds to gather a burst of notifications into one sync
_CHANGES = {b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED"}


class ConnectionDropped(Exception):
    """The IDLE connection is gone; the watcher reconnects."""


def _interesting(responses: list[Any]) -> bool:
    for response in responses:
        words = {item.upper() for item in response if isinstance(item, bytes)}
        if b"BYE" in words:
            raise ConnectionDropped("the server said BYE")
        if words & _CHANGES:
            return True
    return False


class IdleWatcher:
    """Watches one folder of one IMAP repository until ``stop`` is set."""

    def __init__(
        self,
        settings: ImapSettings,
        folder: str,
        on_change: Callable[[str], None],
        stop: threading.Event,
        report: Reporter,
        trace: Trace | None = None,
    ) -> None:
        self.settings = settings
        self.folder = folder
        self.on_change = on_change
        self.stop = stop
        self.report = report.for_folder(folder)
        self.trace = trace
        self.renew_after = RENEW_AFTER

    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                self._session()
                failures = 0
            except AuthenticationError as e:
                self.report.warn(f"IDLE stopped: {e}")
                return
            except (SyncError, ConnectionDropped, OSError) as e:
                pause = BACKOFF[min(failures, len(BACKOFF) - 1)]
                failures += 1
                self.report.info(f"IDLE connection lost ({e}); reconnecting in {pause:g} s")
                self.report.state(ThreadState.CONNECTING)
                self.stop.wait(pause)
        self.report.state(ThreadState.TERMINATED)

    def _session(self) -> None:
        """One connection: select, then IDLE rounds until stop or a drop."""
        # Uncompressed: waiting in IDLE polls the socket, which cannot see what
        # an inflater already holds; and an idle line has nothing to compress.
        repo = ImapRepository(replace(self.settings, compress=False), self.trace)
        try:
            self.report.state(ThreadState.CONNECTING)
            repo.open_folder(self.folder)
            client = repo.client()
            if not client.has_capability("IDLE"):
                raise AuthenticationError(f"{self.settings.name} does not offer IDLE")
            self.on_change(self.folder)  # catch up with what happened while we were away
            while not self.stop.is_set():
                self._round(client)
        finally:
            repo.close()

    def _round(self, client: Any) -> None:
        """IDLE until a change, the renewal time or stop; then DONE."""
        try:
            client.idle()
        except Exception as e:  # imaplib's abort, socket errors, imapclient's errors
            raise ConnectionDropped(str(e)) from e
        self.report.state(ThreadState.IDLE_WAIT)
        changed = self._wait(client, time.monotonic() + self.renew_after)
        try:
            client.idle_done()
        except Exception as e:
            raise ConnectionDropped(str(e)) from e
        if changed:
            self.on_change(self.folder)

    def _wait(self, client: Any, deadline: float) -> bool:
        while not self.stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                responses = client.idle_check(timeout=POLL)
            except Exception as e:
                raise ConnectionDropped(str(e)) from e
            if _interesting(responses):
                time.sleep(SETTLE)  # a burst (many EXISTS) becomes one sync
                return True
            if not responses and time.monotonic() - started < POLL / 2:
                raise ConnectionDropped("the connection was closed")  # readable, yet nothing
        return False
