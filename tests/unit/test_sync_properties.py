"""Property tests: random histories on both sides, synced by planner + executor.

Two in-memory folders (the local one optionally dressed as a Maildir: names,
``,U=`` hints, no UIDNEXT) and an in-memory status are driven through random
appends, flag changes and deletions on either side, with syncs in between.
Some syncs crash after k writes (with the k-th write lost or landed), are
cancelled, or run against a server without UIDPLUS; each is followed by a
normal sync.  After every sync the state must be exactly what one clean sync
would give (a small body-level model computes it), which implies:

* convergence: both sides hold the same bodies with the same flags;
* a second sync plans nothing, and no pending copy is left;
* no message is lost that was not deleted on the other side since the last
  sync, and no deleted message comes back on the side it was deleted from;
* no duplicates (bodies are unique, so each appears at most once per side).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine.errors import Aborted
from engine.events import discard
from engine.executor import Executor
from engine.flags import LETTERS
from engine.memory import MemoryRepository
from engine.planner import Plan, Policy, Side, merge_flags, plan
from engine.reconcile import reconcile
from engine.report import Reporter
from engine.repository import (
    FetchedMessage,
    Flags,
    Folder,
    Message,
    MsgId,
)
from engine.settings import SyncOptions
from engine.status import StatusDB, in_memory_status
from tests.unit.wrapped import Crash, MaildirLike, NoUidplus, Wrapped

T = TypeVar("T")
L, R = Side.LOCAL, Side.REMOTE
DEFAULT = Policy()
OPTIONS = SyncOptions()


# -- the driver ---------------------------------------------------------------------


def sync_once(
    local: Folder,
    remote: Folder,
    status: StatusDB,
    folder_id: int,
    policy: Policy = DEFAULT,
    cancel: threading.Event | None = None,
    options: SyncOptions = OPTIONS,
) -> Plan:
    """One folder sync: listings, reconcile pending copies, plan, execute."""
    folders = {L: local, R: remote}
    listings = {side: folder.list_messages() for side, folder in folders.items()}
    reconcile(status.pending(folder_id), folders, listings, status, folder_id)
    result = plan(listings[L], listings[R], status.pairs(folder_id), policy)
    report = Reporter(discard, "test", "INBOX")
    cancel = threading.Event() if cancel is None else cancel
    Executor(local, remote, status, folder_id, report, options, cancel).run(result)
    return result


def next_plan(local: Folder, remote: Folder, status: StatusDB, fid: int, policy: Policy) -> Plan:
    return plan(local.list_messages(), remote.list_messages(), status.pairs(fid), policy)


def memory_folder(store: str) -> Folder:
    repo = MemoryRepository(store)
    repo.create_folder("INBOX")
    return repo.open_folder("INBOX")


def snapshot(folder: Folder) -> dict[bytes, Flags]:
    """Body -> flags of a folder whose bodies are unique (asserted)."""
    infos = folder.list_messages()
    flags = {m.id: m.flags for m in infos}
    fetched = [(f.message.data, flags[f.id]) for f in folder.fetch([m.id for m in infos])]
    assert len(fetched) == len(infos)
    dupes = [data for data, n in Counter(data for data, _ in fetched).items() if n > 1]
    assert not dupes, f"duplicated in {folder.name}: {dupes}"
    return dict(fetched)


def by_id(folder: Folder) -> dict[MsgId, bytes]:
    infos = folder.list_messages()
    return {f.id: f.message.data for f in folder.fetch([m.id for m in infos])}


# -- store wrappers --------------------------------------------------------------------


@dataclass
class Fault:
    """A budget of writes shared by both sides; the write after it crashes or cancels.

    ``lands``: the faulting write reaches the store before the crash (the reply
    was lost).  ``cancel``: instead of crashing, set this event and go on, as a
    user pressing stop would.
    """

    writes: int
    lands: bool = False
    cancel: threading.Event | None = None
    fired: bool = False

    def write(self, op: Callable[[], T]) -> T:
        if self.fired or self.writes > 0:
            self.writes -= 1
            return op()
        self.fired = True
        if self.cancel is not None:
            self.cancel.set()
            return op()
        if self.lands:
            op()
        raise Crash("simulated crash")


class Faulty(Wrapped):
    def __init__(self, inner: Folder, fault: Fault) -> None:
        super().__init__(inner)
        self.fault = fault

    def append(self, message: Message) -> MsgId | None:
        return self.fault.write(lambda: self.inner.append(message))

    def set_flags(self, id: MsgId, add: Flags, remove: Flags) -> None:
        self.fault.write(lambda: self.inner.set_flags(id, add, remove))

    def delete(self, ids: Iterable[MsgId]) -> None:
        for id in list(ids):  # one write each, so a crash can split a batch
            self.fault.write(lambda id=id: self.inner.delete([id]))


class Interfering(Wrapped):
    """Runs ``hook`` once, at the ``calls``-th store call that both sides share."""

    def __init__(self, inner: Folder, countdown: list[int], hook: Callable[[], None]) -> None:
        super().__init__(inner)
        self.countdown = countdown
        self.hook = hook

    def _call(self) -> None:
        self.countdown[0] -= 1
        if self.countdown[0] == 0:
            self.hook()

    def fetch(self, ids: Sequence[MsgId], spool: str | None = None) -> Iterator[FetchedMessage]:
        self._call()
        return self.inner.fetch(ids, spool)

    def append(self, message: Message) -> MsgId | None:
        self._call()
        return self.inner.append(message)

    def set_flags(self, id: MsgId, add: Flags, remove: Flags) -> None:
        self._call()
        self.inner.set_flags(id, add, remove)

    def delete(self, ids: Iterable[MsgId]) -> None:
        self._call()
        self.inner.delete(ids)


# -- the model: what one clean sync must do, body by body ------------------------------


@dataclass(frozen=True)
class Rec:
    """What the status should say about one body (a Pair, by content)."""

    local: bool
    remote: bool
    local_flags: Flags
    remote_flags: Flags


def merged(mine: Flags, theirs: Flags, theirs_was: Flags) -> Flags:
    """Per flag: the other side's value where the other side changed it, else my own."""
    return frozenset(
        c for c in LETTERS if (c in theirs if (c in theirs) != (c in theirs_was) else c in mine)
    )


