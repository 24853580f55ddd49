"""Skipping unchanged folders must never skip a change: folder_sync + settle on memory stores."""

from __future__ import annotations

import threading
from collections.abc import Callable

from engine.events import SyncCounts, discard
from engine.folder_sync import Worker, sync_folder
from engine.folders import FolderPair
from engine.memory import MemoryRepository
from engine.planner import Policy, Side
from engine.report import Reporter
from engine.repository import Message
from engine.settings import SyncOptions
from engine.status import StatusDB, in_memory_status

PAIR = FolderPair("INBOX", "INBOX")


def msg(n: int) -> Message:
    return Message(f"Subject: {n}\r\n\r\nbody {n}\r\n".encode(), frozenset())


class World:
    def __init__(self) -> None:
        self.local = MemoryRepository("local")
        self.remote = MemoryRepository("remote")
        for repo in (self.local, self.remote):
            repo.create_folder("INBOX")
        self.status: StatusDB = in_memory_status()

    def sync(self) -> tuple[SyncCounts, bool]:
        """One folder sync the way AccountSync does it; also whether it was skipped."""
        states = {
            Side.LOCAL: self.local.folder_states(["INBOX"]),
            Side.REMOTE: self.remote.folder_states(["INBOX"]),
        }
        opened: list[str] = []
        original = self.remote.open_folder

        def spy(name: str) -> object:
            opened.append(name)
            return original(name)

        self.remote.open_folder = spy  # type: ignore[method-assign]
        worker = Worker(
            self.local,
            self.remote,
            self.status,
            Reporter(discard, "test"),
            SyncOptions(),
            Policy(),
            threading.Event(),
            states,
        )
        try:
            counts = sync_folder(worker, PAIR)
        finally:
            del self.remote.open_folder
        return counts, not opened

    def box(self, side: Side) -> dict[int, Message]:
        repo = self.local if side is Side.LOCAL else self.remote
        return repo.boxes["INBOX"].messages


def test_the_sync_after_a_changing_one_is_skipped() -> None:
    w = World()
    w.remote.open_folder("INBOX").append(msg(1))
    counts, skipped = w.sync()
    assert counts.copied_to_local == 1 and not skipped
    assert w.sync() == (SyncCounts(), True)


def test_a_change_made_while_settling_is_not_skipped_later() -> None:
    """Another client writes just after our writes: the new stamp must not hide it."""
    w = World()
    w.remote.open_folder("INBOX").append(msg(1))
    w.sync()
    w.remote.open_folder("INBOX").append(msg(2))
    sneak = _on_next_flush(w.local, lambda: w.local.open_folder("INBOX").append(msg(3)))
    counts, _ = w.sync()
    assert counts.copied_to_local == 1 and sneak()
    counts, skipped = w.sync()
    assert counts.copied_to_remote == 1 and not skipped
    assert len(w.box(Side.LOCAL)) == len(w.box(Side.REMOTE)) == 3


def test_every_side_and_kind_of_change_is_seen_after_a_skip() -> None:
    w = World()
    w.remote.open_folder("INBOX").append(msg(1))
    w.sync()
    assert w.sync()[1]
    changes: list[Callable[[], None]] = [
        lambda: w.local.open_folder("INBOX").append(msg(5)),
        lambda: w.remote.open_folder("INBOX").set_flags("1", frozenset("S"), frozenset()),
        lambda: w.local.open_folder("INBOX").delete(["2"]),
    ]
    for change in changes:
        change()
        counts, skipped = w.sync()
        assert counts.changes == 1 and not skipped
        assert w.sync()[1]


def _on_next_flush(repo: MemoryRepository, action: Callable[[], None]) -> Callable[[], bool]:
    """Run ``action`` once, right after the executor's next flush on ``repo``'s folder."""
    done: list[bool] = []
    original = repo.open_folder

    def opened(name: str) -> object:
        folder = original(name)
        flush = folder.flush

        def flush_then_act() -> None:
            flush()
            if not done:
                done.append(True)
                action()

        folder.flush = flush_then_act  # type: ignore[method-assign]
        return folder

    repo.open_folder = opened  # type: ignore[method-assign]
    return lambda: bool(done)
