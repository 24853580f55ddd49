"""The dashboard's state, built from events alone: no urwid in here.

Keeping the state apart from the widgets lets the main loop apply thousands of
events cheaply between two frames (only dictionaries and a bounded deque
change) and lets tests check LEDs, progress, rates and the log without a
screen.  ``changed`` tells the widgets which parts to rebuild at the next frame.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.events import (
    AccountFinished,
    AccountStarted,
    Countdown,
    Event,
    FolderFinished,
    FolderStarted,
    Level,
    Log,
    PasswordRequest,
    Progress,
    RunFinished,
    ThreadState,
    ThreadStateChanged,
)
from ui.keys import next_hotkey
from ui.lines import LineFormatter
from ui.states import state_colour

MAX_LOG_LINES = 5000
MAX_THREADS_PER_GROUP = 32
RATE_WINDOW = 10.0  # seconds of samples behind a transfer rate
RATE_SAMPLE_EVERY = 0.25  # at most this often, so a burst of events stays cheap


@dataclass
class ThreadLed:
    name: str
    state: ThreadState
    account: str | None = None
    folder: str | None = None
    dry_run: bool = False

    def colour(self, flash_on: bool = True) -> str:
        return state_colour(self.state, dry_run=self.dry_run, flash_on=flash_on)


@dataclass(frozen=True)
class Tally:
    """Messages and bytes done and to do, summed over some folders."""

    messages_done: int = 0
    messages_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0


@dataclass
class AccountView:
    """One account's line in the status bar.

    The engine learns a folder's size only when it starts that folder, so the
    account's total is unknown until the last folder has started.  The view
    therefore counts folders (``folder_index`` of ``folders_total``) and sums
    messages and bytes over the folders in flight only; its ETA covers those
    folders, and the whole account once every folder has started.
    """

    name: str
    hotkey: str | None
    phase: str = "waiting"  # waiting, syncing, done, failed, idle
    folder: str | None = None  # the folder started last, while it is in flight
    folder_index: int = 0  # the highest position started so far
    folders_total: int = 0
    active: dict[str, int] = field(default_factory=dict)  # in flight: folder -> position
    finished: set[str] = field(default_factory=set)
    folders: dict[str, Progress] = field(default_factory=dict)
    samples: deque[tuple[float, int, int]] = field(default_factory=lambda: deque(maxlen=64))
    countdown: int | None = None
    countdown_ts: float = 0.0
    changes: int | None = None
    error: str | None = None
    messages_done: int = 0  # over every folder of this sync: the rate's measure
    bytes_done: int = 0

    def record(self, progress: Progress) -> None:
        """Take a folder's cumulative counters; account counts follow without re-summing."""
        old = self.folders.get(progress.folder)
        if old is not None:
            self.messages_done -= old.messages_done
            self.bytes_done -= old.bytes_done
        self.folders[progress.folder] = progress
        self.messages_done += progress.messages_done
        self.bytes_done += progress.bytes_done
        self.sample(progress.ts)

    def start_folder(self, folder: str, index: int, total: int) -> None:
        self.active[folder] = index
        self.finished.discard(folder)
        self.folder, self.folders_total = folder, total
        self.folder_index = max(self.folder_index, index)

    def finish_folder(self, folder: str) -> None:
        self.active.pop(folder, None)
        self.finished.add(folder)
        self.folder = next(reversed(self.active), None)

    def reset(self, folders_total: int) -> None:
        """A new sync of this account begins: forget the previous one's counters."""
        self.phase, self.error, self.changes, self.countdown = "syncing", None, None, None
        self.folder, self.folder_index, self.folders_total = None, 0, folders_total
        self.active.clear()
        self.finished.clear()
        self.folders.clear()
        self.samples.clear()
        self.messages_done = self.bytes_done = 0

    def in_flight(self) -> Tally:
        """Done and to do over the folders that reported progress and have not finished."""
        current = [p for name, p in self.folders.items() if name not in self.finished]
        return Tally(
            sum(p.messages_done for p in current),
            sum(p.messages_total for p in current),
            sum(p.bytes_done for p in current),
            sum(p.bytes_total for p in current),
        )

    def all_started(self) -> bool:
        """Every folder has started, so the folders in flight are all that is left."""
        return 0 < self.folders_total <= self.folder_index

    def rates(self) -> tuple[float, float]:
        """(bytes/s, messages/s) over the recent samples; zero until there are two."""
        if len(self.samples) < 2:
            return 0.0, 0.0
        (t0, b0, m0), (t1, b1, m1) = self.samples[0], self.samples[-1]
        span = t1 - t0
        if span <= 0:
            return 0.0, 0.0
        return (b1 - b0) / span, (m1 - m0) / span

    def eta(self) -> float | None:
        """Whole seconds until the folders in flight are done, at least 1; None if unknown.

        By bytes when sizes are known, else by messages.  It is the account's
        ETA only when ``all_started()``; before that, more folders will follow.
        """
        byte_rate, msg_rate = self.rates()
        now = self.in_flight()
        if now.bytes_total > now.bytes_done and byte_rate > 0:
            left = (now.bytes_total - now.bytes_done) / byte_rate
        elif now.messages_total > now.messages_done and msg_rate > 0:
            left = (now.messages_total - now.messages_done) / msg_rate
        else:
            return None
        return float(max(1, math.ceil(left)))

    def next_sync_in(self, now: float) -> int | None:
        """The countdown, still ticking between two Countdown events."""
        if self.countdown is None:
            return None
        return max(0, round(self.countdown - (now - self.countdown_ts)))

    def sample(self, ts: float) -> None:
        if self.samples and ts - self.samples[-1][0] < RATE_SAMPLE_EVERY:
            return
        self.samples.append((ts, self.bytes_done, self.messages_done))
        while len(self.samples) > 2 and ts - self.samples[0][0] > RATE_WINDOW:
            self.samples.popleft()


