"""The consumer loop of the line-based frontends (TTY, Basic, Quiet, Machine).

They have no screen to keep alive, so they simply block on the queue; they
handle whatever has piled up in one go and flush once per batch, which keeps a
fast sync from paying one write system call per event.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.events import Event
from ui.base import Commands, EventSource

POLL_SECONDS = 0.2


def pump(
    events: EventSource,
    commands: Commands,
    handle: Callable[[Event], None],
    flush: Callable[[], None],
    *,
    poll: float = POLL_SECONDS,
) -> None:
    """Feed every event to ``handle`` until the run is over and the queue is empty.

    ``finished()`` is read *before* draining: the application queues its last
    events before it declares the run finished, so an empty drain after a true
    ``finished()`` really is the end.
    """
    while True:
        done = commands.finished()
        batch = events.drain()
        if not batch:
            if done:
                return
            first = events.get(timeout=poll)
            if first is None:
                continue
            batch = [first]
        for event in batch:
            handle(event)
        flush()
