"""One blinken per account: an advisory lock next to the status file.

Two processes syncing one account would each trust a status the other is
changing; the second one must say who holds the lock and leave.
"""

from __future__ import annotations

import fcntl
import os

from engine.errors import AccountError


class AccountLock:
    def __init__(self, status_path: str, account: str) -> None:
        self.path = status_path + ".lock"
        self.account = account
        self._fd: int | None = None

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise AccountError(
                f"account {self.account} is being synced by PID {holder} ({self.path})"
            ) from None
        _write_pid(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _write_pid(fd: int) -> None:
    """Our PID, over whatever the last holder left.

    Written first and cut to length only when the old text was longer: on ext4,
    truncating a file that holds data to zero makes its close wait for a flush
    (the "replace by truncate" safeguard), a millisecond or more on every run.
    """
    pid = f"{os.getpid()}\n".encode()
    os.pwrite(fd, pid, 0)
    if os.fstat(fd).st_size > len(pid):
        os.ftruncate(fd, len(pid))
