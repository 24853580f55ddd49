"""Staying in sync: IDLE push, refresh cycles, and signals, with a real blinken process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import imapclient
import pytest

from tests.fixtures.dovecot import DovecotUser
from tests.integration.test_cli import ROOT, write_config
from tests.integration.test_sync import message

pytestmark = [pytest.mark.dovecot, pytest.mark.slow]


def start(config: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, XDG_CONFIG_HOME="/nonexistent", HOME="/nonexistent")
    return subprocess.Popen(
        [sys.executable, "-m", "blinken", "-c", str(config), "-u", "basic", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def count_files(folder: Path) -> int:
    return sum(len(os.listdir(folder / sub)) for sub in ("cur", "new") if (folder / sub).exists())


def wait_until(test: Callable[[], bool], timeout: float) -> float:
    """Seconds it took; fails after ``timeout``."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if test():
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


def login(user: DovecotUser) -> imapclient.IMAPClient:
    client = imapclient.IMAPClient(user.host, user.port, ssl=False, timeout=15)
    client.login(user.user, user.password)
    return client


def test_idle_delivers_within_seconds_across_cycles_and_a_kick(
    tmp_path: Path, dovecot: DovecotUser, processes: list[subprocess.Popen[str]]
) -> None:
    config = write_config(tmp_path, dovecot, "autorefresh = 0.05")  # a cycle every 3 s
    with config.open("a") as f:
        f.write("idlefolders = ['INBOX']\n")
    inbox = tmp_path / "Mail" / "INBOX"
    processes.append(proc := start(config))
    wait_until(lambda: inbox.is_dir(), 20)
    client = login(dovecot)
    for n in range(3):
        time.sleep(3.5)  # let an autorefresh cycle pass between deliveries
        client.append("INBOX", message("INBOX", n))
        assert wait_until(lambda n=n: count_files(inbox) == n + 1, 3.0) < 3.0
    dovecot.server.kick(dovecot.user)  # drops the IDLE connection (and ours)
    client = login(dovecot)
    time.sleep(0.5)
    client.append("INBOX", message("INBOX", 99))
    assert wait_until(lambda: count_files(inbox) == 4, 6.0) < 6.0
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode in (0, 3), out
    assert "IDLE" in out


def test_sigusr1_syncs_during_the_sleep(
    tmp_path: Path, dovecot: DovecotUser, processes: list[subprocess.Popen[str]]
) -> None:
    config = write_config(tmp_path, dovecot, "autorefresh = 60")
    inbox = tmp_path / "Mail" / "INBOX"
    processes.append(proc := start(config))
    wait_until(lambda: inbox.is_dir(), 20)
    time.sleep(0.5)
    login(dovecot).append("INBOX", message("INBOX", 1))
    time.sleep(0.5)
    assert count_files(inbox) == 0
    proc.send_signal(signal.SIGUSR1)
    wait_until(lambda: count_files(inbox) == 1, 5)
    proc.send_signal(signal.SIGUSR2)  # in the sleep: finish at once
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out


def _big_mailbox(user: DovecotUser, count: int) -> None:
    client = login(user)
    bodies = [message("INBOX", n, 40) for n in range(count)]
    for start_at in range(0, count, 200):
        client.multiappend("INBOX", bodies[start_at : start_at + 200])
    client.logout()


def _message_ids(folder: Path) -> list[bytes]:
    ids = []
    for sub in ("cur", "new"):
        for name in os.listdir(folder / sub):
            head = (folder / sub / name).read_bytes().split(b"\n\n", 1)[0]
            ids += [line for line in head.split(b"\n") if line.startswith(b"Message-ID:")]
    return ids


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR2], ids=["SIGTERM", "SIGUSR2"])
def test_stop_signal_during_a_large_sync_then_resume(
    tmp_path: Path,
    dovecot: DovecotUser,
    processes: list[subprocess.Popen[str]],
    sig: signal.Signals,
) -> None:
    _big_mailbox(dovecot, 3000)
    config = write_config(tmp_path, dovecot)
    inbox = tmp_path / "Mail" / "INBOX"
    processes.append(proc := start(config, "-o"))
    wait_until(lambda: inbox.is_dir() and count_files(inbox) > 0, 30)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    got = count_files(inbox)
    if sig is signal.SIGTERM:
        assert proc.returncode == 3 and "aborted" in out, out
        assert 0 < got < 3000
    else:
        assert proc.returncode == 0 and got == 3000, out
    again = start(config, "-o")
    processes.append(again)
    out, _ = again.communicate(timeout=120)
    assert again.returncode == 0, out
    ids = _message_ids(inbox)
    assert len(ids) == len(set(ids)) == 3000


@pytest.mark.parametrize("signals", [("SIGHUP",), ("SIGINT", "SIGINT")], ids=["hup", "int-int"])
def test_hangup_and_double_interrupt_stop_safely(
    tmp_path: Path,
    dovecot: DovecotUser,
    processes: list[subprocess.Popen[str]],
    signals: tuple[str, ...],
) -> None:
    _big_mailbox(dovecot, 3000)
    config = write_config(tmp_path, dovecot)
    inbox = tmp_path / "Mail" / "INBOX"
    processes.append(proc := start(config, "-o"))
    wait_until(lambda: inbox.is_dir() and count_files(inbox) > 0, 30)
    for name in signals:
        proc.send_signal(getattr(signal, name))
        time.sleep(0.05)
    proc.communicate(timeout=60)
    assert proc.returncode == 3
    again = start(config, "-o")
    processes.append(again)
    out, _ = again.communicate(timeout=120)
    assert again.returncode == 0, out
    ids = _message_ids(inbox)
    assert len(ids) == len(set(ids)) == 3000
