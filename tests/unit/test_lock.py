"""The account lock's file: our PID, written without truncating the file to zero."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from blinken.lock import AccountLock


@pytest.mark.parametrize("before", ["", "7\n", "4194304\nleft over by someone\n"])
def test_the_lock_file_holds_our_pid_and_is_never_emptied_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str
) -> None:
    """Truncating an ext4 file that holds data to zero makes its close wait for a
    flush: a millisecond or more that every run paid."""
    status = tmp_path / "acct.sqlite"
    Path(str(status) + ".lock").write_text(before)
    cuts: list[int] = []
    real = os.ftruncate
    monkeypatch.setattr(os, "ftruncate", lambda fd, size: (cuts.append(size), real(fd, size))[1])
    lock = AccountLock(str(status), "acct")

    lock.acquire()
    try:
        assert Path(lock.path).read_text() == f"{os.getpid()}\n"
        assert 0 not in cuts
    finally:
        lock.release()
