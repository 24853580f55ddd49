"""A Maildir's names against the status, without a map of the whole folder.

After a resync's first directory read, what matters is the few names that
are not what blinken would have named the file from the status (a reader
renamed it to change flags, moved it from new/ to cur/, or wrote it).  The
status gives each recorded id with its flag letters, so each canonical name
can be built and struck off a set of the names read; the names left over are
the changes.  The sets hold the strings the directory read made and nothing
else, so a folder of 100,000 messages costs two sets, not a map of ids, and
the status rows go by one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine.repository import MsgId

Recorded = Callable[[], Iterable[tuple[MsgId, str]]]  # the status's (id, flag letters), anew
Found = tuple[list[tuple[str, str]], set[MsgId]]  # (subdir, name) of changed files; gone ids


def differing(new: list[str], cur: list[str], recorded: Recorded, sep: str) -> Found | None:
    """The files that differ from the status, by id, and the recorded ids with no file.

    None when some id has two files (a reader's copy, a botched rename): a full
    scan then decides which one counts, as it always has.  ``recorded`` is read
    a second time only when a left-over file's id was not missing, to tell a new
    file from a second file of a known message.
    """
    info = sep + "2,"
    left = {"cur": _names(cur), "new": _names(new)}
    missing: set[MsgId] = set()
    for id, letters in recorded():
        canonical = id + info + letters  # format_name's rule; the status's letters are sorted
        if canonical in left["cur"]:
            left["cur"].remove(canonical)
        elif (canonical if letters else id) in left["new"]:
            left["new"].remove(canonical if letters else id)
        else:
            missing.add(id)
    files: dict[MsgId, tuple[str, str]] = {}
    for subdir in ("cur", "new"):
        for name in left[subdir]:
            id = name.partition(sep)[0]
            if id in files:
                return None
            files[id] = (subdir, name)
    unknown = files.keys() - missing  # new files, or second files of matched ids
    if unknown and any(id in unknown for id, _letters in recorded()):
        return None
    return [files[id] for id in sorted(files)], missing - files.keys()


def _names(listed: list[str]) -> set[str]:
    return {name for name in listed if not name.startswith(".")}
