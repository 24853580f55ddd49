"""TTY, Basic and Quiet: what lands on the stream, and how they end and answer passwords."""

from __future__ import annotations

import io
import re
import threading
import time

import pytest

from engine.events import Event, Level, Log, PasswordRequest, RunFinished
from tests.ui.fakes import FakeCommands, FakeEventSource
from tests.ui.sample_events import sample_run
from ui.basic import Basic, Quiet
from ui.lines import Line, LineFormatter, clean, human_bytes, human_duration, render_plain
from ui.ttyui import TTYUI, wants_colour

PLAIN_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) +\S.*$")
TTY_LINE = re.compile(r"^\d\d:\d\d:\d\d \S.*$")


def run_frontend(frontend: object, events: list[Event]) -> FakeCommands:
    source = FakeEventSource(events)
    commands = FakeCommands(["work", "home"], source)
    commands.declare_finished()  # everything is queued already: the run is over
    frontend.run(source, commands)  # type: ignore[attr-defined]
    assert source.empty()
    return commands


def test_basic_prints_timestamped_lines_for_the_whole_run() -> None:
    out = io.StringIO()
    run_frontend(Basic(stream=out), sample_run())
    lines = out.getvalue().splitlines()
    assert lines and all(PLAIN_LINE.match(line) for line in lines), lines
    text = out.getvalue()
    assert "INFO    work: sync started (2 folders)" in text
    assert "work/INBOX: 3 new here, 2.9 KiB" in text
    assert "ERROR   work/Sent: Sent: permission denied [folder]" in text
    assert "work/Sent: would delete message 7 on the server" in text
    assert "ERROR   home: sync failed: login refused" in text
    assert text.count("next sync in") == 1
    assert "UID FETCH" not in text  # debug only with debug=True
    assert lines[-1].endswith(
        "finished: 2 account sync(s), 3 new here, 2.9 KiB; 1 account(s) failed, "
        "1 folder(s) failed, 1 error(s) (exit code 1)"
    )


def test_basic_never_prompts_and_names_the_missing_password() -> None:
    request = PasswordRequest("home", "home-remote", "Password:")
    out = io.StringIO()
    run_frontend(Basic(stream=out), [request])
    assert request.reply.wait(0) is None
    assert request.reply._done.is_set()
    line = out.getvalue().strip()
    assert "ERROR" in line and "home" in line and "'home-remote'" in line
    assert "cannot ask" in line


def test_debug_lines_appear_only_with_debug() -> None:
    events = [Log(Level.DEBUG, "SELECT INBOX", account="work")]
    quiet_out, loud_out = io.StringIO(), io.StringIO()
    run_frontend(Basic(stream=quiet_out), events)
    run_frontend(Basic(stream=loud_out, debug=True), events)
    assert quiet_out.getvalue() == ""
    assert "DEBUG   work: SELECT INBOX" in loud_out.getvalue()
    tty_quiet, tty_loud = io.StringIO(), io.StringIO()
    run_frontend(TTYUI(stream=tty_quiet), events)
    run_frontend(TTYUI(stream=tty_loud, debug=True), events)
    assert tty_quiet.getvalue() == ""
    assert "debug: work: SELECT INBOX" in tty_loud.getvalue()


def test_quiet_shows_only_warnings_errors_and_a_failed_summary() -> None:
    out = io.StringIO()
    run_frontend(Quiet(stream=out), sample_run(exit_code=1))
    lines = out.getvalue().splitlines()
    levels = {PLAIN_LINE.match(line).group(1) for line in lines}  # type: ignore[union-attr]
    assert levels == {"WARNING", "ERROR"}
    assert any("certificate expires" in line for line in lines)
    assert any("no password for repository 'home-remote'" in line for line in lines)
    assert "(exit code 1)" in lines[-1]


def test_quiet_is_silent_on_a_clean_run() -> None:
    out = io.StringIO()
    events = [e for e in sample_run(exit_code=0) if not _is_problem(e)]
    run_frontend(Quiet(stream=out), events)
    assert out.getvalue() == ""


def _is_problem(event: Event) -> bool:
    line = LineFormatter().format(event)
    return isinstance(event, PasswordRequest) or (line is not None and line.level > Level.INFO)


def test_tty_lines_without_colour_on_a_pipe() -> None:
    out = io.StringIO()
    run_frontend(TTYUI(stream=out, ask=lambda _p: "x"), sample_run())
    lines = out.getvalue().splitlines()
    assert all(TTY_LINE.match(line) for line in lines), lines
    assert "\x1b[" not in out.getvalue()
    assert any(line.endswith(" error: home: sync failed: login refused") for line in lines)
    assert any(line.endswith(" warning: home: certificate expires in 3 days") for line in lines)


