"""A Maildir's names are compared with the status while the server opens the folder."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from engine.errors import FolderError
from engine.maildir import MaildirFolder
from engine.maildir_compare import Recorded
from engine.repository import Changes, Folder
from tests.unit.test_settle_maildir import World, settled


def renamed_locally(tmp_path: Path) -> World:
    """A settled folder whose first file a mail reader has just flagged."""
    world = World(tmp_path)
    settled(world, 10)
    name = sorted(os.listdir(world.cur()))[0]
    os.rename(world.cur() / name, world.cur() / (name + "F"))
    time.sleep(0.06)  # the rename's stamp settles
    return world


def test_the_local_side_is_read_while_the_server_opens_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = renamed_locally(tmp_path)
    compared = threading.Event()
    compare = MaildirFolder.changes_from

    def spy(self: MaildirFolder, recorded: Recorded) -> Changes:
        found = compare(self, recorded)
        compared.set()
        assert found is not None
        return found

    monkeypatch.setattr(MaildirFolder, "changes_from", spy)
    open_folder = world.remote.open_folder
    order: list[str] = []

    def slow_server(name: str) -> Folder:
        order.append("SELECT sent")
        order.append("local side compared" if compared.wait(2) else "nothing meanwhile")
        return open_folder(name)

    monkeypatch.setattr(world.remote, "open_folder", slow_server)
    counts = world.sync_folder()
    assert order == ["SELECT sent", "local side compared"]
    assert counts.flags_remote == 1, counts


def test_the_worker_compares_and_a_helper_waits_for_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison's large allocations are the worker's own (one malloc arena for
    everything it does); only the SELECT goes to a helper, under the worker's name."""
    world = renamed_locally(tmp_path)
    threads: dict[str, threading.Thread] = {}
    compare = MaildirFolder.changes_from

    def spy(self: MaildirFolder, recorded: Recorded) -> Changes:
        threads["compared"] = threading.current_thread()
        found = compare(self, recorded)
        assert found is not None
        return found

    monkeypatch.setattr(MaildirFolder, "changes_from", spy)
    open_folder = world.remote.open_folder

    def server(name: str) -> Folder:
        threads["opened"] = threading.current_thread()
        return open_folder(name)

    monkeypatch.setattr(world.remote, "open_folder", server)
    world.sync_folder()
    assert threads["compared"] is threading.current_thread()
    assert threads["opened"] is not threading.current_thread()
    assert threads["opened"].name == threading.current_thread().name


def unreadable(self: MaildirFolder, recorded: object) -> Changes:
    """A Maildir comparison that fails."""
    raise FolderError("cannot list cur/")


def test_a_server_that_cannot_open_the_folder_fails_it_after_the_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper's error ends the folder in the worker, and wins over a local one."""
    world = renamed_locally(tmp_path)

    def missing(name: str) -> Folder:
        raise FolderError("no such folder on the server")

    monkeypatch.setattr(world.remote, "open_folder", missing)
    with pytest.raises(FolderError, match="no such folder on the server"):
        world.sync_folder()
    monkeypatch.setattr(MaildirFolder, "changes_from", unreadable)
    with pytest.raises(FolderError, match="no such folder on the server"):
        world.sync_folder()


def test_a_local_side_that_cannot_be_read_fails_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its error ends the folder, and the remote folder opened meanwhile is closed."""
    world = renamed_locally(tmp_path)

    monkeypatch.setattr(MaildirFolder, "changes_from", unreadable)
    open_folder = world.remote.open_folder
    closed: list[str] = []

    def watched(name: str) -> Folder:
        folder = open_folder(name)
        monkeypatch.setattr(folder, "close", lambda: closed.append(name))
        return folder

    monkeypatch.setattr(world.remote, "open_folder", watched)
    with pytest.raises(FolderError, match="cannot list cur/"):
        world.sync_folder()
    assert closed == ["INBOX"]
