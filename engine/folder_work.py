"""A folder pair that changed since its last clean sync: listings, plan, guard, action.

Split from :mod:`engine.folder_sync` (which decides whether a folder needs
this at all) so that a no-op run does not import what only a change needs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from engine.background import Background
from engine.dry_run import EmptyFolder, report_plan
from engine.errors import Aborted, MassDeleteError, UidValidityError
from engine.events import SyncCounts, ThreadState
from engine.executor import Executor
from engine.folders import FolderPair
from engine.limits import within_limits
from engine.planner import Plan, as_listing, mass_deletion, plan_changes
from engine.planner import plan as make_plan
from engine.reconcile import reconcile
from engine.report import Reporter
from engine.repository import Changes, Folder, FolderState, MessageInfo, Repository
from engine.settings import SyncOptions
from engine.settle import NotSettled, Unsettled, kept_state, settled_state
from engine.sides import Side
from engine.status import Finished, FolderRecord, SideState, StatusDB, flags_text
from engine.windowed import local_listing, source_windows, window_plans

if TYPE_CHECKING:
    from engine.folder_sync import Worker


def sync_changed(
    w: Worker,
    pair: FolderPair,
    report: Reporter,
    record: FolderRecord,
    stamps: dict[Side, str | None],
) -> SyncCounts:
    """Open both folders and sync them; FolderError (or a subclass) stops just this folder."""
    local = _open(
        w.local,
        pair.local,
        w.options.dry_run and pair.create_local,
        _since(w, record, stamps, Side.LOCAL),
    )
    try:
        remote, local_view = _open_remote(w, pair, record, stamps, local)
        try:
            folders = {Side.LOCAL: local, Side.REMOTE: remote}
            counts, clean, before = _sync_open(w, report, record, folders, stamps, local_view)
            if not w.options.dry_run:
                _finish(w, record, folders, before, stamps, counts, clean)
        finally:
            remote.close()
    finally:
        local.close()
    return counts


def _open_remote(
    w: Worker,
    pair: FolderPair,
    record: FolderRecord,
    stamps: dict[Side, str | None],
    local: Folder,
) -> tuple[Folder, View | None]:
    """The opened remote folder; for a Maildir, also the local side's view, worked out
    here while a helper thread waits for the server's answer to the SELECT.

    The roles are not the other way round because of the C allocator: glibc
    gives each thread a malloc arena of its own, and what one thread frees
    stays with its arena.  The directory read, the sets and the status pages
    of a large folder's comparison are the sync's largest allocations; made
    by the worker, they are reused by its plan and writes, where a helper
    thread's arena kept them besides the worker's (2.5 MB of peak RSS with two
    workers at 100,000 messages).  The SELECT allocates little.
    """

    def open_remote() -> Folder:
        return _open(
            w.remote,
            pair.remote,
            w.options.dry_run and pair.create_remote,
            _since(w, record, stamps, Side.REMOTE),
        )

    if not hasattr(local, "read_names"):  # an IMAP local side would wait for a server too
        return open_remote(), None
    opening = Background(open_remote, threading.current_thread().name)  # its trace lines
    try:
        view = _view(w, local, Side.LOCAL, record, stamps[Side.LOCAL], local.state())
    except BaseException:
        opening.result().close()  # the remote side's error first, as when it opened first
        raise
    return opening.result(), view


def _finish(
    w: Worker,
    record: FolderRecord,
    folders: dict[Side, Folder],
    before: dict[Side, FolderState],
    stamps: dict[Side, str | None],
    counts: SyncCounts,
    clean: bool,
) -> None:
    """Record what the next sync may trust of each side (see :mod:`engine.settle`).

    The remote side goes first: while its state is asked for, the clock of a
    local folder just written moves on, so that its stamp can often be kept
    here, in this worker, instead of after all folders.  A Maildir the sync did
    not write keeps its stamp from before the sync with the names' fingerprint
    it tracked: read (or recorded) after that stamp, it may go with it.
    """
    states: dict[Side, SideState] = {}
    for side in (Side.REMOTE, Side.LOCAL):
        to_settle = stamps[side] is None or _wrote(counts, side)
        names = None if to_settle else getattr(folders[side], "names_fingerprint", None)
        state = kept_state(before[side], stamps[side], clean, names)
        if clean and to_settle:
            repo = w.local if side is Side.LOCAL else w.remote
            try:
                state = (
                    settled_state(side, repo, folders[side], w.status, record.id, before[side])
                    or state
                )
            except NotSettled as e:
                w.settle_later.append(Unsettled(record.id, folders[side].name, e.names))
        states[side] = state
    if w.finished is None:
        w.status.finish_folder(record.id, states[Side.LOCAL], states[Side.REMOTE])
    else:
        w.finished.append(Finished(record.id, states[Side.LOCAL], states[Side.REMOTE]))


def _wrote(counts: SyncCounts, side: Side) -> bool:
    if side is Side.LOCAL:
        return bool(counts.copied_to_local or counts.deleted_local or counts.flags_local)
    return bool(counts.copied_to_remote or counts.deleted_remote or counts.flags_remote)


def _as_recorded(
    w: Worker,
    folder: Folder,
    side: Side,
    record: FolderRecord,
    stamp: str | None,
    opened: FolderState,
) -> bool:
    """A side whose stamp has not moved since the last clean sync is what the status
    says it is: its listing is the status's, and nothing needs to be read.

    A server: the stamp of the SELECT just made (UIDNEXT, MESSAGES and
    HIGHESTMODSEQ) must be the recorded one; that saves the CHANGEDSINCE round trip.
    A Maildir: engine.settle will compare its names with a fingerprint (files are
    found by the names the status implies).  That fingerprint is the one the
    status recorded with the stamp, when there is one; else the names are read
    for it now.  Either way the stamp is read again afterwards (two stats), so
    that a change made since the sync began cannot hide in it.

    The recorded fingerprint is as good as a read.  It was recorded with the
    stamp only when it came from a read of the names made after the stamp was
    read, or had been recorded with the same stamp before (see engine.settle).
    A stamp is given out only once the file system's clock has moved past its
    mtimes, so any later delivery, rename or deletion, ours or anyone's, moves
    it for good.  The stamp being the recorded one now therefore means that no
    name changed since it was read: the names now are those that read saw,
    and a read now would give the very fingerprint recorded.
    """
    recorded = record.stamp(side.value)
    read_names = getattr(folder, "read_names", None)
    if recorded is None:
        return False
    if read_names is None:
        return opened.stamp == recorded
    if stamp != recorded:
        return False
    names, start_from = record.names(side.value), getattr(folder, "start_from_names", None)
    if names is None or start_from is None or not start_from(names):
        read_names()
    repo = w.local if side is Side.LOCAL else w.remote
    again = repo.folder_states([folder.name]).get(folder.name)
    return again is not None and again.stamp == recorded


View = list[MessageInfo] | Changes  # a side's full listing, or its changes since the status


def _view(
    w: Worker,
    folder: Folder,
    side: Side,
    record: FolderRecord,
    stamp: str | None,
    state: FolderState,
) -> View:
    """A side's changes since the last clean sync where it can tell them, else its listing.

    Either side: an IMAP store on the local side (IMAP to IMAP) has a MODSEQ
    as well; a Maildir whose stamp moved compares its names with the status.
    """
    if w.options.full:
        return folder.list_messages()
    if _as_recorded(w, folder, side, record, stamp, state):
        return Changes([], set())
    compare = getattr(folder, "changes_from", None)  # a Maildir: its names against the status
    if compare is not None:
        found: Changes | None = compare(w.status.recorded_names(record.id, side.value))
        if found is not None:
            return found
    modseq = record.highestmodseq(side.value)
    usable = (
        modseq is not None
        and record.stamp(side.value) is not None  # the last sync left nothing behind
        and record.validity(side.value) == state.uidvalidity
    )
    if usable and modseq is not None:
        changes = folder.changes_since(modseq, lambda: w.status.ids(record.id, side.value))
        if changes is not None:
            return changes
    return folder.list_messages()


def _decide(
    w: Worker,
    report: Reporter,
    record: FolderRecord,
    folders: dict[Side, Folder],
    views: dict[Side, View],
) -> tuple[Plan, Callable[[], dict[Side, int]]]:
    """The plan, and each side's message count for the mass-deletion guard (counted
    only if the plan deletes enough for the guard to look).

    When both sides gave their changes, only the pairs those changes name are
    read from the status; otherwise every pair is, to compare with full listings.
    Interrupted copies are matched against full listings, so they need every pair too.
    """
    local, remote = views[Side.LOCAL], views[Side.REMOTE]
    pendings = w.status.pending(record.id)
    if isinstance(local, Changes) and isinstance(remote, Changes) and not pendings:
        pairs = w.status.pairs_of(record.id, local.named(), remote.named())
        expect = getattr(folders[Side.LOCAL], "expect_names", None)  # a Maildir
        if expect is not None:
            expect((p.local, flags_text(p.local_flags)) for p in pairs if p.local is not None)

        def recorded() -> dict[Side, int]:
            counts = w.status.counts(record.id)
            return {Side.LOCAL: counts[0], Side.REMOTE: counts[1]}

        return plan_changes(local, remote, pairs, w.policy), recorded
    pairs = w.status.pairs(record.id)
    listings = {
        side: view if isinstance(view, list) else as_listing(view, pairs, side)
        for side, view in views.items()
    }
    if pendings:
        found = reconcile(pendings, folders, listings, w.status, record.id)
        report.info(f"{found} of {len(pendings)} interrupted copies had landed; recorded them")
        pairs = w.status.pairs(record.id)
    plan = make_plan(listings[Side.LOCAL], listings[Side.REMOTE], pairs, w.policy)
    return plan, lambda: {side: len(listing) for side, listing in listings.items()}


def _sync_open(
    w: Worker,
    report: Reporter,
    record: FolderRecord,
    folders: dict[Side, Folder],
    stamps: dict[Side, str | None],
    local_view: View | None = None,
) -> tuple[SyncCounts, bool, dict[Side, FolderState]]:
    """The counts, whether the sync left nothing undone (so its stamps and MODSEQs
    may be kept), and both sides' states from before the listings (``local_view``:
    the local side's, worked out already)."""
    states = {side: folder.state() for side, folder in folders.items()}
    has_pairs = w.status.has_any(record.id)
    _check_validity(w.status, record, states, has_pairs)
    views: dict[Side, View] = {}
    for side, folder in folders.items():
        report.state(ThreadState.LOADING_LIST, side)
        windows = side is Side.REMOTE and _windows(
            w, report, record, folders, states, views, has_pairs
        )
        if windows:
            report.state(ThreadState.SYNC_CONTROLLER)
            adopting = bool(local_listing(views[Side.LOCAL]))  # most are paired, not copied
            expected = 0 if adopting else states[Side.REMOTE].messages or 0
            counts, clean = _execute(w, report, record, folders, windows, expected)
            return counts, clean, states
        if side is Side.LOCAL and local_view is not None:
            views[side] = local_view
        else:
            views[side] = _view(w, folder, side, record, stamps[side], states[side])
    report.state(ThreadState.SYNC_CONTROLLER)
    plan, sizes = _decide(w, report, record, folders, views)
    _warn_notes(plan.notes, report)
    plan, left_out = within_limits(plan, folders, w.options, report)
    _guard(plan, sizes, w.options)
    if w.options.dry_run:
        return report_plan(plan, report) + left_out, False, states
    counts, clean = _execute(w, report, record, folders, [(plan, left_out)])
    return counts, clean, states