@dataclass(frozen=True)
class LogEntry:
    seq: int
    ts: float
    level: Level
    text: str
    colour: str | None  # the writing thread's LED colour, None if unknown


class DashboardModel:
    def __init__(
        self, accounts: Sequence[str] = (), *, debug: bool = False, max_log: int = MAX_LOG_LINES
    ) -> None:
        self.debug = debug
        self.threads: dict[str, ThreadLed] = {}
        self.accounts: dict[str, AccountView] = {}
        self.log: deque[LogEntry] = deque(maxlen=max_log)
        self.logged = 0  # lines ever logged; the next entry's seq
        self.passwords: deque[PasswordRequest] = deque()
        self.exit_code: int | None = None
        self.final: LogEntry | None = None  # the closing summary line, once the run is over
        self.changed: set[str] = set()
        self._formatter = LineFormatter()
        for name in accounts:
            self.account(name)

    # -- reading ---------------------------------------------------------
    def account(self, name: str) -> AccountView:
        """The view of ``name``, created (with the next free hotkey) on first sight."""
        view = self.accounts.get(name)
        if view is None:
            view = AccountView(name, next_hotkey(self.hotkeys()))
            self.accounts[name] = view
        return view

    def hotkeys(self) -> dict[str, str]:
        """Hotkey -> account."""
        return {v.hotkey: v.name for v in self.accounts.values() if v.hotkey}

    def groups(self) -> list[tuple[str | None, list[ThreadLed]]]:
        """Threads grouped by account: account-less (main) first, then account order."""
        by_account: dict[str | None, list[ThreadLed]] = {None: []}
        by_account.update({name: [] for name in self.accounts})
        for led in self.threads.values():
            by_account.setdefault(led.account, []).append(led)
        return [(name, leds) for name, leds in by_account.items() if leds]

    def flashing(self) -> bool:
        return any(led.state is ThreadState.COUNTDOWN for led in self.threads.values())

    def take_changes(self) -> set[str]:
        changed, self.changed = self.changed, set()
        return changed

    # -- writing ---------------------------------------------------------
    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: Event) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
        self._log_line(event)

    def add_log(self, level: Level, text: str, ts: float, colour: str | None = None) -> None:
        self.log.append(LogEntry(self.logged, ts, level, text, colour))
        self.logged += 1
        self.changed.add("log")

    def _log_line(self, event: Event) -> None:
        line = self._formatter.format(event)
        if line is None or (line.level is Level.DEBUG and not self.debug):
            return
        led = self.threads.get(line.thread) if line.thread else None
        self.add_log(line.level, line.text, line.ts, led.colour() if led else None)
        if isinstance(event, RunFinished):
            self.final = self.log[-1]

    def _on_thread(self, e: ThreadStateChanged) -> None:
        led = self.threads.get(e.thread)
        if led is None:
            led = self.threads[e.thread] = ThreadLed(e.thread, e.state)
        led.state, led.folder, led.dry_run = e.state, e.folder, e.dry_run
        if e.account is not None:
            led.account = e.account
            view = self.account(e.account)
            if e.state is ThreadState.IDLE_WAIT:
                view.phase = "idle"
                self.changed.add("status")
        self._forget_old_threads(led.account)
        self.changed.add("leds")

    def _forget_old_threads(self, account: str | None) -> None:
        """Keep a group's LED count bounded by dropping its oldest finished threads."""
        group = [t for t in self.threads.values() if t.account == account]
        extra = len(group) - MAX_THREADS_PER_GROUP
        for led in group:
            if extra <= 0:
                break
            if led.state is ThreadState.TERMINATED:
                del self.threads[led.name]
                extra -= 1

    def _on_account_started(self, e: AccountStarted) -> None:
        self.account(e.account).reset(e.folders_total)
        self.changed.add("status")

    def _on_folder_started(self, e: FolderStarted) -> None:
        self.account(e.account).start_folder(e.folder, e.index, e.total)
        self.changed.add("status")

    def _on_folder_finished(self, e: FolderFinished) -> None:
        self.account(e.account).finish_folder(e.folder)
        self.changed.add("status")

    def _on_progress(self, e: Progress) -> None:
        self.account(e.account).record(e)
        self.changed.add("status")

    def _on_account_finished(self, e: AccountFinished) -> None:
        view = self.account(e.account)
        view.phase = "failed" if e.error else "aborted" if e.aborted else "done"
        view.error, view.changes, view.folder = e.error, e.counts.changes, None
        view.active.clear()
        self.changed.add("status")

    def _on_countdown(self, e: Countdown) -> None:
        view = self.account(e.account)
        view.countdown, view.countdown_ts = e.seconds_left, e.ts
        if view.phase == "syncing":
            view.phase = "done"
        self.changed.add("status")

    def _on_password(self, e: PasswordRequest) -> None:
        self.passwords.append(e)
        self.changed.add("prompt")

    def _on_run_finished(self, e: RunFinished) -> None:
        self.exit_code = e.exit_code
        self.changed.add("status")

    def _on_log(self, e: Log) -> None:
        if e.account is not None:
            self.account(e.account)


_HANDLERS: dict[type[Event], Callable[[DashboardModel, Any], None]] = {
    ThreadStateChanged: DashboardModel._on_thread,
    AccountStarted: DashboardModel._on_account_started,
    FolderStarted: DashboardModel._on_folder_started,
    FolderFinished: DashboardModel._on_folder_finished,
    Progress: DashboardModel._on_progress,
    AccountFinished: DashboardModel._on_account_finished,
    Countdown: DashboardModel._on_countdown,
    PasswordRequest: DashboardModel._on_password,
    RunFinished: DashboardModel._on_run_finished,
    Log: DashboardModel._on_log,
}
