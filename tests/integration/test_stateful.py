"""Stateful sync against Dovecot, checked by the commands that cross the wire."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from engine import maildir_stamps
from engine.account_sync import AccountResult, sync_account
from engine.events import discard
from engine.imap import ImapRepository
from engine.imap_connect import Client
from engine.settings import AccountSettings
from engine.status import Pair, StatusDB
from tests.fixtures.dovecot import DovecotUser
from tests.integration.test_sync import account, message, populate

pytestmark = pytest.mark.dovecot


def traced(settings: AccountSettings) -> tuple[AccountResult, list[str]]:
    lines: list[str] = []
    lock = threading.Lock()

    def trace(line: str) -> None:
        with lock:
            lines.append(line)

    return sync_account(settings, discard, trace=trace), lines


def commands(lines: list[str]) -> list[str]:
    """Client commands without their tags."""
    return [line[3:].split(" ", 1)[1] for line in lines if line.startswith("C: ")]


def synced_twice(tmp_path: Path, dovecot: DovecotUser, count: int) -> AccountSettings:
    """``count`` messages per folder, synced twice (the second run records the stamps
    of the folders the first one created)."""
    populate(dovecot.client(), count)
    settings = account(tmp_path, dovecot)
    traced(settings)
    traced(settings)
    return settings


def change_archive(client: Any, flag: int, delete: int, new: int | None = None) -> list[int]:
    """Another client flags one message of Archive, expunges one, maybe adds one."""
    client.select_folder("Archive")
    uids = sorted(client.search())
    client.add_flags(uids[flag], [b"\\Flagged"])
    client.delete_messages(uids[delete])
    client.expunge()
    if new is not None:
        client.append("Archive", message("Archive", new))
    return uids


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust Maildir stamps at once (the tests make no change in the same clock tick)."""
    monkeypatch.setattr(maildir_stamps, "STAMP_SETTLE", 0.0)


def test_noop_sync_selects_no_folder(tmp_path: Path, dovecot: DovecotUser, settled: None) -> None:
    populate(dovecot.client(), 20)
    settings = account(tmp_path, dovecot)
    assert traced(settings)[0].ok
    assert traced(settings)[0].ok  # records stamps for the folders the first run created

    result, lines = traced(settings)

    sent = commands(lines)
    assert result.ok and result.counts.changes == 0
    assert not [c for c in sent if c.startswith(("SELECT", "EXAMINE"))], sent
    assert any(c.startswith("LIST") and "RETURN (STATUS" in c for c in sent), sent
    assert len(sent) <= 6, sent  # capability, login, enable(s), list-status, logout


def test_one_flag_change_fetches_one_message(
    tmp_path: Path, dovecot: DovecotUser, settled: None
) -> None:
    settings = synced_twice(tmp_path, dovecot, 50)
    change_archive(dovecot.client(), flag=5, delete=7, new=777)

    result, lines = traced(settings)

    assert result.ok
    c = result.counts
    assert (c.flags_local, c.deleted_local, c.copied_to_local) == (1, 1, 1)
    sent = commands(lines)
    selects = [s for s in sent if s.startswith("SELECT")]
    assert len(selects) == 1 and "Archive" in selects[0], sent
    fetches = [s for s in sent if s.startswith("UID FETCH")]
    assert not [f for f in fetches if "1:*" in f and "CHANGEDSINCE" not in f], fetches
    answers = [line for line in lines if line.startswith("S: * ") and " FETCH " in line]
    # the flag change and the new message; the body fetch of the new one
    assert len(answers) <= 3, answers
    again, _ = traced(settings)
    assert again.ok and again.counts.changes == 0


