"""What the dashboard leaves on the terminal when it is gone (or was never shown)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

from engine.events import Level
from ui.blinken_model import DashboardModel
from ui.lines import Line, render_tty
from ui.ttyui import wants_colour

PROBLEMS_SHOWN_AFTER_EXIT = 20


def print_report(
    model: DashboardModel, stream: TextIO, env: Mapping[str, str] | None = None
) -> None:
    """The run's last problems and its closing line, in the TTY UI's colours."""
    problems = [e for e in model.log if e.level >= Level.WARNING and e is not model.final]
    problems = problems[-PROBLEMS_SHOWN_AFTER_EXIT:]
    if model.final is not None:
        problems.append(model.final)
    colour = wants_colour(stream, os.environ if env is None else env)
    for entry in problems:
        line = Line(entry.level, entry.text, entry.ts)
        stream.write(render_tty(line, colour=colour) + "\n")
    stream.flush()
