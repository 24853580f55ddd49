"""What a dry run shows: the plan as lines, counted as if it had been carried out,
and the folders it would have created, as empty ones."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

from engine.errors import FolderError
from engine.events import PlannedAction, SyncCounts
from engine.planner import Copy, Delete, Link, Plan, Record, Reflag, Side
from engine.report import Reporter
from engine.repository import Changes, FetchedMessage, Flags, FolderState, MessageInfo, MsgId


def report_plan(plan: Plan, report: Reporter) -> SyncCounts:
    """A dry run's result: each action as an event, counted as if done."""
    for line in describe(plan.actions):
        report.emit(PlannedAction(report.account, report.folder or "", line))
    return planned_counts(plan)


def describe(actions: Iterable[object]) -> Iterator[str]:
    for a in actions:
        if isinstance(a, Copy):
            size = f", {a.size} bytes" if a.size is not None else ""
            yield f"copy {a.to.other.value} message {a.src} to {a.to.value}{size}"
        elif isinstance(a, Delete):
            yield f"delete {a.side.value} message {a.id}"
        elif isinstance(a, Reflag):
            yield from _describe_flags(a)
        elif isinstance(a, Link):
            yield f"link local message {a.local} with remote message {a.remote}"
        elif isinstance(a, Record) and a.new is None:
            yield f"forget status of {a.old.local or '-'} / {a.old.remote or '-'}"


def _describe_flags(a: Reflag) -> Iterator[str]:
    for side in (Side.LOCAL, Side.REMOTE):
        add, remove = a.change(side)
        id = a.pair.local if side is Side.LOCAL else a.pair.remote
        if (add or remove) and id is not None:
            change = " ".join([*("+" + f for f in sorted(add)), *("-" + f for f in sorted(remove))])
            yield f"flags of {side.value} message {id}: {change}"


def planned_counts(plan: Plan) -> SyncCounts:
    copies = [a for a in plan.actions if isinstance(a, Copy)]
    reflags = [a for a in plan.actions if isinstance(a, Reflag)]
    return SyncCounts(
        copied_to_local=sum(1 for a in copies if a.to is Side.LOCAL),
        copied_to_remote=sum(1 for a in copies if a.to is Side.REMOTE),
        deleted_local=plan.deletions(Side.LOCAL),
        deleted_remote=plan.deletions(Side.REMOTE),
        flags_local=sum(1 for a in reflags if any(a.change(Side.LOCAL))),
        flags_remote=sum(1 for a in reflags if any(a.change(Side.REMOTE))),
        bytes=sum(a.size or 0 for a in copies),
    )


class EmptyFolder:
    """A folder that does not exist yet, as a dry run sees it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def state(self) -> FolderState:
        return FolderState(uidvalidity=None, messages=0)

    def list_messages(self) -> list[MessageInfo]:
        return []

    def fetch(self, ids: Sequence[MsgId], spool: str | None = None) -> Iterator[FetchedMessage]:
        return iter(())

    def spool_dir(self) -> str | None:
        return None

    def ids_since(self, since: float, ids: Sequence[MsgId]) -> set[MsgId]:
        return set()

    def changes_since(self, modseq: int, known: Callable[[], Collection[MsgId]]) -> Changes | None:
        return None

    def append(self, message: object) -> MsgId | None:
        raise FolderError(f"folder {self.name!r} does not exist (dry run)")

    def append_many(self, messages: Sequence[object]) -> list[MsgId | None] | None:
        raise FolderError(f"folder {self.name!r} does not exist (dry run)")

    def set_flags(self, id: MsgId, add: frozenset[str], remove: frozenset[str]) -> None:
        raise FolderError(f"folder {self.name!r} does not exist (dry run)")

    def set_flags_many(self, ids: Sequence[MsgId], add: Flags, remove: Flags) -> set[MsgId]:
        raise FolderError(f"folder {self.name!r} does not exist (dry run)")

    def flush(self) -> None:
        pass  # nothing is held back

    def delete(self, ids: Iterable[MsgId]) -> None:
        raise FolderError(f"folder {self.name!r} does not exist (dry run)")

    def close(self) -> None:
        pass
