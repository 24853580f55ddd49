"""MachineUI: every event as one JSON object per line, for other programs.

The wire format is ``ui.machine_schema`` (version ``SCHEMA_VERSION``); this
module only converts events to those objects.  Nothing secret is ever written:
a password request is answered None (a program reading our stdout cannot type
into it) and reported without its reply slot.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, TextIO

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
    Progress,
    RunFinished,
    ThreadStateChanged,
)
from ui.base import Commands, EventSource
from ui.machine_schema import SCHEMA_VERSION
from ui.pump import pump

TYPE_NAMES: dict[type[Event], str] = {
    ThreadStateChanged: "thread_state",
    Log: "log",
    AccountStarted: "account_started",
    FolderStarted: "folder_started",
    Progress: "progress",
    FolderFinished: "folder_finished",
    AccountFinished: "account_finished",
    Error: "error",
    PlannedAction: "planned_action",
    Countdown: "countdown",
    PasswordRequest: "password_request",
    RunFinished: "run_finished",
}


def _fields(event: Event) -> dict[str, Any]:
    """The event's own fields as JSON values (enums by their wire names)."""
    if isinstance(event, PasswordRequest):
        return {
            "account": event.account,
            "repository": event.repository,
            "prompt": event.prompt,
            "answered": False,
            "secret": event.secret,
        }
    fields = asdict(event)
    if isinstance(event, ThreadStateChanged):
        fields["state"] = event.state.value
    elif isinstance(event, Log):
        fields["level"] = event.level.name.lower()
    elif isinstance(event, Error):
        fields["scope"] = event.scope.value
    return fields


def to_object(event: Event) -> dict[str, Any]:
    """The schema object for ``event``; ``v`` and ``type`` come first for readers that peek."""
    body = _fields(event)
    body.pop("ts", None)
    return {"v": SCHEMA_VERSION, "type": TYPE_NAMES[type(event)], "ts": event.ts, **body}


class MachineUI:
    def __init__(self, *, stream: TextIO, debug: bool = False) -> None:
        self._stream = stream
        self._debug = debug

    def run(self, events: EventSource, commands: Commands) -> None:
        pump(events, commands, self.handle, self._stream.flush)

    def handle(self, event: Event) -> None:
        if isinstance(event, PasswordRequest):
            event.reply.answer(None)
        if isinstance(event, Log) and event.level is Level.DEBUG and not self._debug:
            return
        line = json.dumps(to_object(event), separators=(",", ":"))
        self._stream.write(line + "\n")
