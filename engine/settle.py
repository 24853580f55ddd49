"""After a sync that wrote: the stamps of the state we now know, so the next sync can skip.

Before a sync, a folder's stamp says "nothing changed since"; after a sync that
wrote to a side, that side's old stamp is stale by our own doing, and the next
run would have to look again.  So, while the folder is still open, the side's
new stamp is read *first*, then its listing is compared with the status we
just wrote.  If they agree, the new stamp describes a state the status knows
completely and is kept; any change after the stamp was read changes the stamp
again and is seen next time.  If they disagree (someone else changed the
folder meanwhile), the conservative pre-sync numbers are kept instead.
"""

from __future__ import annotations

import time

from engine.errors import SyncError
from engine.planner import Side, side_flags
from engine.repository import Folder, FolderState, Repository
from engine.status import SideState, StatusDB

FRESH_RETRY = 0.06  # seconds: a fine-grained Maildir stamp settles after 50 ms


def kept_state(before: FolderState, stamp: str | None, clean: bool) -> SideState:
    """The pre-sync numbers: the MODSEQ and stamp only after a clean sync."""
    return SideState(
        uidnext=before.uidnext,
        highestmodseq=before.highestmodseq if clean else None,
        messages=before.messages,
        stamp=stamp if clean else None,
    )


class NotSettled(Exception):
    """A Maildir written a moment ago: its stamp can be taken a little later."""


def settled_state(
    side: Side,
    repo: Repository,
    folder: Folder,
    status: StatusDB,
    folder_id: int,
    before: FolderState,
) -> SideState | None:
    """The side's state after our writes, if the status now describes it exactly.

    Raises NotSettled when the stamp is too fresh to trust yet (see ``settle_later``).
    """
    after = _fresh_state(repo, folder)
    if after is None:
        return None
    if after.stamp is None:
        raise NotSettled(folder.name)
    known = side_flags(status.pairs(folder_id), side)
    listing = None
    if before.highestmodseq is not None:
        listing = folder.changes_since(before.highestmodseq, known)
    if listing is None:
        listing = folder.list_messages()
    if {m.id: m.flags for m in listing} != known:
        return None
    return SideState(after.uidnext, after.highestmodseq, after.messages, after.stamp)


def _fresh_state(repo: Repository, folder: Folder) -> FolderState | None:
    """IMAP: a new SELECT (STATUS on the selected folder can lag); Maildir: its mtimes."""
    selected = folder.state()
    if selected.stamp is not None:
        return selected
    return repo.folder_states([folder.name]).get(folder.name)


def settle_later(repo: Repository, status: StatusDB, folders: list[tuple[int, str]]) -> int:
    """The local stamps of folders that were too freshly written when their sync ended.

    One short wait for all of them (instead of one per folder), then the same check
    as :func:`settled_state`; returns how many stamps were kept.
    """
    if not folders:
        return 0
    time.sleep(FRESH_RETRY)
    kept = 0
    for folder_id, name in folders:
        try:
            state = _settle_one(repo, status, folder_id, name)
        except (NotSettled, SyncError):
            state = None  # still busy, or gone: the next sync simply looks again
        if state is not None:
            status.set_local_stamp(folder_id, state.stamp)
            kept += 1
    return kept


def _settle_one(repo: Repository, status: StatusDB, folder_id: int, name: str) -> SideState | None:
    folder = repo.open_folder(name)
    try:
        return settled_state(Side.LOCAL, repo, folder, status, folder_id, FolderState(None))
    finally:
        folder.close()
