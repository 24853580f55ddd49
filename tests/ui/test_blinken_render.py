"""The dashboard rendered to canvases: what is on screen, in which colour, and what keys do."""

from __future__ import annotations

import time
from collections.abc import Hashable

import pytest
import urwid
from urwid.testing import check_box_sizing, render_runs, render_text, resolve_attr, resolve_runs

from engine.events import (
    AccountStarted,
    Countdown,
    Event,
    FolderFinished,
    FolderStarted,
    Level,
    Log,
    PasswordRequest,
    Progress,
    SyncCounts,
    ThreadState,
    ThreadStateChanged,
)
from tests.ui.fakes import FakeCommands
from tests.ui.sample_events import MANUAL_COLOURS, T0
from ui.blinken_model import DashboardModel
from ui.blinken_view import Dashboard
from ui.keys import BINDINGS
from ui.palette import build_palette
from ui.states import STATE_STYLES, legend

SIZE = (80, 24)
Runs = list[list[tuple[Hashable, str]]]


def dashboard(events: list[Event], accounts: tuple[str, ...] = ("work", "home")) -> Dashboard:
    model = DashboardModel(list(accounts))
    view = Dashboard(model, FakeCommands(accounts))
    model.apply_all(events)
    view.refresh(T0 + 10)
    return view


def screen(view: Dashboard, size: tuple[int, int] = SIZE) -> list[str]:
    return render_text(view, size, focus=True)


def runs_with(runs: Runs, text: str) -> list[tuple[Hashable, str]]:
    """Every (attr, text) run whose text contains ``text``."""
    return [(attr, chunk) for row in runs for attr, chunk in row if text in chunk]


def led_runs(view: Dashboard) -> Runs:
    return render_runs(view.leds, (SIZE[0],))


@pytest.mark.parametrize("state", list(ThreadState))
def test_each_state_lights_its_led_in_the_manual_colour(state: ThreadState) -> None:
    view = dashboard([ThreadStateChanged("w1", state, account="work")])
    glyph = STATE_STYLES[state].glyph
    expected = MANUAL_COLOURS.get(state, "sky")  # IDLE_WAIT is ours
    leds = [
        attr for attr, chunk in runs_with(led_runs(view), glyph) if str(attr).startswith("led.")
    ]
    assert leds == [f"led.{expected}"]


def test_dry_run_copy_led_is_fuchsia_and_countdown_flashes() -> None:
    view = dashboard(
        [
            ThreadStateChanged("w1", ThreadState.COPYING, account="work", dry_run=True),
            ThreadStateChanged("h1", ThreadState.COUNTDOWN, account="home"),
        ]
    )
    view.refresh(T0, flash_on=True)
    assert runs_with(led_runs(view), "T")[-1][0] == "led.red"
    view.refresh(T0, flash_on=False)
    assert runs_with(led_runs(view), "T")[-1][0] == "led.black"
    assert runs_with(led_runs(view), ">")[-1][0] == "led.fuchsia"


def test_leds_are_grouped_under_their_account_and_hotkey() -> None:
    view = dashboard(
        [
            ThreadStateChanged("main", ThreadState.MAIN),
            ThreadStateChanged("h1", ThreadState.CONNECTING, account="home"),
            ThreadStateChanged("w1", ThreadState.COPYING, account="work"),
        ]
    )
    (row,) = render_text(view.leds, (SIZE[0],))
    flat = row.replace("\u00a0", " ")
    assert flat.index("main") < flat.index(" M ") < flat.index(" 1 ") < flat.index("work")
    assert flat.index("work") < flat.index(" > ") < flat.index(" 2 ") < flat.index("home")
    assert flat.index("home") < flat.index(" C ")


