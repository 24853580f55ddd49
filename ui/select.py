"""Choosing a frontend by name: ours, and the names OfflineIMAP configs already use."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from ui.base import Frontend

UI_NAMES: tuple[str, ...] = ("blinkenlights", "ttyui", "basic", "quiet", "machineui")

# OfflineIMAP's module-qualified spellings, lower-cased.
_OLD_NAMES: dict[str, str] = {
    "curses.blinkenlights": "blinkenlights",
    "tty.ttyui": "ttyui",
    "noninteractive.basic": "basic",
    "noninteractive.quiet": "quiet",
    "machine.machineui": "machineui",
}


def normalize_ui_name(name: str) -> str:
    """Our canonical name for ``name`` (any case, old dotted forms accepted).

    Raises ValueError with a one-line message listing the valid names.
    """
    key = name.strip().lower()
    if key in UI_NAMES:
        return key
    if key in _OLD_NAMES:
        return _OLD_NAMES[key]
    raise ValueError(f"unknown UI {name!r}: choose one of {', '.join(UI_NAMES)}")


def default_ui_name(isatty: bool) -> str:
    """The dashboard for a person at a terminal, plain lines for everything else."""
    return "blinkenlights" if isatty else "basic"


def create_frontend(
    name: str,
    *,
    stream: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
    debug: bool = False,
    **opts: Any,
) -> Frontend:
    """Build the frontend called ``name``; ``opts`` go to its constructor (tests, screenshots).

    Quiet writes to ``stderr`` (it only ever has problems to say); the others
    write to ``stream``.  Imports are deferred so a cron run never loads urwid.
    """
    canonical = normalize_ui_name(name)
    if canonical == "blinkenlights":
        from ui.deferred import DeferredDashboard

        return DeferredDashboard(stream=stream, debug=debug, **opts)
    if canonical == "ttyui":
        from ui.ttyui import TTYUI

        return TTYUI(stream=stream, debug=debug, **opts)
    if canonical == "machineui":
        from ui.machine import MachineUI

        return MachineUI(stream=stream, debug=debug, **opts)
    from ui.basic import Basic, Quiet

    if canonical == "quiet":
        return Quiet(stream=stderr, debug=debug, **opts)
    return Basic(stream=stream, debug=debug, **opts)
