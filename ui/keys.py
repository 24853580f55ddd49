"""The dashboard's keys, as data: the dispatcher and the help screen both read this.

Account hotkeys take what the fixed bindings leave free (digits first, then
letters), so adding a binding can never silently shadow an account.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Collection
from dataclasses import dataclass


class Action(enum.Enum):
    SYNC_ALL = "sync_all"
    SYNC_ACCOUNT = "sync_account"
    ABORT = "abort"
    QUIT = "quit"
    HELP = "help"
    CLOSE = "close"
    SCROLL_UP = "scroll_up"
    SCROLL_DOWN = "scroll_down"
    PAGE_UP = "page_up"
    PAGE_DOWN = "page_down"
    TOP = "top"
    BOTTOM = "bottom"


@dataclass(frozen=True)
class Binding:
    """Keys (urwid key names) that trigger ``action``.

    ``label`` is how the help shows the keys; ``short``, when set, puts the
    binding in the title bar's reminder.
    """

    keys: tuple[str, ...]
    action: Action
    label: str
    help: str
    short: str | None = None


BINDINGS: tuple[Binding, ...] = (
    Binding(("r",), Action.SYNC_ALL, "r", "sync all accounts now", "sync"),
    Binding((), Action.SYNC_ACCOUNT, "1 2 ...", "sync one account now (hotkey beside its name)"),
    Binding(("a",), Action.ABORT, "a", "abort: finish the message in flight, save, stop", "abort"),
    Binding(("q",), Action.QUIT, "q", "quit gracefully; press again to quit at once", "quit"),
    Binding(("?",), Action.HELP, "?", "show or hide this help", "help"),
    Binding(("esc",), Action.CLOSE, "Esc", "close this help"),
    Binding(("up", "k"), Action.SCROLL_UP, "Up k", "scroll the log up a line"),
    Binding(("down", "j"), Action.SCROLL_DOWN, "Down j", "scroll the log down a line"),
    Binding(("page up",), Action.PAGE_UP, "PgUp", "scroll the log up a page"),
    Binding(("page down",), Action.PAGE_DOWN, "PgDn", "scroll the log down a page"),
    Binding(("home",), Action.TOP, "Home", "jump to the oldest log line"),
    Binding(("end",), Action.BOTTOM, "End", "jump to the newest line and follow the log"),
)

_BY_KEY: dict[str, Action] = {key: b.action for b in BINDINGS for key in b.keys}

RESERVED_KEYS: frozenset[str] = frozenset(_BY_KEY)

HOTKEY_CANDIDATES: tuple[str, ...] = tuple(
    key for key in string.digits[1:] + string.ascii_lowercase if key not in RESERVED_KEYS
)


def reminder() -> str:
    """The few keys worth a permanent place on screen, e.g. ``r sync  q quit``."""
    return "  ".join(f"{b.label} {b.short}" for b in BINDINGS if b.short)


def action_for(key: str) -> Action | None:
    """The fixed action bound to ``key``, if any (hotkeys are looked up separately)."""
    return _BY_KEY.get(key)


def next_hotkey(taken: Collection[str]) -> str | None:
    """The first free hotkey for the next account, None when all are taken."""
    return next((key for key in HOTKEY_CANDIDATES if key not in taken), None)
