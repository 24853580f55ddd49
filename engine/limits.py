"""Which planned copies a sync leaves out: ``maxage`` and ``maxsize``.

Both filter copies only, so that what is already paired keeps syncing its
flags and deletions whatever its age or size.
"""

from __future__ import annotations

import time

from engine.events import SyncCounts
from engine.planner import Copy, Plan, Side
from engine.report import Reporter
from engine.repository import Folder, MsgId
from engine.settings import SyncOptions


def within_limits(
    plan: Plan, folders: dict[Side, Folder], options: SyncOptions, report: Reporter
) -> tuple[Plan, SyncCounts]:
    """The plan without the copies the options leave out, and their counts."""
    left_out = SyncCounts()
    if options.maxage_days is not None:
        plan, left_out = _within_maxage(plan, folders, options.maxage_days, report)
    if options.maxsize is not None:
        plan, too_large = _within_maxsize(plan, options.maxsize, report)
        left_out = left_out + too_large
    return plan, left_out


def _within_maxage(
    plan: Plan, folders: dict[Side, Folder], days: int, report: Reporter
) -> tuple[Plan, SyncCounts]:
    """Copy only messages younger than ``maxage``; older ones stay where they are.

    Only copies are filtered: a known message that is absent was deleted, not
    aged out, so deletions and flag changes of old messages still travel.
    """
    since = time.time() - days * 86400
    young: set[tuple[Side, MsgId]] = set()
    for side in (Side.LOCAL, Side.REMOTE):
        ids = [a.src for a in plan.actions if isinstance(a, Copy) and a.to is side.other]
        if ids:
            young |= {(side, id) for id in folders[side].ids_since(since, ids)}
    kept = [a for a in plan.actions if not isinstance(a, Copy) or (a.to.other, a.src) in young]
    old = len(plan.actions) - len(kept)
    if old:
        report.debug(f"maxage: {old} messages older than {days} days not copied")
    return Plan(kept, plan.notes), SyncCounts(too_old=old)


_SHOWN_TOO_LARGE = 10  # messages named in the line that reports them


def _within_maxsize(plan: Plan, limit: int, report: Reporter) -> tuple[Plan, SyncCounts]:
    """Copy only messages of at most ``maxsize`` bytes; larger ones stay where they are.

    Like ``maxage`` this filters copies only.  The size is the one the listing
    gives (IMAP's RFC822.SIZE, CRLF line ends); a store that does not know
    sizes cheaply (a Maildir) has its messages copied whatever their size.
    A message left out is not recorded, so a later sync, or one with a larger
    ``maxsize``, sees it as new again (a stateful sync only once it changes;
    ``--full`` looks at everything).
    """

    def too_large(a: object) -> bool:
        return isinstance(a, Copy) and a.size is not None and a.size > limit

    big = [a for a in plan.actions if isinstance(a, Copy) and too_large(a)]
    if not big:
        return plan, SyncCounts()
    shown = ", ".join(
        f"{a.to.other.value} {a.src} ({a.size} bytes)" for a in big[:_SHOWN_TOO_LARGE]
    )
    more = f" and {len(big) - _SHOWN_TOO_LARGE} more" if len(big) > _SHOWN_TOO_LARGE else ""
    report.info(f"skipped {len(big)} messages larger than maxsize ({limit} bytes): {shown}{more}")
    kept = [a for a in plan.actions if not too_large(a)]
    return Plan(kept, plan.notes), SyncCounts(too_large=len(big))
