"""The blinken command's first lines: start-up makes objects, not garbage.

Importing blinken and what it needs makes a few hundred thousand objects,
and the cyclic garbage collector, set off by allocations, walks them again
and again: about 40 collections, 8-20 ms of a no-op sync that takes about
0.13 s, and none of those objects is garbage.  So the collector is off from
the first line until the run's threads and frontend are up
(:func:`collect_from_now`, called by :func:`blinken.app.run_app`); what was
made by then is frozen out of its sight for the rest of the run.
"""

from __future__ import annotations

import gc


def command() -> int:
    """The ``blinken`` program (``python -m blinken`` too)."""
    gc.disable()
    from blinken.cli import command as blinken

    return blinken()


def collect_from_now() -> None:
    """Collect garbage again, leaving out everything start-up made."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
