"""The engine's only way of talking to the world: small immutable records.

Every frontend (the Blinkenlights dashboard, TTY, Basic, Quiet, Machine) is fed
by the same stream, so nothing here may know how it will be shown.  Events are
put on a queue by engine and account threads through an ``Emit`` callable; the
engine never waits for a frontend, except on a ``PasswordRequest`` whose reply
slot it blocks on (with a timeout) by design.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import field

from engine.frozen import Frozen, record


class ThreadState(enum.Enum):
    """What one worker thread is doing right now (one LED each)."""

    IDLE = "idle"
    TERMINATED = "terminated"
    MAIN = "main"
    CONNECTING = "connecting"
    ACCOUNT_SYNC = "account_sync"
    FOLDER_SYNC = "folder_sync"
    LOADING_LIST = "loading_list"
    SYNC_CONTROLLER = "sync_controller"
    COPYING = "copying"
    DELETING = "deleting"
    ADDING_FLAGS = "adding_flags"
    REMOVING_FLAGS = "removing_flags"
    COUNTDOWN = "countdown"
    IDLE_WAIT = "idle_wait"  # waiting in IMAP IDLE


class Level(enum.IntEnum):
    """Log levels, ordered so that frontends can filter with ``>=``."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40


class Scope(enum.Enum):
    """How far an error reaches: mbsync-style message < folder < account."""

    MESSAGE = "message"
    FOLDER = "folder"
    ACCOUNT = "account"


def _now() -> float:
    return time.time()


@record
class Event(Frozen):
    """Base of all events; ``ts`` is wall-clock seconds."""

    ts: float = field(default_factory=_now, kw_only=True)


@record
class ThreadStateChanged(Event):
    thread: str
    state: ThreadState
    account: str | None = None
    folder: str | None = None
    dry_run: bool = False


@record
class Log(Event):
    level: Level
    message: str
    account: str | None = None
    folder: str | None = None
    thread: str | None = None


@record
class AccountStarted(Event):
    account: str
    folders_total: int = 0


@record
class FolderStarted(Event):
    account: str
    folder: str
    index: int  # 1-based position among the account's folders
    total: int
    thread: str | None = None  # the worker that syncs it (its LED)


@record
class Progress(Event):
    """Cumulative transfer counters for one folder (not deltas: safe to coalesce)."""

    account: str
    folder: str
    messages_done: int
    messages_total: int
    bytes_done: int
    bytes_total: int


@record
class SyncCounts(Frozen):
    """What one folder or account sync changed, per direction."""

    copied_to_local: int = 0
    copied_to_remote: int = 0
    deleted_local: int = 0
    deleted_remote: int = 0
    flags_local: int = 0
    flags_remote: int = 0
    bytes: int = 0
    skipped: int = 0  # failed: a message error (the sync is not clean and tries again)
    too_large: int = 0  # not copied on purpose: larger than ``maxsize``
    too_old: int = 0  # not copied on purpose: older than ``maxage``
    folders_created: int = 0

    def __add__(self, other: SyncCounts) -> SyncCounts:
        return SyncCounts(*(a + b for a, b in zip(_fields(self), _fields(other), strict=True)))

    @property
    def changes(self) -> int:
        return sum(_fields(self)[:6])


def _fields(c: SyncCounts) -> tuple[int, ...]:
    return (
        c.copied_to_local,
        c.copied_to_remote,
        c.deleted_local,
        c.deleted_remote,
        c.flags_local,
        c.flags_remote,
        c.bytes,
        c.skipped,
        c.too_large,
        c.too_old,
        c.folders_created,
    )


@record
class FolderFinished(Event):
    account: str
    folder: str
    counts: SyncCounts
    error: str | None = None
    uidvalidity_problem: bool = False
    thread: str | None = None


@record
class AccountFinished(Event):
    account: str
    counts: SyncCounts
    error: str | None = None
    folders_failed: int = 0
    uidvalidity_problems: int = 0
    aborted: bool = False  # stopped by the user (abort, quit, a signal) before the end


@record
class Error(Event):
    """A scoped failure, already worded for a human in one line."""

    scope: Scope
    message: str
    account: str | None = None
    folder: str | None = None


@record
class PlannedAction(Event):
    """One action a ``--dry-run`` would have carried out."""

    account: str
    folder: str
    description: str


@record
class Countdown(Event):
    """Seconds until an account's next sync; emitted about once a second."""

    account: str
    seconds_left: int


class ReplySlot:
    """A one-shot answer box a frontend fills from its own thread."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: str | None = None

    def answer(self, value: str | None) -> None:
        self._value = value
        self._done.set()

    def wait(self, timeout: float | None = None) -> str | None:
        """The answer, or None when cancelled or when nobody answered in time."""
        self._done.wait(timeout)
        return self._value


@record
class PasswordRequest(Event):
    """The engine needs a secret; a frontend that can ask answers ``reply``."""

    account: str
    repository: str
    prompt: str
    reply: ReplySlot = field(default_factory=ReplySlot, compare=False, repr=False)
    secret: bool = True  # False: a yes/no question (keep it in the keyring?), shown unmasked


@record
class RunFinished(Event):
    """The whole run is over; ``exit_code`` is what the process will return."""

    exit_code: int


Emit = Callable[[Event], None]


def discard(_event: Event) -> None:
    """An ``Emit`` for callers that do not want events (tests, tools)."""
