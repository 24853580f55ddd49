"""Wiring one run: the bus, the runner's threads, signals, and the frontend on the main thread.

urwid wants the main thread, and so do Python's signal handlers; the sync
runs in the runner's threads and talks to the frontend only through events.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from blinken.bus import EventBus
from blinken.config import Account, Config
from blinken.run_options import EXIT_STOPPED, EXIT_USAGE, RunOptions
from blinken.runner import Runner
from blinken.start import collect_from_now
from engine.events import Emit, Event, Level, Log
from ui.select import create_frontend, default_ui_name, normalize_ui_name

PROMPTING_UIS = ("blinkenlights", "ttyui")


def choose_ui(cli: str | None, config: Config, isatty: bool) -> str:
    """``-u`` beats ``ui =`` in [general], which beats the default for this terminal."""
    return normalize_ui_name(cli or config.general.ui or default_ui_name(isatty))


def run_app(
    config: Config,
    accounts: list[Account],
    options: RunOptions,
    ui_arg: str | None,
    debug: set[str],
    logfile: str | None,
) -> int:
    try:
        ui_name = choose_ui(ui_arg, config, sys.stdout.isatty() and sys.stdin.isatty())
    except ValueError as e:
        print(f"blinken: -u: {e}", file=sys.stderr)
        return EXIT_USAGE
    bus = EventBus()
    emit = _tee(bus.emit, logfile, bool(debug))
    options.can_prompt = ui_name in PROMPTING_UIS and sys.stdin.isatty()
    if "imap" in debug:
        options.trace = _imap_trace(emit)
    options.on_done = bus.wake
    for warning in config.warnings:
        emit(Log(Level.WARNING, warning))
    runner = Runner(accounts, emit, options)
    restore = _install_signals(runner)  # until the very end: a late Ctrl-C is one more quit
    try:
        runner.start()  # first: connecting overlaps with loading the frontend (urwid)
        frontend = create_frontend(ui_name, debug=bool(debug))
        collect_from_now()  # start-up is over (blinken.start)
        frontend.run(bus, runner)
        if runner.wait(timeout=2.0 if runner.hurried else None):
            return runner.exit_code
        return EXIT_STOPPED  # quit twice: what is recorded is durable, the rest is redone
    finally:
        restore()


def _imap_trace(emit: Emit) -> Callable[[str], None]:
    def trace(line: str) -> None:
        emit(Log(Level.DEBUG, "imap: " + line, thread=threading.current_thread().name))

    return trace


def _tee(emit: Emit, logfile: str | None, debug: bool) -> Emit:
    """Also write every event as a plain line to ``-l FILE``."""
    if not logfile:
        return emit
    from ui.basic import Basic

    stream: TextIO = open(logfile, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    os.chmod(logfile, 0o600)
    writer = Basic(stream=stream, debug=debug)
    lock = threading.Lock()

    def both(event: Event) -> None:
        with lock:
            writer.handle(event)
        emit(event)

    return both


def _handler(action: Callable[[], None]) -> Callable[[int, Any], None]:
    def handle(_signum: int, _frame: Any) -> None:
        action()

    return handle


def _install_signals(runner: Runner) -> Callable[[], None]:
    """SIGUSR1 syncs now, SIGUSR2 finishes then exits, SIGINT/SIGTERM stop gracefully."""
    handlers: dict[signal.Signals, Callable[[], None]] = {
        signal.SIGUSR1: runner.sync_now,
        signal.SIGUSR2: runner.finish,
        signal.SIGINT: runner.quit,
        signal.SIGTERM: runner.quit,
        signal.SIGHUP: runner.quit,
    }
    old: dict[signal.Signals, Any] = {}
    for sig, action in handlers.items():
        old[sig] = signal.signal(sig, _handler(action))

    def restore() -> None:
        for sig, handler in old.items():
            signal.signal(sig, handler)

    return restore
