"""A first sync of a large folder into an empty one, a window of messages at a time.

Listing 100,000 messages, planning them and remembering where each one landed
costs memory in proportion to the folder.  When nothing is paired yet and the
receiving side is empty, every plan can only say "copy these", and the plan
for one range of the source's UIDs does not depend on any other range: the
source is listed, planned and copied one window at a time, and the working
set is that of one window whatever the folder's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from engine.events import SyncCounts
from engine.limits import within_limits
from engine.planner import Plan, Policy, Side
from engine.planner import plan as make_plan
from engine.report import Reporter
from engine.repository import Changes, Folder, FolderState, MessageInfo
from engine.settings import SyncOptions


class Windowed(Protocol):
    """A store that can list a folder in pieces (IMAP by UID range)."""

    def list_windows(self, size: int) -> Iterator[list[MessageInfo]]: ...


def source_windows(
    folders: dict[Side, Folder],
    remote_state: FolderState,
    local_view: list[MessageInfo] | Changes,
    has_pairs: bool,
    options: SyncOptions,
) -> Windowed | None:
    """The remote folder, when this sync may go window by window; else None.

    Only a first sync qualifies: no pairs, no pending copies (the caller
    checks), the local side empty, and more messages than one window, so
    a small folder keeps its single listing round trip.  A dry run reports
    one plan and is left to the whole-folder path.
    """
    source = folders[Side.REMOTE]
    if has_pairs or options.dry_run or not hasattr(source, "list_windows"):
        return None
    empty = not local_view if isinstance(local_view, list) else not any(local_view)
    if not empty or (remote_state.messages or 0) <= options.listing_window:
        return None
    windowed: Windowed = source  # type: ignore[assignment]
    return windowed


def window_plans(
    source: Windowed,
    folders: dict[Side, Folder],
    policy: Policy,
    options: SyncOptions,
    report: Reporter,
) -> Iterator[tuple[Plan, SyncCounts]]:
    """Each window's plan, with the counts ``maxage``/``maxsize`` left out of it.

    The caller carries out each plan before it asks for the next one; that
    is when the receiving store may forget where the last window's files
    went (a Maildir keeps an entry per file it wrote otherwise).
    """
    forget = getattr(folders[Side.LOCAL], "forget_written", None)
    for window in source.list_windows(options.listing_window):
        if window:
            yield within_limits(make_plan([], window, [], policy), folders, options, report)
        if forget is not None:
            forget()