def _windows(
    w: Worker,
    report: Reporter,
    record: FolderRecord,
    folders: dict[Side, Folder],
    states: dict[Side, FolderState],
    views: dict[Side, View],
    has_pairs: bool,
) -> Iterator[tuple[Plan, SyncCounts]] | None:
    """A first sync's plans window by window (engine.windowed), when it qualifies:
    asked once the local side is listed, before the remote side is."""
    source = source_windows(folders, states[Side.REMOTE], has_pairs, w.options)
    if source is None or w.status.pending(record.id):
        return None
    local = local_listing(views[Side.LOCAL])
    return window_plans(source, folders, w.policy, w.options, report, local)


def _execute(
    w: Worker,
    report: Reporter,
    record: FolderRecord,
    folders: dict[Side, Folder],
    plans: Iterable[tuple[Plan, SyncCounts]],
    expected: int = 0,
) -> tuple[SyncCounts, bool]:
    """Carry out the plans in order: the counts, and whether nothing was left undone."""
    executor = Executor(
        folders[Side.LOCAL], folders[Side.REMOTE], w.status, record.id, report, w.options, w.cancel
    )
    executor.expected = expected  # copies in all the plans: one progress total
    left_out = SyncCounts()
    try:
        for plan, out in plans:
            left_out = left_out + out
            executor.run(plan)
    except Aborted as e:
        raise Aborted(str(e), executor.tally.counts() + left_out) from e
    counts = executor.tally.counts() + left_out
    return counts, counts.skipped == 0 and not executor.tally.pending_left


