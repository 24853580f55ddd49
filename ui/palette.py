"""Colour names to urwid palette entries, for 256 colours, 16 colours and monochrome.

Every colour of ``ui.states`` gives two display attributes: ``led.<colour>``
(a lit LED: the colour as background, a contrasting glyph on it) and
``text.<colour>`` (a log line written by a thread in that colour).  The palette
holds all three depths at once; the screen picks the column that fits, and
``colour_depth`` decides which depth to ask the screen for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ui.states import ALL_COLOURS, DEFAULT_COLOUR

PaletteEntry = tuple[str, str, str, str, str, str]


@dataclass(frozen=True)
class TermColour:
    """One colour at two depths; ``on_*`` is the glyph drawn on the LED.

    ``text_*`` differ from the LED colour only where the LED colour would be
    unreadable as text on a dark terminal (black, dark blue).
    """

    basic: str
    high: str
    on_basic: str = "black"
    on_high: str = "#000"
    text_basic: str | None = None
    text_high: str | None = None


TERM_COLOURS: dict[str, TermColour] = {
    "black": TermColour("black", "g11", "dark gray", "g42", "default", "default"),
    "red": TermColour("dark red", "#d00", "white", "#fff", "light red", "#f66"),
    "gray": TermColour("light gray", "g62"),
    "purple": TermColour("dark magenta", "#80d", "white", "#fff", "light magenta", "#a6f"),
    "cyan": TermColour("dark cyan", "#0dd"),
    "green": TermColour("dark green", "#0a0", "black", "#000", "light green", "#0d0"),
    "blue": TermColour("dark blue", "#06f", "white", "#fff", "light blue", "#68f"),
    "orange": TermColour("brown", "#f80"),
    "fuchsia": TermColour("light magenta", "#f0f"),
    "yellow": TermColour("yellow", "#ff0"),
    "pink": TermColour("light red", "#f8a"),
    "sky": TermColour("light cyan", "#8df"),
}

# (name, 16-colour fg, 16-colour bg, monochrome, 256-colour fg, 256-colour bg)
CHROME: tuple[PaletteEntry, ...] = (
    ("title", "white,bold", "dark blue", "standout", "#fff,bold", "#008"),
    ("notice", "yellow,bold", "dark blue", "standout,bold", "#ff0,bold", "#008"),
    ("dim", "dark gray", "default", "", "g50", "default"),
    ("hotkey", "black", "light gray", "standout", "#000", "g78"),
    ("heading", "white,bold", "default", "bold", "#fff,bold", "default"),
    ("level.debug", "dark gray", "default", "", "g50", "default"),
    ("level.warning", "yellow,bold", "default", "bold", "#ff0,bold", "default"),
    ("level.error", "light red,bold", "default", "bold,underline", "#f66,bold", "default"),
    ("prompt", "white", "dark blue", "", "#fff", "#008"),
    ("prompt.edit", "black", "light gray", "standout", "#000", "g78"),
    ("prompt.dim", "light gray", "dark blue", "", "g70", "#008"),
    ("help.more", "black", "yellow", "standout", "#000", "#ff0"),
    ("status.error", "light red", "default", "bold", "#f66", "default"),
    ("text.default", "default", "default", "", "default", "default"),
)


def led_attr(colour: str) -> str:
    """The display attribute of an LED lit in ``colour``."""
    return f"led.{colour}"


def text_attr(colour: str | None) -> str:
    """The display attribute of text written by a thread in ``colour``."""
    return f"text.{colour or DEFAULT_COLOUR}"


def _colour_entries(name: str, colour: TermColour) -> list[PaletteEntry]:
    mono_led = "" if name == "black" else "standout"
    led = (led_attr(name), colour.on_basic, colour.basic, mono_led, colour.on_high, colour.high)
    text_basic = colour.text_basic or colour.basic
    text_high = colour.text_high or colour.high
    text = (text_attr(name), text_basic, "default", "", text_high, "default")
    return [led, text]


def build_palette() -> list[PaletteEntry]:
    """The whole palette, valid for every depth the screen may pick."""
    entries: list[PaletteEntry] = list(CHROME)
    for name in ALL_COLOURS:
        entries.extend(_colour_entries(name, TERM_COLOURS[name]))
    return entries


def colour_depth(env: Mapping[str, str] | None = None) -> int:
    """1, 16 or 256: how many colours to ask the screen for.

    ``NO_COLOR`` (any non-empty value, see no-color.org) and a dumb terminal
    mean monochrome; 256 needs the terminal to say so in ``TERM`` or
    ``COLORTERM``.
    """
    env = os.environ if env is None else env
    term = env.get("TERM", "")
    if env.get("NO_COLOR") or term in ("", "dumb"):
        return 1
    if "256color" in term or env.get("COLORTERM", "") in ("truecolor", "24bit"):
        return 256
    return 16
