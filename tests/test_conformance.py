"""One behaviour for every store: memory, Maildir and IMAP (real Dovecot)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from engine.content import crlf_size, to_lf
from engine.errors import FolderError, MessageError
from engine.repository import Message


def _msg(n: int, flags: str = "", body: bytes = b"hello\r\n") -> Message:
    data = (
        f"From: a{n}@example.org\r\nTo: b@example.org\r\nSubject: test {n}\r\n"
        f"Message-ID: <{n}.conformance@example.org>\r\n\r\n"
    ).encode() + body
    return Message(data, frozenset(flags), internaldate=1_600_000_000.0 + n)


def _folder(repo: Any, name: str = "Box") -> Any:
    repo.create_folder(name)
    return repo.open_folder(name)


def test_create_and_list_nested_folders(any_repo: Any) -> None:
    sep = any_repo.sep
    any_repo.create_folder(f"Top{sep}Child")
    any_repo.create_folder("Other")
    names = any_repo.list_folders()
    assert f"Top{sep}Child" in names
    assert "Other" in names
    any_repo.create_folder("Other")  # existing: no error
    assert any_repo.list_folders().count("Other") == 1


def test_non_ascii_folder_name_round_trips(any_repo: Any) -> None:
    name = "Entwürfe & Co ✓"
    any_repo.create_folder(name)
    assert name in any_repo.list_folders()
    folder = any_repo.open_folder(name)
    folder.append(_msg(1))
    assert len(folder.list_messages()) == 1


def test_open_missing_folder_is_folder_error(any_repo: Any) -> None:
    with pytest.raises(FolderError):
        any_repo.open_folder("Does-Not-Exist")


def test_append_then_list_and_fetch(any_repo: Any) -> None:
    folder = _folder(any_repo)
    ids = [folder.append(_msg(n, flags)) for n, flags in [(1, ""), (2, "S"), (3, "FRS")]]
    listing = {m.id: m for m in folder.list_messages()}
    assert len(listing) == 3
    for id, (n, flags) in zip(ids, [(1, ""), (2, "S"), (3, "FRS")], strict=True):
        if id is None:
            continue
        assert listing[id].flags == frozenset(flags)
        if listing[id].size is not None:
            assert listing[id].size == crlf_size(_msg(n).data)
    fetched = {f.id: f.message for f in folder.fetch([m for m in listing])}
    assert len(fetched) == 3
    bodies = sorted(to_lf(m.data) for m in fetched.values())
    assert bodies == sorted(to_lf(_msg(n).data) for n in (1, 2, 3))


def test_every_flag_survives(any_repo: Any) -> None:
    folder = _folder(any_repo)
    id = folder.append(_msg(1, "DFPRST"))
    [info] = folder.list_messages()
    assert info.flags == frozenset("DFPRST")
    assert id is None or info.id == id


def test_set_flags_keeps_the_id(any_repo: Any) -> None:
    folder = _folder(any_repo)
    folder.append(_msg(1, "S"))
    [before] = folder.list_messages()
    folder.set_flags(before.id, frozenset("FR"), frozenset("S"))
    [after] = folder.list_messages()
    assert after.id == before.id
    assert after.flags == frozenset("FR")
    folder.set_flags(before.id, frozenset(), frozenset("FR"))
    [cleared] = folder.list_messages()
    assert cleared.flags == frozenset()


def test_set_flags_on_missing_message_is_message_error(any_repo: Any) -> None:
    folder = _folder(any_repo)
    folder.append(_msg(1))
    [info] = folder.list_messages()
    folder.delete([info.id])
    with pytest.raises(MessageError):
        folder.set_flags(info.id, frozenset("S"), frozenset())


def test_delete_is_idempotent(any_repo: Any) -> None:
    folder = _folder(any_repo)
    for n in range(3):
        folder.append(_msg(n))
    ids = [m.id for m in folder.list_messages()]
    folder.delete(ids[:2])
    assert [m.id for m in folder.list_messages()] == ids[2:]
    folder.delete(ids[:2])
    assert [m.id for m in folder.list_messages()] == ids[2:]


def test_fetch_skips_missing_ids(any_repo: Any) -> None:
    folder = _folder(any_repo)
    folder.append(_msg(1))
    [info] = folder.list_messages()
    folder.append(_msg(2))
    folder.delete([info.id])
    remaining = [m.id for m in folder.list_messages()]
    got = [f.id for f in folder.fetch([info.id, *remaining])]
    assert got == remaining


def test_ids_survive_reopening(any_repo: Any) -> None:
    folder = _folder(any_repo)
    for n in range(4):
        folder.append(_msg(n, "S" if n % 2 else ""))
    first = folder.list_messages()
    folder.close()
    again = any_repo.open_folder("Box").list_messages()
    assert sorted(first, key=lambda m: m.id) == sorted(again, key=lambda m: m.id)


def test_ids_are_unique_and_not_reused(any_repo: Any) -> None:
    folder = _folder(any_repo)
    a = folder.append(_msg(1))
    [info] = folder.list_messages()
    folder.delete([info.id])
    folder.append(_msg(1))
    [again] = folder.list_messages()
    assert again.id != info.id
    assert a is None or a == info.id


def test_state_counts_messages(any_repo: Any) -> None:
    folder = _folder(any_repo)
    for n in range(5):
        folder.append(_msg(n))
    state = folder.state()
    assert state.uidvalidity is None or isinstance(state.uidvalidity, int)
    assert state.messages in (None, 5)


def test_binary_and_lf_only_bodies(any_repo: Any) -> None:
    folder = _folder(any_repo)
    lf_only = b"Subject: lf\n\nline one\nline two\n"
    eight_bit = "Subject: 8bit\r\n\r\nGrüße aus Köln\r\n".encode()
    for data in (lf_only, eight_bit):
        folder.append(Message(data, frozenset()))
    bodies = sorted(
        to_lf(f.message.data) for f in folder.fetch([m.id for m in folder.list_messages()])
    )
    assert bodies == sorted([to_lf(lf_only), to_lf(eight_bit)])


def test_internaldate_is_kept_where_supported(any_repo: Any) -> None:
    folder = _folder(any_repo)
    when = time.time() - 86400 * 30
    folder.append(Message(_msg(1).data, frozenset(), internaldate=when))
    [fetched] = list(folder.fetch([m.id for m in folder.list_messages()]))
    if fetched.message.internaldate is not None:
        assert abs(fetched.message.internaldate - when) < 2


def test_ids_since_selects_by_internal_date(any_repo: Any) -> None:
    folder = _folder(any_repo)
    now = time.time()
    old = folder.append(Message(_msg(1).data, frozenset(), internaldate=now - 40 * 86400))
    young = folder.append(Message(_msg(2).data, frozenset(), internaldate=now - 86400))
    ids = [m.id for m in folder.list_messages()]
    if old is None or young is None:  # a store without ids: order of appends
        old, young = ids
    assert folder.ids_since(now - 10 * 86400, ids) == {young}
    assert folder.ids_since(now - 60 * 86400, ids) == {old, young}
    assert folder.ids_since(now - 10 * 86400, [old]) == set()


def test_set_flags_many_changes_all_and_names_the_gone(any_repo: Any) -> None:
    folder = _folder(any_repo)
    for n in range(5):
        folder.append(_msg(n, "S" if n % 2 else ""))
    ids = [m.id for m in folder.list_messages()]
    folder.delete([ids[4]])
    gone = folder.set_flags_many(ids, frozenset("F"), frozenset("S"))
    assert gone == {ids[4]}
    flags = {m.id: m.flags for m in folder.list_messages()}
    assert all(flags[id] == frozenset("F") for id in ids[:4])


def test_windows_list_what_the_whole_listing_does(any_repo: Any) -> None:
    """Stores that list in windows (engine.windowed) give the same messages, in
    pieces whose size does not grow with the folder, whatever the gaps in ids."""
    folder = _folder(any_repo)
    if not hasattr(folder, "list_windows"):
        pytest.skip("this store lists a folder in one piece")
    for n in range(40):
        folder.append(_msg(n, "S" if n % 3 else "F", b"x" * n + b"\r\n"))
    ids = [m.id for m in folder.list_messages()]
    folder.delete(ids[3:30])  # a sparse stretch of ids, then a dense one
    folder = any_repo.open_folder("Box")  # as a new sync opens it

    windows = list(folder.list_windows(4))

    assert [m for window in windows for m in window] == folder.list_messages()
    assert all(len(window) <= 4 * 8 for window in windows)
    assert len(windows) > 1
