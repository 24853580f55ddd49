"""The sync status: what both sides looked like after the last sync.

It is the third input of the planner (without it a deletion and a new
message look the same), so it must never claim more than is durable: callers
record a pair only after the message is safely stored on both sides, and
record an intended copy as *pending* before they start it, so that a crash in
between is recognised on the next run instead of producing a duplicate.

One SQLite file per account, WAL mode, schema version in ``user_version``.
Each worker thread opens its own ``StatusDB`` on the same file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from engine.errors import AccountError
from engine.frozen import Frozen, record
from engine.repository import Flags, MsgId
from engine.status_file import MIGRATIONS as MIGRATIONS  # re-exported, as before the split
from engine.status_file import SCHEMA_VERSION as SCHEMA_VERSION
from engine.status_file import connect, writer_lock
from engine.status_file import migrate as migrate
from engine.status_recorded import RecordedNames

LOCAL = "local"
REMOTE = "remote"


class Pair(NamedTuple):
    """A message known on both sides; a None side was deliberately not copied.

    Each side's flags are kept separately: they are equal after a sync unless a
    side is read-only, and keeping both lets a read-only side's own changes
    still travel the other way without undoing anything.
    """

    local: MsgId | None
    remote: MsgId | None
    local_flags: Flags
    remote_flags: Flags


@record(slots=True)
class Pending(Frozen):
    """A copy that was started but not yet recorded as a pair."""

    id: int
    to_side: str
    src_id: MsgId
    fingerprint: str
    size: int
    mark: int | None
    flags: Flags


@record(slots=True)
class FolderRecord(Frozen):
    id: int
    local_name: str
    remote_name: str
    local_validity: int | None
    remote_validity: int | None
    remote_uidnext: int | None = None
    remote_highestmodseq: int | None = None
    remote_messages: int | None = None
    last_sync: float | None = None
    local_stamp: str | None = None
    remote_stamp: str | None = None
    local_uidnext: int | None = None
    local_highestmodseq: int | None = None
    # The fingerprint of a Maildir's names under ``local_stamp`` (see SideState.names).
    local_names: str | None = None

    def highestmodseq(self, side: str) -> int | None:
        """The HIGHESTMODSEQ recorded for ``side`` (``LOCAL`` or ``REMOTE``)."""
        return self.local_highestmodseq if side == LOCAL else self.remote_highestmodseq

    def stamp(self, side: str) -> str | None:
        return self.local_stamp if side == LOCAL else self.remote_stamp

    def validity(self, side: str) -> int | None:
        return self.local_validity if side == LOCAL else self.remote_validity

    def names(self, side: str) -> str | None:
        """The names' fingerprint recorded with ``side``'s stamp (a local Maildir's only)."""
        return self.local_names if side == LOCAL else None


@record(slots=True)
class SideState(Frozen):
    """What one side of a folder looked like when a sync began (see ``finish_folder``).

    ``names``: a Maildir's names fingerprint under ``stamp``, when the sync knows
    it describes the very names that stamp does (kept for the local side only).
    """

    uidnext: int | None = None
    highestmodseq: int | None = None
    messages: int | None = None
    stamp: str | None = None
    names: str | None = None


class Finished(NamedTuple):
    """A folder's numbers after its sync (see ``StatusDB.finish_folder``)."""

    folder_id: int
    local: SideState
    remote: SideState


def flags_text(flags: Iterable[str]) -> str:
    return "".join(sorted(flags))


class StatusDB:
    """One connection to an account's status file."""

    def __init__(self, path: str, *, durable: bool = True) -> None:
        self.path = path
        self._writing = writer_lock(path)
        try:
            self._db = connect(path, durable=durable)
            migrate(self._db)
        except sqlite3.Error as e:
            raise AccountError(f"status database {path}: {e}") from e

    def close(self) -> None:
        self._db.close()

    def checkpoint(self) -> None:
        """Copy what the WAL holds into the database file now, without waiting for or
        blocking a writer (PASSIVE).

        The last connection to close does this anyway, with everything a run
        committed (about 700 pages after 750 flag changes at 50,000 messages:
        7-16 ms here) just before the process can end; a worker that has run out
        of folders does most of it instead while the others finish theirs.
        """
        with contextlib.suppress(sqlite3.Error):  # a head start: the last close does it anyway
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable batch of status changes.

        The workers of one process take turns through a lock of their own: a
        writer that found SQLite's lock taken would poll for it (sleeping 1, 2,
        5, 10 ms and more between tries), where this one wakes it at once.
        """
        with self._writing:
            try:
                with self._db:
                    yield self._db
            except sqlite3.Error as e:
                raise AccountError(f"status database {self.path}: {e}") from e

    # -- folders -----------------------------------------------------------

    def folders(self) -> list[FolderRecord]:
        rows = self._db.execute(f"SELECT {_FOLDER_COLS} FROM folders ORDER BY id")
        return [FolderRecord(*row) for row in rows]

    def folder(self, local_name: str, remote_name: str) -> FolderRecord | None:
        row = self._db.execute(
            f"SELECT {_FOLDER_COLS} FROM folders WHERE local_name = ? AND remote_name = ?",
            (local_name, remote_name),
        ).fetchone()
        return FolderRecord(*row) if row else None

    def ensure_folder(self, local_name: str, remote_name: str) -> FolderRecord:
        """The folder's record, created if new (a no-op sync writes nothing)."""
        known = self.folder(local_name, remote_name)
        if known is not None:
            return known
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO folders (local_name, remote_name) VALUES (?, ?)",
                (local_name, remote_name),
            )
        record = self.folder(local_name, remote_name)
        assert record is not None
        return record

    def set_validity(self, folder_id: int, local: int | None, remote: int | None) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE folders SET local_validity = ?, remote_validity = ? WHERE id = ?",
                (local, remote, folder_id),
            )

    def finish_folder(self, folder_id: int, local: SideState, remote: SideState) -> None:
        """One sync of the folder is over: both sides' numbers and stamps, in one commit.

        A side's HIGHESTMODSEQ and stamp are what the next sync trusts (to skip
        the folder, or to list only what changed since); the caller passes None
        for them unless the sync left nothing undone.
        """
        self.finish_folders([Finished(folder_id, local, remote)])

    def finish_folders(
        self,
        finished: Iterable[Finished],
        local_stamps: Iterable[tuple[int, str, str | None]] = (),
    ) -> None:
        """Several folders' ``finish_folder`` and then local stamps (folder id, stamp,
        names fingerprint) that settled later, in one commit.

        Numbers and stamps only let the next sync skip or shorten work, so they
        may wait for the end of a run: lost in a crash, they leave the numbers
        of an earlier sync, which the folders' new stamps no longer match.  A
        local stamp is always written with its names fingerprint (NULL when
        none is known), never without: an old fingerprint must not outlive the
        stamp it was recorded with.
        """
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "UPDATE folders SET local_uidnext = ?, local_highestmodseq = ?, local_stamp = ?,"
                " local_names = ?, remote_uidnext = ?, remote_highestmodseq = ?,"
                " remote_messages = ?, remote_stamp = ?, last_sync = ? WHERE id = ?",
                [
                    (
                        f.local.uidnext,
                        f.local.highestmodseq,
                        f.local.stamp,
                        f.local.names if f.local.stamp is not None else None,
                        f.remote.uidnext,
                        f.remote.highestmodseq,
                        f.remote.messages,
                        f.remote.stamp,
                        now,
                        f.folder_id,
                    )
                    for f in finished
                ],
            )
            db.executemany(
                "UPDATE folders SET local_stamp = ?, local_names = ? WHERE id = ?",
                [(stamp, names, folder_id) for folder_id, stamp, names in local_stamps],
            )

    def forget_folder(self, folder_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM folders WHERE id = ?", (folder_id,))

    # -- messages ----------------------------------------------------------

    def pairs(self, folder_id: int) -> list[Pair]:
        rows = self._db.execute(
            "SELECT local_id, remote_id, local_flags, remote_flags FROM messages"
            " WHERE folder_id = ?",
            (folder_id,),
        )
        flags = _shared_flags()
        return [Pair(loc, rem, flags(lf), flags(rf)) for loc, rem, lf, rf in rows]

    def pairs_of(
        self, folder_id: int, local_ids: Iterable[MsgId], remote_ids: Iterable[MsgId]
    ) -> list[Pair]:
        """The pairs recorded for any of these ids: a lookup per id through the
        indexes, so that a sync after a few changes reads a few rows."""
        found: dict[Pair, None] = {}
        flags = _shared_flags()
        for column, ids in (("local_id", local_ids), ("remote_id", remote_ids)):
            for chunk in _chunks(list(ids), _LOOKUP_CHUNK):
                rows = self._db.execute(
                    "SELECT local_id, remote_id, local_flags, remote_flags FROM messages"
                    f" WHERE folder_id = ? AND {column} IN ({','.join('?' * len(chunk))})",
                    (folder_id, *chunk),
                )
                found.update((Pair(lo, re, flags(lf), flags(rf)), None) for lo, re, lf, rf in rows)
        return list(found)

    def has_any(self, folder_id: int) -> bool:
        """Whether anything (a pair or an interrupted copy) is recorded for the folder."""
        row = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE folder_id = ? AND local_id IS NOT NULL)"
            " OR EXISTS (SELECT 1 FROM messages WHERE folder_id = ? AND remote_id IS NOT NULL)"
            " OR EXISTS (SELECT 1 FROM pending WHERE folder_id = ?)",
            (folder_id, folder_id, folder_id),
        ).fetchone()
        return bool(row[0])

    def counts(self, folder_id: int) -> tuple[int, int]:
        """How many local and how many remote ids are recorded (each from its index)."""
        row = self._db.execute(
            "SELECT (SELECT COUNT(*) FROM messages WHERE folder_id = ? AND local_id IS NOT NULL),"
            " (SELECT COUNT(*) FROM messages WHERE folder_id = ? AND remote_id IS NOT NULL)",
            (folder_id, folder_id),
        ).fetchone()
        return int(row[0]), int(row[1])

    def ids(self, folder_id: int, side: str) -> list[MsgId]:
        """Every id recorded on ``side`` (``LOCAL`` or ``REMOTE``), from its index alone."""
        column = "local_id" if side == LOCAL else "remote_id"
        rows = self._db.execute(
            f"SELECT {column} FROM messages WHERE folder_id = ? AND {column} IS NOT NULL",
            (folder_id,),
        )
        return [id for (id,) in rows]

    def recorded_names(self, folder_id: int, side: str) -> RecordedNames:
        """``side``'s recorded ids as the file names their flags imply: what a Maildir
        compares its names with (engine.maildir_compare)."""
        return RecordedNames(self._db, folder_id, "local" if side == LOCAL else "remote")

    def pending(self, folder_id: int) -> list[Pending]:
        rows = self._db.execute(
            "SELECT id, to_side, src_id, fingerprint, size, mark, flags FROM pending"
            " WHERE folder_id = ? ORDER BY id",
            (folder_id,),
        )
        return [
            Pending(id, side, src, fp, size, mark, frozenset(flags))
            for id, side, src, fp, size, mark, flags in rows
        ]


