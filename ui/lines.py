"""Events to one-line human text, shared by the TTY, Basic and Quiet UIs and the dashboard log.

A ``LineFormatter`` decides *what* is worth a line and how it reads; the three
``render_*`` functions only decide how a line is dressed (timestamp, colour).
The formatter keeps a little state so the once-a-second countdown becomes one
line per wait, and so the run can end with a summary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from engine.events import (
    AccountFinished,
    AccountStarted,
    Countdown,
    Error,
    Event,
    FolderFinished,
    FolderStarted,
    Level,
    Log,
    PasswordRequest,
    PlannedAction,
    RunFinished,
    SyncCounts,
    ThreadStateChanged,
)


@dataclass(frozen=True)
class Line:
    """One line for a human; ``thread`` lets the dashboard colour it."""

    level: Level
    text: str
    ts: float
    thread: str | None = None


_CONTROL = {c: "?" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_CONTROL.update({ord("\n"): " ", ord("\r"): " ", ord("\t"): " "})


def clean(text: str) -> str:
    """One printable line: text from a server must not move the cursor or recolour."""
    return text.translate(_CONTROL)


def where(account: str | None, folder: str | None = None) -> str:
    """``account/folder``, or whichever part is known."""
    return "/".join(part for part in (account, folder) if part)


def _prefixed(account: str | None, folder: str | None, text: str) -> str:
    place = where(account, folder)
    return f"{place}: {text}" if place else text


def human_bytes(count: int) -> str:
    """1023 B, 1.5 KiB, 2.3 MiB: short enough for a status bar."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_bytes_pair(done: int, total: int) -> str:
    """``2.4/8.6 MiB``: the unit once when both numbers share it."""
    first, second = human_bytes(done), human_bytes(total)
    number, _, unit = first.partition(" ")
    if second.endswith(" " + unit):
        return f"{number}/{second}"
    return f"{first}/{second}"


def human_duration(seconds: float) -> str:
    """m:ss below an hour, h:mm:ss above."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe_counts(counts: SyncCounts) -> str:
    """The non-zero changes of a sync, or ``no changes``."""
    parts = [
        (counts.copied_to_local, "new here"),
        (counts.copied_to_remote, "new on server"),
        (counts.deleted_local, "deleted here"),
        (counts.deleted_remote, "deleted on server"),
        (counts.flags_local, "flag changes here"),
        (counts.flags_remote, "flag changes on server"),
        (counts.skipped, "skipped"),
        (counts.too_large, "not copied (maxsize)"),
        (counts.too_old, "not copied (maxage)"),
        (counts.folders_created, "folders created"),
    ]
    words = [f"{n} {what}" for n, what in parts if n]
    if counts.bytes:
        words.append(human_bytes(counts.bytes))
    return ", ".join(words) if words else "no changes"


YES_NO_MARK = "type y and enter"  # how blinken.credentials words a yes/no question
YES_ANSWERS = frozenset({"y", "yes"})


def is_yes_no_question(request: PasswordRequest) -> bool:
    """A request that asks y or n (keep the password in the keyring?) rather than for a secret."""
    return not request.secret or YES_NO_MARK in request.prompt.lower()


def prompt_first_line(request: PasswordRequest) -> str:
    """The request's own words, first line only, or what it is for when it has none."""
    lines = [line.strip(" :") for line in request.prompt.splitlines() if line.strip(" :")]
    return lines[0] if lines else f"password needed for repository {request.repository!r}"


def missing_password_text(event: PasswordRequest, ui_name: str) -> str:
    """Why a non-interactive UI leaves a password request unanswered."""
    return (
        f"{event.account}: no password for repository {event.repository!r}; the {ui_name} UI "
        "cannot ask for one (put it in the config, a password command or the keyring)"
    )


@dataclass
class RunSummary:
    """Totals for the last line of a run."""

    accounts: int = 0
    accounts_failed: int = 0
    folders_failed: int = 0
    errors: int = 0
    counts: SyncCounts = field(default_factory=SyncCounts)

    def text(self, exit_code: int) -> str:
        problems = []
        if self.accounts_failed:
            problems.append(f"{self.accounts_failed} account(s) failed")
        if self.folders_failed:
            problems.append(f"{self.folders_failed} folder(s) failed")
        if self.errors:
            problems.append(f"{self.errors} error(s)")
        outcome = ", ".join(problems) if problems else "no errors"
        return (
            f"finished: {self.accounts} account sync(s), {describe_counts(self.counts)}; "
            f"{outcome} (exit code {exit_code})"
        )


