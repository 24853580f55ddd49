"""The executor against in-memory stores: ordering, pending rows, failures, cancel.

Each test builds two ``MemoryFolder``s and an in-memory status, plans with the
real planner and runs the plan; small wrapper folders inject what a real store
or a crash would do (no UIDPLUS, a refused message, a cancel, an exception after
a write, Maildir-style names with ``,U=`` hints).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.content import crlf_size, fingerprint
from engine.errors import Aborted, MessageError
from engine.events import Error, Event, Progress, Scope, SyncCounts
from engine.executor import Executor
from engine.maildir import MaildirRepository
from engine.memory import MemoryRepository
from engine.planner import Copy, Link, Plan, Policy, Record, Side, plan
from engine.reconcile import reconcile
from engine.report import Reporter
from engine.repository import (
    Flags,
    Folder,
    Message,
    MsgId,
)
from engine.settings import SyncOptions
from engine.status import Pair, Pending, StatusDB, in_memory_status
from tests.unit.wrapped import Crash, MaildirLike, NoUidplus, Wrapped

NONE: Flags = frozenset()
DEFAULT = Policy()
OPTIONS = SyncOptions()


def f(letters: str) -> Flags:
    return frozenset(letters)


def body(n: int, pad: int = 0) -> bytes:
    return f"From: a@example.org\nSubject: {n}\n\nmessage {n}\n{'x' * pad}".encode()


def memory_folder(store: str) -> Folder:
    repo = MemoryRepository(store)
    repo.create_folder("INBOX")
    return repo.open_folder("INBOX")


def contents(folder: Folder) -> Counter[tuple[bytes, Flags]]:
    infos = folder.list_messages()
    return Counter((m.message.data, m.message.flags) for m in folder.fetch([i.id for i in infos]))


def bodies(folder: Folder) -> Counter[bytes]:
    return Counter(data for data, _ in contents(folder).elements())


# -- wrapper folders -------------------------------------------------------------


class ReadOnly(Wrapped):
    """Fails the test on any write."""

    def append(self, message: Message) -> MsgId | None:
        raise AssertionError(f"append to read-only {self.name}")

    def set_flags(self, id: MsgId, add: Flags, remove: Flags) -> None:
        raise AssertionError(f"set_flags {id} on read-only {self.name}")

    def delete(self, ids: Iterable[MsgId]) -> None:
        raise AssertionError(f"delete on read-only {self.name}")


class Spy(Wrapped):
    """Calls ``before`` with the message just before each append reaches the store."""

    def __init__(self, inner: Folder, before: Callable[[Message], None]) -> None:
        super().__init__(inner)
        self.before = before

    def append(self, message: Message) -> MsgId | None:
        self.before(message)
        return self.inner.append(message)


class Refusing(Wrapped):
    """Refuses some messages (MessageError) and some flag changes (the first ``flag_errors``)."""

    def __init__(self, inner: Folder, refuse: set[bytes] = set(), flag_errors: int = 0) -> None:  # noqa: B006
        super().__init__(inner)
        self.refuse = refuse
        self.flag_errors = flag_errors

    def append(self, message: Message) -> MsgId | None:
        if message.data in self.refuse:
            raise MessageError("message too large for the server")
        return self.inner.append(message)

    def set_flags(self, id: MsgId, add: Flags, remove: Flags) -> None:
        if self.flag_errors > 0:
            self.flag_errors -= 1
            raise MessageError(f"cannot store flags of {id}")
        self.inner.set_flags(id, add, remove)


class CancelAfter(Wrapped):
    """Sets the cancel event once ``n`` appends have been stored."""

    def __init__(self, inner: Folder, n: int, event: threading.Event) -> None:
        super().__init__(inner)
        self.left = n
        self.event = event

    def append(self, message: Message) -> MsgId | None:
        id = self.inner.append(message)
        self.left -= 1
        if self.left == 0:
            self.event.set()
        return id


class CrashAfter(Wrapped):
    """The append after ``n`` good ones crashes; with ``lands`` the message is stored first."""

    def __init__(self, inner: Folder, n: int, lands: bool) -> None:
        super().__init__(inner)
        self.left = n
        self.lands = lands

    def append(self, message: Message) -> MsgId | None:
        if self.left == 0:
            if self.lands:
                self.inner.append(message)
            raise Crash("connection lost")
        self.left -= 1
        return self.inner.append(message)


# -- the world -------------------------------------------------------------------


@dataclass
class World:
    local: Folder = field(default_factory=lambda: memory_folder("local"))
    remote: Folder = field(default_factory=lambda: memory_folder("remote"))
    status: StatusDB = field(default_factory=in_memory_status)
    events: list[Event] = field(default_factory=list)
    fid: int = 0

    def __post_init__(self) -> None:
        self.fid = self.status.ensure_folder("INBOX", "INBOX").id

    def executor(
        self,
        local: Folder | None = None,
        remote: Folder | None = None,
        cancel: threading.Event | None = None,
        options: SyncOptions = OPTIONS,
    ) -> Executor:
        return Executor(
            self.local if local is None else local,
            self.remote if remote is None else remote,
            self.status,
            self.fid,
            Reporter(self.events.append, "test", "INBOX"),
            options,
            threading.Event() if cancel is None else cancel,
        )

    def plan(self, policy: Policy = DEFAULT) -> Plan:
        return plan(self.local.list_messages(), self.remote.list_messages(), self.pairs(), policy)

    def pairs(self) -> list[Pair]:
        return self.status.pairs(self.fid)

    def pending(self) -> list[Pending]:
        return self.status.pending(self.fid)

    def reconcile(self) -> int:
        folders = {Side.LOCAL: self.local, Side.REMOTE: self.remote}
        listings = {side: folder.list_messages() for side, folder in folders.items()}
        return reconcile(self.pending(), folders, listings, self.status, self.fid)

    def sync(
        self,
        local: Folder | None = None,
        remote: Folder | None = None,
        policy: Policy = DEFAULT,
        cancel: threading.Event | None = None,
        options: SyncOptions = OPTIONS,
    ) -> SyncCounts:
        """One run as folder_sync does it: listings, reconcile, plan, execute."""
        folders = {
            Side.LOCAL: self.local if local is None else local,
            Side.REMOTE: self.remote if remote is None else remote,
        }
        listings = {side: folder.list_messages() for side, folder in folders.items()}
        reconcile(self.pending(), folders, listings, self.status, self.fid)
        result = plan(listings[Side.LOCAL], listings[Side.REMOTE], self.pairs(), policy)
        return self.executor(folders[Side.LOCAL], folders[Side.REMOTE], cancel, options).run(result)

    def assert_converged(self, n: int) -> None:
        """Both sides hold the same ``n`` distinct messages, all recorded, nothing pending."""
        assert contents(self.local) == contents(self.remote)
        assert len(bodies(self.local)) == n
        assert all(count == 1 for count in bodies(self.local).values())
        assert len(self.pairs()) == n
        assert self.pending() == []
        assert len(self.plan()) == 0


@pytest.fixture
def world() -> World:
    return World()


def fill(folder: Folder, n: int, flags: str = "", start: int = 1) -> None:
    for i in range(start, start + n):
        folder.append(Message(body(i), f(flags)))


# -- copies and their pending rows -------------------------------------------------


def test_copies_both_ways_and_records_pairs(world: World) -> None:
    world.local.append(Message(body(1), f("S")))
    world.remote.append(Message(body(2), f("F")))
    counts = world.sync()
    assert (counts.copied_to_local, counts.copied_to_remote) == (1, 1)
    assert counts.bytes == len(body(1)) + len(body(2))
    assert set(world.pairs()) == {Pair("1", "2", f("S"), f("S")), Pair("2", "1", f("F"), f("F"))}
    world.assert_converged(2)


def test_pending_rows_are_written_before_append_and_removed_after(world: World) -> None:
    fill(world.local, 2, "S")
    seen: list[tuple[bytes, list[Pending], list[Pair]]] = []

    def before(message: Message) -> None:
        seen.append((message.data, world.pending(), world.pairs()))

    world.executor(remote=Spy(world.remote, before)).run(world.plan())
    assert [data for data, _, _ in seen] == [body(1), body(2)]
    for _, rows, pairs in seen:
        # Every copy of the batch has its pending row before the first append,
        # and nothing is recorded as a pair before the copy is stored.
        assert [(r.to_side, r.src_id, r.fingerprint, r.size, r.mark, r.flags) for r in rows] == [
            ("remote", str(i), fingerprint(body(i)), crlf_size(body(i)), 1, f("S")) for i in (1, 2)
        ]
        assert pairs == []
    assert world.pending() == []
    assert set(world.pairs()) == {Pair(str(i), str(i), f("S"), f("S")) for i in (1, 2)}


def test_each_batch_has_its_own_mark(world: World) -> None:
    fill(world.local, 5)
    marks: list[set[int | None]] = []

    def before(message: Message) -> None:
        marks.append({r.mark for r in world.pending()})

    options = SyncOptions(fetch_batch_count=2)
    world.executor(remote=Spy(world.remote, before), options=options).run(world.plan())
    assert marks == [{1}, {1}, {3}, {3}, {5}]
    world.assert_converged(5)


def test_batches_split_by_bytes(world: World) -> None:
    for i in range(4):
        world.local.append(Message(body(i, pad=100), NONE))
    marks: list[set[int | None]] = []

    def before(message: Message) -> None:
        marks.append({r.mark for r in world.pending()})

    options = SyncOptions(fetch_batch_bytes=300)
    world.executor(remote=Spy(world.remote, before), options=options).run(world.plan())
    assert marks == [{1}, {1}, {3}, {3}]
    world.assert_converged(4)


def test_batches_of_unsized_messages_split_by_the_bytes_read(world: World) -> None:
    """A Maildir lists no sizes: the bytes are counted as the messages are read."""
    for i in range(4):
        world.local.append(Message(body(i, pad=100), NONE))
    unsized = [m._replace(size=None) for m in world.local.list_messages()]
    marks: list[set[int | None]] = []

    def before(message: Message) -> None:
        marks.append({r.mark for r in world.pending()})

    options = SyncOptions(fetch_batch_bytes=250)  # two messages of about 140 bytes
    executor = world.executor(remote=Spy(world.remote, before), options=options)
    executor.run(plan(unsized, world.remote.list_messages(), world.pairs()))
    assert marks == [{1}, {1}, {3}, {3}]
    world.assert_converged(4)


def test_progress_is_reported_at_a_bounded_rate_and_always_at_the_end(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(world.local, 3)
    world.sync()
    progress = [e for e in world.events if isinstance(e, Progress)]
    assert [(p.messages_done, p.messages_total) for p in progress] == [(1, 3), (3, 3)]
    monkeypatch.setattr("engine.report.PROGRESS_EVERY", 0.0)
    world.events.clear()
    fill(world.remote, 3)
    world.sync()
    progress = [e for e in world.events if isinstance(e, Progress)]
    assert [(p.messages_done, p.messages_total) for p in progress] == [(1, 3), (2, 3), (3, 3)]


# -- a store without UIDPLUS ----------------------------------------------------------


def test_no_uidplus_leaves_pending_rows_that_reconcile_resolves(world: World) -> None:
    fill(world.local, 3, "S")
    executor = world.executor(remote=NoUidplus(world.remote))
    counts = executor.run(world.plan())
    assert counts.copied_to_remote == 3
    assert world.pairs() == []
    rows = world.pending()
    assert [(r.to_side, r.src_id, r.mark) for r in rows] == [
        ("remote", str(i), 1) for i in (1, 2, 3)
    ]
    assert sorted(executor.tally.pending_left) == sorted(r.id for r in rows)

    assert world.reconcile() == 3
    assert world.pending() == []
    assert set(world.pairs()) == {Pair(str(i), str(i), f("S"), f("S")) for i in (1, 2, 3)}
    assert len(world.plan()) == 0
    world.assert_converged(3)


def test_no_uidplus_next_sync_does_not_duplicate(world: World) -> None:
    fill(world.local, 3)
    fill(world.remote, 2, start=10)
    world.sync(remote=NoUidplus(world.remote), local=NoUidplus(world.local))
    assert len(world.pending()) == 5
    counts = world.sync()
    assert counts == SyncCounts()
    world.assert_converged(5)


def test_no_uidplus_copy_deleted_before_reconcile_is_copied_again(world: World) -> None:
    fill(world.local, 3)
    world.sync(remote=NoUidplus(world.remote))
    world.remote.delete(["2"])  # someone removed the unrecorded copy of message 2
    counts = world.sync()
    assert counts.copied_to_remote == 1
    world.assert_converged(3)


def test_no_uidplus_flag_change_on_unrecorded_copy_travels(world: World) -> None:
    fill(world.local, 2)
    world.sync(remote=NoUidplus(world.remote))
    world.remote.set_flags("1", f("F"), NONE)
    world.sync()
    assert contents(world.local)[(body(1), f("F"))] == 1
    world.assert_converged(2)


def test_no_uidplus_into_a_maildir_is_resolved_by_the_hint(world: World) -> None:
    world.local = MaildirLike(world.local)
    fill(world.remote, 3, "R")
    world.sync(local=NoUidplus(world.local))
    assert [r.mark for r in world.pending()] == [None, None, None]
    assert world.reconcile() == 3
    assert set(world.pairs()) == {Pair(f"m{i}", str(i), f("R"), f("R")) for i in (1, 2, 3)}
    world.assert_converged(3)


# -- failures of one message -------------------------------------------------------------


def test_message_error_skips_that_message_only(world: World) -> None:
    fill(world.local, 3)
    counts = world.sync(remote=Refusing(world.remote, refuse={body(2)}))
    assert counts.skipped == 1
    assert counts.copied_to_remote == 2
    assert bodies(world.remote) == Counter([body(1), body(3)])
    assert {p.local for p in world.pairs()} == {"1", "3"}
    assert world.pending() == []
    errors = [e for e in world.events if isinstance(e, Error)]
    assert len(errors) == 1 and errors[0].scope is Scope.MESSAGE
    assert "copying 2 to the remote side" in errors[0].message
    # The next run copies the skipped message, and only that one.
    counts = world.sync()
    assert counts.copied_to_remote == 1
    world.assert_converged(3)


def test_message_error_on_flags_is_skipped_and_retried(world: World) -> None:
    fill(world.local, 2)
    world.sync()
    world.local.set_flags("1", f("S"), NONE)
    world.local.set_flags("2", f("F"), NONE)
    counts = world.sync(remote=Refusing(world.remote, flag_errors=1))
    assert counts.skipped == 1
    assert counts.flags_remote == 1
    # The refused change is not recorded, so the next run tries again.
    assert Pair("1", "1", NONE, NONE) in world.pairs()
    counts = world.sync()
    assert counts.flags_remote == 1
    world.assert_converged(2)
    assert contents(world.remote) == Counter([(body(1), f("S")), (body(2), f("F"))])


# -- cancel and crashes --------------------------------------------------------------------


@pytest.mark.parametrize(("batch", "after"), [(200, 2), (2, 3), (2, 2), (1, 1)])
def test_cancel_aborts_with_earlier_copies_recorded(world: World, batch: int, after: int) -> None:
    fill(world.local, 5)
    cancel = threading.Event()
    executor = world.executor(
        remote=CancelAfter(world.remote, after, cancel),
        cancel=cancel,
        options=SyncOptions(fetch_batch_count=batch),
    )
    with pytest.raises(Aborted):
        executor.run(world.plan())
    assert executor.tally.copied_to_remote == after
    assert bodies(world.remote) == Counter(body(i) for i in range(1, after + 1))
    assert {p.local for p in world.pairs()} == {str(i) for i in range(1, after + 1)}
    assert world.pending() == []  # copies never attempted leave no pending row
    counts = world.sync()
    assert counts.copied_to_remote == 5 - after
    world.assert_converged(5)


def test_cancel_before_the_run_copies_nothing(world: World) -> None:
    fill(world.local, 2)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Aborted):
        world.executor(cancel=cancel).run(world.plan())
    assert bodies(world.remote) == Counter()
    assert world.pending() == []


def test_cancel_between_deletions_and_copies(world: World) -> None:
    fill(world.local, 2)
    world.sync()
    world.local.delete(["1"])
    fill(world.local, 1, start=3)
    cancel = threading.Event()

    class CancelOnDelete(Wrapped):
        def delete(self, ids: Iterable[MsgId]) -> None:
            self.inner.delete(ids)
            cancel.set()

    with pytest.raises(Aborted):
        world.sync(remote=CancelOnDelete(world.remote), cancel=cancel)
    assert bodies(world.remote) == Counter([body(2)])
    assert {p.local for p in world.pairs()} == {"2"}
    world.sync()
    world.assert_converged(2)


@pytest.mark.parametrize("lands", [True, False])
def test_crash_mid_batch_is_recovered_without_duplicates(world: World, lands: bool) -> None:
    fill(world.local, 5, "S")
    with pytest.raises(Crash):
        world.executor(remote=CrashAfter(world.remote, 2, lands)).run(world.plan())
    assert {p.local for p in world.pairs()} == {"1", "2"}
    # The crashed copy and the ones never attempted keep their pending rows.
    assert [r.src_id for r in world.pending()] == ["3", "4", "5"]
    assert len(bodies(world.remote)) == (3 if lands else 2)
    assert world.reconcile() == (1 if lands else 0)
    world.sync()
    world.assert_converged(5)


def test_crash_copying_into_a_maildir_is_recovered_by_the_hint(world: World) -> None:
    world.local = MaildirLike(world.local)
    fill(world.remote, 4, "F")
    with pytest.raises(Crash):
        world.executor(local=CrashAfter(world.local, 1, lands=True)).run(world.plan())
    assert world.reconcile() == 1
    assert Pair("m2", "2", f("F"), f("F")) in world.pairs()
    world.sync()
    world.assert_converged(4)


# -- deletions, flags, status-only records ------------------------------------------------


def test_deletions_are_carried_out_and_forgotten(world: World) -> None:
    fill(world.local, 3)
    world.sync()
    world.local.delete(["1"])
    world.remote.delete(["3"])
    counts = world.sync()
    assert (counts.deleted_local, counts.deleted_remote) == (1, 1)
    assert {(p.local, p.remote) for p in world.pairs()} == {("2", "2")}
    world.assert_converged(1)


def test_reflags_apply_the_merge_on_both_sides(world: World) -> None:
    fill(world.local, 1, "S")
    world.sync()
    world.local.set_flags("1", f("F"), NONE)
    world.remote.set_flags("1", f("R"), f("S"))
    counts = world.sync()
    assert (counts.flags_local, counts.flags_remote) == (1, 1)
    assert contents(world.local) == Counter([(body(1), f("FR"))])
    assert world.pairs() == [Pair("1", "1", f("FR"), f("FR"))]
    world.assert_converged(1)


def test_blocked_deletion_is_a_tombstone_and_never_copied_back(world: World) -> None:
    fill(world.local, 2)
    world.sync()
    world.local.delete(["1"])
    policy = Policy(delete_remote=False)
    result = world.plan(policy)
    assert [type(a) for a in result.actions] == [Record]
    world.executor(remote=ReadOnly(world.remote)).run(result)
    assert Pair(None, "1", NONE, NONE) in world.pairs()
    assert bodies(world.local) == Counter([body(2)])
    assert bodies(world.remote) == Counter([body(1), body(2)])
    assert len(world.plan(policy)) == 0
    assert len(world.plan()) == 0  # not copied back even once deletes are allowed
    world.remote.delete(["1"])
    world.sync(policy=policy)
    assert {(p.local, p.remote) for p in world.pairs()} == {("2", "2")}


def test_readonly_remote_is_never_written(world: World) -> None:
    fill(world.local, 2)
    fill(world.remote, 2, "S", start=10)
    policy = Policy(remote_writable=False)
    world.sync(remote=ReadOnly(world.remote), policy=policy)
    world.local.set_flags("1", f("F"), NONE)
    world.remote.set_flags("1", f("R"), NONE)
    world.local.delete(["4"])  # the local copy of remote message 11
    world.sync(remote=ReadOnly(world.remote), policy=policy)
    assert bodies(world.remote) == Counter([body(10), body(11)])
    assert contents(world.local) == Counter(
        [(body(1), f("F")), (body(2), NONE), (body(10), f("RS"))]
    )
    assert len(world.plan(policy)) == 0


# -- links by ,U= hint -----------------------------------------------------------------------


def linked_world(local_flags: str, remote_flags: str, same: bool = True) -> World:
    """A remote message and a local Maildir file that names its UID but is unrecorded."""
    world = World()
    world.local = MaildirLike(world.local)
    world.remote.append(Message(body(1), f(remote_flags)))
    world.local.append(Message(body(1) if same else body(99), f(local_flags), uid=1))
    return world


def test_verified_link_records_the_pair_without_copying() -> None:
    world = linked_world("S", "F")
    result = world.plan()
    assert [type(a) for a in result.actions] == [Link]
    counts = world.executor().run(result)
    assert (counts.copied_to_local, counts.copied_to_remote) == (0, 0)
    assert (counts.flags_local, counts.flags_remote) == (1, 1)
    assert world.pairs() == [Pair("m1", "1", f("FS"), f("FS"))]
    world.assert_converged(1)


def test_link_without_a_size_is_verified_by_content() -> None:
    world = linked_world("S", "S")
    world.executor().run(Plan([Link("m1", "1", f("S"), f("S"), None)]))
    assert world.pairs() == [Pair("m1", "1", f("S"), f("S"))]
    world.assert_converged(1)


def test_unverified_link_copies_both_ways() -> None:
    world = linked_world("S", "F", same=False)
    counts = world.sync()
    assert (counts.copied_to_local, counts.copied_to_remote) == (1, 1)
    world.assert_converged(2)


@pytest.mark.parametrize("same", [True, False])
def test_link_never_writes_a_readonly_remote(same: bool) -> None:
    world = linked_world("S", "F", same)
    policy = Policy(remote_writable=False)
    world.sync(remote=ReadOnly(world.remote), policy=policy)
    assert contents(world.remote) == Counter([(body(1), f("F"))])
    assert len(world.plan(policy)) == 0
    if same:
        assert contents(world.local) == Counter([(body(1), f("FS"))])
        assert world.pairs() == [Pair("m1", "1", f("FS"), f("F"))]


@pytest.mark.parametrize("same", [True, False])
def test_link_never_writes_a_readonly_local(same: bool) -> None:
    world = linked_world("S", "F", same)
    policy = Policy(local_writable=False)
    world.sync(local=ReadOnly(world.local), policy=policy)
    assert len(bodies(world.local)) == 1
    assert contents(world.local)[(body(1) if same else body(99), f("S"))] == 1
    assert len(world.plan(policy)) == 0
    if same:
        assert contents(world.remote) == Counter([(body(1), f("FS"))])


def test_link_whose_flags_fail_is_not_recorded_and_loses_no_flag() -> None:
    world = linked_world("S", "")
    counts = world.sync(remote=Refusing(world.remote, flag_errors=1))
    assert counts.skipped == 1
    # Recording the link with the union S as both sides' baseline would make the
    # next run read the remote's missing S as "removed there" and drop it locally.
    counts = world.sync()
    assert contents(world.local) == Counter([(body(1), f("S"))])
    world.assert_converged(1)


def test_fallback_copies_from_a_plan_are_carried_out() -> None:
    world = linked_world("S", "F", same=False)
    link = Link("m1", "1", f("S"), f("F"), crlf_size(body(1)), fallback=())
    world.executor().run(Plan([link]))
    assert world.pairs() == []  # no fallback wanted, nothing linked
    link = Link(
        "m1", "1", f("S"), f("F"), crlf_size(body(1)), fallback=(Copy(Side.LOCAL, "1", f("F")),)
    )
    counts = world.executor().run(Plan([link]))
    assert (counts.copied_to_local, counts.copied_to_remote) == (1, 0)


def test_flag_changes_and_deletions_are_made_durable_together_then_recorded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renames and unlinks in a Maildir, then each directory fsynced once, and only
    then one commit of the status for all of them."""
    repo = MaildirRepository("local", str(tmp_path), fsync=True)
    repo.create_folder("INBOX")
    world = World(local=repo.open_folder("INBOX"))
    fill(world.remote, 4)
    world.sync()
    world.remote.set_flags("1", f("F"), NONE)
    world.remote.set_flags("2", f("S"), NONE)
    world.remote.delete(["3"])
    done: list[str] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (done.append("fsync"), real(fd))[1])
    transaction = world.status.transaction
    monkeypatch.setattr(
        world.status, "transaction", lambda: (done.append("commit"), transaction())[1]
    )
    counts = world.sync()
    assert (counts.flags_local, counts.deleted_local) == (2, 1)
    assert done == ["fsync", "fsync", "commit"]  # new/ and cur/, then the status
    world.assert_converged(3)
