"""Blinkenlights: the urwid dashboard frontend and the loop that feeds it.

Threading rule: only the main-loop thread touches widgets or sets alarms.  A
worker thread that queues an event calls ``FrameDriver.wake``, which writes at
most one byte into a ``MainLoop.watch_pipe`` descriptor until the next frame
has drained the queue.  Frames are rate-limited: a burst of thousands of
events costs one pipe write, one drain and one redraw per frame (``fps``), so
the dashboard never holds up the sync.

The screen is painted only by a frame (events, the blink and countdown tick)
or by a key: ``FrameLoop`` skips urwid's repaint after a bare pipe wake-up,
so redraws stay within ``fps`` a second plus keypresses.  The loop runs on
asyncio, whose selector lives as long as the loop (urwid's select loop builds
a new one every iteration).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

import urwid

from ui.base import Commands, EventSource
from ui.blinken_model import MAX_LOG_LINES, DashboardModel
from ui.blinken_report import print_report
from ui.blinken_view import Dashboard
from ui.palette import build_palette, colour_depth

FPS = 10.0  # frames (and so redraws, keys aside) a second at most
TICK_SECONDS = 0.5  # blink phase, countdown display, and a fallback check for the end of the run
END_CHECK_SECONDS = 0.01  # after RunFinished, how soon to look for the run's end flag
MAX_EVENTS_PER_FRAME = 20_000  # keeps keys responsive under a flood; the rest waits a frame

Clock = Callable[[], float]


class FrameLoop(urwid.MainLoop):
    """A ``MainLoop`` that repaints only when asked to: after a frame or a key.

    urwid repaints whenever its event loop goes idle after any callback; a
    wake-up that only schedules the next frame would cost a repaint of its own.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.draw_wanted = True  # the first paint

    def want_draw(self) -> None:
        self.draw_wanted = True

    def process_input(self, keys: Any) -> bool:
        self.draw_wanted = True  # keys and "window resize"
        return super().process_input(keys)

    def entering_idle(self) -> None:
        if self.draw_wanted:
            self.draw_wanted = False
            super().entering_idle()