class LineFormatter:
    """Chooses which events become lines and words them."""

    def __init__(self) -> None:
        self.summary = RunSummary()
        self._announced_wait: set[str] = set()

    def format(self, event: Event) -> Line | None:
        """The line for ``event``, or None when it is not worth one (progress, ticks)."""
        method = getattr(self, f"_on_{type(event).__name__}", None)
        text_level = method(event) if method is not None else None
        if text_level is None:
            return None
        level, text = text_level
        return Line(level, clean(text), event.ts, getattr(event, "thread", None))

    def _on_Log(self, e: Log) -> tuple[Level, str]:
        return e.level, _prefixed(e.account, e.folder, e.message)

    def _on_ThreadStateChanged(self, e: ThreadStateChanged) -> tuple[Level, str]:
        place = where(e.account, e.folder)
        suffix = f" ({place})" if place else ""
        dry = " [dry run]" if e.dry_run else ""
        return Level.DEBUG, f"thread {e.thread}: {e.state.value}{suffix}{dry}"

    def _on_AccountStarted(self, e: AccountStarted) -> tuple[Level, str]:
        self._announced_wait.discard(e.account)
        folders = f" ({e.folders_total} folders)" if e.folders_total else ""
        return Level.INFO, f"{e.account}: sync started{folders}"

    def _on_FolderStarted(self, e: FolderStarted) -> tuple[Level, str]:
        return Level.INFO, f"{where(e.account, e.folder)}: syncing folder {e.index}/{e.total}"

    def _on_FolderFinished(self, e: FolderFinished) -> tuple[Level, str] | None:
        place = where(e.account, e.folder)
        if e.uidvalidity_problem:
            return Level.WARNING, f"{place}: skipped, UIDVALIDITY changed (see the manual)"
        if e.error is not None:
            return Level.INFO, f"{place}: not completed: {e.error}"
        if e.counts.changes == 0:
            return Level.DEBUG, f"{place}: no changes"
        return Level.INFO, f"{place}: {describe_counts(e.counts)}"

    def _on_AccountFinished(self, e: AccountFinished) -> tuple[Level, str]:
        s = self.summary
        s.accounts += 1
        s.counts = s.counts + e.counts
        s.folders_failed += e.folders_failed
        if e.error is not None:
            s.accounts_failed += 1
            return Level.ERROR, f"{e.account}: sync failed: {e.error}"
        failed = f"; {e.folders_failed} folder(s) failed" if e.folders_failed else ""
        if e.aborted:
            return Level.WARNING, f"{e.account}: sync aborted: {describe_counts(e.counts)}{failed}"
        return Level.INFO, f"{e.account}: sync done: {describe_counts(e.counts)}{failed}"

    def _on_Error(self, e: Error) -> tuple[Level, str]:
        self.summary.errors += 1
        return Level.ERROR, _prefixed(e.account, e.folder, f"{e.message} [{e.scope.value}]")

    def _on_PlannedAction(self, e: PlannedAction) -> tuple[Level, str]:
        return Level.INFO, f"{where(e.account, e.folder)}: would {e.description}"

    def _on_Countdown(self, e: Countdown) -> tuple[Level, str] | None:
        if e.account in self._announced_wait:
            return None
        self._announced_wait.add(e.account)
        return Level.INFO, f"{e.account}: next sync in {human_duration(e.seconds_left)}"

    def _on_PasswordRequest(self, e: PasswordRequest) -> tuple[Level, str]:
        return Level.INFO, f"{e.account}: {prompt_first_line(e)}"

    def _on_RunFinished(self, e: RunFinished) -> tuple[Level, str]:
        level = Level.INFO if e.exit_code == 0 else Level.ERROR
        return level, self.summary.text(e.exit_code)


LEVEL_NAMES: dict[Level, str] = {
    Level.DEBUG: "DEBUG",
    Level.INFO: "INFO",
    Level.WARNING: "WARNING",
    Level.ERROR: "ERROR",
}


def render_plain(line: Line) -> str:
    """A log-file line: local date and time, level, text (Basic and Quiet)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(line.ts))
    return f"{stamp} {LEVEL_NAMES[line.level]:<7} {line.text}"


_ANSI: dict[Level, str] = {
    Level.DEBUG: "\x1b[2m",
    Level.INFO: "",
    Level.WARNING: "\x1b[33;1m",
    Level.ERROR: "\x1b[31;1m",
}
_ANSI_RESET = "\x1b[0m"


def render_tty(line: Line, *, colour: bool) -> str:
    """A console line: clock time and text; problems are named and, with colour, tinted."""
    stamp = time.strftime("%H:%M:%S", time.localtime(line.ts))
    tag = "" if line.level is Level.INFO else f"{LEVEL_NAMES[line.level].lower()}: "
    body = f"{tag}{line.text}"
    if colour and _ANSI[line.level]:
        body = f"{_ANSI[line.level]}{body}{_ANSI_RESET}"
    return f"{stamp} {body}"
