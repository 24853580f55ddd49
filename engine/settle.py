"""After a sync that wrote: the stamps of the state we now know, so the next sync can skip.

Before a sync, a folder's stamp says "nothing changed since"; after a sync that
wrote to a side, that side's old stamp is stale by our own doing, and the next
run would have to look again.  So, while the folder is still open, the side's
new stamp is read *first*, then its listing is compared with the status we
just wrote.  If they agree, the new stamp describes a state the status knows
completely and is kept; any change after the stamp was read changes the stamp
again and is seen next time.  If they disagree (someone else changed the
folder meanwhile), the conservative pre-sync numbers are kept instead.

A Maildir just written to has a stamp too fresh to trust (a change in the same
clock tick could hide in it).  Its listing is still compared with the status at
once, and the fingerprint of the names that listing read is kept; a moment
later, for all such folders together, the stamp is read again and kept if the
folder's names still have that fingerprint.  No folder is listed twice.

A Maildir's stamp is recorded with the fingerprint of its names, so that the
next sync, finding the stamp unchanged, can start from that fingerprint instead
of reading the directory (engine.folder_work._as_recorded).  A fingerprint goes
with a stamp only if it is that of a directory read made *after* the stamp was
read (moved along by our own writes since, or recorded with the same stamp
before).  That is enough: a stamp is trusted only once the file system's clock
has moved past it, so any change after it was read, ours or anyone's, moves it
for good; while it is still the folder's stamp, the names are those the read
saw, and once it has moved, what was recorded with it is never used.  Where no
such fingerprint is known (a folder whose reads disagreed, a store without
fingerprints), the stamp is recorded without one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import SyncError
from engine.planner import Side, side_flags
from engine.repository import Changes, Folder, FolderState, Repository
from engine.status import Finished, SideState, StatusDB

FRESH_RETRY = 0.06  # seconds: a fine-grained Maildir stamp settles after 50 ms
_POLL = 0.002  # seconds between tries: file system clocks tick every 1 to 10 ms


def kept_state(
    before: FolderState, stamp: str | None, clean: bool, names: str | None = None
) -> SideState:
    """The pre-sync numbers: the MODSEQ and stamp only after a clean sync; ``names``,
    a Maildir's fingerprint, only where it may go with that stamp (see above)."""
    return SideState(
        uidnext=before.uidnext,
        highestmodseq=before.highestmodseq if clean else None,
        messages=before.messages,
        stamp=stamp if clean else None,
        names=names if clean and stamp is not None else None,
    )


class NotSettled(Exception):
    """A Maildir written a moment ago: its stamp can be taken a little later."""

    def __init__(self, folder: str, names: Any = None) -> None:
        super().__init__(folder)
        self.names = names  # the fingerprint of the names its matching listing read


@dataclass(frozen=True)
class Unsettled:
    """A folder whose stamp ``settle_later`` should try to keep."""

    folder_id: int
    name: str
    names: Any = None  # see NotSettled.names; None: list the folder again
    since: float = field(default_factory=time.monotonic)  # when its sync found it too fresh


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
    expect = getattr(folder, "expect_changes", None)
    if expect is not None and before.highestmodseq is not None:
        expect(before.highestmodseq)  # with the SELECT that reads the new state
    after = _fresh_state(repo, folder)
    if after is None:
        return None
    tracked = getattr(folder, "names_fingerprint", None)
    if after.stamp is None and tracked is not None:
        # The names as last read, moved along by our own writes: settle_later compares
        # them with the directory once, after reading the stamp; comparing now as well
        # would read a large folder twice for nothing.
        raise NotSettled(folder.name, tracked)
    if not _untouched_by_others(folder) and not _as_recorded(
        side, folder, status, folder_id, before
    ):
        return None
    if after.stamp is None:
        raise NotSettled(folder.name)
    names = getattr(folder, "names_fingerprint", None)  # as checked by a read after the stamp
    return SideState(after.uidnext, after.highestmodseq, after.messages, after.stamp, names)


def _as_recorded(
    side: Side, folder: Folder, status: StatusDB, folder_id: int, before: FolderState
) -> bool:
    """Whether the folder holds just what the status records: told by its changes since
    the sync began where it can tell them (each must be one we recorded), else by a
    full listing."""
    if before.highestmodseq is not None:
        changes = folder.changes_since(
            before.highestmodseq, lambda: status.ids(folder_id, side.value)
        )
        if changes is not None:
            return _all_recorded(changes, status, folder_id, side)
    known = side_flags(status.pairs(folder_id), side)
    return {m.id: m.flags for m in folder.list_messages()} == known


