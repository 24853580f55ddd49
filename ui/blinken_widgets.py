"""The dashboard's three panes: the LED row, the log and the status bar.

Each pane is rebuilt from ``DashboardModel`` only when the model says that part
changed, and only on the main-loop thread.  The log pane does not copy the
model's lines into widgets: ``LogWalker`` reads the bounded deque directly and
makes a Text for the few lines on screen, so a flood of log lines costs the
same as a trickle.
"""

from __future__ import annotations

import time
from typing import Any

import urwid

from engine.events import Level
from ui.blinken_model import AccountView, DashboardModel, LogEntry
from ui.keys import Action, action_for
from ui.lines import human_bytes, human_bytes_pair, human_duration
from ui.palette import led_attr, text_attr
from ui.states import STATE_STYLES

Markup = list[Any]
Size = tuple[()] | tuple[int] | tuple[int, int]
NBSP = "\u00a0"
FOLDER_WIDTH = 20


# -- LEDs ------------------------------------------------------------------
def led_markup(model: DashboardModel, flash_on: bool) -> Markup:
    """The LED row: ``[key] account`` then its LEDs, group after group.

    Inside a group the separators are no-break spaces, so the row wraps between
    LEDs rather than splitting a group label from its first LED.
    """
    markup: Markup = []
    for account, leds in model.groups():
        if markup:
            markup.append("  ")
        if account is None:
            markup.append(f"main{NBSP}")
        else:
            key = model.account(account).hotkey
            if key:
                markup.append(("hotkey", f"{NBSP}{key}{NBSP}"))
            markup.append(f"{NBSP}{account}{NBSP}")
        for i, led in enumerate(leds):
            if i:
                markup.append(" ")
            glyph = STATE_STYLES[led.state].glyph
            markup.append((led_attr(led.colour(flash_on)), f"{NBSP}{glyph}{NBSP}"))
    return markup or [("dim", "no threads yet")]


class LedRow(urwid.Text):
    def refresh(self, model: DashboardModel, flash_on: bool) -> None:
        self.set_text(led_markup(model, flash_on))


# -- status bar ------------------------------------------------------------
def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _phase_words(view: AccountView, now: float) -> Markup:
    if view.phase == "failed":
        return [("status.error", f"failed: {view.error}")]
    if view.phase == "syncing":
        return _progress_words(view)
    words: Markup = []
    if view.phase == "idle":
        words.append("waiting for new mail (IDLE)")
    elif view.phase == "done":
        words.append(f"done, {view.changes} change(s)" if view.changes is not None else "done")
    elif view.phase == "aborted":
        words.append(("status.error", f"aborted after {view.changes or 0} change(s)"))
    else:
        words.append("waiting")
    seconds = view.next_sync_in(now)
    if seconds is not None:
        words.append(f"  next sync in {human_duration(seconds)}")
    return words


def _folder_words(view: AccountView) -> str | None:
    """``INBOX 3/12``: the folders in flight (two named at most) and how far down the list."""
    names = [shorten(name, FOLDER_WIDTH) for name in view.active]
    if len(names) > 2:
        names = [*names[-2:-1], f"{names[-1]} +{len(names) - 2}"]
    where = f"{view.folder_index}/{view.folders_total}" if view.folders_total else ""
    if not names:
        return f"folder {where}" if where else None
    return " ".join(part for part in (", ".join(names), where) if part)


def _eta_words(view: AccountView) -> str | None:
    """``ETA 1:58`` for the account, or ``folder ETA`` while more folders are to come."""
    eta = view.eta()
    if eta is None:
        return None
    scope = "" if view.all_started() else "folders " if len(view.active) > 1 else "folder "
    return f"{scope}ETA {human_duration(eta)}"


def _progress_words(view: AccountView) -> Markup:
    """Most telling first, so a narrow screen cuts the byte totals before the ETA.

    Messages and bytes are those of the folders in flight: the account's total
    is not known before its last folder starts.
    """
    now = view.in_flight()
    parts = ["syncing", _folder_words(view)]
    if now.messages_total or now.messages_done:
        parts.append(f"{now.messages_done}/{now.messages_total} msg")
    parts.append(_eta_words(view))
    byte_rate, _ = view.rates()
    if byte_rate > 0:
        parts.append(f"{human_bytes(int(byte_rate))}/s")
    if now.bytes_total:
        parts.append(human_bytes_pair(now.bytes_done, now.bytes_total))
    return ["  ".join(part for part in parts if part)]


