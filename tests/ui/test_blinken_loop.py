"""The dashboard under a real urwid MainLoop, headless: wake-ups, coalescing, keys, the end."""

from __future__ import annotations

import io
import os
import selectors
import threading
import time

import pytest
import urwid
from urwid.testing import ScriptedScreen

from engine.events import (
    AccountStarted,
    Event,
    FolderStarted,
    Level,
    Log,
    PasswordRequest,
    Progress,
    RunFinished,
    ThreadState,
    ThreadStateChanged,
)
from tests.ui.fakes import (
    FakeCommands,
    FakeEventSource,
    ReactiveScreen,
    run_with_watchdog,
    screen_has,
)
from ui.blinken_model import DashboardModel
from ui.blinken_view import Dashboard
from ui.blinkenlights import FPS, TICK_SECONDS, Blinkenlights, FrameDriver


def opening() -> list[Event]:
    return [
        ThreadStateChanged("main", ThreadState.MAIN),
        ThreadStateChanged("work-1", ThreadState.COPYING, account="work", folder="INBOX"),
        AccountStarted("work", folders_total=12),
        FolderStarted("work", "INBOX", 3, 12),
        Progress("work", "INBOX", 160, 400, 2_500_000, 9_000_000),
        Log(Level.INFO, "copying message 160", account="work", thread="work-1"),
    ]


def run_dashboard(
    source: FakeEventSource, commands: FakeCommands, screen: object, **opts: object
) -> tuple[Blinkenlights, io.StringIO]:
    out = io.StringIO()
    ui = Blinkenlights(stream=out, screen=screen, colours=256, **opts)  # type: ignore[arg-type]
    stuck = run_with_watchdog(lambda: ui.run(source, commands), commands)
    assert not stuck, "the dashboard did not leave its main loop"
    return ui, out


def test_keys_drive_commands_and_quit_ends_the_run() -> None:
    source = FakeEventSource(opening())
    commands = FakeCommands(["work", "home"], source)
    screen = ReactiveScreen(
        script=[
            (screen_has("INBOX 3/12", "copying message 160"), ["r", "1"]),
            (screen_has("sync of work requested"), ["?"]),
            (screen_has("LED colours"), ["esc", "a"]),
            (screen_has("aborting"), ["q"]),
        ]
    )
    _ui, out = run_dashboard(source, commands, screen)
    assert commands.calls == [("sync_now", None), ("sync_now", "work"), ("abort",), ("quit",)]
    assert screen.script == []
    assert "run finished (exit code 0)" in "\n".join(screen.last_text)
    assert "finished:" in out.getvalue()  # the outcome stays on the terminal afterwards


def test_urwid_scripted_screen_runs_the_dashboard() -> None:
    source = FakeEventSource(opening())
    commands = FakeCommands(["work"], source, quit_finishes=False)
    screen = ScriptedScreen(size=(80, 24), inputs=[[], ["?"], ["esc"], ["q"]])
    run_dashboard(source, commands, screen)
    frames = ["\n".join(canvas.decoded_text) for canvas in screen.canvases]
    assert any("LED colours" in frame for frame in frames)
    assert "LED colours" not in frames[-1]
    assert commands.calls == [("quit",)]


def test_events_from_a_worker_thread_wake_the_loop() -> None:
    source = FakeEventSource()
    commands = FakeCommands(["work"], source)

    def worker() -> None:
        time.sleep(0.1)
        source.put(*opening())
        time.sleep(0.1)
        source.put(Log(Level.WARNING, "late news", account="work"))
        time.sleep(0.1)
        commands.finish(1)

    thread = threading.Thread(target=worker)
    thread.start()
    screen = ReactiveScreen()
    started = time.monotonic()
    ui, out = run_dashboard(source, commands, screen)
    thread.join()
    assert time.monotonic() - started < 3
    assert ui.driver is not None and ui.driver.wakeups >= 3  # one per put() burst and the end
    assert any("late news" in "\n".join(c.decoded_text) for c in screen.canvases)
    assert "warning: work: late news" in out.getvalue()
    assert "exit code 1" in out.getvalue()


