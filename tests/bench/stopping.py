"""A benchmark stopped by SIGTERM or SIGHUP cleans up as after Ctrl-C.

Without this, ``kill`` or a closed terminal ends the script at once: no
``finally`` runs, and its throwaway Dovecot (in a session of its own, so the
signal does not reach it) and its temp dirs outlive it.
"""

from __future__ import annotations

import signal
from types import FrameType


def exit_on_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit)


def _exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
