"""The dashboard widget: panes laid out, overlays stacked, keys turned into commands.

Everything here runs on the main-loop thread.  Keys go through ``ui.keys`` and
end as calls on ``Commands``; the view never talks to the engine, it only
answers a password request's reply slot.
"""

from __future__ import annotations

import time
from typing import Any

import urwid

from engine.events import Level, PasswordRequest
from ui.base import Commands
from ui.blinken_model import DashboardModel
from ui.blinken_overlays import PasswordPrompt, help_body, help_overlay, prompt_overlay
from ui.blinken_widgets import SCROLL_ACTIONS, LedRow, LogPane, Size, StatusBar
from ui.keys import Action, action_for, reminder
from ui.lines import YES_ANSWERS, clean, is_yes_no_question

NOTICE_SECONDS = 6.0


def outcome(request: PasswordRequest, answer: str | None) -> str:
    """What the log says after a prompt: never the answer itself, which may be a secret."""
    if not is_yes_no_question(request):
        return "password entered" if answer is not None else "password cancelled"
    yes = (answer or "").strip().lower() in YES_ANSWERS
    return "answered yes" if yes else "answered no"


class Dashboard(urwid.WidgetWrap[urwid.Widget]):
    def __init__(self, model: DashboardModel, commands: Commands) -> None:
        self.model = model
        self.commands = commands
        self.title = urwid.Text("", wrap="ellipsis")
        self.leds = LedRow("")
        self.log = LogPane(model)
        self.status = StatusBar()
        header = urwid.Pile([urwid.AttrMap(self.title, "title"), self.leds, urwid.Divider("─")])
        footer = urwid.Pile([urwid.Divider("─"), self.status])
        self.frame = urwid.Frame(self.log, header=header, footer=footer)
        self.help_open = False
        self.prompt: PasswordPrompt | None = None
        self.flash_on = True
        self.quit_presses = 0
        self._notice = ""
        self._notice_until = 0.0
        self._now = time.time()
        super().__init__(self.frame)
        self.refresh(self._now)

    # -- drawing ---------------------------------------------------------
    def refresh(self, now: float, *, flash_on: bool | None = None) -> None:
        """Bring the widgets up to date with the model; cheap when little changed."""
        self._now = now
        changes = self.model.take_changes()
        if flash_on is not None and flash_on != self.flash_on:
            self.flash_on = flash_on
            changes.add("leds")
        if "leds" in changes:
            self.leds.refresh(self.model, self.flash_on)
        if "log" in changes:
            self.log.refresh()
        self.status.refresh(self.model, now)
        self._refresh_title(now)
        if self.prompt is None and self.model.passwords:
            self._open_prompt()

    def _refresh_title(self, now: float) -> None:
        notice = self._notice if now < self._notice_until else ""
        if self.model.exit_code is not None:
            notice = f"run finished (exit code {self.model.exit_code})"
        parts = [" blinken ", reminder()]
        markup: list[Any] = ["  ".join(parts)]
        if notice:
            markup += ["  ", ("notice", f" {notice} ")]
        self.title.set_text(markup)

    def render(self, size: Size, focus: bool = False) -> urwid.Canvas:
        lines = max(1, size[1] // 4) if len(size) == 2 else self.status.max_lines
        if lines != self.status.max_lines:
            self.status.max_lines = lines
            self.status.refresh(self.model, self._now)
        return super().render(size, focus)

    def notify(self, text: str) -> None:
        self._notice = text
        self._notice_until = self._now + NOTICE_SECONDS
        self._refresh_title(self._now)

    # -- overlays --------------------------------------------------------
    def _restack(self) -> None:
        if self.prompt is not None:
            self._w = prompt_overlay(self.prompt, self.frame)
        elif self.help_open:
            self._w = help_overlay(help_body(self.model.hotkeys()), self.frame)
        else:
            self._w = self.frame

    def _open_prompt(self) -> None:
        request = self.model.passwords[0]
        text = clean(request.prompt or f"Password for {request.account} ({request.repository}):")
        title = "question" if is_yes_no_question(request) else "password"
        self.prompt = PasswordPrompt(text, self._answer_prompt, title=title)
        self._restack()

    def _answer_prompt(self, answer: str | None) -> None:
        request = self.model.passwords.popleft()
        request.reply.answer(answer)
        self.model.add_log(Level.INFO, f"{request.account}: {outcome(request, answer)}", self._now)
        self.prompt = None
        if self.model.passwords:
            self._open_prompt()
        else:
            self._restack()

    def toggle_help(self, show: bool | None = None) -> None:
        self.help_open = not self.help_open if show is None else show
        self._restack()

    # -- keys ------------------------------------------------------------
    def keypress(self, size: Size, key: str) -> str | None:
        if self.prompt is not None:
            return self._w.keypress(size, key)
        action = action_for(key)
        if action in SCROLL_ACTIONS:
            return self._w.keypress(size, key)
        if action is not None:
            self.perform(action)
            return None
        account = self.model.hotkeys().get(key)
        if account is not None:
            self.commands.sync_now(account)
            self.notify(f"sync of {account} requested")
            return None
        return key

    def perform(self, action: Action) -> None:
        """What a fixed key does; the same entry point serves tests and future mouse buttons."""
        if action is Action.SYNC_ALL:
            self.commands.sync_now(None)
            self.notify("sync of all accounts requested")
        elif action is Action.ABORT:
            self.commands.abort()
            self.notify("aborting: finishing the message in flight")
        elif action is Action.QUIT:
            self.quit_presses += 1
            self.commands.quit()
            first = self.quit_presses == 1
            self.notify("quitting; q again to quit at once" if first else "quitting now")
        elif action is Action.HELP:
            self.toggle_help()
        elif action is Action.CLOSE:
            self.toggle_help(False)
