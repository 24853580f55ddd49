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
    """The stamp of a Maildir, or None while it is too fresh to trust (OSError if gone)."""
    times = [os.stat(os.path.join(path, sub)).st_mtime_ns for sub in ("new", "cur")]
    settled = max(times) < now_ns - int(_settle_time(times) * 1e9)
    return f"maildir:{times[0]}:{times[1]}" if settled else None


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
