"""The house rules that keep the code testable part by part, checked on every run."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "ui", "blinken")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).glob("*.py"))


def test_engine_imports_neither_ui_nor_blinken() -> None:
    for path in _modules("engine"):
        bad = {n for n in _imports(path) if n.split(".")[0] in ("ui", "blinken")}
        assert not bad, f"{path.name} imports {bad}"


def test_ui_imports_only_event_types_from_engine() -> None:
    for path in _modules("ui"):
        engine = {n for n in _imports(path) if n.split(".")[0] == "engine"}
        assert engine <= {"engine.events"}, f"{path.name} imports {engine}"
        assert not {n for n in _imports(path) if n.split(".")[0] == "blinken"}, path.name


def test_modules_stay_small() -> None:
    for package in PACKAGES:
        for path in _modules(package):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            assert lines <= 550, f"{package}/{path.name} has {lines} lines"


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("mypy", "engine", "blinken", "ui"),
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_linters_are_clean(command: tuple[str, ...]) -> None:
    done = _tool(*command)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
