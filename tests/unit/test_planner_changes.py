"""The stateful plan: planning from both sides' changes and the pairs they name must give
exactly the plan that full listings and the whole status give.

That equivalence is what lets a resync after a few changes read a few status
rows instead of all of them, so it is checked over random statuses and random
changes: reflags (real and spurious), removals, new messages on either side
(some carrying a ``,U=`` hint of a new remote message), ids gone that the
status never knew, pairs with a deliberately absent side, and every policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from engine.flags import LETTERS
from engine.planner import Plan, Policy, Side, as_listing, plan, plan_changes
from engine.repository import Changes, Flags, MessageInfo, MsgId
from engine.status import Pair, in_memory_status, put_pair

FLAGS = st.frozensets(st.sampled_from(LETTERS), max_size=3)
POLICIES = st.sampled_from(
    [
        Policy(),
        Policy(local_writable=False),
        Policy(remote_writable=False),
        Policy(delete_local=False),
        Policy(delete_remote=False),
    ]
)
# What became of one side of a recorded message: kept, reflagged, reported
# changed with its old flags (a MODSEQ bump), or gone.
FATES = st.one_of(
    st.just(("kept", None)),
    st.tuples(st.just("reflagged"), FLAGS),
    st.just(("bumped", None)),
    st.just(("gone", None)),
)


@dataclass
class Scene:
    pairs: list[Pair]
    local: Changes
    remote: Changes
    local_full: list[MessageInfo]
    remote_full: list[MessageInfo]


def _side(
    recorded: dict[MsgId, Flags], fates: list[tuple[str, Flags | None]]
) -> tuple[Changes, dict[MsgId, MessageInfo]]:
    changed: list[MessageInfo] = []
    gone: set[MsgId] = set()
    now: dict[MsgId, MessageInfo] = {}
    for (id, flags), (fate, new) in zip(recorded.items(), fates, strict=False):
        if fate == "gone":
            gone.add(id)
            continue
        info = MessageInfo(id, new if new is not None else flags)
        now[id] = info
        if fate != "kept":
            changed.append(info)
    for id, flags in list(recorded.items())[len(fates) :]:
        now[id] = MessageInfo(id, flags)
    return Changes(changed, gone), now


@st.composite
def scenes(draw: st.DrawFn) -> Scene:
    count = draw(st.integers(0, 8))
    pairs = []
    for n in range(count):
        shape = draw(st.sampled_from(["both", "both", "local only", "remote only"]))
        local = f"L{n}" if shape != "remote only" else None
        remote = str(n + 1) if shape != "local only" else None
        pairs.append(Pair(local, remote, draw(FLAGS), draw(FLAGS)))
    local_rec = {p.local: p.local_flags for p in pairs if p.local is not None}
    remote_rec = {p.remote: p.remote_flags for p in pairs if p.remote is not None}
    local, local_now = _side(local_rec, draw(st.lists(FATES, max_size=len(local_rec))))
    remote, remote_now = _side(remote_rec, draw(st.lists(FATES, max_size=len(remote_rec))))
    new_remote = [
        MessageInfo(str(100 + n), draw(FLAGS), 10) for n in range(draw(st.integers(0, 3)))
    ]
    new_local = []
    for n in range(draw(st.integers(0, 3))):
        hint = draw(st.one_of(st.none(), st.integers(100, 104)))
        new_local.append(MessageInfo(f"N{n}", draw(FLAGS), None, hint))
    local.changed.extend(new_local)
    remote.changed.extend(new_remote)
    local.gone.update(draw(st.sets(st.sampled_from(["X1", "X2"]))))  # never recorded
    remote.gone.update(draw(st.sets(st.sampled_from(["900", "901"]))))
    local_full = [*local_now.values(), *new_local]
    remote_full = [*remote_now.values(), *new_remote]
    return Scene(pairs, local, remote, local_full, remote_full)


def _named(pairs: list[Pair], local: Changes, remote: Changes) -> list[Pair]:
    """What StatusDB.pairs_of gives: the pairs that name any id of the changes."""
    lids = {m.id for m in local.changed} | local.gone
    rids = {m.id for m in remote.changed} | remote.gone
    return [p for p in pairs if p.local in lids or p.remote in rids]


def _same(a: Plan, b: Plan) -> None:
    assert sorted(map(repr, a.actions)) == sorted(map(repr, b.actions))
    assert sorted(a.notes) == sorted(b.notes)


@given(scene=scenes(), policy=POLICIES)
def test_plan_from_changes_is_the_full_plan(scene: Scene, policy: Policy) -> None:
    full = plan(scene.local_full, scene.remote_full, scene.pairs, policy)
    named = _named(scene.pairs, scene.local, scene.remote)
    _same(plan_changes(scene.local, scene.remote, named, policy), full)


@given(scene=scenes(), policy=POLICIES)
def test_one_side_as_a_listing_gives_the_full_plan(scene: Scene, policy: Policy) -> None:
    """Changes on one side and a full listing on the other (a Maildir whose names moved)."""
    full = plan(scene.local_full, scene.remote_full, scene.pairs, policy)
    remote = as_listing(scene.remote, scene.pairs, Side.REMOTE)
    assert sorted(remote) == sorted(scene.remote_full)
    _same(plan(scene.local_full, remote, scene.pairs, policy), full)


@given(scene=scenes())
def test_status_lookup_finds_exactly_the_named_pairs(scene: Scene) -> None:
    status = in_memory_status()
    fid = status.ensure_folder("INBOX", "INBOX").id
    with status.transaction() as db:
        for pair in scene.pairs:
            put_pair(db, fid, pair)
    lids = [m.id for m in scene.local.changed] + sorted(scene.local.gone)
    rids = [m.id for m in scene.remote.changed] + sorted(scene.remote.gone)
    found = status.pairs_of(fid, lids, rids)
    assert len(found) == len(set(found))
    assert set(found) == set(_named(scene.pairs, scene.local, scene.remote))


def test_status_lookup_past_one_query() -> None:
    """More ids than one query takes; a pair named from both sides comes back once."""
    status = in_memory_status()
    fid = status.ensure_folder("INBOX", "INBOX").id
    other = status.ensure_folder("Other", "Other").id
    with status.transaction() as db:
        for n in range(1200):
            put_pair(db, fid, Pair(f"L{n}", str(n), frozenset("S"), frozenset("S")))
        put_pair(db, other, Pair("L1", "1", frozenset(), frozenset()))
        put_pair(db, fid, Pair("alone", None, frozenset("F"), frozenset()))
    found = status.pairs_of(fid, [f"L{n}" for n in range(0, 1200, 2)], map(str, range(1200)))
    assert len(found) == 1200
    assert all(p.local_flags == frozenset("S") for p in found)
    assert status.counts(fid) == (1201, 1200)
    assert status.counts(other) == (1, 1)
    assert sorted(status.ids(other, "remote")) == ["1"]
    assert len(status.ids(fid, "local")) == 1201
    assert status.has_any(fid) and not status.has_any(status.ensure_folder("New", "New").id)