_LOOKUP_CHUNK = 500  # ids per query: well below SQLite's limit on parameters


def _chunks(items: list[MsgId], size: int) -> Iterator[list[MsgId]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _shared_flags() -> Callable[[str], Flags]:
    """Flags text to a frozenset, one object per distinct text (a folder has few)."""
    sets: dict[str, Flags] = {}

    def flags(text: str) -> Flags:
        found = sets.get(text)
        if found is None:
            found = sets[text] = frozenset(text)
        return found

    return flags


_FOLDER_COLS = (
    "id, local_name, remote_name, local_validity, remote_validity,"
    " remote_uidnext, remote_highestmodseq, remote_messages, last_sync,"
    " local_stamp, remote_stamp, local_uidnext, local_highestmodseq, local_names"
)


# -- writes inside a transaction (module functions: they take the cursor) ---


def put_pair(db: sqlite3.Connection, folder_id: int, pair: Pair) -> None:
    """Record a pair, replacing whatever was recorded for either of its ids."""
    _drop_ids(db, folder_id, pair.local, pair.remote)
    db.execute(
        "INSERT INTO messages (folder_id, local_id, remote_id, local_flags, remote_flags)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            folder_id,
            pair.local,
            pair.remote,
            flags_text(pair.local_flags),
            flags_text(pair.remote_flags),
        ),
    )