def test_the_sync_after_a_changing_one_opens_nothing(tmp_path: Path, dovecot: DovecotUser) -> None:
    """No settling fixture: the real Maildir stamps, read right after the writes."""
    client = dovecot.client()
    populate(client, 20)
    settings = account(tmp_path, dovecot)
    assert traced(settings)[0].counts.copied_to_local == 200

    quiet, lines = traced(settings)

    sent = commands(lines)
    assert quiet.counts.changes == 0
    assert not [c for c in sent if c.startswith(("SELECT", "EXAMINE", "UID FETCH"))], sent
    client.select_folder("INBOX")
    client.add_flags(sorted(client.search())[1], [b"\\Flagged"])  # n=1 had no flags
    assert traced(settings)[0].counts.flags_local == 1
    _, lines = traced(settings)
    assert not [c for c in commands(lines) if c.startswith("SELECT")], commands(lines)


def flagged_in_two_folders(tmp_path: Path, dovecot: DovecotUser) -> AccountSettings:
    """A synced account, then one message flagged on the server in INBOX and Archive."""
    client = dovecot.client()
    populate(client, 5)
    settings = account(tmp_path, dovecot)
    traced(settings)
    for folder in ("INBOX", "Archive"):
        client.select_folder(folder)
        client.add_flags(sorted(client.search())[1], [b"\\Flagged"])
    return settings


