"""Choosing a frontend by name."""

from __future__ import annotations

import io

import pytest

from ui.basic import Basic, Quiet
from ui.deferred import DeferredDashboard
from ui.machine import MachineUI
from ui.select import UI_NAMES, create_frontend, default_ui_name, normalize_ui_name
from ui.ttyui import TTYUI


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("blinkenlights", "blinkenlights"),
        ("Blinkenlights", "blinkenlights"),
        ("Curses.Blinkenlights", "blinkenlights"),
        ("TTYUI", "ttyui"),
        ("TTY.TTYUI", "ttyui"),
        ("basic", "basic"),
        ("Noninteractive.Basic", "basic"),
        ("QUIET", "quiet"),
        ("Noninteractive.Quiet", "quiet"),
        ("MachineUI", "machineui"),
        ("Machine.MachineUI", "machineui"),
        ("  basic ", "basic"),
    ],
)
def test_names_are_case_insensitive_and_accept_offlineimap_spellings(
    given: str, canonical: str
) -> None:
    assert normalize_ui_name(given) == canonical


@pytest.mark.parametrize("bad", ["curses", "Noninteractive.Blinkenlights", "", "basic,quiet"])
def test_unknown_names_raise_one_clear_line(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize_ui_name(bad)
    message = str(info.value)
    assert "\n" not in message
    assert repr(bad) in message
    assert all(name in message for name in UI_NAMES)


def test_default_depends_on_the_terminal() -> None:
    assert default_ui_name(True) == "blinkenlights"
    assert default_ui_name(False) == "basic"


def test_create_frontend_builds_each_kind_on_the_right_stream() -> None:
    out, err = io.StringIO(), io.StringIO()
    kinds = {
        "blinkenlights": DeferredDashboard,
        "TTYUI": TTYUI,
        "Noninteractive.Basic": Basic,
        "quiet": Quiet,
        "machineui": MachineUI,
    }
    for name, kind in kinds.items():
        frontend = create_frontend(name, stream=out, stderr=err)
        assert type(frontend) is kind
    assert create_frontend("quiet", stream=out, stderr=err)._stream is err  # type: ignore[attr-defined]
    assert create_frontend("basic", stream=out, stderr=err)._stream is out  # type: ignore[attr-defined]


def test_create_frontend_passes_options_and_rejects_unknown_ones() -> None:
    tty = create_frontend("ttyui", stream=io.StringIO(), colour=True, debug=True)
    assert tty._colour is True and tty._debug is True  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        create_frontend("basic", stream=io.StringIO(), fancy=True)