def expect(
    before: dict[Side, dict[bytes, Flags]], model: dict[bytes, Rec], policy: Policy
) -> tuple[dict[Side, dict[bytes, Flags]], dict[bytes, Rec]]:
    """Both sides and the status after one clean sync from ``before``."""
    after = {side: dict(state) for side, state in before.items()}
    status: dict[bytes, Rec] = {}
    for data, rec in model.items():
        here, there = before[L].get(data), before[R].get(data)
        if rec.local and rec.remote:
            if here is not None and there is not None:
                ln = merged(here, there, rec.remote_flags) if policy.local_writable else here
                rn = merged(there, here, rec.local_flags) if policy.remote_writable else there
                after[L][data], after[R][data] = ln, rn
                status[data] = Rec(True, True, ln, rn)
            elif there is not None:  # deleted locally since the last sync
                if policy.deletes(R):
                    del after[R][data]
                else:
                    status[data] = Rec(False, True, frozenset(), rec.remote_flags)
            elif here is not None:  # deleted remotely
                if policy.deletes(L):
                    del after[L][data]
                else:
                    status[data] = Rec(True, False, rec.local_flags, frozenset())
        elif (rec.remote and there is not None) or (rec.local and here is not None):
            status[data] = rec  # deliberately absent on one side: stays so
    for data in (before[L].keys() | before[R].keys()) - model.keys():
        for side in (L, R):
            flags = before[side].get(data)
            if flags is not None and policy.writable(side.other):
                after[side.other][data] = flags
                status[data] = Rec(True, True, flags, flags)
    return after, status


# -- the state machine ----------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    policy: Policy
    maildir: bool  # the local side shows itself like a Maildir
    batch: int  # fetch_batch_count: small values split copies into several batches


