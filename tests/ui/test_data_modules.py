"""States, palette and keys: the data the dashboard and its help screen are generated from."""

from __future__ import annotations

import pytest
import urwid
from urwid.testing import resolve_attr

from engine.events import ThreadState
from tests.ui.sample_events import MANUAL_COLOURS
from ui.keys import (
    BINDINGS,
    HOTKEY_CANDIDATES,
    RESERVED_KEYS,
    Action,
    action_for,
    next_hotkey,
    reminder,
)
from ui.palette import build_palette, colour_depth, led_attr, text_attr
from ui.states import ALL_COLOURS, STATE_STYLES, legend, state_colour


@pytest.mark.parametrize("state", list(MANUAL_COLOURS))
def test_state_colours_follow_the_manual(state: ThreadState) -> None:
    assert state_colour(state) == MANUAL_COLOURS[state]


def test_idle_wait_has_a_colour_of_its_own() -> None:
    ours = state_colour(ThreadState.IDLE_WAIT)
    assert ours not in MANUAL_COLOURS.values()
    assert ours in ALL_COLOURS


def test_dry_run_copy_is_fuchsia_and_other_states_ignore_dry_run() -> None:
    assert state_colour(ThreadState.COPYING, dry_run=True) == "fuchsia"
    assert state_colour(ThreadState.DELETING, dry_run=True) == "red"


def test_countdown_flashes_red_and_black() -> None:
    assert state_colour(ThreadState.COUNTDOWN, flash_on=True) == "red"
    assert state_colour(ThreadState.COUNTDOWN, flash_on=False) == "black"
    assert state_colour(ThreadState.COPYING, flash_on=False) == "orange"


def test_every_state_has_a_distinct_meaning_in_the_legend() -> None:
    rows = legend()
    colours = [colour for colour, _glyph, _label in rows]
    assert "red/black" in colours and "fuchsia" in colours
    # idle and terminated share one row; everything else has its own.
    assert len(rows) == len(STATE_STYLES) - 1 + 1
    labels = " ".join(label for _c, _g, label in rows)
    for style in STATE_STYLES.values():
        assert style.label in labels


def _entries() -> dict[str, tuple[str, ...]]:
    return {entry[0]: entry for entry in build_palette()}


def test_palette_has_led_and_text_attributes_for_every_colour() -> None:
    entries = _entries()
    for colour in ALL_COLOURS:
        assert led_attr(colour) in entries
        assert text_attr(colour) in entries
    assert text_attr(None) in entries


@pytest.mark.parametrize("colours", [1, 16, 88, 256, 2**24])
def test_palette_resolves_at_every_depth(colours: int) -> None:
    palette = build_palette()
    for name in _entries():
        spec = resolve_attr(name, palette, colors=colours)
        assert isinstance(spec, urwid.AttrSpec)


def test_led_colours_differ_at_16_and_256_colours_and_lit_leds_stand_out_in_mono() -> None:
    palette = build_palette()
    for colours in (16, 256):
        lit = [resolve_attr(led_attr(c), palette, colors=colours) for c in ALL_COLOURS]
        assert len({spec.background for spec in lit}) == len(ALL_COLOURS)
    mono = {c: resolve_attr(led_attr(c), palette, colors=1) for c in ALL_COLOURS}
    assert not mono["black"].standout
    assert all(spec.standout for c, spec in mono.items() if c != "black")


def test_orange_is_orange_at_256_colours() -> None:
    spec = resolve_attr(led_attr("orange"), build_palette(), colors=256)
    assert spec.background == "#f80"


@pytest.mark.parametrize(
    ("env", "depth"),
    [
        ({"TERM": "xterm-256color"}, 256),
        ({"TERM": "xterm-256color", "NO_COLOR": "1"}, 1),
        ({"TERM": "xterm-256color", "NO_COLOR": ""}, 256),
        ({"TERM": "xterm"}, 16),
        ({"TERM": "xterm", "COLORTERM": "truecolor"}, 256),
        ({"TERM": "dumb"}, 1),
    ],
)
def test_colour_depth(env: dict[str, str], depth: int) -> None:
    assert colour_depth(env) == depth


def test_hotkeys_skip_the_letters_bound_to_commands() -> None:
    assert HOTKEY_CANDIDATES[:9] == tuple("123456789")
    for key in ("r", "a", "q", "j", "k"):
        assert key in RESERVED_KEYS
        assert key not in HOTKEY_CANDIDATES
    assert "b" in HOTKEY_CANDIDATES
    assert len(set(HOTKEY_CANDIDATES)) == len(HOTKEY_CANDIDATES)


def test_next_hotkey_fills_in_order_and_runs_out() -> None:
    taken: set[str] = set()
    order = []
    while (key := next_hotkey(taken)) is not None:
        taken.add(key)
        order.append(key)
    assert tuple(order) == HOTKEY_CANDIDATES


@pytest.mark.parametrize(
    ("key", "action"),
    [
        ("r", Action.SYNC_ALL),
        ("a", Action.ABORT),
        ("q", Action.QUIT),
        ("?", Action.HELP),
        ("esc", Action.CLOSE),
        ("up", Action.SCROLL_UP),
        ("page down", Action.PAGE_DOWN),
        ("home", Action.TOP),
        ("end", Action.BOTTOM),
        ("1", None),
    ],
)
def test_action_for(key: str, action: Action | None) -> None:
    assert action_for(key) is action


def test_title_reminder_lists_the_main_commands() -> None:
    assert reminder() == "r sync  a abort  q quit  ? help"


def test_no_key_is_bound_twice() -> None:
    keys = [key for binding in BINDINGS for key in binding.keys]
    assert len(keys) == len(set(keys))