def status_markup(model: DashboardModel, now: float, max_lines: int) -> Markup:
    """One line per account; accounts that do not fit are counted on the last line."""
    views = list(model.accounts.values())
    if not views:
        return [("dim", "no accounts yet")]
    width = min(12, max(len(v.name) for v in views))
    shown = views if len(views) <= max_lines else views[: max(0, max_lines - 1)]
    markup: Markup = []
    for view in shown:
        if markup:
            markup.append("\n")
        markup.append(("hotkey", f" {view.hotkey or ' '} "))
        markup.append(f" {view.name[:width]:<{width}}  ")
        markup.extend(_phase_words(view, now))
    if len(shown) < len(views):
        more = len(views) - len(shown)
        markup.append(("\n" if markup else "") + f"... and {more} more account(s)")
    return markup


class StatusBar(urwid.Text):
    def __init__(self) -> None:
        super().__init__("", wrap="ellipsis")
        self.max_lines = 6

    def refresh(self, model: DashboardModel, now: float) -> None:
        self.set_text(status_markup(model, now, self.max_lines))


# -- log -------------------------------------------------------------------
_LEVEL_TAGS = {
    Level.DEBUG: ("level.debug", "debug "),
    Level.WARNING: ("level.warning", "warning "),
    Level.ERROR: ("level.error", "error "),
}


def log_markup(entry: LogEntry) -> Markup:
    """Time, a tag for anything but INFO, then the text in its thread's colour."""
    markup: Markup = [("dim", time.strftime("%H:%M:%S ", time.localtime(entry.ts)))]
    tag = _LEVEL_TAGS.get(entry.level)
    if tag is not None:
        markup.append(tag)
    markup.append((text_attr(entry.colour), entry.text))
    return markup


class LogWalker(urwid.ListWalker[int, urwid.Text]):
    """A view of the model's log deque; positions are line sequence numbers."""

    CACHE = 512

    def __init__(self, model: DashboardModel) -> None:
        self._model = model
        self._widgets: dict[int, urwid.Text] = {}
        self.focus: int | None = None

    def _bounds(self) -> tuple[int, int]:
        """(first, last) sequence numbers held; first > last when empty."""
        log = self._model.log
        if not log:
            return 0, -1
        return log[0].seq, log[-1].seq

    def __getitem__(self, position: int) -> urwid.Text:
        first, last = self._bounds()
        if not first <= position <= last:
            raise IndexError(position)
        widget = self._widgets.get(position)
        if widget is None:
            if len(self._widgets) >= self.CACHE:
                self._widgets.clear()
            widget = urwid.Text(log_markup(self._model.log[position - first]))
            self._widgets[position] = widget
        return widget

    def next_position(self, position: int) -> int:
        if position + 1 > self._bounds()[1]:
            raise IndexError(position)
        return position + 1

    def prev_position(self, position: int) -> int:
        if position - 1 < self._bounds()[0]:
            raise IndexError(position)
        return position - 1

    def positions(self, reverse: bool = False) -> range:
        first, last = self._bounds()
        return range(last, first - 1, -1) if reverse else range(first, last + 1)

    def get_focus(self) -> tuple[urwid.Text, int] | tuple[None, None]:
        first, last = self._bounds()
        if first > last:
            return None, None
        focus = last if self.focus is None else min(max(self.focus, first), last)
        return self[focus], focus

    def set_focus(self, position: int) -> None:
        self.focus = position
        self._modified()

    def last(self) -> int | None:
        first, last = self._bounds()
        return None if first > last else last

    def changed(self) -> None:
        self._modified()


_SCROLL_KEYS = {
    Action.SCROLL_UP: "up",
    Action.SCROLL_DOWN: "down",
    Action.PAGE_UP: "page up",
    Action.PAGE_DOWN: "page down",
}
SCROLL_ACTIONS = frozenset((*_SCROLL_KEYS, Action.TOP, Action.BOTTOM))


class LogPane(urwid.WidgetWrap["urwid.ListBox[int]"]):
    """The scrollable log; it follows new lines until the user scrolls away from the end."""

    def __init__(self, model: DashboardModel) -> None:
        self.walker = LogWalker(model)
        self.following = True
        super().__init__(urwid.ListBox(self.walker))

    def refresh(self) -> None:
        if self.following:
            self._to_end()
        else:
            self.walker.changed()

    def _to_end(self) -> None:
        last = self.walker.last()
        if last is not None:
            self.walker.set_focus(last)
            self._w.set_focus_valign("bottom")

    def keypress(self, size: Size, key: str) -> str | None:
        action = action_for(key)
        if action is None or action not in SCROLL_ACTIONS:
            return key
        self.scroll(action, size)
        return None

    def scroll(self, action: Action, size: Size) -> None:
        if action in _SCROLL_KEYS and size:
            self._w.keypress(size, _SCROLL_KEYS[action])
        elif action is Action.TOP:
            positions = self.walker.positions()
            if positions:
                self.walker.set_focus(positions[0])
                self._w.set_focus_valign("top")
        elif action is Action.BOTTOM:
            self._to_end()
        _, focus = self.walker.get_focus()
        self.following = focus is None or focus == self.walker.last()
