"""Finishes copies that a crash (or a server without UIDPLUS) left unrecorded.

A pending row says "message X was being copied to side S, with this content
fingerprint, while S's next UID was at least M".  After a crash the copy may or
may not have landed.  Looking for it among S's unrecorded messages (only those
that could be it: right size, UID at or above the mark, or a Maildir name
carrying X's UID) and comparing fingerprints tells which, without ever
altering a message to tag it.  A found copy becomes a pair; a missing one is
simply forgotten, and the planner copies the message again.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine import status as st
from engine.content import fingerprint, release
from engine.repository import Folder, MessageInfo, MsgId
from engine.sides import Side
from engine.status import Pair, Pending, StatusDB


def could_be(p: Pending, m: MessageInfo) -> bool:
    """Cheap filter: can ``m`` be the copy that ``p`` describes?"""
    if m.size is not None and m.size != p.size:
        return False
    if m.id.isdigit():  # a store that numbers messages: the copy is at or past the mark
        return p.mark is None or int(m.id) >= p.mark
    # a Maildir: copies blinken writes carry the source UID in their names
    return not p.src_id.isdigit() or (m.uid_hint is not None and str(m.uid_hint) == p.src_id)


def reconcile(
    pendings: Sequence[Pending],
    dst: dict[Side, Folder],
    listings: dict[Side, list[MessageInfo]],
    status: StatusDB,
    folder_id: int,
) -> int:
    """Resolve every pending copy; returns how many were found to have landed."""
    if not pendings:
        return 0
    paired = status.pairs(folder_id)
    known = {
        Side.LOCAL: {p.local for p in paired if p.local is not None},
        Side.REMOTE: {p.remote for p in paired if p.remote is not None},
    }
    found: list[tuple[Pending, MsgId]] = []
    for side in (Side.LOCAL, Side.REMOTE):
        mine = [p for p in pendings if p.to_side == side.value]
        free = [m for m in listings[side] if m.id not in known[side]]
        found += _match(mine, free, dst[side])
    with status.transaction() as db:
        for p in pendings:
            st.drop_pending(db, p.id)
        for p, new_id in found:
            local, remote = (
                (new_id, p.src_id) if p.to_side == Side.LOCAL.value else (p.src_id, new_id)
            )
            st.put_pair(db, folder_id, Pair(local, remote, p.flags, p.flags))
    return len(found)


def _match(
    pendings: Sequence[Pending], free: Sequence[MessageInfo], folder: Folder
) -> list[tuple[Pending, MsgId]]:
    candidates = {m.id for p in pendings for m in free if could_be(p, m)}
    if not candidates:
        return []
    prints: dict[str, list[MsgId]] = {}
    for f in folder.fetch(sorted(candidates, key=_order)):
        prints.setdefault(fingerprint(f.message.data), []).append(f.id)
        release(f.message.data)
    out = []
    for p in pendings:
        ids = prints.get(p.fingerprint)
        if ids:
            out.append((p, ids.pop(0)))
    return out


def _order(id: MsgId) -> tuple[int, str]:
    return (int(id), "") if id.isdigit() else (0, id)
