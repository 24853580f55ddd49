"""Pop-ups over the dashboard: the help screen and the masked password prompt.

The help is generated from ``ui.keys.BINDINGS`` and ``ui.states`` so it cannot
drift from what the keys do and what the LEDs show.  It scrolls with the log's
keys when it is taller than the screen, and its bottom line says so.  The
prompt only ever draws mask characters, and forgets the typed text as soon as
it has been handed on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import urwid

from ui.keys import BINDINGS, Action, action_for
from ui.palette import led_attr
from ui.states import legend

AnswerCallback = Callable[[str | None], None]
Markup = list[Any]
HELP_TITLE = "help: Esc closes, arrows and PgUp/PgDn scroll"
FAR = 1 << 30  # Home/End: further than any help is long


def _key_rows() -> list[urwid.Widget]:
    return [
        urwid.Text([("hotkey", f" {b.label:<8}"), f"  {b.help}"], wrap="space") for b in BINDINGS
    ]


def _hotkey_row(hotkeys: Mapping[str, str]) -> urwid.Widget:
    markup: list[Any] = []
    for key, account in hotkeys.items():
        markup += [("hotkey", f" {key} "), f" {account}   "]
    return urwid.Text(markup or [("dim", "no accounts")])


def _legend_cells() -> tuple[list[urwid.Text], int]:
    """One Text per legend row, and the width that fits the longest."""
    rows = [(colour, glyph, f" {colour}: {label}") for colour, glyph, label in legend()]
    width = 3 + max(len(words) for _c, _g, words in rows)
    cells = [
        urwid.Text([(led_attr(colour.split("/")[0]), f" {glyph} "), words])
        for colour, glyph, words in rows
    ]
    return cells, width


class LegendGrid(urwid.WidgetWrap[urwid.Widget]):
    """The LED legend: as many columns as the width allows, a plain column below one cell."""

    def __init__(self) -> None:
        cells, self.cell_width = _legend_cells()
        self._grid = urwid.GridFlow(cells, self.cell_width, h_sep=2, v_sep=0, align="left")
        self._column = urwid.Pile(_legend_cells()[0])
        super().__init__(self._grid)

    def _layout(self, cols: int) -> urwid.GridFlow | urwid.Pile:
        return self._grid if cols >= self.cell_width else self._column

    def rows(self, size: tuple[int], focus: bool = False) -> int:
        return int(self._layout(size[0]).rows(size, focus))

    def render(self, size: tuple[int], focus: bool = False) -> urwid.Canvas:  # type: ignore[override]
        return self._layout(size[0]).render(size, focus)


def help_body(hotkeys: Mapping[str, str]) -> urwid.Pile:
    """Keys, account hotkeys and the LED colour legend, one flow widget to page through."""
    rows: list[Any] = [urwid.Text(("heading", "Keys"))]
    rows += _key_rows()
    rows += [urwid.Divider(), urwid.Text(("heading", "Account hotkeys")), _hotkey_row(hotkeys)]
    rows += [urwid.Divider(), urwid.Text(("heading", "LED colours")), LegendGrid()]
    return urwid.Pile(rows)


Span = tuple[int, int, int]  # (first row shown, rows shown, rows in all)


def _scroll_step(action: Action | None, rows: int) -> int | None:
    """How far a scroll key moves the help, in rows; None for other keys."""
    page = max(1, rows - 1)
    steps = {
        Action.SCROLL_UP: -1,
        Action.SCROLL_DOWN: 1,
        Action.PAGE_UP: -page,
        Action.PAGE_DOWN: page,
        Action.TOP: -FAR,
        Action.BOTTOM: FAR,
    }
    return steps.get(action) if action is not None else None


class HelpPager(urwid.Widget):
    """A box showing a window onto a flow widget; the scroll keys move the window."""

    _sizing = frozenset([urwid.Sizing.BOX])
    _selectable = True

    def __init__(self, body: urwid.Pile) -> None:
        super().__init__()
        self.body = body
        self.top = 0

    def span(self, size: tuple[int, int]) -> Span:
        """What ``size`` shows, keeping the window inside the body."""
        cols, rows = size
        total = self.body.rows((cols,))
        self.top = max(0, min(self.top, total - rows))
        return self.top, max(0, min(rows, total - self.top)), total

    def render(self, size: tuple[int, int], focus: bool = False) -> urwid.Canvas:  # type: ignore[override]
        cols, rows = size
        top, _shown, total = self.span(size)
        canvas = urwid.CompositeCanvas(self.body.render((cols,)))
        canvas.pad_trim_top_bottom(-top, rows - total + top)
        return canvas

    def keypress(self, size: tuple[int, int], key: str) -> str | None:  # type: ignore[override]
        step = _scroll_step(action_for(key), size[1])
        if step is None:
            return key
        self.span(size)
        self.top = max(0, self.top + step)
        self._invalidate()
        return None


def _fitting_hint(arrows: str, keys: str, where: str, width: int) -> tuple[str, str]:
    """The most telling (hint, position) pair that fits ``width`` with a dash to spare."""
    hint = f" {arrows} more: {keys} "
    choices = [(hint, f" {where} "), (hint, ""), (f" {arrows} more ", "")]
    fitting = (pair for pair in choices if len(pair[0]) + len(pair[1]) < width)
    return next(fitting, (arrows, ""))


def more_rule(span: Span, cols: int) -> Markup:
    """The box's bottom line; when the help does not fit, which way there is more and where."""
    top, shown, total = span
    inner = max(0, cols - 2)
    if shown >= total:
        return ["└" + "─" * inner + "┘"]
    above, below = top > 0, top + shown < total
    keys = "PgUp/PgDn" if above and below else "PgUp" if above else "PgDn"
    arrows = ("↑" if above else "") + ("↓" if below else "")
    where = f"lines {top + 1}-{top + shown} of {total}"
    hint, after = _fitting_hint(arrows, keys, where, inner)
    lead = "─" if len(hint) + len(after) < inner else ""
    dashes = "─" * max(0, inner - len(lead) - len(hint) - len(after))
    return ["└" + lead, ("help.more", hint), after, dashes, "┘"]


class HelpBox(urwid.WidgetWrap[urwid.Pile]):
    """The help in a titled box whose bottom line tells when there is more to scroll to."""

    def __init__(self, body: urwid.Pile) -> None:
        self.pager = HelpPager(body)
        self.rule = urwid.Text("", wrap="clip")
        box = urwid.LineBox(self.pager, title=HELP_TITLE, bline="")
        super().__init__(urwid.Pile([box, ("pack", self.rule)]))

    def render(self, size: tuple[int, int], focus: bool = False) -> urwid.Canvas:  # type: ignore[override]
        cols, rows = size
        inner = (max(0, cols - 2), max(0, rows - 2))  # the title line above, this rule below
        self.rule.set_text(more_rule(self.pager.span(inner), cols))
        return super().render(size, focus)


def help_overlay(body: urwid.Pile, under: urwid.Widget) -> urwid.Overlay[Any, Any]:
    return urwid.Overlay(
        HelpBox(body),
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

    def __init__(self, prompt: str, on_answer: AnswerCallback, *, title: str = "password") -> None:
        self._on_answer = on_answer
        self.edit = urwid.Edit("", mask="*")
        body = urwid.Pile(
            [
                urwid.Text(prompt),
                urwid.AttrMap(self.edit, "prompt.edit"),
                urwid.Text(("prompt.dim", "Enter: send   Esc: cancel")),
            ]
        )
        super().__init__(urwid.LineBox(urwid.AttrMap(body, "prompt"), title=title))

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
