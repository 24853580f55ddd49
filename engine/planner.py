"""The sync decision, as a pure function: (local, remote, status) -> actions.

Nothing here touches a disk or a socket, so every rule can be checked by
property tests over random histories.  The rules, in short:

* a message on one side that the status does not know is new: copy it over;
* a known message missing on one side was deleted there: delete it on the
  other side (if that side may be changed), else remember it as deliberately
  absent so it is not copied back;
* flags are merged per flag against each side's last synced flags, so that
  two independent changes both survive; with no baseline (adopting an
  existing Maildir) the union wins;
* a message that a previous run wrote into the Maildir but did not get to
  record (its name carries the remote UID) is linked, not copied again.

The executor carries the actions out; the mass-deletion guard and the
pending-copy reconciliation sit beside this module, not in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from engine.repository import Changes, Flags, MessageInfo, MsgId
from engine.sides import Policy as Policy  # re-exported: the planner's callers pass one
from engine.sides import Side as Side
from engine.status import Pair

ALL_ALLOWED = Policy()  # the default policy: both sides writable, deletions both ways


@dataclass(frozen=True)
class Copy:
    """Copy a message that only ``to.other`` has."""

    to: Side
    src: MsgId
    flags: Flags
    size: int | None = None


@dataclass(frozen=True)
class Link:
    """Pair two unrecorded messages that look like one (checked before recording).

    Once the executor has verified that the two are one message, each side gets
    ``local_new``/``remote_new`` (the union of both, but a read-only side keeps
    its own); if they turn out to differ, the ``fallback`` copies are made
    instead.  ``None`` (a hand-made link) means the union and a copy each way.
    """

    local: MsgId
    remote: MsgId
    local_flags: Flags
    remote_flags: Flags
    remote_size: int | None
    local_new: Flags | None = None
    remote_new: Flags | None = None
    fallback: tuple[Copy, ...] | None = None

    def targets(self) -> tuple[Flags, Flags]:
        """The local and remote flags of the linked pair."""
        union = self.local_flags | self.remote_flags
        return (
            union if self.local_new is None else self.local_new,
            union if self.remote_new is None else self.remote_new,
        )

    def copies(self) -> tuple[Copy, ...]:
        """What to copy instead when the two are different messages."""
        if self.fallback is not None:
            return self.fallback
        return (
            Copy(Side.REMOTE, self.local, self.local_flags),
            Copy(Side.LOCAL, self.remote, self.remote_flags, self.remote_size),
        )


@dataclass(frozen=True)
class Reflag:
    """Bring a pair's flags to the merged result on each side."""

    pair: Pair
    local_now: Flags
    remote_now: Flags
    local_new: Flags
    remote_new: Flags

    def change(self, side: Side) -> tuple[Flags, Flags]:
        """The flags to add and to remove on ``side``."""
        now, new = (
            (self.local_now, self.local_new)
            if side is Side.LOCAL
            else (self.remote_now, self.remote_new)
        )
        return new - now, now - new

    @property
    def result(self) -> Pair:
        return Pair(self.pair.local, self.pair.remote, self.local_new, self.remote_new)


@dataclass(frozen=True)
class Delete:
    """Delete ``pair``'s message on ``side`` because the other side lost it."""

    side: Side
    pair: Pair

    @property
    def id(self) -> MsgId:
        id = self.pair.local if self.side is Side.LOCAL else self.pair.remote
        assert id is not None
        return id


@dataclass(frozen=True)
class Record:
    """Change only the status: ``new`` None forgets ``old``."""

    old: Pair
    new: Pair | None


Action = Copy | Link | Reflag | Delete | Record


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def of(self, kind: type) -> list[Action]:
        return [a for a in self.actions if isinstance(a, kind)]

    def deletions(self, side: Side) -> int:
        return sum(1 for a in self.actions if isinstance(a, Delete) and a.side is side)

    def __len__(self) -> int:
        return len(self.actions)


def plan(
    local: Iterable[MessageInfo],
    remote: Iterable[MessageInfo],
    pairs: Iterable[Pair],
    policy: Policy = ALL_ALLOWED,
) -> Plan:
    """Every action needed to make both sides and the status agree."""
    here = {m.id: m for m in local}
    there = {m.id: m for m in remote}
    result = Plan()
    known_local: set[MsgId] = set()
    known_remote: set[MsgId] = set()
    for pair in pairs:
        if pair.local is not None:
            known_local.add(pair.local)
        if pair.remote is not None:
            known_remote.add(pair.remote)
        mine = here.get(pair.local) if pair.local is not None else None
        theirs = there.get(pair.remote) if pair.remote is not None else None
        _plan_pair(pair, mine, theirs, policy, result)
    new_local = [m for id, m in here.items() if id not in known_local]
    new_remote = {id: m for id, m in there.items() if id not in known_remote}
    new_local = _link_by_hint(new_local, new_remote, policy, result)
    result.actions.extend(_copies(new_local, new_remote.values(), policy))
    return result


def plan_changes(
    local: Changes, remote: Changes, pairs: Iterable[Pair], policy: Policy = ALL_ALLOWED
) -> Plan:
    """The same plan as :func:`plan` when both sides are known only by their changes.

    ``pairs`` must hold every pair that names an id in either side's changes;
    any other pair has both sides exactly as recorded, for which :func:`plan`
    does nothing, so leaving it out changes nothing.  This is what makes a
    sync after a few changes cost a few lookups instead of the whole status.
    """
    touched = list(pairs)
    here = list(_now(local, touched, Side.LOCAL).values())
    there = list(_now(remote, touched, Side.REMOTE).values())
    return plan(here, there, touched, policy)


