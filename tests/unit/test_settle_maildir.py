"""Settling a just-written Maildir: its stamp is kept later without listing it again."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from engine import maildir_stamps
from engine.events import SyncCounts, discard
from engine.folder_sync import Worker, sync_folder
from engine.folders import FolderPair
from engine.maildir import MaildirFolder, MaildirRepository
from engine.memory import MemoryRepository
from engine.planner import Policy, Side
from engine.report import Reporter
from engine.repository import Folder, FolderState, Message
from engine.settings import SyncOptions
from engine.settle import Unsettled, settle_later
from engine.status import StatusDB, in_memory_status

PAIR = FolderPair("INBOX", "INBOX")


class World:
    def __init__(self, root: Path) -> None:
        self.local = MaildirRepository("local", str(root), fsync=False)
        self.remote = MemoryRepository("remote")
        for repo in (self.local, self.remote):
            repo.create_folder("INBOX")
        self.status: StatusDB = in_memory_status()
        self.worker: Worker | None = None

    def states(self) -> dict[Side, dict[str, FolderState]]:
        """Both sides' stamps, as the account reads them before its folders' turns."""
        return {
            Side.LOCAL: self.local.folder_states(["INBOX"]),
            Side.REMOTE: self.remote.folder_states(["INBOX"]),
        }

    def sync_folder(self, states: dict[Side, dict[str, FolderState]] | None = None) -> SyncCounts:
        """One folder's sync; what it left to settle stays in ``self.worker``."""
        self.worker = Worker(
            self.local,
            self.remote,
            self.status,
            Reporter(discard, "test"),
            SyncOptions(fsync=False),
            Policy(),
            threading.Event(),
            states or self.states(),
        )
        return sync_folder(self.worker, PAIR)

    def settle(self) -> int:
        assert self.worker is not None
        return settle_later(self.local, self.status, self.worker.settle_later)

    def local_stamp(self) -> str | None:
        (record,) = self.status.folders()
        return record.local_stamp

    def cur(self) -> Path:
        return Path(self.local.root) / "INBOX" / "cur"


def fill(world: World, count: int) -> None:
    box = world.remote.open_folder("INBOX")
    for n in range(count):
        box.append(Message(f"Subject: {n}\r\n\r\nbody {n}\r\n".encode(), frozenset("S")))


def synced_then_renamed(root: Path, count: int) -> tuple[World, str]:
    """A first sync of ``count`` messages, then a mail reader flags the first file."""
    world = World(root)
    fill(world, count)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(maildir_stamps, "fs_now", lambda path: None)  # settled later, by the clock
        world.sync_folder()
    name = sorted(os.listdir(world.cur()))[0]
    os.rename(world.cur() / name, world.cur() / (name + "F"))
    return world, name


