"""The consumer loop of the line-based frontends (TTY, Basic, Quiet, Machine).

They have no screen to keep alive, so they simply block on the queue; they
handle whatever has piled up in one go and flush once per batch, which keeps a
fast sync from paying one write system call per event.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.events import Event, RunFinished
from ui.base import Commands, EventSource

POLL_SECONDS = 0.2
ENDING_POLL_SECONDS = 0.002  # after RunFinished: finished() is about to turn true


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
    ``finished()`` really is the end.  Once RunFinished has been handled, that
    declaration is a moment away and nothing will wake the wait for it: the
    wait is then short, or a no-op run could idle a whole ``poll`` at its end.
    """
    ending = False
    while True:
        done = commands.finished()
        batch = events.drain()
        if not batch:
            if done:
                return
            first = events.get(timeout=ENDING_POLL_SECONDS if ending else poll)
            if first is None:
                continue
            batch = [first]
        for event in batch:
            handle(event)
        flush()
        ending = ending or any(isinstance(event, RunFinished) for event in batch)
