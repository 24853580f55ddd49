"""A first sync of a large folder, a window of messages at a time.

Listing 100,000 messages, planning them and remembering where each one landed
costs memory in proportion to the folder.  When nothing is paired yet, the
plan for one range of the server's UIDs does not depend on any other range:

* into an empty Maildir, every plan can only say "copy these";
* into a Maildir that has the messages already (one OfflineIMAP or an earlier
  blinken wrote, whose status is gone), a local file is paired with the
  message whose UID its name carries (``,U=``), and that message is in
  exactly one range.  Each range is planned with the local files that name
  its UIDs; the files that name none (or a UID the server no longer has)
  are planned last, on their own, as copies to the server.

So the server is listed, planned and synced one window at a time, and the
working set is one window plus the Maildir's own listing, whatever the
folder's size.  The plans together do what one plan of both whole listings
would (a test compares them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from engine.events import SyncCounts
from engine.limits import within_limits
from engine.planner import Plan, Policy, Side
from engine.planner import plan as make_plan
from engine.report import Reporter
from engine.repository import Changes, Folder, FolderState, MessageInfo, MsgId
from engine.settings import SyncOptions


class Windowed(Protocol):
    """A store that can list a folder in pieces (IMAP by UID range)."""

    def list_windows(self, size: int) -> Iterator[list[MessageInfo]]: ...


def source_windows(
    folders: dict[Side, Folder], remote_state: FolderState, has_pairs: bool, options: SyncOptions
) -> Windowed | None:
    """The remote folder, when this sync may go window by window; else None.

    Only a first sync qualifies: no pairs, no pending copies (the caller
    checks), and more messages than one window, so a small folder keeps its
    single listing round trip.  A dry run reports one plan and is left to
    the whole-folder path.
    """
    source = folders[Side.REMOTE]
    if has_pairs or options.dry_run or not hasattr(source, "list_windows"):
        return None
    if (remote_state.messages or 0) <= options.listing_window:
        return None
    windowed: Windowed = source  # type: ignore[assignment]
    return windowed


def local_listing(view: list[MessageInfo] | Changes) -> list[MessageInfo]:
    """The local side in full: with no pairs, its changes are every message it has."""
    return list(view.changed) if isinstance(view, Changes) else view


def window_plans(
    source: Windowed,
    folders: dict[Side, Folder],
    policy: Policy,
    options: SyncOptions,
    report: Reporter,
    local: Sequence[MessageInfo] = (),
) -> Iterator[tuple[Plan, SyncCounts]]:
    """Each window's plan, with the counts ``maxage``/``maxsize`` left out of it;
    then the plan of the ``local`` messages no window's UIDs claimed.

    The caller carries out each plan before it asks for the next one; that
    is when the receiving store may forget where the last window's files
    went (a Maildir keeps an entry per file it wrote otherwise).
    """
    forget = getattr(folders[Side.LOCAL], "forget_written", None)
    by_hint, rest = _by_hint(local)
    for window in source.list_windows(options.listing_window):
        mine = [by_hint.pop(m.id) for m in window if m.id in by_hint]
        if window:
            plan = make_plan(mine, window, [], policy)
            yield within_limits(plan, folders, options, report)
        if forget is not None:
            forget()
    rest.extend(by_hint.values())
    if rest:
        yield within_limits(make_plan(rest, [], [], policy), folders, options, report)


def _by_hint(local: Sequence[MessageInfo]) -> tuple[dict[MsgId, MessageInfo], list[MessageInfo]]:
    """The local messages by the server UID their names carry (the first file for
    each UID), and the others: they are paired with no server message."""
    by_hint: dict[MsgId, MessageInfo] = {}
    rest: list[MessageInfo] = []
    for m in local:
        hint = str(m.uid_hint) if m.uid_hint is not None else None
        if hint is None or hint in by_hint:
            rest.append(m)
        else:
            by_hint[hint] = m
    return by_hint, rest