def as_listing(changes: Changes, pairs: Iterable[Pair], side: Side) -> list[MessageInfo]:
    """A side's full listing, from all its recorded pairs and its changes."""
    listing = list(_now(changes, pairs, side).values())
    listing.sort(key=lambda m: (len(m.id), m.id))  # numeric order for UIDs
    return listing


def _now(changes: Changes, pairs: Iterable[Pair], side: Side) -> dict[MsgId, MessageInfo]:
    """``side`` as it is now, for the ids of ``pairs`` and the changed messages."""
    now = {m.id: m for m in changes.changed}
    gone = changes.gone
    for id, flags in side_flags(pairs, side).items():
        if id not in now and id not in gone:
            now[id] = MessageInfo(id, flags)
    return now


def _plan_pair(
    pair: Pair,
    here: MessageInfo | None,
    there: MessageInfo | None,
    policy: Policy,
    out: Plan,
) -> None:
    if here is not None and there is not None:
        _plan_flags(pair, here.flags, there.flags, policy, out)
    elif here is None and there is None:
        out.actions.append(Record(pair, None))
    elif there is not None:  # gone (or deliberately absent) locally
        _plan_one_sided(pair, Side.LOCAL, pair.local, policy, out)
    else:
        _plan_one_sided(pair, Side.REMOTE, pair.remote, policy, out)


def _plan_one_sided(
    pair: Pair, gone_side: Side, gone_id: MsgId | None, policy: Policy, out: Plan
) -> None:
    """One side lost a recorded message: delete it on the other, or remember."""
    if gone_id is None:
        return  # deliberately absent already: nothing to do
    if policy.deletes(gone_side.other):
        out.actions.append(Delete(gone_side.other, pair))
    elif gone_side is Side.LOCAL:
        out.actions.append(Record(pair, Pair(None, pair.remote, frozenset(), pair.remote_flags)))
    else:
        out.actions.append(Record(pair, Pair(pair.local, None, pair.local_flags, frozenset())))


def merge_flags(
    local_now: Flags, remote_now: Flags, local_was: Flags | None, remote_was: Flags | None
) -> tuple[Flags, Flags]:
    """Each side's new flags: its own flags plus the other side's changes.

    Without a baseline (``None``) the union is taken, so nothing is lost.
    """
    if local_was is None or remote_was is None:
        union = local_now | remote_now
        return union, union
    local_new = (local_now | (remote_now - remote_was)) - (remote_was - remote_now)
    remote_new = (remote_now | (local_now - local_was)) - (local_was - local_now)
    return local_new, remote_new


def _plan_flags(pair: Pair, lf: Flags, rf: Flags, policy: Policy, out: Plan) -> None:
    local_new, remote_new = merge_flags(lf, rf, pair.local_flags, pair.remote_flags)
    if not policy.local_writable:
        local_new = lf
    if not policy.remote_writable:
        remote_new = rf
    if local_new != lf or remote_new != rf:
        if lf != pair.local_flags and rf != pair.remote_flags and lf != rf:
            out.notes.append(
                f"flags of local {pair.local} and remote {pair.remote} changed on both sides:"
                f" merged to {''.join(sorted(local_new)) or '-'}"
            )
        out.actions.append(Reflag(pair, lf, rf, local_new, remote_new))
    elif lf != pair.local_flags or rf != pair.remote_flags:
        out.actions.append(Record(pair, Pair(pair.local, pair.remote, lf, rf)))


def _link_by_hint(
    new_local: list[MessageInfo],
    new_remote: dict[MsgId, MessageInfo],
    policy: Policy,
    out: Plan,
) -> list[MessageInfo]:
    """Link local files whose name carries an unrecorded remote UID."""
    unlinked = []
    for m in new_local:
        hint = str(m.uid_hint) if m.uid_hint is not None else None
        partner = new_remote.pop(hint, None) if hint is not None else None
        if partner is None:
            unlinked.append(m)
            continue
        union = m.flags | partner.flags
        out.actions.append(
            Link(
                m.id,
                partner.id,
                m.flags,
                partner.flags,
                partner.size,
                local_new=union if policy.local_writable else m.flags,
                remote_new=union if policy.remote_writable else partner.flags,
                fallback=tuple(_copies([m], [partner], policy)),
            )
        )
    return unlinked


def _copies(
    new_local: Sequence[MessageInfo], new_remote: Iterable[MessageInfo], policy: Policy
) -> list[Copy]:
    """Copies of unrecorded messages to every side that may be written."""
    out = []
    if policy.remote_writable:
        out += [Copy(Side.REMOTE, m.id, m.flags, m.size) for m in new_local]
    if policy.local_writable:
        out += [Copy(Side.LOCAL, m.id, m.flags, m.size) for m in new_remote]
    return out


def mass_deletion(
    result: Plan, local_count: int, remote_count: int, fraction: float, minimum: int
) -> str | None:
    """Why the plan deletes too much of a folder, or None when it is fine."""
    for side, count in ((Side.LOCAL, local_count), (Side.REMOTE, remote_count)):
        doomed = result.deletions(side)
        if doomed >= minimum and doomed > fraction * count:
            return f"would delete {doomed} of {count} messages on the {side.value} side"
    return None


def side_flags(pairs: Iterable[Pair], side: Side) -> dict[MsgId, Flags]:
    """One side's recorded ids and last synced flags: its listing as the status sees it."""
    if side is Side.LOCAL:
        return {p.local: p.local_flags for p in pairs if p.local is not None}
    return {p.remote: p.remote_flags for p in pairs if p.remote is not None}
