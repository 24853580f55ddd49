"""Where each message of one Maildir folder lives, by id: the folder handle's cache.

A full scan reads ``cur/`` and ``new/`` and parses every name, once per name
for the life of the handle.  A resync does not scan: it compares the names
with the status (:mod:`engine.maildir_compare`) and parses only those that
differ, or, when the folder's stamp has not moved, takes their fingerprint
from the status (or, without one there, reads the names for it).  A file
wanted later is found by the name the status implies (``expect``), else by one
directory read that maps ids to names.

Alongside, the index tracks a fingerprint of the names as its first directory
read saw them (or as the status recorded them under the unchanged stamp),
moved along by the handle's own renames, deliveries and deletions.  Every
later read is checked against it; if one differs, someone else changed the
folder during the sync and there is no fingerprint to offer.  If a read at the
end agrees, nobody else touched the folder meanwhile: what engine.settle needs
to know.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Callable, Iterable
from typing import NamedTuple

from engine.errors import FolderError
from engine.maildir_compare import Recorded, differing
from engine.maildir_names import BadName, MaildirName, parse_name, uid_hint
from engine.maildir_stamps import Fingerprint, NameSum, names_fingerprint
from engine.repository import MsgId

Warn = Callable[[str], None]


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
        self._disturbed = False  # a later read did not match the tracked names
        # From a directory read, id -> file name, per subdirectory; None: not read yet.
        self._unparsed: dict[str, dict[str, str]] | None = None
        self._doubled: set[str] = set()  # ids with more than one file: a full scan decides
        self._expected: dict[MsgId, str] = {}  # id -> flag letters the status records
        self._scanned = False

    # -- finding -----------------------------------------------------------------

    def get(self, id: MsgId) -> Entry | None:
        """The entry of ``id``, from the cache, else (never scanned) one directory read."""
        entry = self.entries.get(id)
        if entry is not None or self._scanned:
            return entry
        entry = self._expected_entry(id)
        if entry is not None:
            return entry
        if self._unparsed is None:
            self._map()
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

    def expect(self, recorded: Iterable[tuple[MsgId, str]]) -> None:
        """Flag letters the status records for ids a plan is about to touch: their
        files are looked for under the names blinken gives, before any directory read."""
        self._expected.update(recorded)

    def _expected_entry(self, id: MsgId) -> Entry | None:
        letters = self._expected.get(id)
        if letters is None:
            return None
        canonical = id + self._infosep + "2," + letters
        for subdir, filename in (("cur", canonical), ("new", canonical if letters else id)):
            found, entry = self._at(subdir, filename)
            if found:
                return entry
        return None

    def fingerprint(self) -> Fingerprint | None:
        """The names as the first directory read saw them (or the status recorded
        them), plus our own changes since; None before any read, or once a read
        found changes that were not ours."""
        if self._names is None or self._disturbed:
            return None
        return self._names.value()

    def _track(self, names: NameSum, base: bool = False) -> None:
        """Take a directory read's names as the ones to track, or check them against those.

        A read the sync plans from (a listing, a comparison with the status, the
        read of a folder as recorded) is the base, whatever was read before it;
        any later read (a file looked for, a rescan) is checked against the base
        moved along by our own writes.
        """
        if self._names is None or base:
            self._names, self._disturbed = names, False
        elif names.value() != self._names.value():
            self._disturbed = True

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

    def forget(self) -> None:
        """Drop the cached entries, keeping the tracked names: nothing is lost, as a
        message looked up later is found by its expected name or a directory read."""
        self.entries.clear()

    def clear(self) -> None:
        self.entries.clear()
        self._unparsed = None

    # -- reading the directory ---------------------------------------------------

    def read_names(self) -> None:
        """One directory read for the fingerprint alone (a folder as the status has it)."""
        self._read(base=True)

    def start_from_names(self, recorded: Fingerprint) -> bool:
        """Take the fingerprint the status recorded with the folder's stamp as the base,
        in place of ``read_names``, when that stamp has not moved (see
        engine.folder_work._as_recorded); False if the text is no fingerprint this
        version makes (nothing is tracked then)."""
        names = NameSum.parse(recorded)
        if names is None:
            return False
        self._track(names, base=True)
        return True

    def _read(self, base: bool) -> dict[str, list[str]]:
        """The names of ``new/`` and ``cur/``, tracked (see ``_track``)."""
        listed = {subdir: self._listdir(subdir) for subdir in ("new", "cur")}
        names = NameSum()
        for subdir, found in listed.items():
            names.add_all(subdir, found)
        self._track(names, base)
        return listed

    def _map(self) -> None:
        """One directory read that maps ids to names, unparsed: for files wanted later.

        Each name is kept once, under its id, in a map of its subdirectory,
        built by one comprehension.
        """
        listed = self._read(base=False)
        sep = self._infosep
        unparsed = {
            subdir: {n.partition(sep)[0]: n for n in found if not n.startswith(".")}
            for subdir, found in listed.items()
        }
        new, cur = unparsed["new"], unparsed["cur"]
        files = sum(len(found) - sum(n.startswith(".") for n in found) for found in listed.values())
        doubled = len(new) + len(cur) != files or not new.keys().isdisjoint(cur)  # rare
        self._unparsed, self._doubled = unparsed, _doubles(listed, sep) if doubled else set()

    def _where(self, id: MsgId) -> tuple[str, str] | None:
        """(subdir, file name) of ``id`` as the last directory read saw it (cur/ wins)."""
        for subdir in ("cur", "new"):
            filename = (self._unparsed or {}).get(subdir, {}).get(id)
            if filename is not None:
                return subdir, filename
        return None

    def compare(self, recorded: Recorded) -> tuple[list[Entry], set[MsgId]] | None:
        """The folder's changes against the status (see engine.maildir_compare): the
        entries of files that differ, and the recorded ids with no file; None when
        some id has two files, for a full scan to decide which one counts."""
        listed = self._read(base=True)
        found = differing(listed["new"], listed["cur"], recorded, self._infosep)
        if found is None:
            return None
        files, gone = found
        return self._parsed(files), gone

    def _parsed(self, files: list[tuple[str, str]]) -> list[Entry]:
        """The entries of these files, kept or skipped as a full scan would (one stat each)."""
        entries = []
        for subdir, filename in files:
            entry = self._at(subdir, filename)[1]  # gone since the read: as if not listed
            if entry is not None:
                entries.append(entry)
        return entries

    def _at(self, subdir: str, filename: str) -> tuple[bool, Entry | None]:
        """Whether the file is there, and its entry (cached) if it is a message (one stat)."""
        try:
            st = os.stat(os.path.join(self.path, subdir, filename))
        except OSError:
            return False, None
        kind = stat.S_IFMT(st.st_mode)
        entry = self._checked(subdir, filename, kind == stat.S_IFDIR, kind == stat.S_IFREG)
        if entry is not None:
            self.entries[entry.name.id] = entry
        return True, entry

    def _listdir(self, subdir: str) -> list[str]:
        directory = os.path.join(self.path, subdir)
        try:
            return os.listdir(directory)
        except OSError as err:
            raise FolderError(f"cannot list {directory}: {err.strerror or err}") from err

    def scan(self, warn: bool, base: bool = False) -> None:
        """Rebuild the cache from ``cur/`` and ``new/`` without reading or stat-ing files.

        A name already in the cache is not parsed again: a second listing of a
        folder costs little more than the directory reads.  ``base``: a listing
        to plan from (see ``_track``), not a rescan for a file that moved.
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
        self.entries, self._unparsed, self._scanned = found, None, True
        self._track(names, base=base)

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


def _doubles(listed: dict[str, list[str]], sep: str) -> set[str]:
    """Ids that name more than one file (rare: a reader's copy, a botched rename)."""
    seen = Counter(n.partition(sep)[0] for found in listed.values() for n in found)
    return {id for id, count in seen.items() if count > 1 and not id.startswith(".")}
