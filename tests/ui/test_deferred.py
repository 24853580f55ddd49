"""The dashboard appears only for a run that lasts: a quick one never loads urwid."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from engine.events import Event, Level, Log, PasswordRequest, RunFinished
from tests.ui.fakes import FakeCommands, FakeEventSource
from ui.base import Commands, EventSource
from ui.deferred import DeferredDashboard, Replay

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """Stands in for the real dashboard: what it was started with and what it saw."""

    def __init__(self) -> None:
        self.options: dict[str, Any] | None = None
        self.seen: list[Event] = []

    def start(self, **options: Any) -> Recorder:
        self.options = options
        return self

    def run(self, events: EventSource, commands: Commands) -> None:
        while True:
            finished = commands.finished()
            self.seen += events.drain()
            if finished:
                return
            time.sleep(0.01)


def later(seconds: float, action: Any) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()))
    thread.start()
    return thread


def test_a_quick_run_prints_its_outcome_without_the_dashboard() -> None:
    source = FakeEventSource([Log(Level.WARNING, "config readable by others")])
    commands = FakeCommands(["work"], source)
    recorder, out = Recorder(), io.StringIO()
    done = later(0.05, lambda: commands.finish(0))
    DeferredDashboard(stream=out, start=recorder.start, env={"NO_COLOR": "1"}).run(source, commands)
    done.join()
    assert recorder.options is None  # never started: urwid never loaded
    lines = out.getvalue().splitlines()
    assert "config readable by others" in lines[0] and "finished" in lines[-1], lines


def test_a_run_that_lasts_gets_the_dashboard_with_every_event_so_far() -> None:
    first = [Log(Level.INFO, f"line {n}") for n in range(3)]
    source = FakeEventSource(first)
    commands = FakeCommands(["work"], source)
    recorder = Recorder()
    later(0.3, lambda: source.put(Log(Level.INFO, "after the grace time")))
    done = later(0.4, lambda: commands.finish(0))
    DeferredDashboard(stream=io.StringIO(), start=recorder.start, grace=0.1).run(source, commands)
    done.join()
    assert recorder.options is not None
    texts = [getattr(e, "message", None) for e in recorder.seen]
    assert texts[:4] == ["line 0", "line 1", "line 2", "after the grace time"], texts
    assert isinstance(recorder.seen[-1], RunFinished)


def test_a_password_request_brings_the_dashboard_up_at_once() -> None:
    source = FakeEventSource([PasswordRequest("work", "remote", "user@host")])
    commands = FakeCommands(["work"], source)
    recorder = Recorder()
    later(0.2, lambda: commands.finish(0))
    started = time.monotonic()
    DeferredDashboard(stream=io.StringIO(), start=recorder.start, grace=5.0).run(source, commands)
    assert recorder.options is not None and time.monotonic() - started < 1.0
    assert isinstance(recorder.seen[0], PasswordRequest)


def test_replay_hands_out_held_events_first_within_the_limit() -> None:
    live = FakeEventSource([Log(Level.INFO, "live")])
    held: list[Event] = [Log(Level.INFO, "a"), Log(Level.INFO, "b")]
    replay = Replay(held, live)
    assert [e.message for e in replay.drain(1)] == ["a"]  # type: ignore[attr-defined]
    assert [e.message for e in replay.drain()] == ["b", "live"]  # type: ignore[attr-defined]
    assert replay.get(timeout=0) is None


QUICK_RUN = """
import io, sys
from blinken.bus import EventBus
from engine.events import RunFinished
from ui.select import create_frontend

class Over:
    accounts = ["work"]
    def finished(self): return True

bus = EventBus()
bus.emit(RunFinished(0))
out = io.StringIO()
create_frontend("blinkenlights", stream=out).run(bus, Over())
print("urwid" in sys.modules, "asyncio" in sys.modules, "\x1b[?1049h" in out.getvalue())
"""


def test_the_quick_path_needs_no_urwid_and_never_takes_the_screen() -> None:
    done = subprocess.run(
        [sys.executable, "-c", QUICK_RUN], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.split() == ["False", "False", "False"], done.stdout + done.stderr