def test_log_lines_share_their_threads_led_colour() -> None:
    view = dashboard(
        [
            ThreadStateChanged("w1", ThreadState.COPYING, account="work"),
            Log(Level.INFO, "copying message 42", thread="w1", account="work"),
            ThreadStateChanged("h1", ThreadState.REMOVING_FLAGS, account="home"),
            Log(Level.INFO, "unflagging message 7", thread="h1", account="home"),
        ]
    )
    runs = render_runs(view, SIZE, focus=True)
    for text, glyph in (("copying message 42", ">"), ("unflagging message 7", "-")):
        (log_attr,) = {attr for attr, _ in runs_with(runs, text)}
        led_attr = next(a for a, _ in runs_with(led_runs(view), glyph) if str(a).startswith("led."))
        assert str(log_attr).removeprefix("text.") == str(led_attr).removeprefix("led.")
    assert {attr for attr, _ in runs_with(runs, "copying message 42")} == {"text.orange"}


def test_warnings_and_errors_are_tagged_in_the_log() -> None:
    view = dashboard([Log(Level.ERROR, "disk full", account="work")])
    runs = render_runs(view, SIZE, focus=True)
    assert runs_with(runs, "error ")[0][0] == "level.error"
    assert runs_with(runs, "work: disk full")[0][0] == "text.default"


def test_status_bar_shows_progress_rate_eta_and_next_sync() -> None:
    view = dashboard(
        [
            AccountStarted("work", folders_total=12, ts=T0),
            FolderStarted("work", "INBOX", 3, 12, ts=T0),
            Progress("work", "INBOX", 150, 400, 2_000_000, 8_000_000, ts=T0),
            Progress("work", "INBOX", 160, 400, 2_100_000, 8_000_000, ts=T0 + 2),
            Countdown("home", 299, ts=T0 + 8),
        ]
    )
    rows = screen(view, (100, 24))
    work = next(row for row in rows if " work " in row and "syncing" in row)
    assert "INBOX 3/12" in work
    assert "160/400 msg" in work
    assert "2.0/7.6 MiB" in work
    assert "48.8 KiB/s" in work  # 100,000 bytes in 2 s
    assert "folder ETA 1:58" in work  # 5,900,000 bytes left at 50,000 B/s; 9 folders to come
    home = next(row for row in rows if " home " in row and "next sync" in row)
    assert "next sync in 4:57" in home  # 299 at T0+8, drawn at T0+10


def test_status_bar_caps_its_height_on_small_screens() -> None:
    accounts = tuple(f"acct{i}" for i in range(12))
    view = dashboard([], accounts=accounts)
    rows = screen(view, (80, 24))
    assert sum("acct" in row for row in rows) == 24 // 4 - 1
    assert any("... and 7 more account(s)" in row for row in rows)


def test_help_is_generated_from_the_key_and_colour_data() -> None:
    view = dashboard([])
    assert view.keypress(SIZE, "?") is None
    size = (120, 60)
    text = "\n".join(screen(view, size))
    for binding in BINDINGS:
        assert binding.label in text and binding.help in text
    for colour, glyph, label in legend():
        assert f" {glyph}  {colour}: {label}" in text
    assert " 1  work" in text and " 2  home" in text
    lit = {attr for row in render_runs(view, size, focus=True) for attr, _ in row}
    assert {"led.orange", "led.fuchsia", "led.sky", "led.red"} <= lit
    view.keypress(size, "esc")
    assert "LED colours" not in "\n".join(screen(view, size))


def test_help_scrolls_at_80x24_and_closes_with_question_mark() -> None:
    view = dashboard([])
    view.keypress(SIZE, "?")
    before = screen(view)
    assert any("Keys" in row for row in before)
    for _ in range(30):
        view.keypress(SIZE, "down")
    after = screen(view)
    assert any("waiting for new mail" in row for row in after)
    view.keypress(SIZE, "?")
    assert not any("LED colours" in row for row in screen(view))


