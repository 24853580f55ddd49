"""A run's exit statuses and options, apart from the runner that uses them.

The command line needs these before anything else; importing the runner
(and the sync engine behind it) can then wait until the servers are being
connected to (:mod:`engine.imap_early`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.imap_trace import Trace

# OfflineIMAP's: 0 all synced, 1 errors, 2 a folder skipped for UIDVALIDITY; ours: 3 stopped.
EXIT_OK, EXIT_ERRORS, EXIT_UIDVALIDITY, EXIT_STOPPED = 0, 1, 2, 3
EXIT_USAGE = EXIT_ERRORS  # a bad option or config value is an error like any other


@dataclass
class RunOptions:
    """How the runner runs: once or refreshing, how many accounts at a time, prompting."""

    once: bool = True
    maxsyncaccounts: int = 1
    can_prompt: bool = False
    trace: Trace | None = None
    on_done: Callable[[], None] | None = None  # wakes the frontend once finished() is true
