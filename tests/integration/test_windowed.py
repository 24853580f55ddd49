"""A first sync's transfers against Dovecot: large folders listed and copied window by
window, and each batch of bodies asked for before the last one is written."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from engine.account_sync import sync_account
from engine.events import Progress, discard
from engine.maildir import MaildirFolder
from engine.repository import Message
from tests.fixtures.dovecot import DovecotUser
from tests.integration.test_stateful import commands, traced
from tests.integration.test_sync import (
    FOLDERS,
    _check_converged,
    account,
    message,
    populate,
    run,
)

pytestmark = pytest.mark.dovecot

LISTING = re.compile(r"UID FETCH (\S+) \(UID FLAGS RFC822\.SIZE\)$")


def listed_ranges(lines: list[str]) -> list[str]:
    """The UID sets of the listing FETCHes sent."""
    return [m[1] for c in commands(lines) if (m := LISTING.match(c))]


def test_a_first_sync_lists_and_copies_in_windows(tmp_path: Path, dovecot: DovecotUser) -> None:
    client = dovecot.client()
    populate(client, 30)
    client.select_folder("Archive")
    uids = sorted(client.search())
    client.delete_messages(uids[2:20])  # a gap of UIDs in the middle: windows widen over it
    client.expunge()
    settings = account(tmp_path, dovecot, listing_window=4)

    result, lines = traced(settings)

    assert result.ok and result.counts.copied_to_local == 9 * 30 + 12, result.counts
    ranges = listed_ranges(lines)
    assert "1:*" not in ranges and "1:4" in ranges, ranges
    assert len(ranges) >= len(FOLDERS) * 3, ranges  # several windows for each folder
    for folder in FOLDERS:
        _check_converged(tmp_path, client, folder)
    again, lines = traced(settings)
    assert again.ok and again.counts.changes == 0, again.counts
    assert not listed_ranges(lines)  # the windows were recorded as one clean sync


def test_the_progress_counts_the_whole_folder(tmp_path: Path, dovecot: DovecotUser) -> None:
    populate(dovecot.client(), 20)
    result, events = run(account(tmp_path, dovecot, listing_window=3))

    assert result.ok
    progress = [e for e in events if isinstance(e, Progress) and e.folder == "Archive"]
    assert progress and {e.messages_total for e in progress} == {20}, progress
    assert progress[-1].messages_done == 20


def test_a_new_message_after_the_windows_comes_next_time(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    client = dovecot.client()
    populate(client, 12)
    settings = account(tmp_path, dovecot, listing_window=5)
    assert traced(settings)[0].ok
    client.append("Archive", message("Archive", 500))
    client.select_folder("Archive")
    client.add_flags(sorted(client.search())[1], [b"\\Flagged"])  # n=1 had no flags

    result, _ = traced(settings)

    assert result.ok and result.counts.copied_to_local == 1 and result.counts.flags_local == 1
    _check_converged(tmp_path, client, "Archive")


def test_local_messages_the_server_lacks_go_up_after_the_windows(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    """A local message that names no server UID is paired with nothing: it is copied up."""
    populate(dovecot.client(), 10)
    from engine.maildir import MaildirRepository

    local = MaildirRepository("seed", str(tmp_path / "Mail"), sep=".")
    local.create_folder("Archive")
    local.open_folder("Archive").append(Message(message("Archive", 900), frozenset("S")))

    result, lines = traced(account(tmp_path, dovecot, listing_window=3))

    assert result.ok and result.counts.copied_to_remote == 1, result.counts
    assert result.counts.copied_to_local == 10 * len(FOLDERS), result.counts
    ranges = listed_ranges(lines)
    assert "1:*" not in ranges and ranges.count("1:3") == len(FOLDERS), ranges
    _check_converged(tmp_path, dovecot.client(), "Archive")


def test_a_maildir_whose_status_is_gone_is_adopted_window_by_window(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    """As after a migration from OfflineIMAP: every file is paired with the message
    its name's UID gives, nothing is copied twice, flags set on either side meanwhile
    are merged, and the server is listed a window at a time."""
    client = dovecot.client()
    populate(client, 12)
    settings = account(tmp_path, dovecot, listing_window=4)
    assert run(settings)[0].ok
    Path(settings.status_path).unlink()
    box = tmp_path / "Mail" / "Archive" / "cur"
    first = sorted(box.iterdir())[0]
    first.rename(first.with_name(first.name + "F"))  # ...:2,S -> ...:2,SF (or :2,F)
    client.select_folder("INBOX")
    client.add_flags(sorted(client.search())[:1], [b"\\Answered"])

    result, lines = traced(settings)

    assert result.ok, result.error
    assert (result.counts.copied_to_local, result.counts.copied_to_remote) == (0, 0)
    ranges = listed_ranges(lines)
    assert "1:*" not in ranges and ranges.count("1:4") == len(FOLDERS), ranges
    for folder in FOLDERS:
        _check_converged(tmp_path, client, folder)
    again, lines = traced(settings)
    assert again.ok and again.counts.changes == 0, again.counts


def test_the_next_batch_is_asked_for_before_this_one_is_written(
    tmp_path: Path, dovecot: DovecotUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(dovecot.client(), 12)
    settings = account(tmp_path, dovecot, fetch_batch_count=5)
    settings = replace(settings, remote=replace(settings.remote, maxconnections=1))
    lines: list[str] = []
    appended_at: list[int] = []  # how many trace lines there were at each local write
    original = MaildirFolder.append

    def append(self: MaildirFolder, message: Message) -> str | None:
        appended_at.append(len(lines))
        return original(self, message)

    monkeypatch.setattr(MaildirFolder, "append", append)

    result = sync_account(settings, discard, trace=lines.append)

    assert result.ok and result.counts.copied_to_local == 12 * len(FOLDERS), result
    before_the_first_write = [
        line.split()[4]
        for line in lines[: appended_at[0]]
        if line.endswith("INTERNALDATE BODY.PEEK[])")
    ]
    assert before_the_first_write == ["1:5", "6:10"]
    client = dovecot.client()
    for folder in FOLDERS:
        _check_converged(tmp_path, client, folder)