def test_a_flood_of_events_is_coalesced_into_few_redraws() -> None:
    """10,000 events: every one reaches the model, but frames stay within the fps budget."""
    source = FakeEventSource(opening())
    commands = FakeCommands(["work"], source)
    total = 10_000

    def worker() -> None:
        for i in range(1, total + 1):
            source.put(Progress("work", "INBOX", i, total, i * 100, total * 100))
            if i % 1000 == 0:
                time.sleep(0.05)
        commands.finish(0)

    thread = threading.Thread(target=worker)
    screen = ReactiveScreen()
    started = time.monotonic()
    thread.start()
    ui, _out = run_dashboard(source, commands, screen)
    elapsed = time.monotonic() - started
    thread.join()
    assert ui.driver is not None and ui.view is not None
    budget = elapsed * FPS + elapsed / TICK_SECONDS + 3
    assert ui.driver.frames <= budget, (ui.driver.frames, elapsed)
    assert screen.draws <= 2 * budget, (screen.draws, elapsed)
    assert ui.driver.wakeups <= ui.driver.frames + 1
    assert source.wakes > 100 * ui.driver.wakeups  # most wakes cost nothing
    assert ui.view.model.accounts["work"].messages_done == total
    assert any(f"{total}/{total} msg" in row for row in screen.last_text)


MAX_REDRAWS_PER_SECOND = 12  # the frame rate, with room for the first and the last paint


def steady_stream(source: FakeEventSource, commands: FakeCommands, seconds: float) -> None:
    """Progress every 2 ms for ``seconds``: a wake-up per frame, as in a real sync."""
    deadline = time.monotonic() + seconds
    done = 0
    while time.monotonic() < deadline:
        done += 1
        source.put(Progress("work", "INBOX", done, 1_000_000, done * 10, 10_000_000))
        time.sleep(0.002)
    commands.finish(0)


def run_steady_stream(seconds: float) -> tuple[Blinkenlights, ReactiveScreen, float]:
    source = FakeEventSource(opening())
    commands = FakeCommands(["work"], source)
    thread = threading.Thread(target=steady_stream, args=(source, commands, seconds))
    screen = ReactiveScreen()
    started = time.monotonic()
    thread.start()
    ui, _out = run_dashboard(source, commands, screen)
    elapsed = time.monotonic() - started
    thread.join()
    return ui, screen, elapsed


def test_redraws_stay_within_the_frame_rate_while_events_flow() -> None:
    """A wake-up that only schedules the next frame must not paint the screen by itself."""
    ui, screen, elapsed = run_steady_stream(1.5)
    assert ui.driver is not None and ui.driver.wakeups > 5
    assert screen.draws <= elapsed * MAX_REDRAWS_PER_SECOND + 2, (screen.draws, elapsed)
    assert screen.draws <= ui.driver.frames + 2  # a paint per frame, and the first one


def test_the_event_loop_does_not_build_a_selector_per_iteration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[selectors.BaseSelector] = []
    real = selectors.DefaultSelector

    def counting() -> selectors.BaseSelector:
        built.append(real())
        return built[-1]

    monkeypatch.setattr(selectors, "DefaultSelector", counting)
    ui, _screen, _elapsed = run_steady_stream(0.5)
    assert ui.driver is not None and ui.driver.frames > 3
    assert len(built) <= 2, len(built)


def test_a_password_request_during_the_run_is_answered_from_the_prompt() -> None:
    request = PasswordRequest("home", "home-remote", "Password for me@example.org:")
    source = FakeEventSource([*opening(), request])
    commands = FakeCommands(["work", "home"], source)
    screen = ReactiveScreen(
        script=[
            (screen_has("Password for me@example.org:"), [*"hunter2", "enter"]),
            (screen_has("home: password entered"), ["q"]),
        ]
    )
    run_dashboard(source, commands, screen)
    assert request.reply.wait(0) == "hunter2"
    assert not any("hunter2" in "\n".join(c.decoded_text) for c in screen.canvases)
    assert commands.calls == [("quit",)]


def test_an_unanswered_prompt_is_cancelled_when_the_run_ends() -> None:
    request = PasswordRequest("home", "home-remote", "Password:")
    source = FakeEventSource([request])
    commands = FakeCommands(["home"], source)
    screen = ReactiveScreen(script=[(screen_has("Password:"), [])])

    def end_soon() -> None:
        time.sleep(0.2)
        commands.finish(1)

    thread = threading.Thread(target=end_soon)
    thread.start()
    ui, _out = run_dashboard(source, commands, screen)
    thread.join()
    assert request.reply._done.is_set() and request.reply.wait(0) is None
    assert ui.driver is not None
    ui.driver.wake()  # a late event after the end must not write to a closed pipe