def test_tty_colours_problems_when_asked() -> None:
    out = io.StringIO()
    run_frontend(TTYUI(stream=out, colour=True, ask=lambda _p: "x"), sample_run())
    text = out.getvalue()
    assert "\x1b[31;1merror: home: sync failed: login refused\x1b[0m" in text
    assert "\x1b[33;1mwarning: " in text
    assert re.search(r"\d\d:\d\d:\d\d work: sync started", text)  # INFO stays plain


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_wants_colour_follows_the_terminal_and_no_color() -> None:
    assert wants_colour(_Tty(), {}) is True
    assert wants_colour(_Tty(), {"NO_COLOR": "1"}) is False
    assert wants_colour(io.StringIO(), {}) is False


def test_tty_asks_for_the_password_and_answers_the_engine() -> None:
    request = PasswordRequest("home", "home-remote", "Password for me@example.org: ")
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return "s3cret"

    out = io.StringIO()
    run_frontend(TTYUI(stream=out, ask=ask), [request])
    assert prompts == ["Password for me@example.org: "]
    assert request.reply.wait(0) == "s3cret"
    assert "s3cret" not in out.getvalue()


@pytest.mark.parametrize("exc", [EOFError, KeyboardInterrupt])
def test_tty_cancelled_prompt_answers_none(exc: type[BaseException]) -> None:
    request = PasswordRequest("home", "home-remote", "Password: ")

    def ask(_prompt: str) -> str:
        raise exc

    out = io.StringIO()
    run_frontend(TTYUI(stream=out, ask=ask), [request])
    assert request.reply._done.is_set() and request.reply.wait(0) is None
    assert "password prompt cancelled" in out.getvalue()


def test_pump_waits_for_late_events_and_returns_when_finished() -> None:
    """Events from another thread are shown; the run ends only after finished() and a drain."""
    source = FakeEventSource()
    commands = FakeCommands([], source)
    out = io.StringIO()

    def producer() -> None:
        for i in range(50):
            source.put(Log(Level.INFO, f"line {i}"))
            if i % 10 == 0:
                time.sleep(0.01)
        commands.finish(0)

    thread = threading.Thread(target=producer)
    thread.start()
    started = time.monotonic()
    Basic(stream=out).run(source, commands)
    thread.join()
    assert time.monotonic() - started < 5
    text = out.getvalue()
    assert [f"line {i}" in text for i in range(50)] == [True] * 50
    assert "exit code 0" in text.splitlines()[-1]


def _basic_in_thread(
    source: FakeEventSource, commands: FakeCommands
) -> tuple[threading.Thread, list[str]]:
    """Basic running on its own thread; the list gets "returned" when its run returns."""
    result: list[str] = []

    def run() -> None:
        Basic(stream=io.StringIO()).run(source, commands)
        result.append("returned")

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_run_finished_alone_does_not_end_the_pump_before_finished() -> None:
    source = FakeEventSource([RunFinished(0)])
    commands = FakeCommands([], source)
    thread, result = _basic_in_thread(source, commands)
    thread.join(0.5)
    assert result == []
    commands.declare_finished()
    thread.join(5)
    assert result == ["returned"]


class _TimedSource(FakeEventSource):
    """Records the timeout of every wait for an event."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__(events)
        self.timeouts: list[float | None] = []

    def get(self, timeout: float | None = None) -> Event | None:
        self.timeouts.append(timeout)
        return super().get(timeout)


def test_after_run_finished_the_pump_waits_briefly_for_finished() -> None:
    """The runner queues RunFinished and declares the run finished just after; a pump
    that handled it in between must not sleep a whole poll before it can return."""
    source = _TimedSource([Log(Level.INFO, "one"), RunFinished(0)])
    commands = FakeCommands([], source)
    thread, result = _basic_in_thread(source, commands)
    thread.join(0.05)
    assert result == []  # still waiting for finished()
    commands.declare_finished()
    thread.join(5)
    assert result == ["returned"]
    assert source.timeouts and all(t is not None and t <= 0.01 for t in source.timeouts)


def test_lines_are_one_printable_line() -> None:
    assert clean("bad\x1b[2Jnews\nsecond\tline\x9b") == "bad?[2Jnews second line?"
    line = LineFormatter().format(Log(Level.ERROR, "oops\r\x07", account="a"))
    assert line is not None and line.text == "a: oops ?"


def test_render_plain_uses_local_time() -> None:
    ts = time.mktime((2024, 5, 1, 12, 34, 56, 0, 0, -1))
    assert render_plain(Line(Level.WARNING, "x", ts)) == "2024-05-01 12:34:56 WARNING x"


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (5 * 2**20, "5.0 MiB"),
        (3 * 2**40, "3072.0 GiB"),
    ],
)
def test_human_bytes(count: int, text: str) -> None:
    assert human_bytes(count) == text


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00"), (59.6, "1:00"), (299, "4:59"), (3725, "1:02:05")]
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_counts_name_what_was_left_out_and_created() -> None:
    from engine.events import SyncCounts
    from ui.lines import describe_counts

    text = describe_counts(SyncCounts(copied_to_local=3, too_large=2, too_old=1, folders_created=4))
    assert text == ("3 new here, 2 not copied (maxsize), 1 not copied (maxage), 4 folders created")
