"""Carries out a folder's plan through two stores and records it in the status.

The order inside every step is what makes a crash harmless: the data change
first, the status record after it; and for copies, a *pending* record before
the copy so that a crash between the copy and its record is recognised on the
next run (see :mod:`engine.reconcile`) instead of producing a duplicate.
Status writes are batched per transaction, never ahead of the data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import TypeVar

from engine import status as st
from engine.content import fingerprint_and_size, release
from engine.errors import Aborted, MessageError
from engine.events import Scope, SyncCounts, ThreadState
from engine.planner import Copy, Delete, Link, Plan, Record, Reflag, Side
from engine.report import Reporter
from engine.repository import FetchedMessage, Flags, Folder, Message, MsgId
from engine.settings import SyncOptions
from engine.status import Pair, StatusDB

T = TypeVar("T")

_FLAG_BATCH = 500
_DELETE_BATCH = 500
_APPEND_COUNT = 50  # messages per MULTIAPPEND: one round trip each, and an abort waits for one
_APPEND_BYTES = 4 << 20


@dataclass
class _Tally:
    copied_to_local: int = 0
    copied_to_remote: int = 0
    deleted_local: int = 0
    deleted_remote: int = 0
    flags_local: int = 0
    flags_remote: int = 0
    bytes: int = 0
    skipped: int = 0
    messages_done: int = 0
    messages_total: int = 0
    bytes_total: int = 0
    pending_left: list[int] = field(default_factory=list)

    def counts(self) -> SyncCounts:
        """The counters SyncCounts has (the executor never sets its maxage/maxsize ones)."""
        return SyncCounts(
            **{f.name: getattr(self, f.name) for f in fields(SyncCounts) if hasattr(self, f.name)}
        )


class Executor:
    def __init__(
        self,
        local: Folder,
        remote: Folder,
        status: StatusDB,
        folder_id: int,
        report: Reporter,
        options: SyncOptions,
        cancel: threading.Event,
    ) -> None:
        self.folders = {Side.LOCAL: local, Side.REMOTE: remote}
        self.status = status
        self.folder_id = folder_id
        self.report = report
        self.options = options
        self.cancel = cancel
        self.tally = _Tally()
        # Copies the whole sync will make, when it runs more than one plan (engine.windowed).
        self.expected = 0
        # Flag changes and deletions done, not yet durable: their pairs for ``_commit``.
        self._reflagged: list[Pair] = []
        self._deleted: list[Pair] = []

    def run(self, plan: Plan) -> SyncCounts:
        """Carry out ``plan``; a second plan adds to the counts of the first."""
        copies = [a for a in plan.actions if isinstance(a, Copy)]
        t = self.tally
        t.messages_total = max(t.messages_done + t.skipped + len(copies), self.expected)
        t.bytes_total += sum(a.size or 0 for a in copies)
        self._records([a for a in plan.actions if isinstance(a, Record)])
        copies += self._links([a for a in plan.actions if isinstance(a, Link)])
        try:  # deletions first: a server that holds them back sends them with the flags
            self._deletes([a for a in plan.actions if isinstance(a, Delete)])
            self._reflags([a for a in plan.actions if isinstance(a, Reflag)])
        finally:
            self._commit()
        for side in (Side.REMOTE, Side.LOCAL):
            self._copies([a for a in copies if a.to is side], side)
        return self.tally.counts()

    def _commit(self) -> None:
        """Make the flag changes and deletions so far durable on both sides (a Maildir
        fsyncs each directory once), then record them all in one commit."""
        reflagged, deleted = self._reflagged, self._deleted
        self._reflagged, self._deleted = [], []
        self._flush(Side.LOCAL, Side.REMOTE)
        if reflagged or deleted:
            with self.status.transaction() as db:
                st.set_pair_flags(db, self.folder_id, reflagged)
                st.drop_pairs(db, self.folder_id, deleted)

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Aborted("sync aborted")

    def _skip(self, what: str, error: MessageError) -> None:
        self.tally.skipped += 1
        self.report.error(Scope.MESSAGE, f"{what}: {error}")

    # -- status only ---------------------------------------------------------

    def _records(self, records: Sequence[Record]) -> None:
        if not records:
            return
        with self.status.transaction() as db:
            for r in records:
                st.drop_pair(db, self.folder_id, r.old)
                if r.new is not None:
                    st.put_pair(db, self.folder_id, r.new)

    # -- linking messages a previous run copied but did not record -----------

    def _links(self, links: Sequence[Link]) -> list[Copy]:
        """Record verified links; unverified ones turn into their fallback copies.

        A link is recorded only once its flags are set on both sides: recording
        it after a failed flag change would make the next run take the side
        that missed the change for one that undid it.  Unrecorded, it is
        simply linked again next run.
        """
        fallback: list[Copy] = []
        reflags: list[Reflag] = []
        for link in links:
            if self._same_message(link):
                was = Pair(link.local, link.remote, link.local_flags, link.remote_flags)
                local_new, remote_new = link.targets()
                reflags.append(
                    Reflag(was, link.local_flags, link.remote_flags, local_new, remote_new)
                )
            else:
                fallback.extend(link.copies())
        try:
            self._reflags(reflags)
        finally:
            self._commit()
        self.report.debug(f"linked {len(reflags)} unrecorded messages by their ,U= names")
        return fallback

    def _same_message(self, link: Link) -> bool:
        local = _summary(self.folders[Side.LOCAL], link.local)
        if local is None:
            return False
        if link.remote_size is not None:
            return local[1] == link.remote_size
        return _summary(self.folders[Side.REMOTE], link.remote) == local

    # -- flags ----------------------------------------------------------------

    def _reflags(self, reflags: Sequence[Reflag]) -> None:
        """In chunks: the same change on many messages is one command per chunk and side.
        Recorded by ``_commit``, once they are durable."""
        for start in range(0, len(reflags), _FLAG_BATCH):
            chunk = reflags[start : start + _FLAG_BATCH]
            self._reflagged += [action.result for action in self._apply_chunk(chunk)]
            self._check_cancel()

    def _apply_chunk(self, chunk: Sequence[Reflag]) -> list[Reflag]:
        failed: set[int] = set()
        for side in (Side.LOCAL, Side.REMOTE):
            groups = self._groups(chunk, side, failed)
            ids = {
                key: [_id(chunk[i], side) or "" for i in members] for key, members in groups.items()
            }
            gone = self._set_flags(side, [(ids[key], *key) for key in groups]) if groups else set()
            for key, members in groups.items():
                for i, id in zip(members, ids[key], strict=True):  # grouped: never None
                    if id in gone:
                        failed.add(i)
                        self._skip(f"flags of {id}", MessageError(f"message {id} is gone"))
                    else:
                        self._count_flags(side)
        return [a for i, a in enumerate(chunk) if i not in failed]

    def _set_flags(self, side: Side, groups: list[tuple[list[MsgId], Flags, Flags]]) -> set[MsgId]:
        """Each group's change on its messages; the ids that are gone.  A store that can
        take all groups at once (IMAP: every STORE in one round trip) gets them so."""
        folder = self.folders[side]
        grouped = getattr(folder, "set_flags_grouped", None)
        if grouped is not None and len(groups) > 1:
            for adding in dict.fromkeys(bool(add) for _, add, _ in groups):  # each kind once
                self.report.state(
                    ThreadState.ADDING_FLAGS if adding else ThreadState.REMOVING_FLAGS, side
                )
            return set(grouped(groups))
        gone: set[MsgId] = set()
        for ids, add, remove in groups:
            self.report.state(ThreadState.ADDING_FLAGS if add else ThreadState.REMOVING_FLAGS, side)
            gone |= folder.set_flags_many(ids, add, remove)
        return gone

    @staticmethod
    def _groups(
        chunk: Sequence[Reflag], side: Side, failed: set[int]
    ) -> dict[tuple[Flags, Flags], list[int]]:
        groups: dict[tuple[Flags, Flags], list[int]] = {}
        for i, action in enumerate(chunk):
            add, remove = action.change(side)
            if i not in failed and (add or remove) and _id(action, side) is not None:
                groups.setdefault((add, remove), []).append(i)
        return groups

    def _count_flags(self, side: Side) -> None:
        if side is Side.LOCAL:
            self.tally.flags_local += 1
        else:
            self.tally.flags_remote += 1

    # -- deletions --------------------------------------------------------------

    def _deletes(self, deletes: Sequence[Delete]) -> None:
        for side in (Side.LOCAL, Side.REMOTE):
            mine = [d for d in deletes if d.side is side]
            for start in range(0, len(mine), _DELETE_BATCH):
                self._check_cancel()
                chunk = mine[start : start + _DELETE_BATCH]
                self.report.state(ThreadState.DELETING, side)
                self.folders[side].delete([d.id for d in chunk])
                self._deleted += [d.pair for d in chunk]
                if side is Side.LOCAL:
                    self.tally.deleted_local += len(chunk)
                else:
                    self.tally.deleted_remote += len(chunk)

    # -- copies -----------------------------------------------------------------

    def _copies(self, copies: Sequence[Copy], to: Side) -> None:
        o = self.options
        batches = list(
            _bounded(copies, lambda c: c.size or 0, o.fetch_batch_count, o.fetch_batch_bytes)
        )
        n = 0
        while n < len(batches):
            self._check_cancel()
            self.report.state(ThreadState.COPYING)
            rest = self._copy_batch(batches[n], to, batches[n + 1] if n + 1 < len(batches) else ())
            if rest:
                batches[n] = rest  # read up to the byte bound: the others come next
            else:
                n += 1

    def _copy_batch(self, batch: Sequence[Copy], to: Side, following: Sequence[Copy]) -> list[Copy]:
        """Fetch a batch, ask for the next one (a server then sends it while this one
        is written), store and record this one; returns the copies not read yet."""
        src, dst = self.folders[to.other], self.folders[to]
        fetched, rest = self._fetched(src, batch, dst.spool_dir())
        try:
            ahead = getattr(src, "fetch_ahead", None)  # IMAP
            if following and not rest and ahead is not None and not self.cancel.is_set():
                ahead([c.src for c in following])
            if len(fetched) < len(batch) - len(rest):
                vanished = len(batch) - len(rest) - len(fetched)
                self.report.debug(f"{vanished} messages vanished before copying")
            self._store(fetched, dst, to)
        finally:  # spool files that were not delivered as they are
            for f in fetched:
                release(f.message.data)
        self._check_cancel()
        return rest

    def _store(self, fetched: Sequence[FetchedMessage], dst: Folder, to: Side) -> None:
        """Store fetched messages and record them once they are durable."""
        mark = dst.state().uidnext
        pending = self._add_pending(fetched, to, mark)
        stored: list[tuple[int, Pair]] = []
        try:
            items = list(zip(fetched, pending, strict=True))
            for chunk in _bounded(items, _data_size, _APPEND_COUNT, _APPEND_BYTES):
                if self.cancel.is_set():
                    stored += [(pending_id, _NONE) for _, pending_id in chunk]  # never attempted
                    continue
                self._copy_chunk(chunk, dst, to, stored)
        finally:
            self._flush(to)  # nothing is recorded before it is durable
            self._record_copies(stored)

    def _fetched(
        self, src: Folder, batch: Sequence[Copy], spool: str | None
    ) -> tuple[list[FetchedMessage], list[Copy]]:
        """The batch's messages; where the listing gave no sizes (a Maildir), only as many
        as ``fetch_batch_bytes`` holds, and the copies left for the next batch."""
        wanted = {c.src: c for c in batch}
        sized = any(c.size is not None for c in batch)  # then the batch is bounded already
        fetched: list[FetchedMessage] = []
        held = 0
        for f in src.fetch(list(wanted), spool):
            if f.id not in wanted:
                release(f.message.data)
                continue
            fetched.append(f)
            held += len(f.message.data)
            if not sized and held >= self.options.fetch_batch_bytes:
                got = {f.id for f in fetched}
                return fetched, [c for c in batch if c.src not in got]
        return fetched, []

    def _flush(self, *sides: Side) -> None:
        for side in sides:
            self.folders[side].flush()

    def _add_pending(
        self, fetched: Sequence[FetchedMessage], to: Side, mark: int | None
    ) -> list[int]:
        with self.status.transaction() as db:
            return [
                st.add_pending(
                    db,
                    self.folder_id,
                    to.value,
                    f.id,
                    *fingerprint_and_size(f.message.data),
                    mark,
                    f.message.flags,
                )
                for f in fetched
            ]

    def _copy_chunk(
        self,
        chunk: Sequence[tuple[FetchedMessage, int]],
        dst: Folder,
        to: Side,
        stored: list[tuple[int, Pair]],
    ) -> None:
        """All at once where the store can (MULTIAPPEND: one round trip), else one by one;
        each result goes to ``stored`` as soon as it is known, whatever is raised next.

        A refused multiple append stored nothing, so going one by one after it
        finds the message at fault without storing any other twice.
        """
        ids: list[MsgId | None] | None = None
        if len(chunk) > 1:
            try:
                ids = dst.append_many([_to_store(f, to) for f, _ in chunk])
            except MessageError as e:
                self.report.debug(f"a multiple append was refused ({e}); one by one")
        if ids is not None:
            stored += [
                (pid, self._copied(f, id, to)) for (f, pid), id in zip(chunk, ids, strict=True)
            ]
            return
        for f, pid in chunk:  # an abort finishes the message in flight, not the chunk
            pair = None if self.cancel.is_set() else self._copy_one(f, dst, to)
            stored.append((pid, pair or _NONE))

    def _copy_one(self, f: FetchedMessage, dst: Folder, to: Side) -> Pair | None:
        try:
            new_id = dst.append(_to_store(f, to))
        except MessageError as e:
            self._skip(f"copying {f.id} to the {to.value} side", e)
            return None
        return self._copied(f, new_id, to)

    def _copied(self, f: FetchedMessage, new_id: MsgId | None, to: Side) -> Pair:
        m = f.message
        self.tally.bytes += len(m.data)
        self.tally.messages_done += 1
        if to is Side.LOCAL:
            self.tally.copied_to_local += 1
        else:
            self.tally.copied_to_remote += 1
        t = self.tally
        self.report.progress(t.messages_done, t.messages_total, t.bytes, t.bytes_total)
        if new_id is None:
            return _UNKNOWN
        local, remote = (new_id, f.id) if to is Side.LOCAL else (f.id, new_id)
        return Pair(local, remote, m.flags, m.flags)

    def _record_copies(self, stored: Sequence[tuple[int, Pair]]) -> None:
        """Pairs whose copy is durable; pending rows of failed copies go too."""
        if not stored:
            return
        with self.status.transaction() as db:
            for pending_id, pair in stored:
                if pair is _UNKNOWN:
                    self.tally.pending_left.append(pending_id)
                    continue
                st.drop_pending(db, pending_id)
                if pair is not _NONE:
                    st.put_pair(db, self.folder_id, pair)


# Markers: a copy that failed (drop its pending row) and one stored without a
# known id (a server without UIDPLUS: keep the pending row for reconciliation).
_NONE = Pair(None, None, frozenset(), frozenset())
_UNKNOWN = Pair(None, None, frozenset("?"), frozenset())


def _summary(folder: Folder, id: MsgId) -> tuple[str, int] | None:
    """A message's fingerprint and size, or None if it is gone."""
    found = next(iter(folder.fetch([id])), None)
    if found is None:
        return None
    try:
        return fingerprint_and_size(found.message.data)
    finally:
        release(found.message.data)


def _to_store(f: FetchedMessage, to: Side) -> Message:
    """The message as the destination stores it: a Maildir copy keeps its UID as a hint."""
    m = f.message
    uid = int(f.id) if to is Side.LOCAL and f.id.isdigit() else None
    return Message(m.data, m.flags, m.internaldate, uid)


def _bounded(
    items: Sequence[T], size: Callable[[T], int], count: int, limit: int
) -> Iterator[list[T]]:
    """``items`` in runs of at most ``count`` and ``limit`` bytes (a larger item alone)."""
    run: list[T] = []
    total = 0
    for item in items:
        if run and (len(run) >= count or total + size(item) > limit):
            yield run
            run, total = [], 0
        run.append(item)
        total += size(item)
    if run:
        yield run


def _data_size(item: tuple[FetchedMessage, int]) -> int:
    return len(item[0].message.data)


def _id(action: Reflag, side: Side) -> MsgId | None:
    return action.pair.local if side is Side.LOCAL else action.pair.remote
