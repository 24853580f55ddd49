"""When an account syncs next, and how much of it: the refresh clock of one account.

Three things wake an account: its ``autorefresh`` timer, a request (key,
SIGUSR1), and an IDLE watcher reporting a changed folder.  The first two ask
for the whole account; IDLE asks only for its folders, which makes that sync
cheap.  ``quick = N`` makes every N+1-th sync a full one that lists every
message instead of trusting stamps and CONDSTORE deltas.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from engine.frozen import Frozen, record


@record
class Wakeup(Frozen):
    """What the next sync should cover: None folders means the whole account."""

    folders: tuple[str, ...] | None


class AccountClock:
    def __init__(self, quick: int = 0) -> None:
        self.quick = quick
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._requested = False
        self._folders: set[str] = set()
        self._syncs = 0

    def request(self) -> None:
        with self._lock:
            self._requested = True
        self._event.set()

    def folder_changed(self, folder: str) -> None:
        with self._lock:
            self._folders.add(folder)
        self._event.set()

    def full_now(self) -> bool:
        """Whether the sync about to start lists everything (the first, then every quick+1)."""
        with self._lock:
            count, self._syncs = self._syncs, self._syncs + 1
        return self.quick > 0 and count % (self.quick + 1) == 0

    def wait(
        self,
        seconds: float | None,
        stopping: threading.Event,
        tick: Callable[[int], None],
    ) -> Wakeup | None:
        """Sleep until the timer, a request or an IDLE change; None when stopping."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while not stopping.is_set():
            wake = self._take()
            if wake is not None:
                return wake
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return Wakeup(None)
            if left is not None:
                tick(int(left + 0.999))
            self._event.wait(1.0 if left is None else min(1.0, left))
        return None

    def _take(self) -> Wakeup | None:
        with self._lock:
            self._event.clear()
            if self._requested:
                self._requested, self._folders = False, set()
                return Wakeup(None)
            if self._folders:
                folders, self._folders = tuple(sorted(self._folders)), set()
                return Wakeup(folders)
        return None