def _all_recorded(changes: Changes, status: StatusDB, folder_id: int, side: Side) -> bool:
    ids = changes.named()
    local, remote = (ids, []) if side is Side.LOCAL else ([], ids)
    recorded = side_flags(status.pairs_of(folder_id, local, remote), side)
    if changes.gone & recorded.keys():
        return False
    return all(recorded.get(m.id) == m.flags for m in changes.changed)


def _untouched_by_others(folder: Folder) -> bool:
    """A Maildir whose names nothing but this sync's own writes changed since it read
    them: the status, which recorded those writes, describes it (no listing needed)."""
    check = getattr(folder, "unchanged_by_others", None)
    return check is not None and bool(check())


def _fresh_state(repo: Repository, folder: Folder) -> FolderState | None:
    """IMAP: a new SELECT (STATUS on the selected folder can lag); Maildir: its mtimes."""
    selected = folder.state()
    if selected.stamp is not None:
        return selected
    return repo.folder_states([folder.name]).get(folder.name)


def settle_later(
    repo: Repository,
    status: StatusDB,
    folders: list[Unsettled],
    finished: Sequence[Finished] = (),
) -> int:
    """The local stamps of folders that were too freshly written when their sync ended.

    Each is tried at once and again every ``_POLL`` seconds, for no longer than
    ``FRESH_RETRY`` after the latest of them ended its sync: a stamp is given
    out as soon as the file system's clock has moved past it (see
    ``maildir_stamps.folder_stamp``), a tick after the last write, and the time
    rule settles it by then at the latest.  For each the stamp is read *before*
    the names are compared, so that any later change moves it.  The stamps kept
    are written in one commit, after the numbers of the ``finished`` folders
    (whose syncs left them for it); returns how many.
    """
    kept = _settle(repo, status, folders) if folders else []
    if kept or finished:
        status.finish_folders(finished, kept)
    return len(kept)


def _settle(
    repo: Repository, status: StatusDB, folders: list[Unsettled]
) -> list[tuple[int, str, str | None]]:
    deadline = max(f.since for f in folders) + FRESH_RETRY
    kept: list[tuple[int, str, str | None]] = []
    waiting = folders
    while True:
        last = time.monotonic() >= deadline
        waiting = [f for f in waiting if not _settled(repo, status, f, kept)]
        if not waiting or last:
            break
        time.sleep(max(0.0, min(_POLL, deadline - time.monotonic())))
    return kept


def _settled(
    repo: Repository, status: StatusDB, f: Unsettled, kept: list[tuple[int, str, str | None]]
) -> bool:
    """Whether ``f`` is decided: its stamp kept, or given up (changed by someone else,
    or gone: the next sync simply looks again); False while it is too fresh."""
    try:
        found = _stamp_if_unchanged(repo, f) if f.names is not None else _listed(repo, status, f)
    except NotSettled:
        return False
    except SyncError:
        return True
    if found is not None:
        kept.append((f.folder_id, *found))
    return True


def _stamp_if_unchanged(repo: Repository, folder: Unsettled) -> tuple[str, str | None] | None:
    """The stamp and the names' fingerprint, if the names still have the fingerprint of
    the sync's own reads (NotSettled while the stamp is too fresh to read)."""
    state = repo.folder_states([folder.name]).get(folder.name)
    fingerprint = getattr(repo, "names_fingerprint", None)
    if state is None or fingerprint is None:
        return None
    if state.stamp is None:
        raise NotSettled(folder.name)
    names = fingerprint(folder.name)
    return (state.stamp, names) if names == folder.names else None


def _listed(
    repo: Repository, status: StatusDB, unsettled: Unsettled
) -> tuple[str, str | None] | None:
    """A folder whose names were not tracked (or a store without name fingerprints):
    open and list it again."""
    folder = repo.open_folder(unsettled.name)
    try:
        state = settled_state(
            Side.LOCAL, repo, folder, status, unsettled.folder_id, FolderState(None)
        )
    finally:
        folder.close()
    if state is None or state.stamp is None:
        return None
    return state.stamp, state.names