def test_keys_call_the_right_commands() -> None:
    view = dashboard([])
    commands = view.commands
    assert isinstance(commands, FakeCommands)
    commands.quit_finishes = False
    for key in ("r", "1", "2", "a", "q", "q"):
        assert view.keypress(SIZE, key) is None
    assert commands.calls == [
        ("sync_now", None),
        ("sync_now", "work"),
        ("sync_now", "home"),
        ("abort",),
        ("quit",),
        ("quit",),
    ]
    assert view.keypress(SIZE, "3") == "3"  # no third account
    assert view.keypress(SIZE, "z") == "z"
    assert any("quitting now" in row for row in screen(view))


def test_keys_still_work_while_help_is_open() -> None:
    view = dashboard([])
    view.keypress(SIZE, "?")
    view.keypress(SIZE, "r")
    assert view.commands.calls == [("sync_now", None)]  # type: ignore[attr-defined]


def test_password_prompt_is_masked_and_answers_the_reply_slot() -> None:
    first = PasswordRequest("home", "home-remote", "Password for me@example.org:")
    second = PasswordRequest("work", "work-remote", "Password for boss@example.com:")
    view = dashboard([first, second])
    rows = screen(view)
    assert any("Password for me@example.org:" in row for row in rows)
    for key in "s3cr et!q":
        view.keypress(SIZE, key)
    shown = "\n".join(screen(view))
    assert "s3cr" not in shown and "et!" not in shown
    assert "*********" in shown
    assert view.commands.calls == []  # type: ignore[attr-defined]  # q went into the password
    prompt = view.prompt
    assert prompt is not None
    view.keypress(SIZE, "enter")
    assert first.reply.wait(0) == "s3cr et!q"
    assert prompt.edit.edit_text == ""  # the secret is not kept in the widget
    assert any("Password for boss@example.com:" in row for row in screen(view))
    view.keypress(SIZE, "x")
    view.keypress(SIZE, "esc")
    assert second.reply._done.is_set() and second.reply.wait(0) is None
    final = "\n".join(screen(view))
    assert "Enter: send" not in final
    assert "home: password entered" in final and "work: password cancelled" in final
    assert view.prompt is None


def test_log_scrolls_and_follows_again_at_the_end() -> None:
    view = dashboard([Log(Level.INFO, f"line {i:03d}") for i in range(200)])
    assert any("line 199" in row for row in screen(view))
    view.keypress(SIZE, "page up")
    assert not view.log.following
    view.model.apply(Log(Level.INFO, "line 200"))
    view.refresh(T0 + 11)
    rows = screen(view)
    assert not any("line 200" in row for row in rows)
    view.keypress(SIZE, "home")
    assert any("line 000" in row for row in screen(view))
    view.keypress(SIZE, "end")
    view.model.apply(Log(Level.INFO, "line 201"))
    view.refresh(T0 + 12)
    assert any("line 201" in row for row in screen(view))


def test_a_long_log_keeps_only_the_newest_lines() -> None:
    model = DashboardModel(["work"], max_log=50)
    view = Dashboard(model, FakeCommands(["work"]))
    model.apply_all(Log(Level.INFO, f"line {i}") for i in range(500))
    view.refresh(time.time())
    view.keypress(SIZE, "home")
    assert any("line 450" in row for row in screen(view))


@pytest.mark.parametrize("size", [(80, 24), (40, 12), (200, 60), (20, 5)])
def test_renders_at_any_size(size: tuple[int, int]) -> None:
    view = dashboard(
        [
            ThreadStateChanged("w1", ThreadState.COPYING, account="work"),
            AccountStarted("work", 3),
            Progress("work", "INBOX", 1, 2, 3, 4),
            Log(Level.INFO, "x" * 300, thread="w1"),
        ]
    )
    canvas = view.render(size, focus=True)
    assert (canvas.cols(), canvas.rows()) == size


def test_sizing_check_including_degenerate_sizes() -> None:
    view = dashboard([ThreadStateChanged("w1", ThreadState.COPYING, account="work")])
    check_box_sizing(view, cols=80, rows=24)


