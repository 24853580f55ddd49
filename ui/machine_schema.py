"""The MachineUI wire format, version 1, as data, and a validator for it.

Each line of ``-u machineui`` output is one JSON object.  Every object has
``v`` (the schema version), ``type`` (one of ``SCHEMAS``) and ``ts`` (Unix
time, seconds, fractional); the rest depends on the type.  The schemas use a
small subset of JSON Schema (type, enum, const, properties, required,
additionalProperties, minimum) so they can be exported as JSON Schema as is,
and ``validate`` here checks exactly that subset without a dependency.

Compatibility rule: within version 1 fields are never removed or retyped;
a change that would break a reader bumps ``v``.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
OPT_STRING: Schema = {"type": ["string", "null"]}
COUNT: Schema = {"type": "integer", "minimum": 0}

THREAD_STATES = [
    "idle",
    "terminated",
    "main",
    "connecting",
    "account_sync",
    "folder_sync",
    "loading_list",
    "sync_controller",
    "copying",
    "deleting",
    "adding_flags",
    "removing_flags",
    "countdown",
    "idle_wait",
]

COUNTS: Schema = {
    "type": "object",
    "properties": {
        name: COUNT
        for name in (
            "copied_to_local",
            "copied_to_remote",
            "deleted_local",
            "deleted_remote",
            "flags_local",
            "flags_remote",
            "bytes",
            "skipped",
            "too_large",
            "too_old",
            "folders_created",
        )
    },
    "additionalProperties": False,
}
COUNTS["required"] = list(COUNTS["properties"])


def _event(type_name: str, **fields: Schema) -> Schema:
    """An object schema with the common header and ``fields``, all required."""
    properties: dict[str, Schema] = {
        "v": {"type": "integer", "const": SCHEMA_VERSION},
        "type": {"type": "string", "const": type_name},
        "ts": {"type": "number"},
        **fields,
    }
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


SCHEMAS: dict[str, Schema] = {
    "thread_state": _event(
        "thread_state",
        thread=STRING,
        state={"type": "string", "enum": THREAD_STATES},
        account=OPT_STRING,
        folder=OPT_STRING,
        dry_run={"type": "boolean"},
    ),
    "log": _event(
        "log",
        level={"type": "string", "enum": ["debug", "info", "warning", "error"]},
        message=STRING,
        account=OPT_STRING,
        folder=OPT_STRING,
        thread=OPT_STRING,
    ),
    "account_started": _event("account_started", account=STRING, folders_total=COUNT),
    "folder_started": _event(
        "folder_started",
        account=STRING,
        folder=STRING,
        index=COUNT,
        total=COUNT,
        thread=OPT_STRING,
    ),
    "progress": _event(
        "progress",
        account=STRING,
        folder=STRING,
        messages_done=COUNT,
        messages_total=COUNT,
        bytes_done=COUNT,
        bytes_total=COUNT,
    ),
    "folder_finished": _event(
        "folder_finished",
        account=STRING,
        folder=STRING,
        counts=COUNTS,
        error=OPT_STRING,
        uidvalidity_problem={"type": "boolean"},
        thread=OPT_STRING,
    ),
    "account_finished": _event(
        "account_finished",
        account=STRING,
        counts=COUNTS,
        error=OPT_STRING,
        folders_failed=COUNT,
        uidvalidity_problems=COUNT,
        aborted={"type": "boolean"},
    ),
    "error": _event(
        "error",
        scope={"type": "string", "enum": ["message", "folder", "account"]},
        message=STRING,
        account=OPT_STRING,
        folder=OPT_STRING,
    ),
    "planned_action": _event("planned_action", account=STRING, folder=STRING, description=STRING),
    "countdown": _event("countdown", account=STRING, seconds_left=COUNT),
    "password_request": _event(
        "password_request",
        account=STRING,
        repository=STRING,
        prompt=STRING,
        answered={"type": "boolean", "const": False},
        secret={"type": "boolean"},
    ),
    "run_finished": _event("run_finished", exit_code=COUNT),
}

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "object": (dict,),
    "array": (list,),
}


def _type_ok(value: Any, wanted: str | list[str]) -> bool:
    names = [wanted] if isinstance(wanted, str) else wanted
    for name in names:
        # bool is an int in Python but not a number in JSON.
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if isinstance(value, _JSON_TYPES[name]):
            return True
    return False


def _check(value: Any, schema: Schema, path: str) -> list[str]:
    if "type" in schema and not _type_ok(value, schema["type"]):
        return [f"{path}: expected {schema['type']}, got {type(value).__name__}"]
    problems: list[str] = []
    if "const" in schema and value != schema["const"]:
        problems.append(f"{path}: expected {schema['const']!r}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"]:
        problems.append(f"{path}: {value!r} is below {schema['minimum']}")
    if isinstance(value, dict):
        problems.extend(_check_object(value, schema, path))
    return problems


def _check_object(value: dict[str, Any], schema: Schema, path: str) -> list[str]:
    properties: dict[str, Schema] = schema.get("properties", {})
    required: list[str] = schema.get("required", [])
    problems = [f"{path}: missing {name!r}" for name in required if name not in value]
    for name, item in value.items():
        if name in properties:
            problems.extend(_check(item, properties[name], f"{path}.{name}"))
        elif schema.get("additionalProperties", True) is False:
            problems.append(f"{path}: unexpected field {name!r}")
    return problems


def validate(obj: Any) -> list[str]:
    """Everything wrong with one decoded line; an empty list means it is valid."""
    if not isinstance(obj, dict):
        return [f"$: expected object, got {type(obj).__name__}"]
    if obj.get("v") != SCHEMA_VERSION:
        return [f"$.v: expected {SCHEMA_VERSION}, got {obj.get('v')!r}"]
    type_name = obj.get("type")
    if not isinstance(type_name, str) or type_name not in SCHEMAS:
        return [f"$.type: unknown type {type_name!r}"]
    return _check(obj, SCHEMAS[type_name], "$")
