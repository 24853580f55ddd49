"""Messages far larger than a batch, against Dovecot: memory stays flat.

A 12 MB message must not cost 12 MB of Python memory on its way down (it is
written to the Maildir's tmp/ as it arrives) or up (it is read from its file a
piece at a time).  tracemalloc counts every Python allocation; the bound is
half the message, which holding it once would already exceed.
"""

from __future__ import annotations

import hashlib
import os
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imapclient
import pytest

from engine.account_sync import AccountResult, sync_account
from engine.content import release, to_lf, whole
from engine.events import Event
from engine.settings import AccountSettings, MaildirSettings, SyncOptions
from tests.fixtures.dovecot import DovecotUser, new_user

pytestmark = pytest.mark.dovecot

SIZE = 12 << 20  # twelve times HOLD_AT_MOST
BOUND = 4 << 20  # four pieces of a megabyte; the message is twelve


def large_message(tag: str, bare_cr: bool = True) -> bytes:
    """CRLF lines of odd lengths, so that line ends fall across every megabyte's end,
    and one bare CR (Dovecot takes one in an APPEND as a line end)."""
    head = (
        f"From: big@example.org\r\nTo: me@example.org\r\nSubject: {tag}\r\n"
        f"Message-ID: <{tag}@large.test>\r\n\r\n"
    ).encode()
    lines = [b"z" * (n % 97) + b"\r\n" for n in range(SIZE // 48)]
    return head + b"".join(lines) + (b"a bare \r here\r\n" if bare_cr else b"")


def digest(data: bytes) -> str:
    """For comparisons whose failure should not print 12 MB."""
    return hashlib.sha256(data).hexdigest()


def small_message(n: int) -> bytes:
    return f"From: s@example.org\r\nSubject: small {n}\r\n\r\nbody {n}\r\n".encode()


def run_traced(settings: AccountSettings) -> tuple[AccountResult, int]:
    """One sync with every Python allocation counted; its result and peak."""
    lock = threading.Lock()
    events: list[Event] = []

    def emit(e: Event) -> None:
        with lock:
            events.append(e)

    tracemalloc.start()
    try:
        result = sync_account(settings, emit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def account(root: Path, state: Path, user: DovecotUser, **options: Any) -> AccountSettings:
    return AccountSettings(
        name="acct",
        local=MaildirSettings(name="local", root=str(root), sep="."),
        remote=user.settings(maxconnections=1),
        status_path=str(state / "acct.sqlite"),
        options=SyncOptions(**options),
    )


def server_bodies(client: imapclient.IMAPClient, folder: str) -> list[bytes]:
    client.select_folder(folder)
    uids = client.search()
    return [d[b"BODY[]"] for d in client.fetch(uids, ["BODY.PEEK[]"]).values()] if uids else []


def maildir_files(root: Path) -> Iterator[Path]:
    for sub in ("cur", "new"):
        yield from sorted((root / sub).iterdir())


def test_a_large_message_streams_down_into_the_maildir(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    big = large_message("down")
    client = dovecot.client()
    client.append("INBOX", small_message(1), [b"\\Seen"])
    client.append("INBOX", big, [b"\\Flagged"])
    client.append("INBOX", small_message(2), [])
    del big
    served = server_bodies(client, "INBOX")
    settings = account(tmp_path / "Mail", tmp_path / "state", dovecot)

    result, peak = run_traced(settings)

    assert result.ok and result.counts.copied_to_local == 3, result
    assert peak < BOUND, f"peak {peak} bytes for a {SIZE}-byte message"
    inbox = tmp_path / "Mail" / "INBOX"
    stored = sorted(digest(p.read_bytes()) for p in maildir_files(inbox))
    assert stored == sorted(digest(to_lf(b)) for b in served)
    assert os.listdir(inbox / "tmp") == []  # every spool file was delivered
    (large,) = [p for p in maildir_files(inbox) if p.stat().st_size > SIZE // 2]
    assert large.name.rsplit(",", 1)[-1] == "F", large.name
    again, _ = run_traced(settings)
    assert again.ok and again.counts.changes == 0, again.counts


def attachment_message(n: int) -> bytes:
    """About 200 KB: a text part and a base64 attachment, as mail with one looks."""
    head = f"From: a@example.org\r\nSubject: attachment {n}\r\nMessage-ID: <att{n}@test>\r\n\r\n"
    line = (f"{n:04d}" * 19).encode() + b"\r\n"  # 76 characters, like base64
    return head.encode() + line * (200_000 // len(line))


def test_a_batch_of_attachments_goes_down_by_spool_files(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    """Bodies bound for a Maildir are written into its tmp/ as they arrive once they
    are larger than plain text: a batch (here 4 MB, the byte bound of one) does
    not hold its attachments in memory, two workers' batches at once even less."""
    client = dovecot.client()
    sent = [attachment_message(n) for n in range(20)]
    client.multiappend("INBOX", sent)
    del sent
    served = server_bodies(client, "INBOX")
    settings = account(tmp_path / "Mail", tmp_path / "state", dovecot)
    import engine.folder_work  # noqa: F401  (imported by the first sync that copies)

    result, peak = run_traced(settings)

    assert result.ok and result.counts.copied_to_local == 20, result
    assert peak < (1 << 20), f"peak {peak} bytes for 20 messages of 200 KB"
    inbox = tmp_path / "Mail" / "INBOX"
    stored = sorted(digest(p.read_bytes()) for p in maildir_files(inbox))
    assert stored == sorted(digest(to_lf(b)) for b in served)
    assert os.listdir(inbox / "tmp") == []


def test_a_large_message_streams_up_from_the_maildir(tmp_path: Path, dovecot: DovecotUser) -> None:
    client = dovecot.client()
    client.append("INBOX", small_message(1), [])
    settings = account(tmp_path / "Mail", tmp_path / "state", dovecot)
    first, _ = run_traced(settings)
    assert first.ok, first
    big = large_message("up", bare_cr=False)
    inbox = tmp_path / "Mail" / "INBOX"
    (inbox / "new" / "1700000000.big.host").write_bytes(to_lf(big))

    result, peak = run_traced(settings)

    assert result.ok and result.counts.copied_to_remote == 1, result
    assert peak < BOUND, f"peak {peak} bytes for a {SIZE}-byte message"
    assert digest(sorted(server_bodies(client, "INBOX"), key=len)[-1]) == digest(big)


def test_a_large_message_streams_from_server_to_server(
    tmp_path: Path, dovecot: DovecotUser, dovecot_server: Any
) -> None:
    there = new_user(dovecot_server)
    try:
        big = large_message("across", bare_cr=False)
        there.client().append("INBOX", big, [b"\\Seen"])
        settings = AccountSettings(
            name="both",
            local=dovecot.settings(name="here", maxconnections=1),
            remote=there.settings(name="there", maxconnections=1),
            status_path=str(tmp_path / "state" / "both.sqlite"),
        )
        result, peak = run_traced(settings)
        assert result.ok and result.counts.copied_to_local == 1, result
        assert peak < BOUND, f"peak {peak} bytes for a {SIZE}-byte message"
        assert [digest(b) for b in server_bodies(dovecot.client(), "INBOX")] == [digest(big)]
    finally:
        there.close_all()


def test_a_dropped_fetch_ahead_of_a_large_message_is_not_held(dovecot: DovecotUser) -> None:
    """An answer sent ahead and then not wanted is read through a spool file too."""
    client = dovecot.client()
    client.append("INBOX", large_message("dropped", bare_cr=False), [])
    client.append("INBOX", small_message(1), [])
    repo = dovecot.repository()
    box = repo.open_folder("INBOX")
    box.fetch_ahead(["1"])
    tracemalloc.start()
    try:
        box.set_flags("2", frozenset("F"), frozenset())  # reads and drops the answer
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < BOUND, f"peak {peak} bytes for a {SIZE}-byte message"
    (fetched,) = box.fetch(["1"])
    assert digest(whole(fetched.message.data)) == digest(
        to_lf(large_message("dropped", bare_cr=False))
    )
    release(fetched.message.data)
    repo.close()
