"""A resync after server changes starts from the Maildir names the status recorded.

Against Dovecot: a folder whose local stamp has not moved is not listed before
its sync (the recorded fingerprint stands for that read), only once at the end
to settle its new stamp; and a change another program makes meanwhile is still
caught by that check, so it is not hidden under a kept stamp.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine import maildir_stamps
from engine.maildir import MaildirFolder, MaildirRepository
from engine.repository import Flags, MsgId
from engine.settings import AccountSettings, MaildirSettings
from engine.status import FolderRecord, StatusDB
from tests.fixtures.dovecot import DovecotUser
from tests.integration.test_stateful import change_archive, synced_twice, traced

pytestmark = pytest.mark.dovecot


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust Maildir stamps at once (the tests make no change in the same clock tick)."""
    monkeypatch.setattr(maildir_stamps, "STAMP_SETTLE", 0.0)


def local_root(settings: AccountSettings) -> str:
    assert isinstance(settings.local, MaildirSettings)
    return settings.local.root


def archive_path(settings: AccountSettings) -> str:
    return os.path.join(local_root(settings), "Archive")


def archive(settings: AccountSettings) -> tuple[FolderRecord, str | None, str | None]:
    """Archive's status record, and its local stamp and names fingerprint as they are."""
    status = StatusDB(settings.status_path)
    try:
        record = next(f for f in status.folders() if f.local_name == "Archive")
    finally:
        status.close()
    repo = MaildirRepository("local", local_root(settings))
    stamp = repo.folder_states(["Archive"])["Archive"].stamp
    return record, stamp, repo.names_fingerprint("Archive")


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every directory os.listdir reads, in order, from any thread."""
    listed: list[str] = []
    lock = threading.Lock()
    listdir = os.listdir

    def spy(path: str) -> list[str]:
        with lock:
            listed.append(str(path))
        return listdir(path)

    monkeypatch.setattr(os, "listdir", spy)
    yield listed


def server_flags(dovecot: DovecotUser) -> dict[bytes, set[bytes]]:
    client = dovecot.client()
    client.select_folder("Archive")
    found = client.fetch(client.search(), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    return {
        data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].strip(): set(data[b"FLAGS"]) - {b"\\Recent"}
        for data in found.values()
    }


def local_flags(settings: AccountSettings) -> dict[bytes, set[bytes]]:
    letters = {"D": b"\\Draft", "F": b"\\Flagged", "R": b"\\Answered", "S": b"\\Seen"}
    out: dict[bytes, set[bytes]] = {}
    for sub in ("cur", "new"):
        directory = os.path.join(archive_path(settings), sub)
        for name in os.listdir(directory):
            with open(os.path.join(directory, name), "rb") as f:
                header = next(line for line in f if line.lower().startswith(b"message-id:"))
            info = name.partition(":2,")[2]
            out[header.strip()] = {letters[c] for c in info if c in letters}
    return out


def test_a_folder_as_recorded_is_listed_only_to_settle(
    tmp_path: Path, dovecot: DovecotUser, settled: None, listings: list[str]
) -> None:
    settings = synced_twice(tmp_path, dovecot, 30)
    record, stamp, names = archive(settings)
    assert (record.local_stamp, record.local_names) == (stamp, names) and names is not None
    change_archive(dovecot.client(), flag=4, delete=9)
    listings.clear()

    result, _ = traced(settings)

    c = result.counts
    assert result.ok and (c.flags_local, c.deleted_local) == (1, 1), c
    cur = os.path.join(archive_path(settings), "cur")
    assert listings.count(cur) == 1, listings  # the settling check, not the start
    record, stamp, names = archive(settings)
    assert (record.local_stamp, record.local_names) == (stamp, names) and names is not None
    assert local_flags(settings) == server_flags(dovecot)
    again, _ = traced(settings)
    assert again.ok and again.counts.changes == 0


def renaming_first(monkeypatch: pytest.MonkeyPatch, cur: str, victim: str) -> Callable[[], bool]:
    """Another program (a mail reader setting \\Answered) renames ``victim`` just before
    the sync's own first rename in that folder; returns whether it did."""
    done: list[bool] = []
    set_flags = MaildirFolder.set_flags

    def reader_first(self: MaildirFolder, id: MsgId, add: Flags, remove: Flags) -> None:
        if self.name == "Archive" and not done:
            os.rename(os.path.join(cur, victim), os.path.join(cur, victim + "R"))
            done.append(True)
        set_flags(self, id, add, remove)

    monkeypatch.setattr(MaildirFolder, "set_flags", reader_first)
    return lambda: bool(done)


def test_a_change_by_another_program_during_that_sync_is_not_hidden(
    tmp_path: Path,
    dovecot: DovecotUser,
    settled: None,
    listings: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = synced_twice(tmp_path, dovecot, 30)
    cur = os.path.join(archive_path(settings), "cur")
    victim = next(n for n in sorted(os.listdir(cur)) if n.endswith(":2,S"))
    change_archive(dovecot.client(), flag=4, delete=9)
    renamed = renaming_first(monkeypatch, cur, victim)
    listings.clear()

    result, _ = traced(settings)

    assert result.ok and result.counts.flags_local == 1 and renamed(), result.counts
    assert listings.count(cur) == 1, listings  # the check that finds the rename
    record, stamp, _ = archive(settings)
    assert record.local_stamp != stamp and record.local_names is None
    monkeypatch.undo()

    again, _ = traced(settings)

    assert again.ok and again.counts.flags_remote == 1, again.counts
    assert local_flags(settings) == server_flags(dovecot)
    record, stamp, names = archive(settings)
    assert (record.local_stamp, record.local_names) == (stamp, names)