def test_the_numbers_of_all_synced_folders_go_in_one_commit_at_the_end(
    tmp_path: Path, dovecot: DovecotUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every folder's numbers and stamps are written once, by the account, after the
    last folder: not one commit per folder on a worker's way."""
    settings = flagged_in_two_folders(tmp_path, dovecot)
    written: list[list[int]] = []
    real = StatusDB.finish_folders

    def spy(self: StatusDB, finished: Any, local_stamps: Any = ()) -> None:
        written.append([f.folder_id for f in finished])
        real(self, finished, local_stamps)

    monkeypatch.setattr(StatusDB, "finish_folders", spy)

    result, _ = traced(settings)

    assert result.ok and result.counts.flags_local == 2
    assert len(written) == 1 and len(written[0]) == 2, written
    again, lines = traced(settings)
    assert again.ok and not [c for c in commands(lines) if c.startswith("SELECT")], lines


def test_each_worker_checkpoints_the_status_when_it_runs_out_of_folders(
    tmp_path: Path, dovecot: DovecotUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that synced a changed folder copies the WAL into the status file when
    it is done, before the account's last commit, so the last close has little left
    to copy; a run that changed nothing checkpoints nothing."""
    settings = flagged_in_two_folders(tmp_path, dovecot)
    steps: list[str] = []
    checkpoint, finish = StatusDB.checkpoint, StatusDB.finish_folders

    def checkpointed(self: StatusDB) -> None:
        steps.append("checkpoint " + threading.current_thread().name)
        checkpoint(self)

    def finished(self: StatusDB, *args: Any) -> None:
        steps.append("finish")
        finish(self, *args)

    monkeypatch.setattr(StatusDB, "checkpoint", checkpointed)
    monkeypatch.setattr(StatusDB, "finish_folders", finished)

    result, _ = traced(settings)

    assert result.ok and result.counts.flags_local == 2
    assert steps[-1] == "finish" and steps[:-1], steps
    assert all(s.startswith("checkpoint ") for s in steps[:-1]), steps
    assert len(set(steps[:-1])) == len(steps) - 1, steps  # once per worker
    steps.clear()
    quiet, _ = traced(settings)
    assert quiet.ok and quiet.counts.changes == 0 and steps == [], steps  # nothing written


def test_a_local_change_reads_nothing_from_the_unchanged_server(
    tmp_path: Path, dovecot: DovecotUser, settled: None
) -> None:
    """Only the Maildir changed: the server's folder is SELECTed for the STORE, and its
    SELECT numbers, the recorded ones, stand for its listing (no CHANGEDSINCE fetch)."""
    settings = synced_twice(tmp_path, dovecot, 20)
    cur = tmp_path / "Mail" / "Archive" / "cur"
    name = sorted(p.name for p in cur.iterdir() if "F" not in p.name.partition(":2,")[2])[0]
    (cur / name).rename(cur / (name + "F" if ":2," in name else name + ":2,F"))

    result, lines = traced(settings)

    sent = commands(lines)
    assert result.ok and result.counts.flags_remote == 1, (result.counts, name, sent)
    assert {s for s in sent if s.startswith("SELECT")} == {'SELECT "Archive"'}, sent
    store = next(i for i, s in enumerate(sent) if s.startswith("UID STORE"))
    # Nothing listed before the change; afterwards engine.settle looks once.
    assert not [s for s in sent[:store] if s.startswith("UID FETCH")], sent
    _, lines = traced(settings)  # the server's new stamp was kept: its changes were ours
    assert not [s for s in commands(lines) if s.startswith("SELECT")], commands(lines)


def test_a_second_connection_logs_in_during_the_list_when_the_maildir_shows_work(
    tmp_path: Path, dovecot: DovecotUser, settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two local folders changed: the second worker is on its way before the server
    is even listed.  Only server changes: it starts once the LIST has told them."""
    settings = synced_twice(tmp_path, dovecot, 10)
    alive_at_list: list[set[str]] = []
    real = ImapRepository.list_folders

    def spy(self: ImapRepository) -> list[str]:
        alive_at_list.append({t.name for t in threading.enumerate()})
        return real(self)

    monkeypatch.setattr(ImapRepository, "list_folders", spy)
    for folder in ("INBOX", "Archive"):
        cur = tmp_path / "Mail" / folder / "cur"
        name = sorted(p.name for p in cur.iterdir() if "F" not in p.name.partition(":2,")[2])[0]
        (cur / name).rename(cur / (name + "F" if ":2," in name else name + ":2,F"))

    result, _ = traced(settings)

    assert result.ok and result.counts.flags_remote == 2, result.counts
    assert "acct.2" in alive_at_list[0], alive_at_list
    change_archive(dovecot.client(), flag=1, delete=2)
    client = dovecot.client()
    client.select_folder("INBOX")
    client.add_flags(sorted(client.search())[3], [b"\\Flagged"])
    alive_at_list.clear()

    result, _ = traced(settings)

    assert result.ok and result.counts.deleted_local == 1, result.counts
    assert "acct.2" not in alive_at_list[0], alive_at_list


def test_server_changes_read_only_the_status_rows_they_name(
    tmp_path: Path, dovecot: DovecotUser, settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QRESYNC told what changed, and the Maildir is as recorded: the plan comes from the
    pairs those changes name, never from the whole status of the folder."""
    settings = synced_twice(tmp_path, dovecot, 40)
    client = dovecot.client()
    change_archive(client, flag=3, delete=9)
    looked_up: list[int] = []
    whole = StatusDB.pairs
    named = StatusDB.pairs_of

    def pairs(self: StatusDB, folder_id: int) -> list[Pair]:
        looked_up.append(-1)
        return whole(self, folder_id)

    def pairs_of(
        self: StatusDB, folder_id: int, local: Iterable[str], remote: Iterable[str]
    ) -> list[Pair]:
        local, remote = list(local), list(remote)
        looked_up.append(len(local) + len(remote))
        return named(self, folder_id, local, remote)

    monkeypatch.setattr(StatusDB, "pairs", pairs)
    monkeypatch.setattr(StatusDB, "pairs_of", pairs_of)
    result, lines = traced(settings)

    assert result.ok and (result.counts.flags_local, result.counts.deleted_local) == (1, 1)
    assert looked_up == [2], looked_up
    # The folder is opened and asked for its changes in one round trip.
    sent = commands(lines)
    assert [s for s in sent if s.startswith(("SELECT", "UID FETCH"))] == [
        'SELECT "Archive"',
        "UID FETCH 1:* (UID FLAGS RFC822.SIZE) (CHANGEDSINCE "
        + sent[sent.index('SELECT "Archive"') + 1].split("CHANGEDSINCE ")[1],
    ], sent
    assert round_trips(lines, ("SELECT", "UID FETCH")) == 1, lines
    files = [
        p.name for sub in ("cur", "new") for p in (tmp_path / "Mail" / "Archive" / sub).iterdir()
    ]
    flagged = [
        d for d in client.fetch(client.search(), ["FLAGS"]).values() if b"\\Flagged" in d[b"FLAGS"]
    ]
    assert sum(1 for name in files if "F" in name.partition(":2,")[2]) == len(flagged)
    assert len(files) == 39


def round_trips(lines: list[str], kinds: tuple[str, ...] = ("UID STORE", "UID EXPUNGE")) -> int:
    """How often the client sent one of ``kinds`` while none was awaiting its answer."""
    waits, waiting = 0, set()
    for line in lines:
        tag, _, rest = line[3:].partition(" ")
        if line.startswith("C: ") and rest.startswith(kinds):
            waits += not waiting
            waiting.add(tag)
        elif line.startswith("S: "):
            waiting.discard(tag)
    return waits


def test_local_flag_changes_and_deletions_take_one_round_trip(
    tmp_path: Path, dovecot: DovecotUser, settled: None
) -> None:
    """Two different flag changes and two deletions: the STORE of \\Deleted and its
    EXPUNGE go out together with the STOREs of the flags."""
    settings = synced_twice(tmp_path, dovecot, 20)
    client = dovecot.client()
    cur = tmp_path / "Mail" / "Archive" / "cur"
    seen = sorted(p.name for p in cur.iterdir() if p.name.endswith(":2,S"))
    os.rename(cur / seen[0], cur / (seen[0] + "F").replace(":2,SF", ":2,FS"))  # +F
    os.rename(cur / seen[1], cur / seen[1].removesuffix("S"))  # -S
    os.unlink(cur / seen[2])
    os.unlink(cur / seen[3])

    result, lines = traced(settings)

    c = result.counts
    assert result.ok and (c.flags_remote, c.deleted_remote) == (2, 2), c
    sent = commands(lines)
    assert len([s for s in sent if s.startswith(("UID STORE", "UID EXPUNGE"))]) == 4, sent
    assert round_trips(lines) == 1, lines
    # Opening the unchanged server folder, then (settling) its new numbers and its
    # changes since the sync began, read together without selecting it again.
    opening = ("SELECT", "STATUS", "UID FETCH")
    assert [s.split(" (")[0] for s in sent if s.startswith(opening)] == [
        'SELECT "Archive"',
        'STATUS "Archive"',
        "UID FETCH 1:*",
    ], sent
    assert round_trips(lines, opening) == 2, lines
    client.select_folder("Archive")
    flags = client.fetch(client.search(), ["FLAGS"]).values()
    local = [p.name.partition(":2,")[2] for d in (cur, cur.parent / "new") for p in d.iterdir()]
    assert len(flags) == len(local) == 18
    assert sum(b"\\Flagged" in f[b"FLAGS"] for f in flags) == sum("F" in x for x in local)
    assert sum(b"\\Seen" in f[b"FLAGS"] for f in flags) == sum("S" in x for x in local)
    again, lines = traced(settings)  # the stamps the STATUS gave are the server's
    assert again.ok and not [c for c in commands(lines) if c.startswith("SELECT")], lines


def test_condstore_without_qresync_finds_removals_by_counting_and_searching(
    tmp_path: Path, dovecot: DovecotUser, settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server with CONDSTORE only (QRESYNC hidden from the client): the changes still
    come with the SELECT, and a removal is found by one UID SEARCH."""
    has = Client.has_capability
    monkeypatch.setattr(Client, "has_capability", lambda self, c: c != "QRESYNC" and has(self, c))
    settings = synced_twice(tmp_path, dovecot, 30)
    change_archive(dovecot.client(), flag=4, delete=8, new=555)

    result, lines = traced(settings)

    c = result.counts
    assert result.ok and (c.flags_local, c.deleted_local, c.copied_to_local) == (1, 1, 1), c
    sent = commands(lines)
    assert not [s for s in sent if "VANISHED" in s or s.startswith("ENABLE QRESYNC")], sent
    assert len([s for s in sent if s.startswith("UID SEARCH")]) == 1, sent
    assert round_trips(lines, ("SELECT", "UID FETCH")) <= 3, lines  # open+changes, body, settle
    again, _ = traced(settings)
    assert again.ok and again.counts.changes == 0
