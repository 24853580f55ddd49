"""One folder pair, from listings to a recorded result.

The order is the safety argument: check that the status still describes
these folders (UIDVALIDITY), finish what a crash left pending, plan against
fresh listings, refuse a plan that would empty a folder, and only then act.
A dry run stops after planning and reports the plan instead.

This module only decides whether a folder needs looking at; what follows
lives in :mod:`engine.folder_work`, imported by the first folder that does,
so a run in which nothing changed never imports the planner or the executor.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.events import SyncCounts, ThreadState
from engine.folders import FolderPair
from engine.report import Reporter
from engine.repository import FolderState, Repository
from engine.settings import SyncOptions
from engine.sides import Policy, Side
from engine.status import Finished, FolderRecord, StatusDB

if TYPE_CHECKING:
    from engine.settle import Unsettled


@dataclass
class Worker:
    """What one worker thread syncs folders with: its own connections and status handle."""

    local: Repository
    remote: Repository
    status: StatusDB
    report: Reporter
    options: SyncOptions
    policy: Policy
    cancel: threading.Event
    # Both sides' folder states, read for all folders at once before any is opened.
    states: dict[Side, dict[str, FolderState]] = field(default_factory=dict)
    # Local folders whose stamp was too fresh to keep when their sync ended (shared).
    settle_later: list[Unsettled] = field(default_factory=list)
    # Where a folder's numbers go when its sync ends, for the account to record them
    # all in one commit (shared); None: each is recorded at once.
    finished: list[Finished] | None = None

    def stamps(self, pair: FolderPair) -> dict[Side, str | None]:
        local = self.states.get(Side.LOCAL, {}).get(pair.local)
        remote = self.states.get(Side.REMOTE, {}).get(pair.remote)
        return {
            Side.LOCAL: local.stamp if local is not None else None,
            Side.REMOTE: remote.stamp if remote is not None else None,
        }


def sync_folder(w: Worker, pair: FolderPair) -> SyncCounts:
    """Sync one folder pair; raises FolderError (or a subclass) to stop just this folder."""
    report = w.report.for_folder(pair.remote)
    report.state(ThreadState.FOLDER_SYNC)
    record = w.status.ensure_folder(pair.local, pair.remote)
    stamps = w.stamps(pair)
    if not _needs_sync(w, record, stamps):
        report.debug("unchanged on both sides since the last sync")
        return SyncCounts()
    from engine.folder_work import sync_changed

    return sync_changed(w, pair, report, record, stamps)


def needs_sync(w: Worker, pair: FolderPair) -> bool:
    """Whether :func:`sync_folder` would open this pair; asks the status, writes nothing."""
    record = w.status.folder(pair.local, pair.remote)
    return record is None or _needs_sync(w, record, w.stamps(pair))


def _needs_sync(w: Worker, record: FolderRecord, stamps: dict[Side, str | None]) -> bool:
    return w.options.full or not _unchanged(record, stamps) or bool(w.status.pending(record.id))


def _unchanged(record: FolderRecord, stamps: dict[Side, str | None]) -> bool:
    """Both sides carry the stamps of the last clean sync: nothing to look at."""
    was = (record.local_stamp, record.remote_stamp)
    now = (stamps[Side.LOCAL], stamps[Side.REMOTE])
    return None not in was and was == now