def test_monochrome_keeps_leds_visible() -> None:
    view = dashboard(
        [
            ThreadStateChanged("w1", ThreadState.COPYING, account="work"),
            ThreadStateChanged("w2", ThreadState.IDLE, account="work"),
        ]
    )
    resolved = resolve_runs(led_runs(view), build_palette(), colors=1)
    specs = {chunk.strip("\u00a0"): spec for row in resolved for spec, chunk in row}
    assert specs[">"].standout
    assert not specs["."].standout
    assert isinstance(specs[">"], urwid.AttrSpec)


@pytest.mark.parametrize("colours", [16, 256])
def test_password_prompt_hint_is_drawn_on_the_prompt_background(colours: int) -> None:
    view = dashboard([PasswordRequest("home", "home-remote", "Password for me@example.org:")])
    runs = render_runs(view, SIZE, focus=True)

    def background(text: str) -> str:
        attr = runs_with(runs, text)[-1][0]
        return str(resolve_attr(attr, build_palette(), colors=colours).background)

    assert background("Enter: send") == background("Password for me@example.org:")
    assert background("Enter: send") != "default"  # no dark strip across the blue box


def multi_folder_sync(*more: Event) -> Dashboard:
    """1900 messages of INBOX copied at 100 a second, then Sent, the 2nd of 3 folders, begins."""
    events: list[Event] = [
        AccountStarted("work", folders_total=3, ts=T0),
        FolderStarted("work", "INBOX", 1, 3, thread="w1", ts=T0),
    ]
    for s in range(1, 20):
        events.append(Progress("work", "INBOX", 100 * s, 1900, 10**5 * s, 19 * 10**5, ts=T0 + s))
    events += [
        FolderFinished("work", "INBOX", SyncCounts(copied_to_local=1900), thread="w1", ts=T0 + 19),
        FolderStarted("work", "Sent", 2, 3, thread="w1", ts=T0 + 19),
        Progress("work", "Sent", 52, 90, 52_000, 90_000, ts=T0 + 19.5),
        *more,
    ]
    return dashboard(events)


def work_status(view: Dashboard) -> str:
    return next(row for row in screen(view, (120, 30)) if " work " in row and "syncing" in row)


def test_status_bar_in_a_multi_folder_sync_counts_folders_and_never_says_eta_0_00() -> None:
    row = work_status(multi_folder_sync())
    assert "Sent 2/3" in row and "52/90 msg" in row  # the folder in flight, not 1952/1990
    assert "folder ETA 0:01" in row  # 38 kB at 100 kB/s, rounded up, and only this folder's
    assert "ETA 0:00" not in row
    done = Progress("work", "Sent", 90, 90, 90_000, 90_000, ts=T0 + 20)
    row = work_status(multi_folder_sync(done))
    assert "90/90 msg" in row and "ETA" not in row  # a folder to go: no time can be promised
    last = [
        FolderFinished("work", "Sent", SyncCounts(copied_to_local=90), ts=T0 + 20),
        FolderStarted("work", "Drafts", 3, 3, ts=T0 + 20),
        Progress("work", "Drafts", 10, 500, 10_000, 500_000, ts=T0 + 20.5),
    ]
    row = work_status(multi_folder_sync(done, *last))
    assert "Drafts 3/3" in row and "10/500 msg" in row
    assert "  ETA 0:06" in row  # the last folder has started: the account's ETA


def test_status_bar_names_the_folders_in_flight() -> None:
    view = dashboard(
        [
            AccountStarted("work", folders_total=9, ts=T0),
            FolderStarted("work", "INBOX", 1, 9, thread="w1", ts=T0),
            FolderStarted("work", "Archive", 2, 9, thread="w2", ts=T0),
            FolderStarted("work", "Lists", 3, 9, thread="w3", ts=T0),
        ]
    )
    assert "syncing  Archive, Lists +1 3/9" in work_status(view)


