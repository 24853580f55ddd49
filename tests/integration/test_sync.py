"""The engine end to end: a Maildir and a real Dovecot account, both ways."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import imapclient
import pytest

from engine.account_sync import AccountResult, sync_account
from engine.content import to_lf
from engine.events import Event, Log, PlannedAction, ThreadStateChanged
from engine.maildir import MaildirRepository
from engine.repository import Message
from engine.settings import AccountSettings, MaildirSettings, SyncOptions
from tests.fixtures.dovecot import DovecotUser

pytestmark = pytest.mark.dovecot

FOLDERS = [
    "INBOX",
    "Archive",
    "Archive.2024",
    "Archive.2024.Q1",
    "Lists",
    "Lists.python",
    "Sent",
    "Entwürfe",
    "Projekte.Ünïcode",
    "日本語",
]


def message(folder: str, n: int, size: int = 0) -> bytes:
    body = f"Message {n} of {folder}, grüße.\r\n" + ("x" * 70 + "\r\n") * size
    return (
        f"From: Sender {n} <s{n}@example.org>\r\n"
        f"To: me@example.org\r\n"
        f"Subject: =?utf-8?q?n=C2=B0{n}?= in {folder.encode('ascii', 'replace').decode()}\r\n"
        f"Message-ID: <{n}.{abs(hash(folder))}@test>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n{body}"
    ).encode()


def populate(client: imapclient.IMAPClient, per_folder: int) -> dict[str, set[bytes]]:
    """Fill the server through an independent connection; returns bodies per folder."""
    client.folder_encode = True
    expected: dict[str, set[bytes]] = {}
    for folder in FOLDERS:
        if folder != "INBOX":
            client.create_folder(folder)
        bodies = [message(folder, n, n % 7) for n in range(per_folder)]
        items = [{"msg": b, "flags": _flags_for(n)} for n, b in enumerate(bodies)]
        for start in range(0, len(items), 100):
            client.multiappend(folder, items[start : start + 100])
        expected[folder] = set(bodies)
    return expected


def _flags_for(n: int) -> list[bytes]:
    chosen = [(3, b"\\Seen"), (7, b"\\Flagged"), (11, b"\\Answered"), (13, b"\\Draft")]
    return [flag for every, flag in chosen if n % every == 0]


def account(tmp: Path, user: DovecotUser, **options: Any) -> AccountSettings:
    return AccountSettings(
        name="acct",
        local=MaildirSettings(name="local", root=str(tmp / "Mail"), sep="."),
        remote=user.settings(maxconnections=2),
        status_path=str(tmp / "state" / "acct.sqlite"),
        options=SyncOptions(**options),
    )


def run(settings: AccountSettings) -> tuple[AccountResult, list[Event]]:
    events: list[Event] = []
    lock = threading.Lock()

    def emit(e: Event) -> None:
        with lock:
            events.append(e)

    return sync_account(settings, emit), events


def local_bodies(root: Path, folder: str) -> list[bytes]:
    repo = MaildirRepository("check", str(root), sep=".")
    box = repo.open_folder(folder)
    ids = [m.id for m in box.list_messages()]
    return [f.message.data for f in box.fetch(ids)]


def server_bodies(client: imapclient.IMAPClient, folder: str) -> dict[int, tuple[bytes, Any]]:
    client.select_folder(folder)
    uids = client.search()
    data = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"]) if uids else {}
    return {uid: (d[b"BODY[]"], set(d[b"FLAGS"])) for uid, d in data.items()}


def test_first_sync_then_nothing_then_changes_both_ways(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    client = dovecot.client()
    expected = populate(client, 200)
    settings = account(tmp_path, dovecot)

    result, _ = run(settings)
    assert result.ok, result
    assert result.counts.copied_to_local == 2000
    for folder, bodies in expected.items():
        got = local_bodies(tmp_path / "Mail", folder)
        assert len(got) == len(bodies), folder
        assert set(got) == {to_lf(b) for b in bodies}, folder
        _check_converged(tmp_path, client, folder)

    again, _ = run(settings)
    assert again.ok and again.counts.changes == 0, again.counts

    _change_both_sides(tmp_path, client)
    third, _ = run(settings)
    assert third.ok, third
    c = third.counts
    assert (c.copied_to_local, c.copied_to_remote) == (1, 1)
    assert (c.deleted_local, c.deleted_remote) == (1, 1)
    assert c.flags_local >= 1 and c.flags_remote >= 1
    _check_converged(tmp_path, client, "Archive")
    fourth, _ = run(settings)
    assert fourth.counts.changes == 0, fourth.counts


def _change_both_sides(tmp: Path, client: imapclient.IMAPClient) -> None:
    client.select_folder("Archive")
    uids = sorted(client.search())
    client.add_flags(uids[2], [b"\\Flagged"])  # n=2 had no flags
    client.delete_messages(uids[1])
    client.expunge()
    client.append("Archive", message("Archive", 9001))
    box = MaildirRepository("edit", str(tmp / "Mail"), sep=".").open_folder("Archive")
    listing = box.list_messages()
    unseen = [m for m in listing if "S" not in m.flags]
    box.set_flags(unseen[5].id, frozenset("S"), frozenset())
    box.delete([unseen[6].id])
    from engine.repository import Message

    box.append(Message(message("Archive", 9002), frozenset("F")))


def _check_converged(tmp: Path, client: imapclient.IMAPClient, folder: str) -> None:
    remote = server_bodies(client, folder)
    box = MaildirRepository("check", str(tmp / "Mail"), sep=".").open_folder(folder)
    listing = {m.id: m for m in box.list_messages()}
    local = {to_lf(f.message.data): listing[f.id].flags for f in box.fetch(list(listing))}
    assert len(local) == len(remote) == len(listing)
    letters = {b"\\Seen": "S", b"\\Flagged": "F", b"\\Answered": "R", b"\\Draft": "D"}
    for body, flags in remote.values():
        assert to_lf(body) in local
        assert local[to_lf(body)] == frozenset(letters[f] for f in flags if f in letters)


def test_dry_run_changes_nothing(tmp_path: Path, dovecot: DovecotUser) -> None:
    client = dovecot.client()
    client.folder_encode = True
    client.create_folder("Entwürfe")
    client.append("Entwürfe", message("Entwürfe", 1))
    client.append("INBOX", message("INBOX", 2))
    settings = account(tmp_path, dovecot, dry_run=True)

    result, events = run(settings)

    planned = [e.description for e in events if isinstance(e, PlannedAction)]
    assert result.ok
    assert any("create folder 'Entwürfe'" in p for p in planned), planned
    assert sum(p.startswith("copy remote message") for p in planned) == 2
    assert not (tmp_path / "Mail").exists()
    assert not (tmp_path / "state").exists()


def test_mass_deletion_is_refused_until_forced(tmp_path: Path, dovecot: DovecotUser) -> None:
    client = dovecot.client()
    for n in range(30):
        client.append("INBOX", message("INBOX", n))
    settings = account(tmp_path, dovecot)
    assert run(settings)[0].ok
    client.select_folder("INBOX")
    client.delete_messages(client.search())
    client.expunge()

    refused, _ = run(settings)
    assert refused.folders_failed == 1
    assert len(local_bodies(tmp_path / "Mail", "INBOX")) == 30

    forced, _ = run(replace(settings, options=SyncOptions(force_deletes=True)))
    assert forced.ok and forced.counts.deleted_local == 30
    assert local_bodies(tmp_path / "Mail", "INBOX") == []


def test_status_file_is_private(tmp_path: Path, dovecot: DovecotUser) -> None:
    assert run(account(tmp_path, dovecot))[0].ok
    mode = os.stat(tmp_path / "state" / "acct.sqlite").st_mode & 0o777
    assert mode == 0o600


def test_maxage_copies_only_young_messages(tmp_path: Path, dovecot: DovecotUser) -> None:
    import datetime as dt

    client = dovecot.client()
    now = dt.datetime.now()
    client.append("INBOX", message("INBOX", 1), msg_time=now - dt.timedelta(days=100))
    client.append("INBOX", message("INBOX", 2), msg_time=now - dt.timedelta(days=2))
    settings = account(tmp_path, dovecot, maxage_days=30)

    first, _ = run(settings)
    assert first.ok and first.counts.copied_to_local == 1
    assert local_bodies(tmp_path / "Mail", "INBOX") == [to_lf(message("INBOX", 2))]
    again, _ = run(settings)
    assert again.ok and again.counts.changes == 0


def _snapshot(tmp: Path, client: imapclient.IMAPClient) -> tuple[Any, Any]:
    files = sorted(
        (str(p.relative_to(tmp)), p.read_bytes()) for p in (tmp / "Mail").rglob("*") if p.is_file()
    )
    server = {f: server_bodies(client, f) for f in ("INBOX", "Archive")}
    status = (tmp / "state" / "acct.sqlite").read_bytes()
    return files, (server, status)


def test_dry_run_after_changes_on_both_sides_changes_nothing(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    client = dovecot.client()
    client.create_folder("Archive")
    for n in range(20):
        client.append("INBOX", message("INBOX", n))
        client.append("Archive", message("Archive", n))
    settings = account(tmp_path, dovecot)
    assert run(settings)[0].ok
    _change_both_sides(tmp_path, client)
    before = _snapshot(tmp_path, client)

    result, events = run(replace(settings, options=SyncOptions(dry_run=True)))

    assert _snapshot(tmp_path, client) == before
    planned = [e.description for e in events if isinstance(e, PlannedAction)]
    assert sum(p.startswith("copy remote") for p in planned) == 1
    assert sum(p.startswith("copy local") for p in planned) == 1
    assert sum(p.startswith("delete") for p in planned) == 2
    assert any(p.startswith("flags of remote") and "+S" in p for p in planned), planned
    assert result.counts.changes >= 6
    real, _ = run(settings)
    assert replace(real.counts, bytes=0) == replace(result.counts, bytes=0)


def test_flags_changed_on_both_sides_merge_with_a_warning(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    from engine.events import Level, Log

    client = dovecot.client()
    client.append("INBOX", message("INBOX", 1))
    settings = account(tmp_path, dovecot)
    assert run(settings)[0].ok
    client.select_folder("INBOX")
    client.add_flags(client.search()[0], [b"\\Flagged"])
    box = MaildirRepository("edit", str(tmp_path / "Mail"), sep=".").open_folder("INBOX")
    box.set_flags(box.list_messages()[0].id, frozenset("S"), frozenset())

    result, events = run(settings)

    warnings = [e.message for e in events if isinstance(e, Log) and e.level is Level.WARNING]
    assert any("changed on both sides" in w and "merged to FS" in w for w in warnings), warnings
    assert (result.counts.flags_local, result.counts.flags_remote) == (1, 1)
    _, flags = next(iter(server_bodies(client, "INBOX").values()))
    assert flags == {b"\\Flagged", b"\\Seen"}


def test_uploads_go_in_multiple_appends_and_a_bad_message_is_skipped_alone(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    """60 new local messages: two MULTIAPPENDs (50 + 10).  An empty file among them
    makes its MULTIAPPEND fail; that chunk goes one by one and only the empty one
    is skipped, the folder and the account carry on."""
    settings = account(tmp_path, dovecot)
    assert run(settings)[0].ok  # creates the Maildir
    box = MaildirRepository("local", str(tmp_path / "Mail"), sep=".").open_folder("INBOX")
    for n in range(60):
        box.append(Message(message("INBOX", n), frozenset("S" if n % 2 else "")))
    box.flush()
    lines: list[str] = []
    result = sync_account(settings, lambda e: None, trace=lines.append)
    sent = [line.split(" ", 2)[2] for line in lines if line.startswith("C: ")]
    appends = [s for s in sent if s.startswith("APPEND ")]
    assert result.ok and result.counts.copied_to_remote == 60, result
    assert len(appends) == 2, appends
    client = dovecot.client()
    assert len(server_bodies(client, "INBOX")) == 60

    cur = tmp_path / "Mail" / "INBOX" / "cur"
    (cur / "1700000000.empty.host:2,S").write_bytes(b"")
    for n in range(60, 64):
        box.append(Message(message("INBOX", n), frozenset()))
    box.flush()
    lines.clear()
    result = sync_account(settings, lambda e: None, trace=lines.append)
    sent = [line.split(" ", 2)[2] for line in lines if line.startswith("C: ")]
    appends = [s for s in sent if s.startswith("APPEND ")]
    assert result.counts.copied_to_remote == 4 and result.counts.skipped == 1, result
    assert result.folders_failed == 0 and len(appends) == 1 + 5, "\n".join(lines)
    assert len(server_bodies(client, "INBOX")) == 64


def test_a_compressed_sync_converges_like_any_other(tmp_path: Path, dovecot: DovecotUser) -> None:
    """usecompression = yes: the whole sync, both ways, over COMPRESS=DEFLATE."""
    expected = populate(dovecot.client(), 20)
    settings = account(tmp_path, dovecot)
    settings = replace(settings, remote=replace(settings.remote, compress=True))
    lines: list[str] = []
    first = sync_account(settings, lambda e: None, trace=lines.append)
    assert first.ok and first.counts.copied_to_local == 20 * len(FOLDERS), first
    assert sum(line.endswith(" COMPRESS DEFLATE") for line in lines) == 2  # both workers
    for folder in FOLDERS:
        assert set(local_bodies(tmp_path / "Mail", folder)) == {to_lf(b) for b in expected[folder]}
    box = MaildirRepository("local", str(tmp_path / "Mail"), sep=".").open_folder("Sent")
    box.append(Message(message("Sent", 99), frozenset("S")))
    box.flush()
    second = sync_account(settings, lambda e: None)
    assert second.ok and second.counts.copied_to_remote == 1, second
    assert message("Sent", 99) in {b for b, _ in server_bodies(dovecot.client(), "Sent").values()}


def test_a_second_worker_starts_only_for_a_second_changed_folder(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    """With every folder unchanged one worker looks at them all: a second would only
    open the status and the stores again.  Two changed folders still get two."""
    client = dovecot.client()
    for folder in ("INBOX", "Sent", "Lists"):
        if folder != "INBOX":
            client.create_folder(folder)
        client.append(folder, message(folder, 1))
    settings = account(tmp_path, dovecot)
    run(settings)

    def second_worker(events: list[Event]) -> bool:
        return any(isinstance(e, ThreadStateChanged) and e.thread == "acct.2" for e in events)

    result, events = run(settings)
    skipped = [e for e in events if isinstance(e, Log) and "unchanged on both" in e.message]
    assert result.ok and len(skipped) == 3
    assert not second_worker(events)

    client.append("Sent", message("Sent", 2))
    client.append("Lists", message("Lists", 2))
    result, events = run(settings)
    assert result.ok and result.counts.copied_to_local == 2
    assert second_worker(events)