def drop_pair(db: sqlite3.Connection, folder_id: int, pair: Pair) -> None:
    _drop_ids(db, folder_id, pair.local, pair.remote)


def drop_pairs(db: sqlite3.Connection, folder_id: int, pairs: Iterable[Pair]) -> None:
    """Many pairs at once: one prepared statement per side, not two per pair."""
    pairs = list(pairs)
    for column, ids in (
        ("local_id", [p.local for p in pairs if p.local is not None]),
        ("remote_id", [p.remote for p in pairs if p.remote is not None]),
    ):
        db.executemany(
            f"DELETE FROM messages WHERE folder_id = ? AND {column} = ?",
            [(folder_id, id) for id in ids],
        )


def set_pair_flags(db: sqlite3.Connection, folder_id: int, pairs: Iterable[Pair]) -> None:
    """New flags for pairs, in place where the pair is recorded with both its ids (a
    reflag: all in one prepared statement); otherwise (a link being recorded) the
    pair is put whole.  Each pair can match one row at most (the unique indexes),
    so a count short of the pairs means some were not there."""
    pairs = list(pairs)
    rows = [
        (flags_text(p.local_flags), flags_text(p.remote_flags), folder_id, p.local, p.remote)
        for p in pairs
    ]
    if db.executemany(_SET_FLAGS, rows).rowcount == len(pairs):
        return
    for p, row in zip(pairs, rows, strict=True):
        if db.execute(_SET_FLAGS, row).rowcount != 1:
            put_pair(db, folder_id, p)


