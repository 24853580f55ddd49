"""The dashboard for real: ``blinken demo`` in a tmux pane, driven by keys."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
_sockets = itertools.count()


class Pane:
    def __init__(self, socket: str, session: str) -> None:
        self.base = ["tmux", "-L", socket]
        self.session = session

    def text(self) -> str:
        done = subprocess.run(
            [*self.base, "capture-pane", "-p", "-t", self.session],
            capture_output=True,
            text=True,
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", self.session, "--", *keys], check=True)

    def wait_for(self, test: Callable[[str], bool], timeout: float = 40.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if test(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"timed out; the pane shows:\n{self.text()}")


@pytest.fixture
def demo_pane(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Pane, Path]]:
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed")
        pytest.skip("tmux is not installed")
    width, height, extra = getattr(request, "param", (100, 30, "--messages 40"))
    socket = f"blinken-test-{os.getpid()}-{next(_sockets)}"
    exit_file = tmp_path / "exit"
    command = (
        f"cd {ROOT} && TERM=xterm-256color {sys.executable} -m blinken demo {extra} "
        f"--dir {tmp_path / 'demo'}; echo $? > {exit_file}; sleep 60"
    )
    subprocess.run(
        ["tmux", "-L", socket, "new-session", "-d", "-s", "t", "-x", str(width),
         "-y", str(height), command],
        check=True,
    )  # fmt: skip
    try:
        yield Pane(socket, "t"), exit_file
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def _syncs_done(text: str) -> int:
    return text.count("sync done")


def test_dashboard_syncs_and_obeys_keys(demo_pane: tuple[Pane, Path]) -> None:
    pane, exit_file = demo_pane
    first = pane.wait_for(lambda t: _syncs_done(t) >= 1 and "next sync in" in t)
    assert "blinken" in first.splitlines()[0] and "q quit" in first
    assert "1  demo" in first  # the account's LED group with its hotkey
    assert "40 new here" in first

    pane.keys("?")
    legend = pane.wait_for(lambda t: "LED colours" in t)
    assert "orange: copying a message" in legend
    pane.keys("Escape")
    pane.wait_for(lambda t: "LED colours" not in t)

    pane.keys("r")
    pane.wait_for(lambda t: _syncs_done(t) >= 2)

    pane.keys("q")
    deadline = time.monotonic() + 20
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert exit_file.read_text().strip() == "0"
    assert (exit_file.parent / "demo" / "Mail" / "INBOX" / "cur").is_dir()


@pytest.mark.parametrize("demo_pane", [(80, 24, "--messages 40")], indirect=True)
def test_dashboard_is_usable_at_80x24(demo_pane: tuple[Pane, Path]) -> None:
    pane, exit_file = demo_pane
    text = pane.wait_for(lambda t: "next sync in" in t)
    lines = text.splitlines()
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
    assert "q quit" in lines[0]
    pane.keys("q")
    deadline = time.monotonic() + 20
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert exit_file.read_text().strip() == "0"


def _wait_exit(exit_file: Path) -> str:
    deadline = time.monotonic() + 30
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return exit_file.read_text().strip()


# Long enough that the abort lands mid-sync: the dashboard appears only a second in.
MESSAGES = 1000


@pytest.mark.parametrize(
    "demo_pane", [(100, 30, f"--messages {MESSAGES} --attachments 1")], indirect=True
)
def test_abort_stops_the_sync_and_the_next_one_finishes_it(
    demo_pane: tuple[Pane, Path],
) -> None:
    pane, exit_file = demo_pane
    pane.wait_for(lambda t: "syncing folder" in t, timeout=90)
    pane.keys("a")
    aborted = pane.wait_for(lambda t: "sync aborted" in t or "sync done" in t)
    assert "sync aborted" in aborted, "the sync ended before the abort: make it longer"
    assert "aborted after" in aborted.splitlines()[-1] or "aborted" in aborted

    pane.keys("r")
    pane.wait_for(lambda t: "sync done" in t, timeout=60)
    pane.keys("q")
    assert _wait_exit(exit_file) == "0"
    maildir = exit_file.parent / "demo" / "Mail"
    files = [p for p in maildir.rglob("*") if p.is_file() and p.parent.name in ("cur", "new")]
    ids = [_message_id(p.read_bytes()) for p in files]
    assert len(ids) == len(set(ids)) == MESSAGES + _trickled(ids)


def _message_id(data: bytes) -> bytes:
    for line in data.split(b"\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip()
    raise AssertionError("no Message-ID")


def _trickled(ids: list[bytes]) -> int:
    """Messages the demo's trickle delivered while the test ran (another seed)."""
    from blinken.demo import TRICKLE_SEED

    return sum(f".{TRICKLE_SEED}.".encode() in i for i in ids)
