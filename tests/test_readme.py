"""The README must stay true to the code: its commands and its schema table."""

from __future__ import annotations

import re
from pathlib import Path

from ui.machine_schema import SCHEMAS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

TEST_COMMAND = "python3 -m blinken.bootstrap test"
DEMO_COMMAND = "python3 -m blinken.bootstrap demo"


def test_ci_runs_the_readme_test_command() -> None:
    assert f"```sh\n{TEST_COMMAND}\n```" in README
    assert f"```sh\n{DEMO_COMMAND}\n```" in README
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1] == TEST_COMMAND


def test_machine_ui_table_matches_the_schema() -> None:
    rows = dict(re.findall(r"^\| `(\w+)` \| (.*) \|$", README, re.MULTILINE))
    assert set(rows) == set(SCHEMAS)
    for name, schema in SCHEMAS.items():
        fields = [f for f in schema["properties"] if f not in ("v", "type", "ts")]
        assert rows[name] == ", ".join(f"`{f}`" for f in fields), name