_SET_FLAGS = (
    "UPDATE messages SET local_flags = ?, remote_flags = ?"
    " WHERE folder_id = ? AND local_id = ? AND remote_id = ?"
)


def _drop_ids(
    db: sqlite3.Connection, folder_id: int, local: MsgId | None, remote: MsgId | None
) -> None:
    if local is not None:
        db.execute("DELETE FROM messages WHERE folder_id = ? AND local_id = ?", (folder_id, local))
    if remote is not None:
        db.execute(
            "DELETE FROM messages WHERE folder_id = ? AND remote_id = ?", (folder_id, remote)
        )


def add_pending(
    db: sqlite3.Connection,
    folder_id: int,
    to_side: str,
    src_id: MsgId,
    fingerprint: str,
    size: int,
    mark: int | None,
    flags: Flags,
) -> int:
    cur = db.execute(
        "INSERT INTO pending (folder_id, to_side, src_id, fingerprint, size, mark, flags, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (folder_id, to_side, src_id, fingerprint, size, mark, flags_text(flags), time.time()),
    )
    return int(cur.lastrowid or 0)


def drop_pending(db: sqlite3.Connection, pending_id: int) -> None:
    db.execute("DELETE FROM pending WHERE id = ?", (pending_id,))


def snapshot(path: str) -> StatusDB:
    """A private in-memory copy of a status file (empty if there is none): for dry runs."""
    copy = StatusDB(":memory:")
    if not os.path.exists(path):
        return copy
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            source.backup(copy._db)
        finally:
            source.close()
        migrate(copy._db)
    except sqlite3.Error as e:
        raise AccountError(f"status database {path}: {e}") from e
    return copy


def in_memory_status() -> StatusDB:
    """A throwaway status (dry runs with no status file yet, tests)."""
    return StatusDB(":memory:")
