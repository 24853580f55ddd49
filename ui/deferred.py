"""The dashboard, shown only once a run has lasted long enough to be watched.

A run that is over in a fraction of a second (a no-op ``blinken -o``) would
flash a full screen on and off.  So the dashboard waits ``GRACE`` seconds,
holding the events it is sent: if the run ends meanwhile, it prints what the
dashboard prints on its way out (the problems and the closing line) and the
screen is never touched; otherwise, or at once when something needs an answer
(a password), it starts with every held event replayed.

urwid (about 80 ms of imports) is loaded only then, so a run that is over
within the second (a no-op, a resync after a few changes) never loads it: with
urwid loaded at the start, tests/bench/ui_overhead.py --resync found a no-op
half as slow again as with ``-u quiet``; now it is within the noise.  A long
sync loads it a second in, while it transfers: its first sync of 2,000
messages took 1.05 and 1.10 times as long as with ``-u quiet`` in two runs on
2026-11-30 (the machine's noise is about 10%), where loading urwid at the start
gave 1.06 to 1.11.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from engine.events import Event, PasswordRequest, RunFinished
from ui.base import Commands, EventSource, Frontend
from ui.blinken_model import DashboardModel
from ui.blinken_report import print_report

GRACE = 1.0  # seconds a run may take before the dashboard appears
_POLL = 0.05
_END_POLL = 0.002
_END_WAIT = 0.5  # RunFinished is queued just before the run says it has finished


class Replay:
    """An event source that hands out the held events before the live ones."""

    def __init__(self, held: list[Event], live: EventSource) -> None:
        self._held = held
        self._live = live

    def drain(self, limit: int | None = None) -> list[Event]:
        take = len(self._held) if limit is None else min(limit, len(self._held))
        out, self._held = self._held[:take], self._held[take:]
        rest = None if limit is None else limit - len(out)
        return out + (self._live.drain(rest) if rest is None or rest > 0 else [])

    def get(self, timeout: float | None = None) -> Event | None:
        return self._held.pop(0) if self._held else self._live.get(timeout)

    def set_waker(self, waker: Callable[[], None] | None) -> None:
        self._live.set_waker(waker)


def _start_dashboard(**options: Any) -> Frontend:
    from ui.blinkenlights import Blinkenlights

    return Blinkenlights(**options)


class DeferredDashboard:
    def __init__(
        self,
        *,
        stream: TextIO = sys.stdout,
        debug: bool = False,
        grace: float = GRACE,
        clock: Callable[[], float] = time.monotonic,
        start: Callable[..., Frontend] = _start_dashboard,
        **options: Any,
    ) -> None:
        self._stream, self._debug, self._grace, self._clock = stream, debug, grace, clock
        self._start = start
        self._options = options

    def run(self, events: EventSource, commands: Commands) -> None:
        held = self._hold(events, commands)
        if commands.finished() and not any(isinstance(e, PasswordRequest) for e in held):
            model = DashboardModel(commands.accounts, debug=self._debug)
            model.apply_all(held + events.drain())
            print_report(model, self._stream, self._options.get("env"))
            return
        dashboard = self._start(stream=self._stream, debug=self._debug, **self._options)
        dashboard.run(Replay(held, events), commands)

    def _hold(self, events: EventSource, commands: Commands) -> list[Event]:
        """Events until the run ends, the grace time is up, or one needs an answer."""
        held: list[Event] = []
        deadline = self._clock() + self._grace
        poll = _POLL
        while not commands.finished():
            left = deadline - self._clock()
            if left <= 0:
                break
            event = events.get(timeout=min(left, poll))
            if isinstance(event, RunFinished):  # the end flag follows at once
                deadline, poll = max(deadline, self._clock() + _END_WAIT), _END_POLL
            if event is not None:
                held.append(event)
            if isinstance(event, PasswordRequest):
                break
        return held
