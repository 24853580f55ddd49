"""A Maildir's names fingerprint recorded with its stamp, and a sync that starts from it.

Each way a local stamp is recorded records the fingerprint of the names under
it, or none; a sync whose local stamp has not moved starts from the recorded
fingerprint instead of reading the directory, and still never keeps a stamp
under which another program's change would hide.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from engine import maildir_stamps
from engine.events import SyncCounts
from engine.maildir import MaildirFolder
from engine.repository import MsgId
from engine.settle import Unsettled, settle_later
from tests.unit.test_settle_maildir import World, fill, settled


def recorded(world: World) -> tuple[str | None, str | None]:
    """The folder's recorded local stamp and names fingerprint."""
    (record,) = world.status.folders()
    return record.local_stamp, record.local_names


def now(world: World) -> tuple[str | None, str | None]:
    """The folder's stamp and names fingerprint as they are."""
    return (
        world.local.folder_states(["INBOX"])["INBOX"].stamp,
        world.local.names_fingerprint("INBOX"),
    )


def no_name_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: MaildirFolder) -> None:
        raise AssertionError("read its names although the status had them")

    monkeypatch.setattr(MaildirFolder, "read_names", refuse)


def test_a_settled_stamp_is_recorded_with_its_names(tmp_path: Path) -> None:
    world = World(tmp_path)
    fill(world, 5)
    world.sync_folder()
    assert world.worker is not None and world.worker.settle_later  # written: settled later
    world.settle()
    assert recorded(world) == now(world) and None not in recorded(world)


def test_a_sync_from_the_recorded_names_checks_its_later_reads_against_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No read to start with.  This remote gives no changes, only a listing, so the
    file to delete is looked for by a directory read: checked against the recorded
    names moved along by the flag change, it agrees, and so does the read at the end."""
    world = World(tmp_path)
    settled(world, 20)
    world.remote.open_folder("INBOX").set_flags("3", frozenset("F"), frozenset())
    world.remote.open_folder("INBOX").delete(["5"])
    listed: list[str] = []
    listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: listed.append(path) or listdir(path))
    no_name_reads(monkeypatch)

    counts = world.sync_folder()
    world.settle()

    assert (counts.flags_local, counts.deleted_local) == (1, 1), counts
    assert sorted(listed) == sorted(str(world.cur().parent / sub) for sub in ("new", "cur") * 2)
    assert recorded(world) == now(world) and None not in recorded(world)
    time.sleep(0.06)
    assert world.sync_folder() == SyncCounts()


def test_a_change_by_another_program_during_such_a_sync_is_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mail reader flags a file while the sync changes another one: the sync's stamp
    is not kept, and the next sync sends the reader's flag."""
    world = World(tmp_path)
    settled(world, 10)
    before = recorded(world)
    world.remote.open_folder("INBOX").set_flags("3", frozenset("F"), frozenset())
    name = next(n for n in os.listdir(world.cur()) if ",U=7," in n)
    set_flags = MaildirFolder.set_flags

    def reader_first(
        self: MaildirFolder, id: MsgId, add: frozenset[str], rm: frozenset[str]
    ) -> None:
        if os.path.exists(world.cur() / name):
            os.rename(world.cur() / name, world.cur() / (name + "R"))  # "2,S" -> "2,SR"
        set_flags(self, id, add, rm)

    monkeypatch.setattr(MaildirFolder, "set_flags", reader_first)
    no_name_reads(monkeypatch)
    assert world.sync_folder().flags_local == 1
    world.settle()
    monkeypatch.undo()

    assert recorded(world) == (before[0], None) and before[0] != now(world)[0]
    time.sleep(0.06)
    counts = world.sync_folder()
    assert counts.flags_remote == 1, counts
    world.settle()
    assert recorded(world) == now(world)


def test_a_folder_the_sync_did_not_write_keeps_the_names_it_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the Maildir changed: its stamp from before the sync is kept with the
    names its comparison read, and the sync after the next server change starts
    from them."""
    world = World(tmp_path)
    settled(world, 10)
    name = sorted(os.listdir(world.cur()))[0]
    os.rename(world.cur() / name, world.cur() / (name + "F"))
    time.sleep(0.06)
    assert world.sync_folder().flags_remote == 1
    assert world.worker is not None and not world.worker.settle_later
    assert recorded(world) == now(world) and None not in recorded(world)
    world.remote.open_folder("INBOX").set_flags("4", frozenset("F"), frozenset())
    no_name_reads(monkeypatch)
    assert world.sync_folder().flags_local == 1


def test_a_folder_listed_again_to_settle_is_recorded_with_its_names(tmp_path: Path) -> None:
    """Without a tracked fingerprint, settle_later lists the folder: the names of that
    listing go with the stamp."""
    world = World(tmp_path)
    settled(world, 4)
    (record,) = world.status.folders()
    world.status.finish_folders([], [(record.id, "maildir:0:0", None)])
    assert settle_later(world.local, world.status, [Unsettled(record.id, "INBOX")]) == 1
    assert recorded(world) == now(world) and None not in recorded(world)


def test_a_stamp_kept_without_names_is_read_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status written before fingerprints (or without one): the names are read."""
    world = World(tmp_path)
    settled(world, 4)
    (record,) = world.status.folders()
    world.status.finish_folders([], [(record.id, now(world)[0] or "", None)])
    world.remote.open_folder("INBOX").set_flags("2", frozenset("F"), frozenset())
    reads: list[str] = []
    read_names = MaildirFolder.read_names
    monkeypatch.setattr(
        MaildirFolder, "read_names", lambda self: reads.append(self.name) or read_names(self)
    )
    with monkeypatch.context() as m:
        m.setattr(maildir_stamps, "fs_now", lambda path: None)
        assert world.sync_folder().flags_local == 1
    assert reads == ["INBOX"]
    world.settle()
    assert recorded(world) == now(world) and None not in recorded(world)
