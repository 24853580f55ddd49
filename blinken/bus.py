"""The queue between the engine's threads and the one frontend.

Producers never block and never wait for a slow screen: ``emit`` is a put on
an unbounded queue plus a wake-up call; the frontend drains in batches and
coalesces as it likes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from engine.events import Event


class EventBus:
    """Implements ``ui.base.EventSource`` for the frontend and ``Emit`` for the engine."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._waker: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        self._queue.put(event)
        with self._lock:
            waker = self._waker
        if waker is not None:
            waker()

    def wake(self) -> None:
        """Nudge the frontend without an event (the run's end flag was just set)."""
        with self._lock:
            waker = self._waker
        if waker is not None:
            waker()

    def drain(self, limit: int | None = None) -> list[Event]:
        out: list[Event] = []
        while limit is None or len(out) < limit:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out

    def get(self, timeout: float | None = None) -> Event | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def set_waker(self, waker: Callable[[], None] | None) -> None:
        with self._lock:
            self._waker = waker
