"""What a frontend is handed by the application, as protocols.

``ui`` may import only event types from ``engine``; the application object
that owns threads, the queue and the controls is described here by the
methods a frontend may call on it, so either side can be tested alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from engine.events import Event


class EventSource(Protocol):
    """The queue the engine fills, seen from the frontend's thread."""

    def drain(self, limit: int | None = None) -> list[Event]:
        """Every event queued so far (at most ``limit``), without blocking."""
        ...

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds; None on timeout."""
        ...

    def set_waker(self, waker: Callable[[], None] | None) -> None:
        """Call ``waker`` (from any thread) whenever an event is queued."""
        ...


class Commands(Protocol):
    """The controls keys may pull; signals pull the same ones."""

    accounts: list[str]

    def sync_now(self, account: str | None = None) -> None:
        """Start a sync of one account (or all) now, cutting a wait short."""
        ...

    def abort(self) -> None:
        """Finish the message in flight, commit the status, stop syncing."""
        ...

    def quit(self) -> None:
        """Stop gracefully; called twice, stop at once (still safely)."""
        ...

    def finished(self) -> bool:
        """True once the run is over and the frontend should return."""
        ...


class Frontend(Protocol):
    def run(self, events: EventSource, commands: Commands) -> None:
        """Show events until the run is over; called on the main thread."""
        ...