POLICIES = st.one_of(
    st.just(DEFAULT),
    st.sampled_from(
        [
            Policy(remote_writable=False),
            Policy(local_writable=False),
            Policy(delete_remote=False),
            Policy(delete_local=False),
            Policy(delete_local=False, delete_remote=False),
        ]
    ),
)
SETUPS = st.builds(Setup, POLICIES, st.booleans(), st.sampled_from([1, 2, 3, 200]))
SIDES = st.sampled_from([L, R])
FLAGS = st.frozensets(st.sampled_from(LETTERS), max_size=3)
PICK = st.integers(0, 1000)


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folders: dict[Side, Folder] = {L: memory_folder("local"), R: memory_folder("remote")}
        self.status = in_memory_status()
        self.fid = self.status.ensure_folder("INBOX", "INBOX").id
        self.setup_ = Setup(DEFAULT, False, 200)
        self.serial = itertools.count(1)
        self.model: dict[bytes, Rec] = {}
        self.created: set[bytes] = set()
        # Bodies the user deleted on a side: ``gone`` all of them, ``deleted`` those
        # the status knew on that side (they must never come back there).  A copy
        # an interrupted sync left unrecorded may come back if deleted before the
        # next sync: it cannot be told from a message never copied.
        self.gone: dict[Side, set[bytes]] = {L: set(), R: set()}
        self.deleted: dict[Side, set[bytes]] = {L: set(), R: set()}
        self.dirty = False  # an interrupted sync ran and no sync has finished since

    @initialize(setup=SETUPS)
    def choose(self, setup: Setup) -> None:
        self.setup_ = setup
        if setup.maildir:
            self.folders[L] = MaildirLike(self.folders[L])

    @property
    def policy(self) -> Policy:
        return self.setup_.policy

    @property
    def options(self) -> SyncOptions:
        return SyncOptions(fetch_batch_count=self.setup_.batch)

    # -- what users and other clients do between syncs --------------------------

    @rule(side=SIDES, new=st.lists(st.tuples(FLAGS, st.integers(0, 3)), min_size=1, max_size=4))
    def append(self, side: Side, new: list[tuple[Flags, int]]) -> None:
        for flags, lines in new:
            n = next(self.serial)
            padding = "line\n" * lines  # sizes vary, as reconcile's size filter expects
            data = f"From: x@example.org\nSubject: {n}\n\nbody {n}\n{padding}".encode()
            self.folders[side].append(Message(data, flags))
            self.created.add(data)

    @rule(side=SIDES, changes=st.lists(st.tuples(PICK, FLAGS), min_size=1, max_size=3))
    def change_flags(self, side: Side, changes: list[tuple[int, Flags]]) -> None:
        infos = self.folders[side].list_messages()
        for pick, flags in changes if infos else []:
            m = infos[pick % len(infos)]
            self.folders[side].set_flags(m.id, flags - m.flags, m.flags - flags)
            infos = self.folders[side].list_messages()

    @rule(side=SIDES, picks=st.lists(PICK, min_size=1, max_size=2))
    def delete(self, side: Side, picks: list[int]) -> None:
        for pick in picks:
            ids = by_id(self.folders[side])
            if ids:
                id = sorted(ids)[pick % len(ids)]
                self.folders[side].delete([id])
                self.gone[side].add(ids[id])
                if not self.dirty or id in self.recorded_ids(side):
                    self.deleted[side].add(ids[id])

    # -- syncs --------------------------------------------------------------------

    def run(self, local: Folder, remote: Folder, cancel: threading.Event | None = None) -> Plan:
        return sync_once(local, remote, self.status, self.fid, self.policy, cancel, self.options)

    def recorded_ids(self, side: Side) -> set[MsgId]:
        pairs = self.status.pairs(self.fid)
        ids = {p.local for p in pairs} if side is L else {p.remote for p in pairs}
        return {id for id in ids if id is not None}

    def settled(self) -> None:
        """What holds after any finished sync, whatever came before it."""
        after = {side: snapshot(folder) for side, folder in self.folders.items()}
        if self.policy == DEFAULT:
            assert after[L] == after[R]  # convergence
        assert self.status.pending(self.fid) == []
        local, remote = self.folders[L], self.folders[R]
        assert len(next_plan(local, remote, self.status, self.fid, self.policy)) == 0

    def checked(self, action: Callable[[], object]) -> None:
        """Run ``action`` (one or more syncs) and compare with one clean sync."""
        if self.dirty:  # the model cannot say what the interrupted sync did
            action()
            self.settled()
            self.model = self.recorded()
            self.dirty = False
            return
        before = {side: snapshot(folder) for side, folder in self.folders.items()}
        expected, status = expect(before, self.model, self.policy)
        action()
        after = {side: snapshot(folder) for side, folder in self.folders.items()}
        assert after[L] == expected[L]
        assert after[R] == expected[R]
        assert self.recorded() == status
        self.model = status
        self.settled()

    def recorded(self) -> dict[bytes, Rec]:
        """The status, by body; every recorded id must exist."""
        bodies = {side: by_id(folder) for side, folder in self.folders.items()}
        out: dict[bytes, Rec] = {}
        for p in self.status.pairs(self.fid):
            datas = {
                bodies[L][p.local] if p.local else None,
                bodies[R][p.remote] if p.remote else None,
            }
            datas.discard(None)
            assert len(datas) == 1, f"{p} pairs different messages"
            (data,) = datas
            assert data is not None and data not in out
            out[data] = Rec(
                p.local is not None, p.remote is not None, p.local_flags, p.remote_flags
            )
        return out

    @rule()
    def sync(self) -> None:
        self.checked(lambda: self.run(self.folders[L], self.folders[R]))

    @rule(
        how=st.sampled_from(["crash", "cancel", "no-uidplus"]),
        writes=st.integers(0, 6),
        lands=st.booleans(),
        sides=st.sampled_from([(L,), (R,), (L, R)]),
    )
    def interrupted_sync_then_sync(
        self, how: str, writes: int, lands: bool, sides: tuple[Side, ...]
    ) -> None:
        """A sync that crashes after ``writes`` writes (the next one lost or ``lands``),
        is cancelled there, or copies to ``sides`` without UIDPLUS; then a clean sync."""
        cancel = threading.Event() if how == "cancel" else None
        fault = Fault(writes, lands, cancel)
        wrapped = {side: Faulty(folder, fault) for side, folder in self.folders.items()}
        if how == "no-uidplus":
            wrapped = {
                side: NoUidplus(folder) if side in sides else folder
                for side, folder in self.folders.items()
            }

        def go() -> None:
            try:
                self.run(wrapped[L], wrapped[R], cancel)
            except (Crash, Aborted):
                assert fault.fired
            self.run(self.folders[L], self.folders[R])

        self.checked(go)

    @rule(
        how=st.sampled_from(["crash", "cancel", "no-uidplus"]),
        writes=st.integers(0, 6),
        lands=st.booleans(),
    )
    def interrupted_sync(self, how: str, writes: int, lands: bool) -> None:
        """As above, but the user goes on changing both sides before the next sync."""
        cancel = threading.Event() if how == "cancel" else None
        fault = Fault(writes, lands, cancel)
        wrapped = {side: Faulty(folder, fault) for side, folder in self.folders.items()}
        if how == "no-uidplus":
            wrapped = {side: NoUidplus(folder) for side, folder in self.folders.items()}
        try:
            self.run(wrapped[L], wrapped[R], cancel)
        except (Crash, Aborted):
            assert fault.fired
        self.dirty = True

    @rule(
        calls=st.integers(1, 8),
        op=st.tuples(st.sampled_from(["append", "flags", "delete"]), SIDES, PICK, FLAGS),
    )
    def sync_with_interference(self, calls: int, op: tuple[str, Side, int, Flags]) -> None:
        """Another client changes a side while a sync runs (at its ``calls``-th store call)."""
        kind, side, pick, flags = op

        def hook() -> None:
            if kind == "append":
                self.append(side, [(flags, 0)])
            elif kind == "flags":
                self.change_flags(side, [(pick, flags)])
            else:
                self.delete(side, [pick])

        self.dirty = True
        countdown = [calls]
        self.run(*(Interfering(self.folders[side], countdown, hook) for side in (L, R)))

    # -- always -------------------------------------------------------------------

    @invariant()
    def nothing_lost_nothing_resurrected_no_duplicates(self) -> None:
        present = {side: snapshot(folder).keys() for side, folder in self.folders.items()}
        lost = self.created - present[L] - present[R] - self.gone[L] - self.gone[R]
        assert not lost, f"lost: {lost}"
        for side in (L, R):
            back = present[side] & self.deleted[side]
            assert not back, f"deleted on the {side.value} side but back: {back}"