def test_help_says_there_is_more_and_scrolls_at_80x24() -> None:
    view = dashboard([])
    view.keypress(SIZE, "?")
    rows = screen(view)
    assert len(rows) == 24
    assert any("↓ more: PgDn" in row and "lines 1-" in row for row in rows)
    assert not any("waiting for new mail" in row for row in rows)
    view.keypress(SIZE, "j")
    assert any("↑↓ more: PgUp/PgDn" in row and "lines 2-" in row for row in screen(view))
    view.keypress(SIZE, "page down")
    view.keypress(SIZE, "page down")
    rows = screen(view)
    assert any("waiting for new mail" in row for row in rows)  # the last entry
    assert any("↑ more: PgUp" in row for row in rows)
    assert not any("↓" in row for row in rows)
    view.keypress(SIZE, "home")
    assert any("Keys" in row for row in screen(view)[:4])
    view.keypress(SIZE, "end")
    assert any("waiting for new mail" in row for row in screen(view))


def test_help_that_fits_has_no_scroll_hint() -> None:
    view = dashboard([])
    view.keypress(SIZE, "?")
    rows = screen(view, (120, 60))
    assert not any("more:" in row for row in rows)
    assert any("waiting for new mail" in row for row in rows)


@pytest.mark.parametrize("size", [(40, 12), (20, 5), (3, 3)])
def test_help_renders_at_small_sizes(size: tuple[int, int]) -> None:
    view = dashboard([])
    view.keypress(size, "?")
    canvas = view.render(size, focus=True)
    assert (canvas.cols(), canvas.rows()) == size


def test_folder_lines_in_the_log_wear_their_threads_colour() -> None:
    view = dashboard(
        [
            ThreadStateChanged("w1", ThreadState.FOLDER_SYNC, account="work"),
            FolderStarted("work", "INBOX", 1, 2, thread="w1"),
            ThreadStateChanged("w1", ThreadState.COPYING, account="work"),
            FolderFinished("work", "INBOX", SyncCounts(copied_to_local=3), thread="w1"),
            FolderStarted("work", "Sent", 2, 2),  # no thread named: the default colour
        ]
    )
    runs = render_runs(view, SIZE, focus=True)
    assert {a for a, _ in runs_with(runs, "work/INBOX: syncing folder 1/2")} == {"text.cyan"}
    assert {a for a, _ in runs_with(runs, "work/INBOX: 3 new here")} == {"text.orange"}
    assert {a for a, _ in runs_with(runs, "work/Sent: syncing folder 2/2")} == {"text.default"}


KEEP_IT = (
    "That worked. Keep the password for me@example.org (home-remote) in the keyring? "
    "Type y and Enter to keep it; Enter or Esc: do not"
)


def test_the_keyring_question_is_logged_in_its_own_words_and_not_as_a_password() -> None:
    ask = PasswordRequest("home", "home-remote", "Password for me@example.org (home-remote)")
    view = dashboard([ask])
    for key in [*"hunter2", "enter"]:
        view.keypress(SIZE, key)
    question = PasswordRequest("home", "home-remote", KEEP_IT)
    view.model.apply(question)
    view.refresh(T0 + 11)
    assert any("─ question ─" in row for row in screen(view))
    for key in ("y", "enter"):
        view.keypress(SIZE, key)
    assert (ask.reply.wait(0), question.reply.wait(0)) == ("hunter2", "y")
    texts = [entry.text for entry in view.model.log]
    assert texts == [
        "home: Password for me@example.org (home-remote)",
        "home: password entered",
        "home: " + KEEP_IT,
        "home: answered yes",
    ]


@pytest.mark.parametrize("keys", [["esc"], ["n", "enter"], ["enter"]])
def test_declining_the_keyring_question_is_logged_as_no(keys: list[str]) -> None:
    question = PasswordRequest("home", "home-remote", KEEP_IT)
    view = dashboard([question])
    for key in keys:
        view.keypress(SIZE, key)
    texts = [entry.text for entry in view.model.log]
    assert texts == ["home: " + KEEP_IT, "home: answered no"]