class FrameDriver:
    """Moves events from the queue to the model and the widgets, at most ``fps`` times a second."""

    def __init__(
        self,
        loop: FrameLoop,
        events: EventSource,
        commands: Commands,
        view: Dashboard,
        *,
        fps: float = FPS,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
    ) -> None:
        self._loop, self._events, self._commands, self._view = loop, events, commands, view
        self._interval = 1.0 / fps
        self._clock, self._wall = clock, wall
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pending = False
        self._frame_alarm: Any = None
        self._last_frame = float("-inf")
        self.frames = 0
        self.wakeups = 0

    def start(self) -> None:
        fd = self._loop.watch_pipe(self._on_pipe)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        with self._lock:
            self._fd = fd
        self._events.set_waker(self.wake)
        self._loop.set_alarm_in(TICK_SECONDS, self._tick)
        self.wake()  # events queued before the waker existed

    def stop(self) -> None:
        self._events.set_waker(None)
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            self._loop.remove_watch_pipe(fd)
            os.close(fd)

    def wake(self) -> None:
        """Called from any thread; cheap and never blocks.

        One byte in the pipe per frame is enough while events flow, but the
        runner's last wake-up (its end flag is set) must get through even then:
        it may come after the loop took the previous byte and booked the next
        frame, which it would otherwise wait for (up to a frame, ~100 ms).
        """
        with self._lock:
            if self._fd is None or (self._pending and not self._commands.finished()):
                return
            self._pending = True
            with contextlib.suppress(OSError):  # a full pipe already holds a wake-up
                os.write(self._fd, b"\0")

    # -- main-loop thread only ---------------------------------------------
    def _on_pipe(self, data: bytes) -> bool:
        self.wakeups += 1
        if self._commands.finished():
            self._final_frame()
        else:
            self._schedule_frame()
        return bool(data)

    def _schedule_frame(self) -> None:
        if self._frame_alarm is not None:
            return
        delay = self._last_frame + self._interval - self._clock()
        if delay <= 0:
            self.frame()
        else:
            self._frame_alarm = self._loop.set_alarm_in(delay, self._on_frame_alarm)

    def _final_frame(self) -> None:
        """The run is over: nothing more is worth waiting a frame's turn for."""
        if self._frame_alarm is not None:
            self._loop.remove_alarm(self._frame_alarm)
            self._frame_alarm = None
        self.frame()

    def _on_frame_alarm(self, _loop: object, _data: object) -> None:
        self._frame_alarm = None
        self.frame()

    def frame(self) -> None:
        """Drain, apply, redraw; leave the loop once the run is over and nothing is left."""
        with self._lock:
            self._pending = False
        finished = self._commands.finished()
        batch = self._events.drain(MAX_EVENTS_PER_FRAME)
        self._view.model.apply_all(batch)
        self._view.refresh(self._wall(), flash_on=self._flash_on())
        self._last_frame = self._clock()
        self.frames += 1
        if finished and len(batch) < MAX_EVENTS_PER_FRAME:
            self._loop.draw_screen()  # the last state, at once: the run waits for no one
            raise urwid.ExitMainLoop
        self._loop.want_draw()
        ending = self._view.model.exit_code is not None  # RunFinished is in, the end flag is not
        if len(batch) >= MAX_EVENTS_PER_FRAME or ending:
            self._schedule_frame()
        if ending:
            self._loop.set_alarm_in(END_CHECK_SECONDS, self._check_end)

    def _check_end(self, _loop: object, _data: object) -> None:
        """The runner sets its end flag right after queueing RunFinished: leave without a tick."""
        if self._commands.finished():
            self._final_frame()

    def _flash_on(self) -> bool:
        return int(self._clock() / TICK_SECONDS) % 2 == 0

    def _tick(self, loop: urwid.MainLoop, _data: object) -> None:
        """Blink, count down, notice the end: a frame like any other, within the same budget."""
        self._schedule_frame()
        loop.set_alarm_in(TICK_SECONDS, self._tick)


class Blinkenlights:
    """The full-screen dashboard; ``screen`` and ``colours`` exist for tests and screenshots."""

    def __init__(
        self,
        *,
        stream: TextIO = sys.stdout,
        debug: bool = False,
        screen: Any = None,
        colours: int | None = None,
        env: Mapping[str, str] | None = None,
        fps: float = FPS,
        max_log: int = MAX_LOG_LINES,
    ) -> None:
        self._stream = stream
        self._debug = debug
        self._screen = screen
        self._colours = colours
        self._env = os.environ if env is None else env
        self._fps = fps
        self._max_log = max_log
        self.driver: FrameDriver | None = None
        self.view: Dashboard | None = None
        self.loop: FrameLoop | None = None

    def run(self, events: EventSource, commands: Commands) -> None:
        model = DashboardModel(commands.accounts, debug=self._debug, max_log=self._max_log)
        self.view = view = Dashboard(model, commands)
        with contextlib.closing(asyncio.new_event_loop()) as aio:
            self.loop = loop = self._make_loop(view, aio)
            self.driver = FrameDriver(loop, events, commands, view, fps=self._fps)
            self.driver.start()
            try:
                loop.run()
            finally:
                self.driver.stop()
                while model.passwords:
                    model.passwords.popleft().reply.answer(None)
                print_report(model, self._stream, self._env)

    def _make_loop(self, view: Dashboard, aio: asyncio.AbstractEventLoop) -> FrameLoop:
        return FrameLoop(
            view,
            build_palette(),
            screen=self._make_screen(),
            handle_mouse=False,
            event_loop=urwid.AsyncioEventLoop(loop=aio),
        )

    def _make_screen(self) -> Any:
        screen = self._screen
        if screen is None:
            screen = urwid.display.raw.Screen(output=self._stream)
        depth = self._colours if self._colours is not None else colour_depth(self._env)
        if hasattr(screen, "set_terminal_properties"):
            screen.set_terminal_properties(colors=depth)
        return screen