def test_resizing_redraws_at_the_new_size() -> None:
    source = FakeEventSource(opening())
    commands = FakeCommands(["work"], source)
    screen = ReactiveScreen(size=(80, 24))

    def grow(rows: list[str]) -> bool:
        if "INBOX 3/12" not in "\n".join(rows):
            return False
        screen.size = (120, 40)
        return True

    screen.script = [(grow, ["window resize"]), (lambda rows: len(rows) == 40, ["q"])]
    run_dashboard(source, commands, screen)
    last = screen.canvases[-1]
    assert (last.cols(), last.rows()) == (120, 40)
    assert any("INBOX 3/12" in row for row in screen.last_text)


def test_countdown_led_flashes_under_the_loop() -> None:
    source = FakeEventSource([ThreadStateChanged("w", ThreadState.COUNTDOWN, account="work")])
    commands = FakeCommands(["work"], source)
    seen: set[object] = set()

    def watch(_rows: list[str]) -> bool:
        for row in screen.canvases[-1].content():
            seen.update(attr for attr, _cs, text in row if b"T" in text)
        return {"led.red", "led.black"} <= seen

    screen = ReactiveScreen(script=[(watch, ["q"])])
    run_dashboard(source, commands, screen)
    assert {"led.red", "led.black"} <= seen


class AlarmLoop:
    """Just what ``FrameDriver`` asks of its loop, with the alarms kept for the test to see."""

    def __init__(self) -> None:
        self.alarms: dict[int, object] = {}
        self.booked = 0
        self.draws = 0

    def set_alarm_in(self, _seconds: float, callback: object) -> int:
        self.booked += 1
        self.alarms[self.booked] = callback
        return self.booked

    def remove_alarm(self, handle: int) -> bool:
        return self.alarms.pop(handle, None) is not None

    def want_draw(self) -> None:
        pass

    def draw_screen(self) -> None:
        self.draws += 1


def driver_at_rest() -> tuple[FrameDriver, AlarmLoop, FakeEventSource, FakeCommands]:
    """A driver whose last frame was just drawn, so the next one has to wait its turn."""
    source = FakeEventSource(opening())
    commands = FakeCommands(["work"], source)
    loop = AlarmLoop()
    view = Dashboard(DashboardModel(["work"]), commands)
    driver = FrameDriver(loop, source, commands, view, clock=lambda: 100.0)  # type: ignore[arg-type]
    driver.frame()
    return driver, loop, source, commands


def test_the_end_of_the_run_is_drawn_and_left_at_once() -> None:
    driver, loop, source, commands = driver_at_rest()
    source.put(Progress("work", "INBOX", 170, 400, 2_600_000, 9_000_000))
    driver._on_pipe(b"\0")
    assert len(loop.alarms) == 1  # too soon after the last frame: one is booked
    commands.finish(0)
    with pytest.raises(urwid.ExitMainLoop):
        driver._on_pipe(b"\0")  # the end does not wait for the booked frame
    assert loop.alarms == {} and loop.draws == 1
    assert driver._view.model.exit_code == 0
    assert driver._view.model.accounts["work"].in_flight().messages_done == 170


def test_the_wake_up_after_the_end_flag_gets_through_a_pending_one() -> None:
    driver, _loop, _source, commands = driver_at_rest()
    read, write = os.pipe()
    os.set_blocking(read, False)
    try:
        driver._fd = write
        driver.wake()
        driver.wake()  # events keep coming: one byte per frame is enough
        assert os.read(read, 16) == b"\0"
        commands.finish(0)  # the loop took the byte and booked a frame; the run ends
        driver.wake()
        assert os.read(read, 16) == b"\0"  # through at once: the end waits for no frame
    finally:
        os.close(read)
        os.close(write)


def test_run_finished_ahead_of_the_end_flag_is_followed_up_at_once() -> None:
    driver, loop, source, commands = driver_at_rest()
    source.put(RunFinished(0))  # the runner queues it just before it says it has finished
    driver.frame()
    booked, end_check = loop.alarms.values()  # a booked frame and a quick look: no tick wait
    commands.declare_finished()
    with pytest.raises(urwid.ExitMainLoop):
        end_check(None, None)  # type: ignore[operator]
    assert loop.draws == 1 and booked not in loop.alarms.values()  # the booked one called off
