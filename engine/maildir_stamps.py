"""What a Maildir folder looks like from outside: its stamp and its names' fingerprint.

A stamp (the mtimes of ``new/`` and ``cur/``) says whether anything was
delivered, renamed or deleted since it was read; a fingerprint (the count and
a hash of all names) says whether a folder's names are still those of one
earlier directory read.  Both cost a few system calls rather than a parse of
every file name, which is what lets a sync skip or settle a large folder cheaply.
"""

from __future__ import annotations

import os

STAMP_SETTLE_FINE = 0.05  # ... on a file system with sub-second timestamps
STAMP_SETTLE = 2.0  # seconds a directory must be unchanged before its mtime is trusted
_MASK = (1 << 64) - 1

Fingerprint = tuple[int, int]  # how many names, and the sum of their hashes


def _settle_time(mtimes: list[int]) -> float:
    """How old an mtime must be before a change in its clock tick is ruled out.

    Sub-second digits mean a fine-grained file system (ticks of a few ms);
    whole seconds may mean one-second timestamps, which need the long wait.
    """
    fine = all(t % 1_000_000_000 for t in mtimes)
    return STAMP_SETTLE_FINE if fine else STAMP_SETTLE


def folder_stamp(path: str, now_ns: int) -> str | None:
    """The stamp of a Maildir, or None while it is too fresh to trust (OSError if gone).

    Old enough by the clock, it is trusted at once.  Younger, the file system's
    own clock is asked (``fs_now``): once that has moved past both mtimes, any
    later change gets a later mtime, so the stamp can be trusted a clock tick
    (a few ms) after the last write instead of ``STAMP_SETTLE_FINE`` after it.
    The mtimes are read again after that question: a change made after it
    cannot carry the mtime they show.
    """
    times = _mtimes(path)
    if max(times) >= now_ns - int(_settle_time(times) * 1e9):
        fs_time = fs_now(path)
        if fs_time is None:
            return None
        times = _mtimes(path)
        if _settle_time([*times, fs_time]) != STAMP_SETTLE_FINE or max(times) >= fs_time:
            return None  # whole seconds somewhere: only the clock rule can tell
    return f"maildir:{times[0]}:{times[1]}"


def _mtimes(path: str) -> list[int]:
    return [os.stat(os.path.join(path, sub)).st_mtime_ns for sub in ("new", "cur")]


def fs_now(path: str) -> int | None:
    """The time the file system would give a change made now in the Maildir ``path``:
    the mtime of a new nameless file (O_TMPFILE) in its ``tmp/``, which changes no
    directory; None where that cannot be made (no O_TMPFILE, read-only, NFS)."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return None
    try:
        fd = os.open(os.path.join(path, "tmp"), flag | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        return os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)


# Each subdirectory weighs its names' hashes differently, so that a file moved
# from new/ to cur/ under the same name changes the fingerprint.
_WEIGHTS = {"cur": 1, "new": 0x9E3779B97F4A7C15}


class NameSum:
    """A fingerprint built from directory reads that happen anyway, and moved along
    name by name with the reader's own changes."""

    __slots__ = ("count", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add(self, subdir: str, name: str) -> None:
        self.count += 1
        self.total += _WEIGHTS[subdir] * hash(name)

    def remove(self, subdir: str, name: str) -> None:
        self.count -= 1
        self.total -= _WEIGHTS[subdir] * hash(name)

    def add_all(self, subdir: str, names: list[str]) -> None:
        """A whole directory's names at once (the sum runs in C: 50,000 names in ~2 ms)."""
        self.count += len(names)
        self.total += _WEIGHTS[subdir] * sum(map(hash, names))

    def value(self) -> Fingerprint:
        return self.count, self.total & _MASK


def names_fingerprint(path: str) -> Fingerprint:
    """Every name in ``cur/`` and ``new/``, dot files and all (OSError if unreadable)."""
    names = NameSum()
    for subdir in ("cur", "new"):
        names.add_all(subdir, os.listdir(os.path.join(path, subdir)))
    return names.value()