TestSyncHistories = SyncMachine.TestCase
TestSyncHistories.settings = settings(
    max_examples=250,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# -- duplicate bodies: multisets converge ---------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), SIDES, st.integers(0, 3), FLAGS),
        st.tuples(st.just("flags"), SIDES, PICK, FLAGS),
        st.tuples(st.just("delete"), SIDES, PICK),
        st.tuples(st.just("sync")),
        st.tuples(st.just("crash"), st.integers(0, 3), st.booleans()),
    ),
    max_size=40,
)


def multiset(folder: Folder) -> Counter[tuple[bytes, Flags]]:
    infos = folder.list_messages()
    return Counter((f.message.data, f.message.flags) for f in folder.fetch([m.id for m in infos]))


@settings(max_examples=200, deadline=None)
@given(ops=OPS)
def test_duplicate_bodies_converge_as_multisets(ops: list[tuple[object, ...]]) -> None:
    """With bodies drawn from four, both sides end with the same (body, flags) multiset."""
    folders = {L: memory_folder("local"), R: memory_folder("remote")}
    status = in_memory_status()
    fid = status.ensure_folder("INBOX", "INBOX").id
    for op in [*ops, ("sync",)]:
        match op:
            case ("append", Side() as side, int(n), frozenset() as flags):
                folders[side].append(Message(f"Subject: {n}\n\nsame {n}\n".encode(), flags))
            case ("flags" | "delete", Side() as side, int(pick), *rest):
                infos = folders[side].list_messages()
                if not infos:
                    continue
                m = infos[pick % len(infos)]
                if not rest:
                    folders[side].delete([m.id])
                else:
                    (flags,) = rest
                    assert isinstance(flags, frozenset)
                    folders[side].set_flags(m.id, flags - m.flags, m.flags - flags)
            case ("sync",) | ("crash", int(), bool()):
                before = {data for data, _ in multiset(folders[L]) + multiset(folders[R])}
                if op[0] == "crash":
                    fault = Fault(op[1], op[2])  # type: ignore[arg-type]
                    with contextlib.suppress(Crash):
                        sync_once(Faulty(folders[L], fault), Faulty(folders[R], fault), status, fid)
                sync_once(folders[L], folders[R], status, fid)
                assert multiset(folders[L]) == multiset(folders[R])
                assert {data for data, _ in multiset(folders[L])} <= before
                assert len(next_plan(folders[L], folders[R], status, fid, DEFAULT)) == 0
                assert status.pending(fid) == []
            case _:
                raise AssertionError(op)


