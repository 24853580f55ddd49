"""Where each message of one Maildir folder lives, by id: the folder handle's cache.

A full scan reads ``cur/`` and ``new/`` and parses every name, once per name
for the life of the handle.  A folder the status already describes (its stamp
has not moved since the last clean sync) is not scanned at all: the first time
a file is wanted, one directory read maps ids to names without parsing them,
and only the names actually wanted are parsed.

Alongside, the index keeps a fingerprint of the names as its last directory
read saw them, moved along by the handle's own renames, deliveries and
deletions.  If a later read of the directory gives the same fingerprint, nobody
else touched the folder meanwhile: what engine.settle needs to know.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Callable, Iterable
from typing import NamedTuple

from engine.errors import FolderError
from engine.maildir_names import BadName, MaildirName, parse_name, uid_hint
from engine.maildir_stamps import Fingerprint, NameSum, names_fingerprint
from engine.repository import MsgId

Warn = Callable[[str], None]
Recorded = Callable[[], Iterable[tuple[MsgId, str]]]  # the status's (id, flag letters), anew


def _ignore(_text: str) -> None:
    pass


class Entry(NamedTuple):
    """Where a message's file was last seen."""

    subdir: str
    filename: str
    name: MaildirName
    uid: int | None  # the id's UID hint, worked out once


