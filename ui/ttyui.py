"""TTYUI: readable lines on a console, coloured when that is welcome, and able to ask.

Colour follows the stream: a terminal gets ANSI colours unless ``NO_COLOR`` is
set; a pipe or file gets plain text.  A password request is asked with
``getpass`` (which reads from the controlling terminal and does not echo) while
the other events wait in the queue.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from typing import TextIO

from engine.events import Event, Level, PasswordRequest
from ui.base import Commands, EventSource
from ui.lines import Line, LineFormatter, clean, render_tty
from ui.pump import pump

Asker = Callable[[str], str]


def wants_colour(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """ANSI colour only for a terminal, and never against ``NO_COLOR``."""
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class TTYUI:
    def __init__(
        self,
        *,
        stream: TextIO,
        debug: bool = False,
        colour: bool | None = None,
        ask: Asker | None = None,
    ) -> None:
        self._stream = stream
        self._debug = debug
        self._colour = wants_colour(stream) if colour is None else colour
        self._ask = ask or getpass.getpass
        self._formatter = LineFormatter()

    def run(self, events: EventSource, commands: Commands) -> None:
        pump(events, commands, self.handle, self._stream.flush)

    def handle(self, event: Event) -> None:
        if isinstance(event, PasswordRequest):
            self._ask_password(event)
            return
        line = self._formatter.format(event)
        if line is not None and (line.level is not Level.DEBUG or self._debug):
            self._stream.write(render_tty(line, colour=self._colour) + "\n")

    def _ask_password(self, event: PasswordRequest) -> None:
        """Ask, and always answer: cancelling (Ctrl-D, Ctrl-C) answers None."""
        self._stream.flush()
        prompt = clean(event.prompt or f"Password for {event.account} ({event.repository}): ")
        answer: str | None
        try:
            answer = self._ask(prompt)
        except (EOFError, KeyboardInterrupt):
            answer = None
            self._stream.write("\n")
        event.reply.answer(answer)
        if answer is None:
            note = Line(Level.WARNING, f"{event.account}: password prompt cancelled", event.ts)
            self._stream.write(render_tty(note, colour=self._colour) + "\n")