# -- the flag merge on its own -----------------------------------------------------------------


@given(lf=FLAGS, rf=FLAGS, was=FLAGS)
def test_merge_converges_from_a_common_baseline(lf: Flags, rf: Flags, was: Flags) -> None:
    local_new, remote_new = merge_flags(lf, rf, was, was)
    assert local_new == remote_new
    assert merge_flags(local_new, remote_new, local_new, remote_new) == (local_new, remote_new)


@given(now=FLAGS, was=FLAGS)
def test_merge_one_sided_change_wins(now: Flags, was: Flags) -> None:
    assert merge_flags(now, was, was, was) == (now, now)
    assert merge_flags(was, now, was, was) == (now, now)


@given(lf=FLAGS, rf=FLAGS, was=FLAGS)
def test_merge_keeps_every_added_flag_and_every_removal(lf: Flags, rf: Flags, was: Flags) -> None:
    new, _ = merge_flags(lf, rf, was, was)
    added = (lf - was) | (rf - was)
    removed = (was - lf) | (was - rf)
    assert added <= new
    assert not (removed & new)
    assert new == (was | added) - removed


@given(lf=FLAGS, rf=FLAGS)
def test_merge_without_baseline_is_the_union(lf: Flags, rf: Flags) -> None:
    assert merge_flags(lf, rf, None, None) == (lf | rf, lf | rf)