class Index:
    def __init__(self, name: str, path: str, infosep: str, fmd5: str, warn: Warn) -> None:
        self.name, self.path, self._infosep = name, path, infosep
        self._fmd5, self._warn = fmd5, warn
        self.entries: dict[MsgId, Entry] = {}
        self._names: NameSum | None = None  # None: no directory read yet
        # From a directory read, id -> file name, per subdirectory; None: not read yet.
        self._unparsed: dict[str, dict[str, str]] | None = None
        self._doubled: set[str] = set()  # ids with more than one file: a full scan decides
        self._scanned = False

    # -- finding -----------------------------------------------------------------

    def get(self, id: MsgId) -> Entry | None:
        """The entry of ``id``, from the cache, else (never scanned) one directory read."""
        entry = self.entries.get(id)
        if entry is not None or self._scanned:
            return entry
        if self._unparsed is None:
            self.read_names()
        found = self._where(id)
        if found is None:
            return None
        if id in self._doubled:
            return self.rescan_for(id)
        subdir, filename = found
        try:
            name = parse_name(filename, self._infosep)
        except BadName:
            return None
        entry = self.entries[id] = Entry(subdir, filename, name, uid_hint(id, self._fmd5))
        return entry

    def rescan_for(self, id: MsgId) -> Entry | None:
        self.scan(warn=False)
        return self.entries.get(id)

    def fingerprint(self) -> Fingerprint | None:
        """The names as the last directory read saw them, plus our own changes since."""
        return self._names.value() if self._names is not None else None

    def unchanged_by_others(self) -> bool:
        """Whether a fresh directory read agrees with the tracked fingerprint."""
        tracked = self.fingerprint()
        try:
            return tracked is not None and names_fingerprint(self.path) == tracked
        except OSError:
            return False

    # -- our own changes ---------------------------------------------------------

    def added(self, entry: Entry) -> None:
        self.entries[entry.name.id] = entry
        if self._names is not None:
            self._names.add(entry.subdir, entry.filename)

    def removed(self, entry: Entry) -> None:
        self.entries.pop(entry.name.id, None)
        if self._unparsed is not None:
            self._unparsed[entry.subdir].pop(entry.name.id, None)
        if self._names is not None:
            self._names.remove(entry.subdir, entry.filename)

    def moved(self, old: Entry, new: Entry) -> None:
        self.removed(old)
        self.added(new)

    def clear(self) -> None:
        self.entries.clear()
        self._unparsed = None

    # -- reading the directory ---------------------------------------------------

    def read_names(self) -> None:
        """One directory read: ids to names (unparsed), and the fingerprint to track.

        For a large folder this read, not the few names then parsed, is most of
        a resync's local work and memory: each name is kept once, under its id,
        in a map of its subdirectory, built by one comprehension.
        """
        names = NameSum()
        unparsed: dict[str, dict[str, str]] = {}
        listed = 0
        sep = self._infosep
        for subdir in ("new", "cur"):
            found = self._listdir(subdir)
            names.add_all(subdir, found)
            dots = sum(1 for n in found if n.startswith("."))
            unparsed[subdir] = {n.partition(sep)[0]: n for n in found if not n.startswith(".")}
            listed += len(found) - dots
        self._unparsed, self._names = unparsed, names
        kept = len(unparsed["new"]) + len(unparsed["cur"])
        self._doubled = _doubles(self.path, sep, unparsed) if kept != listed else set()
        if not self._doubled and unparsed["new"].keys() & unparsed["cur"].keys():
            self._doubled = set(unparsed["new"].keys() & unparsed["cur"].keys())

    def _where(self, id: MsgId) -> tuple[str, str] | None:
        """(subdir, file name) of ``id`` as the last directory read saw it (cur/ wins)."""
        for subdir in ("cur", "new"):
            filename = (self._unparsed or {}).get(subdir, {}).get(id)
            if filename is not None:
                return subdir, filename
        return None

    def compare(self, recorded: Recorded) -> tuple[list[Entry], set[MsgId]] | None:
        """The folder's changes against the status, by comparing names as strings.

        ``recorded`` gives each recorded id with its flag letters; a file still
        named as we would name it with those letters is unchanged and is not
        parsed.  Returns the entries of every other file (new, renamed, moved)
        and the recorded ids with no file; None when some id has two files, for
        a full scan to decide which one counts.  Files the status does not know
        are told by counting; only when there are some is ``recorded`` read a
        second time to name them, so that the common resync holds no set of ids.
        """
        self.read_names()
        if self._unparsed is None or self._doubled:
            return None
        cur, new = self._unparsed["cur"], self._unparsed["new"]
        info = self._infosep + "2,"
        differ: list[MsgId] = []
        gone: set[MsgId] = set()
        present = 0
        for id, letters in recorded():
            # format_name's rule, inlined for 100,000 names: the status's letters are sorted
            filename = cur.get(id)
            if filename is not None:
                present += 1
                if filename != id + info + letters:
                    differ.append(id)
            elif id in new:
                present += 1
                if new[id] != (id + info + letters if letters else id):
                    differ.append(id)
            else:
                gone.add(id)
        if present != len(cur) + len(new):
            differ += _unrecorded(cur.keys() | new.keys(), recorded)
        return self._parsed(sorted(differ)), gone

    def _parsed(self, ids: list[MsgId]) -> list[Entry]:
        """The entries of these ids, kept or skipped as a full scan would (one stat each)."""
        entries = []
        for id in ids:
            subdir, filename = self._where(id) or ("", "")
            try:
                st = os.stat(os.path.join(self.path, subdir, filename))
            except OSError:
                continue  # gone since the directory read, as if not listed
            kind = stat.S_IFMT(st.st_mode)
            entry = self._checked(subdir, filename, kind == stat.S_IFDIR, kind == stat.S_IFREG)
            if entry is not None:
                self.entries[id] = entry
                entries.append(entry)
        return entries

    def _listdir(self, subdir: str) -> list[str]:
        directory = os.path.join(self.path, subdir)
        try:
            return os.listdir(directory)
        except OSError as err:
            raise FolderError(f"cannot list {directory}: {err.strerror or err}") from err

    def scan(self, warn: bool) -> None:
        """Rebuild the cache from ``cur/`` and ``new/`` without reading or stat-ing files.

        A name already in the cache is not parsed again: a second listing of a
        folder costs little more than the directory reads.
        """
        report = self._warn if warn else _ignore
        known = {(e.subdir, e.filename): e for e in self.entries.values()}
        found: dict[MsgId, Entry] = {}
        names = NameSum()
        for subdir in ("cur", "new"):
            directory = os.path.join(self.path, subdir)
            try:
                with os.scandir(directory) as it:
                    for dirent in it:
                        names.add(subdir, dirent.name)
                        entry = known.get((subdir, dirent.name)) or self._consider(
                            subdir, dirent, report
                        )
                        if entry is not None:
                            self._keep_one(found, entry, report)
            except OSError as err:
                raise FolderError(f"cannot list {directory}: {err.strerror or err}") from err
        self.entries, self._names, self._unparsed, self._scanned = found, names, None, True

    def _consider(self, subdir: str, dirent: os.DirEntry[str], report: Warn) -> Entry | None:
        if dirent.name.startswith("."):
            return None
        return self._checked(subdir, dirent.name, dirent.is_dir(), dirent.is_file(), report)

    def _checked(
        self, subdir: str, filename: str, is_dir: bool, is_file: bool, report: Warn | None = None
    ) -> Entry | None:
        """The entry of a listed name, or None (with a warning) for what is no message."""
        report = report or self._warn
        where = f"{self.name}: {subdir}/{filename!r}"
        try:
            name = parse_name(filename, self._infosep)
        except BadName as err:
            report(f"{where} skipped: {err}")
            return None
        if is_dir or not is_file:
            report(f"{where} is {'a directory' if is_dir else 'not a regular file'}, skipped")
            return None
        return Entry(subdir, filename, name, uid_hint(name.id, self._fmd5))

    def _keep_one(self, found: dict[MsgId, Entry], entry: Entry, report: Warn) -> None:
        """Two files with one id: keep the same one every time (cur/ first, then by name)."""
        other = found.get(entry.name.id)
        if other is None:
            found[entry.name.id] = entry
            return
        keep, drop = sorted((other, entry), key=lambda e: (e.subdir != "cur", e.filename))
        found[entry.name.id] = keep
        report(
            f"{self.name}: {drop.subdir}/{drop.filename!r} has the same id as "
            f"{keep.subdir}/{keep.filename!r}, skipped"
        )


def _doubles(path: str, sep: str, unparsed: dict[str, dict[str, str]]) -> set[str]:
    """Ids that name more than one file (rare: a reader's copy, a botched rename);
    the directories are read again to count, as the maps keep one name per id."""
    seen: Counter[str] = Counter()
    for subdir in unparsed:
        try:
            listed = os.listdir(os.path.join(path, subdir))
        except OSError:
            continue
        seen.update(n.partition(sep)[0] for n in listed if not n.startswith("."))
    return {id for id, count in seen.items() if count > 1}


def _unrecorded(
    ids: set[MsgId], recorded: Callable[[], Iterable[tuple[MsgId, str]]]
) -> list[MsgId]:
    """The ids of files the status does not know (new ones: one more read of the status)."""
    for id, _letters in recorded():
        ids.discard(id)
    return list(ids)
