"""A Maildir's names against the status, without a map of the whole folder.

After a resync's first directory read, what matters is the few names that
are not what blinken would have named the file from the status (a reader
renamed it to change flags, moved it from new/ to cur/, or wrote it).  The
status gives each recorded id joined to its flag letters, which is the
canonical name, a chunk of names at a time; whole chunks are struck off the
set of names read, by set operations that run in C.  The names left over are
the changes.  The sets hold the strings the directory read made plus one
chunk of the status's, so a folder of 100,000 messages costs two sets and a
chunk, not a map of ids.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from itertools import compress, repeat
from typing import Protocol

from engine.repository import MsgId

Found = tuple[list[tuple[str, str]], set[MsgId]]  # (subdir, name) of changed files; gone ids


class Recorded(Protocol):
    """The status's side of the comparison (engine.status_recorded.RecordedNames)."""

    def names(self, infix: str) -> Iterable[list[str]]:
        """Every recorded id joined to its sorted flag letters by ``infix``, in chunks."""
        ...

    def any_of(self, ids: Collection[MsgId]) -> bool:
        """Whether any of ``ids`` is recorded."""
        ...


class RecordedPairs:
    """:class:`Recorded` from (id, flag letters) pairs: the in-memory status's form."""

    def __init__(self, pairs: Iterable[tuple[MsgId, str]]) -> None:
        self._pairs = dict(pairs)

    def names(self, infix: str) -> Iterable[list[str]]:
        yield [id + infix + letters for id, letters in self._pairs.items()]

    def any_of(self, ids: Collection[MsgId]) -> bool:
        return any(id in self._pairs for id in ids)


def differing(new: list[str], cur: list[str], recorded: Recorded, sep: str) -> Found | None:
    """The files that differ from the status, by id, and the recorded ids with no file.

    A recorded message matches its canonical name in cur/, else (not there) its
    name in new/: the bare id when it has no flags, else the canonical name.
    None when some id has two files (a reader's copy, a botched rename): a full
    scan then decides which one counts, as it always has.  The status is asked
    about the left-over ids only when one was not missing, to tell a new file
    from a second file of a known message.
    """
    info = sep + "2,"
    left_cur = _names(cur)
    unmatched: set[str] = set()  # canonical names not in cur/
    for chunk in recorded.names(info):
        names = set(chunk)
        unmatched |= names - left_cur
        left_cur -= names
    cut = len(info)
    in_new = {name[:-cut] if name.endswith(info) else name for name in unmatched}
    left_new = _names(new)
    missing = {name.partition(sep)[0] for name in in_new - left_new}
    left_new -= in_new
    files: dict[MsgId, tuple[str, str]] = {}
    for subdir, left in (("cur", left_cur), ("new", left_new)):
        for name in left:
            id = name.partition(sep)[0]
            if id in files:
                return None
            files[id] = (subdir, name)
    unknown = files.keys() - missing  # new files, or second files of matched ids
    if unknown and recorded.any_of(unknown):
        return None
    return [files[id] for id in sorted(files)], missing - files.keys()


def _names(listed: list[str]) -> set[str]:
    """The names, dot files left out (looked for in C: a folder has few or none)."""
    names = set(listed)
    names.difference_update(compress(listed, map(str.startswith, listed, repeat("."))))
    return names