def no_reopening(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []

    def spy(name: str) -> Folder:
        opened.append(name)
        raise AssertionError("settle_later listed the folder again")

    monkeypatch.setattr(world.local, "open_folder", spy)
    return opened


def test_a_written_folder_is_settled_from_its_names_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(tmp_path)
    fill(world, 5)
    with monkeypatch.context() as m:
        m.setattr(maildir_stamps, "fs_now", lambda path: None)  # only the clock settles it
        assert world.sync_folder().copied_to_local == 5
    (pending,) = world.worker.settle_later if world.worker else []
    before = world.local_stamp()  # of the empty folder, before the copies
    assert pending.names is not None
    with monkeypatch.context() as m:
        no_reopening(world, m)
        assert world.settle() == 1
    assert world.local_stamp() not in (None, before)


def test_a_change_before_settling_keeps_the_stamp_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mail reader renames a file (a flag change) between the sync and the settling."""
    world, _ = synced_then_renamed(tmp_path, 5)
    with monkeypatch.context() as m:
        no_reopening(world, m)
        assert world.settle() == 0
    assert world.local_stamp() is None
    time.sleep(0.06)  # the rename's stamp settles
    counts = world.sync_folder()
    assert counts.flags_remote == 1, counts


def test_the_same_names_again_are_the_same_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renamed there and back: the names match, and the newer stamp is the one kept."""
    world, name = synced_then_renamed(tmp_path, 3)
    os.rename(world.cur() / (name + "F"), world.cur() / name)
    with monkeypatch.context() as m:
        no_reopening(world, m)
        assert world.settle() == 1
    stamp = world.local_stamp()
    assert stamp == world.local.folder_states(["INBOX"])["INBOX"].stamp
    assert world.sync_folder() == SyncCounts()


def settled(world: World, count: int) -> None:
    """A folder synced, its stamp settled and recorded: the next sync may trust it."""
    fill(world, count)
    world.sync_folder()
    world.settle()
    assert world.local_stamp() is not None
    time.sleep(0.06)  # settle the directory's mtimes of this very moment
    world.sync_folder()
    world.settle()


def test_a_maildir_the_status_describes_is_never_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the server changed: the local names are read, not parsed, and the file
    to change is found by its id; settling needs no listing either."""
    world = World(tmp_path)
    settled(world, 20)
    world.remote.open_folder("INBOX").set_flags("3", frozenset("F"), frozenset())
    world.remote.open_folder("INBOX").delete(["5"])
    listed: list[str] = []
    monkeypatch.setattr(MaildirFolder, "list_messages", lambda self: listed.append(self.name))
    counts = world.sync_folder()
    assert (counts.flags_local, counts.deleted_local) == (1, 1), counts
    assert listed == []
    assert sum(name.endswith("FS") for name in os.listdir(world.cur())) == 1
    assert len(os.listdir(world.cur())) == 19
    with monkeypatch.context() as m:
        no_reopening(world, m)
        world.settle()
    assert world.local_stamp() is not None and listed == []
    monkeypatch.undo()
    time.sleep(0.06)
    assert world.sync_folder() == SyncCounts()


def test_a_local_change_after_the_stamps_were_read_is_still_seen(tmp_path: Path) -> None:
    """The stamps are read when the account starts; a rename before the folder's turn
    moves the stamp, so the folder is listed after all."""
    world = World(tmp_path)
    settled(world, 5)
    world.remote.open_folder("INBOX").set_flags("1", frozenset("F"), frozenset())
    states = world.states()
    name = sorted(os.listdir(world.cur()))[-1]
    os.rename(world.cur() / name, world.cur() / (name + "R"))  # after the stamps were read
    time.sleep(0.06)
    counts = world.sync_folder(states)
    assert (counts.flags_local, counts.flags_remote) == (1, 1), counts


@pytest.mark.parametrize("backwards", [False, True])
def test_two_files_with_one_id_in_a_folder_the_status_describes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backwards: bool
) -> None:
    """A reader left a second file with a recorded message's id (in new/, and in cur/
    under other flags).  Read without parsing, the folder still changes the one file
    a full scan keeps (cur/ first, then the first name), and leaves the others alone,
    whatever order the directory lists its names in."""
    listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: sorted(listdir(path), reverse=backwards))
    world = World(tmp_path)
    fill(world, 4)
    world.sync_folder()
    world.settle()
    name = next(n for n in os.listdir(world.cur()) if ",U=3," in n)
    base = name.partition(":2,")[0]
    (world.cur().parent / "new" / base).write_bytes((world.cur() / name).read_bytes())
    (world.cur() / (name + "T")).write_bytes((world.cur() / name).read_bytes())
    time.sleep(0.06)
    world.sync_folder()  # lists the folder (its stamp moved) and records the new stamp
    world.settle()
    assert world.local_stamp() is not None
    time.sleep(0.06)
    world.remote.open_folder("INBOX").set_flags("3", frozenset("F"), frozenset())
    listed: list[str] = []
    monkeypatch.setattr(MaildirFolder, "list_messages", lambda self: listed.append(self.name))

    assert world.sync_folder().flags_local == 1
    assert listed == []
    assert sorted(n for n in os.listdir(world.cur()) if n.startswith(base)) == [
        base + ":2,FS",
        name + "T",
    ]
    assert os.listdir(world.cur().parent / "new") == [base]


def test_a_stamp_is_given_out_once_the_file_system_clock_moved_past_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Too young for the clock rule, a stamp is still trusted when a change made now
    would get a later mtime; not while it would get the same one."""
    World(tmp_path)
    path = str(tmp_path / "INBOX")
    newest = max(os.stat(os.path.join(path, sub)).st_mtime_ns for sub in ("new", "cur"))
    now = time.time_ns()  # within STAMP_SETTLE_FINE of the folder's creation
    monkeypatch.setattr(maildir_stamps, "fs_now", lambda p: newest)  # the same tick
    assert maildir_stamps.folder_stamp(path, now) is None
    monkeypatch.setattr(maildir_stamps, "fs_now", lambda p: newest + 1)  # the next one
    assert maildir_stamps.folder_stamp(path, now) is not None
    monkeypatch.setattr(maildir_stamps, "fs_now", lambda p: None)  # no O_TMPFILE here
    assert maildir_stamps.folder_stamp(path, now) is None
    second = (newest // 10**9 + 1) * 10**9  # a clock of whole seconds: not comparable
    monkeypatch.setattr(maildir_stamps, "fs_now", lambda p: second)
    assert maildir_stamps.folder_stamp(path, now) is None


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="Linux only")
def test_settling_waits_a_clock_tick_not_the_clock_rule(tmp_path: Path) -> None:
    """A folder just written is settled as soon as the file system's clock has moved
    on (a few ms), well before FRESH_RETRY; the probe leaves no file behind."""
    world = World(tmp_path)
    fill(world, 5)
    world.sync_folder()
    started = time.monotonic()
    world.settle()
    assert world.local_stamp() is not None
    assert time.monotonic() - started < 0.04
    assert os.listdir(tmp_path / "INBOX" / "tmp") == []


def test_the_stamps_settled_together_are_written_in_one_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each commit of the status waits for the disk: three folders, one commit."""
    repo = MaildirRepository("local", str(tmp_path), fsync=False)
    status = in_memory_status()
    unsettled = []
    for name in ("a", "b", "c"):
        repo.create_folder(name)
        record = status.ensure_folder(name, name)
        unsettled.append(Unsettled(record.id, name, repo.names_fingerprint(name)))
    commits: list[int] = []
    transaction = status.transaction
    monkeypatch.setattr(status, "transaction", lambda: commits.append(1) or transaction())
    assert settle_later(repo, status, unsettled) == 3
    assert len(commits) == 1
    assert None not in [f.local_stamp for f in status.folders()]
