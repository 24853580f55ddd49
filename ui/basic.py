"""Basic and Quiet: timestamped plain lines for cron jobs and log files.

Neither can ask for anything: nobody is watching.  A password request is
answered with None at once (so the engine does not wait for its timeout) and
the missing password is reported as an error naming account and repository.
"""

from __future__ import annotations

from typing import TextIO

from engine.events import Event, Level, PasswordRequest
from ui.base import Commands, EventSource
from ui.lines import Line, LineFormatter, missing_password_text, render_plain
from ui.pump import pump


class Basic:
    """Every line at INFO and above (DEBUG too with ``debug``) on one stream."""

    name = "basic"
    threshold = Level.INFO

    def __init__(self, *, stream: TextIO, debug: bool = False) -> None:
        self._stream = stream
        self._debug = debug
        self._formatter = LineFormatter()

    def run(self, events: EventSource, commands: Commands) -> None:
        pump(events, commands, self.handle, self._stream.flush)

    def handle(self, event: Event) -> None:
        if isinstance(event, PasswordRequest):
            event.reply.answer(None)
            self._write(Line(Level.ERROR, missing_password_text(event, self.name), event.ts))
            return
        line = self._formatter.format(event)
        if line is not None:
            self._write(line)

    def _shown(self, line: Line) -> bool:
        if line.level is Level.DEBUG:
            return self._debug
        return line.level >= self.threshold

    def _write(self, line: Line) -> None:
        if self._shown(line):
            self._stream.write(render_plain(line) + "\n")


class Quiet(Basic):
    """Only warnings and errors, and the closing summary when the run failed.

    A failed run's summary comes as an ERROR line from the formatter, so the
    level filter alone gives "silent when all is well".
    """

    name = "quiet"
    threshold = Level.WARNING
