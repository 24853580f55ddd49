"""Pop-ups over the dashboard: the help screen and the masked password prompt.

The help is generated from ``ui.keys.BINDINGS`` and ``ui.states`` so it cannot
drift from what the keys do and what the LEDs show.  The prompt only ever draws
mask characters, and forgets the typed text as soon as it has been handed on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import urwid

from ui.keys import BINDINGS
from ui.palette import led_attr
from ui.states import legend

AnswerCallback = Callable[[str | None], None]


def _key_rows() -> list[urwid.Widget]:
    return [
        urwid.Text([("hotkey", f" {b.label:<8}"), f"  {b.help}"], wrap="space") for b in BINDINGS
    ]


def _hotkey_row(hotkeys: Mapping[str, str]) -> urwid.Widget:
    markup: list[Any] = []
    for key, account in hotkeys.items():
        markup += [("hotkey", f" {key} "), f" {account}   "]
    return urwid.Text(markup or [("dim", "no accounts")])


def _legend_grid() -> urwid.Widget:
    """One cell per legend row, as many columns as the width allows."""
    rows = [(colour, glyph, f" {colour}: {label}") for colour, glyph, label in legend()]
    width = 3 + max(len(words) for _c, _g, words in rows)
    cells = [
        urwid.Text([(led_attr(colour.split("/")[0]), f" {glyph} "), words])
        for colour, glyph, words in rows
    ]
    return urwid.GridFlow(cells, cell_width=width, h_sep=2, v_sep=0, align="left")


def help_body(hotkeys: Mapping[str, str]) -> urwid.ListBox[int]:
    """Keys, account hotkeys and the LED colour legend, as a scrollable list."""
    rows: list[Any] = [urwid.Text(("heading", "Keys"))]
    rows += _key_rows()
    rows += [urwid.Divider(), urwid.Text(("heading", "Account hotkeys")), _hotkey_row(hotkeys)]
    rows += [urwid.Divider(), urwid.Text(("heading", "LED colours")), _legend_grid()]
    return urwid.ListBox(urwid.SimpleFocusListWalker(rows))


def help_overlay(body: urwid.Widget, under: urwid.Widget) -> urwid.Overlay[Any, Any]:
    box = urwid.LineBox(body, title="help: Esc closes, arrows scroll")
    return urwid.Overlay(
        box,
        under,
        align="center",
        width=("relative", 94),
        valign="middle",
        height=("relative", 94),
        min_width=40,
        min_height=8,
    )


class PasswordPrompt(urwid.WidgetWrap["urwid.LineBox[Any]"]):
    """A masked one-line entry: Enter answers the text, Esc answers None.

    It takes every key while open, so letters that are dashboard keys (q, a, r)
    go into the password instead of quitting.
    """

    def __init__(self, prompt: str, on_answer: AnswerCallback) -> None:
        self._on_answer = on_answer
        self.edit = urwid.Edit("", mask="*")
        body = urwid.Pile(
            [
                urwid.Text(prompt),
                urwid.AttrMap(self.edit, "prompt.edit"),
                urwid.Text(("dim", "Enter: send   Esc: cancel")),
            ]
        )
        super().__init__(urwid.LineBox(urwid.AttrMap(body, "prompt"), title="password"))

    def keypress(self, size: tuple[()] | tuple[int] | tuple[int, int], key: str) -> str | None:
        if key == "enter":
            self._finish(self.edit.edit_text)
        elif key == "esc":
            self._finish(None)
        else:
            self._w.keypress(size, key)
        return None

    def _finish(self, answer: str | None) -> None:
        self.edit.set_edit_text("")
        self._on_answer(answer)


def prompt_overlay(prompt: PasswordPrompt, under: urwid.Widget) -> urwid.Overlay[Any, Any]:
    return urwid.Overlay(
        prompt,
        under,
        align="center",
        width=("relative", 70),
        valign="middle",
        height="pack",
        min_width=30,
    )
