"""Stand-ins for the application side of the frontend contract, and a terminal-less screen.

``FakeEventSource`` and ``FakeCommands`` follow ``ui.base``'s protocols closely
enough that a frontend cannot tell them from the real application: events may
be put from any thread, the waker is called after each put, and the run ends
the way the application ends it (last events queued, then ``finished()``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import urwid
from urwid.display.common import BaseScreen

from blinken.bus import EventBus
from engine.events import Event, RunFinished


class FakeEventSource(EventBus):
    """The application's own queue, plus putting several events with one wake-up."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        super().__init__()
        self.wakes = 0
        self.put(*events)

    def put(self, *events: Event) -> None:
        for event in events:
            self._queue.put(event)
        self.poke()

    def poke(self) -> None:
        if self._waker is not None:
            self.wakes += 1
        self.wake()

    def empty(self) -> bool:
        return self._queue.empty()


class FakeCommands:
    """Records what the keys asked for; ``quit`` ends the run unless told otherwise."""

    def __init__(
        self,
        accounts: Iterable[str] = (),
        events: FakeEventSource | None = None,
        *,
        quit_finishes: bool = True,
    ) -> None:
        self.accounts = list(accounts)
        self.calls: list[tuple[Any, ...]] = []
        self._events = events
        self._finished = threading.Event()
        self.quit_finishes = quit_finishes

    def sync_now(self, account: str | None = None) -> None:
        self.calls.append(("sync_now", account))

    def abort(self) -> None:
        self.calls.append(("abort",))

    def quit(self) -> None:
        self.calls.append(("quit",))
        if self.quit_finishes:
            self.finish(0)

    def finished(self) -> bool:
        return self._finished.is_set()

    def declare_finished(self) -> None:
        """Only flip ``finished()``, for runs whose events are all queued already."""
        self._finished.set()

    def finish(self, exit_code: int = 0) -> None:
        """End the run as the application does: queue RunFinished, then declare it over."""
        if self._events is not None:
            self._events.put(RunFinished(exit_code))
        self._finished.set()
        if self._events is not None:
            self._events.poke()


Condition = Callable[[list[str]], bool]


class ReactiveScreen(BaseScreen):
    """A headless screen for a real ``MainLoop``: it records frames and types keys on cue.

    ``script`` is a list of (condition on the frame's text rows, keys): once a
    drawn frame satisfies the first condition, its keys are fed to the loop and
    the next step waits for its own condition.  Unlike ``urwid.testing.ScriptedScreen``
    it never ends the loop itself, so the frontend's own exit path is exercised.
    """

    def __init__(
        self,
        *,
        size: tuple[int, int] = (80, 24),
        script: Iterable[tuple[Condition, list[str]]] = (),
    ) -> None:
        super().__init__()
        self.size = size
        self.script = list(script)
        self.canvases: list[urwid.Canvas] = []
        self.draws = 0
        self._loop: Any = None
        self._callback: Callable[[list[str], list[int]], Any] | None = None

    @property
    def last_text(self) -> list[str]:
        return list(self.canvases[-1].decoded_text)

    def get_cols_rows(self) -> tuple[int, int]:
        return self.size

    def draw_screen(self, size: tuple[int, int], canvas: urwid.Canvas) -> None:
        self.draws += 1
        self.canvases.append(canvas)
        if self.script and self._loop is not None:
            condition, keys = self.script[0]
            if condition(list(canvas.decoded_text)):
                self.script.pop(0)
                self._loop.alarm(0, lambda: self._feed(keys))

    def _feed(self, keys: list[str]) -> None:
        if self._callback is not None:
            self._callback(keys, [])

    def get_input(self, raw_keys: bool = False) -> Any:
        return ([], []) if raw_keys else []

    def hook_event_loop(self, event_loop: Any, callback: Callable[..., Any]) -> None:
        self._loop = event_loop
        self._callback = callback

    def unhook_event_loop(self, event_loop: Any) -> None:
        self._loop = None
        self._callback = None


def screen_has(*needles: str) -> Condition:
    """A script condition: every needle appears somewhere on the frame."""

    def condition(rows: list[str]) -> bool:
        text = "\n".join(rows)
        return all(needle in text for needle in needles)

    return condition


def run_with_watchdog(
    target: Callable[[], None], commands: FakeCommands, timeout: float = 10.0
) -> bool:
    """Run ``target`` on this thread; if it outlives ``timeout``, end the run to unstick it.

    Returns True when the watchdog had to step in (the test should then fail).
    """
    fired = threading.Event()

    def watchdog() -> None:
        if not done.wait(timeout):
            fired.set()
            commands.finish(99)

    done = threading.Event()
    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    try:
        target()
    finally:
        done.set()
        thread.join()
    return fired.is_set()