def _warn_notes(notes: list[str], report: Reporter, most: int = 10) -> None:
    """The planner's remarks (flags changed on both sides): a few in full, then a count."""
    for note in notes[:most]:
        report.warn(note)
    if len(notes) > most:
        report.warn(f"... and {len(notes) - most} more messages whose flags changed on both sides")


def _open(repo: Repository, name: str, missing: bool, since: int | None) -> Folder:
    """The folder; in a dry run a folder we would have created is simply empty.

    A server asked for its changes since ``since`` gets that question in the
    round trip that opens the folder.
    """
    if missing:
        return EmptyFolder(name)
    expecting = getattr(repo, "open_folder_expecting", None)
    if since is not None and expecting is not None:
        opened: Folder = expecting(name, since)
        return opened
    return repo.open_folder(name)


def _since(
    w: Worker, record: FolderRecord, stamps: dict[Side, str | None], side: Side
) -> int | None:
    """The MODSEQ to ask a side's changes since, when it changed since a clean sync."""
    modseq = record.highestmodseq(side.value)
    recorded = record.stamp(side.value)
    if w.options.full or modseq is None or recorded is None or stamps[side] == recorded:
        return None
    return modseq


def _check_validity(
    status: StatusDB, record: FolderRecord, states: dict[Side, FolderState], has_pairs: bool
) -> None:
    """Refuse to apply a status (pairs or pending copies) to a folder the server renumbered."""
    known = {Side.LOCAL: record.local_validity, Side.REMOTE: record.remote_validity}
    now = {side: s.uidvalidity for side, s in states.items()}
    for side in (Side.LOCAL, Side.REMOTE):
        was, is_ = known[side], now[side]
        if has_pairs and was is not None and is_ is not None and was != is_:
            name = record.local_name if side is Side.LOCAL else record.remote_name
            raise UidValidityError(
                f"UIDVALIDITY of {side.value} folder {name!r} changed from {was} to {is_}: "
                "the server renumbered its messages, so the status no longer fits it. "
                "Nothing was changed in this folder. To start it over, move the local folder "
                "away and run `blinken --forget-folder` for it (see README, UIDVALIDITY)."
            )
    if known != now:
        status.set_validity(record.id, now[Side.LOCAL], now[Side.REMOTE])


def _guard(plan: Plan, sizes: Callable[[], dict[Side, int]], options: SyncOptions) -> None:
    most = max(plan.deletions(Side.LOCAL), plan.deletions(Side.REMOTE))
    if most < options.mass_delete_minimum or options.force_deletes:
        return
    counted = sizes()
    why = mass_deletion(
        plan,
        counted[Side.LOCAL],
        counted[Side.REMOTE],
        options.mass_delete_fraction,
        options.mass_delete_minimum,
    )
    if why is not None:
        raise MassDeleteError(
            f"this sync {why}, so nothing was done in this folder; if the deletion is "
            "intended, run again with --force-deletes (or raise mass_delete_guard)"
        )
