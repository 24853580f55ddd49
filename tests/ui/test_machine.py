"""MachineUI: JSON Lines that validate against the documented schema, and never a secret."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest

from engine.events import Level, Log, PasswordRequest, ThreadState
from tests.ui.fakes import FakeCommands, FakeEventSource
from tests.ui.sample_events import sample_run
from ui.machine import TYPE_NAMES, MachineUI
from ui.machine_schema import SCHEMA_VERSION, SCHEMAS, THREAD_STATES, validate


def machine_lines(events: list[Any], *, debug: bool = False) -> list[dict[str, Any]]:
    source = FakeEventSource(events)
    commands = FakeCommands([], source)
    commands.declare_finished()
    out = io.StringIO()
    MachineUI(stream=out, debug=debug).run(source, commands)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_line_is_json_and_validates() -> None:
    objects = machine_lines(sample_run(), debug=True)
    assert len(objects) == len(sample_run())
    for obj in objects:
        assert validate(obj) == [], obj
    assert {obj["type"] for obj in objects} == set(SCHEMAS)


def test_every_event_type_has_a_schema_and_the_thread_states_match_the_enum() -> None:
    assert set(TYPE_NAMES.values()) == set(SCHEMAS)
    assert [state.value for state in ThreadState] == THREAD_STATES


def test_lines_carry_version_type_and_fields() -> None:
    progress = next(o for o in machine_lines(sample_run()) if o["type"] == "progress")
    assert progress["v"] == SCHEMA_VERSION == 1
    assert progress["account"] == "work" and progress["folder"] == "INBOX"
    assert (progress["messages_done"], progress["bytes_total"]) == (1, 3000)
    finished = next(o for o in machine_lines(sample_run()) if o["type"] == "account_finished")
    assert finished["counts"]["copied_to_local"] == 3 and finished["folders_failed"] == 1


def test_password_request_is_answered_none_and_carries_no_secret() -> None:
    request = PasswordRequest("home", "home-remote", "Password for me@example.org:")
    (obj,) = machine_lines([request])
    assert request.reply._done.is_set() and request.reply.wait(0) is None
    assert obj == {
        "v": 1,
        "type": "password_request",
        "ts": request.ts,
        "account": "home",
        "repository": "home-remote",
        "prompt": "Password for me@example.org:",
        "answered": False,
        "secret": True,
    }


def test_password_request_with_an_answer_already_given_still_leaks_nothing() -> None:
    request = PasswordRequest("home", "home-remote", "Password:")
    request.reply.answer("hunter2")  # e.g. answered by another path before we saw it
    source = FakeEventSource([request])
    commands = FakeCommands([], source)
    commands.declare_finished()
    out = io.StringIO()
    MachineUI(stream=out).run(source, commands)
    assert "hunter2" not in out.getvalue()


def test_debug_log_lines_only_with_debug() -> None:
    events = [Log(Level.DEBUG, "noise"), Log(Level.INFO, "signal")]
    assert [o["message"] for o in machine_lines(events)] == ["signal"]
    assert [o["message"] for o in machine_lines(events, debug=True)] == ["noise", "signal"]


def test_non_ascii_names_round_trip() -> None:
    (obj,) = machine_lines([Log(Level.INFO, "Entwürfe \udcff", folder="Entwürfe")])
    assert obj["folder"] == "Entwürfe"


def _valid_progress() -> dict[str, Any]:
    return next(o for o in machine_lines(sample_run()) if o["type"] == "progress")


@pytest.mark.parametrize(
    ("mutate", "complaint"),
    [
        (lambda o: o.pop("bytes_done"), "missing 'bytes_done'"),
        (lambda o: o.update(bytes_done="12"), "$.bytes_done: expected integer"),
        (lambda o: o.update(bytes_done=True), "$.bytes_done: expected integer"),
        (lambda o: o.update(bytes_done=-1), "below 0"),
        (lambda o: o.update(secret="x"), "unexpected field 'secret'"),
        (lambda o: o.update(type="telepathy"), "unknown type 'telepathy'"),
        (lambda o: o.update(v=2), "$.v: expected 1"),
        (lambda o: o.update(ts="now"), "$.ts: expected number"),
    ],
)
def test_validator_catches_wrong_lines(mutate: Any, complaint: str) -> None:
    obj = copy.deepcopy(_valid_progress())
    mutate(obj)
    problems = validate(obj)
    assert any(complaint in p for p in problems), problems


def test_validator_checks_nested_counts_and_enums() -> None:
    objects = machine_lines(sample_run())
    finished = copy.deepcopy(next(o for o in objects if o["type"] == "folder_finished"))
    finished["counts"]["bytes"] = 1.5
    assert validate(finished) == ["$.counts.bytes: expected integer, got float"]
    state = copy.deepcopy(next(o for o in objects if o["type"] == "thread_state"))
    state["state"] = "dancing"
    assert len(validate(state)) == 1
    assert validate([1]) == ["$: expected object, got list"]
