"""The Maildir store on a real file system: layouts, odd files, other writers."""

from __future__ import annotations

import io
import multiprocessing
import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import maildir
from engine.content import HOLD_AT_MOST, FileBody, to_lf, whole
from engine.errors import FolderError, MessageError
from engine.imap_spool import spool
from engine.maildir import MaildirFolder, MaildirRepository
from engine.maildir_names import folder_md5
from engine.repository import Message

DATA = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.fixture
def warnings() -> list[str]:
    return []


@pytest.fixture
def repo(tmp_path: Path, warnings: list[str]) -> MaildirRepository:
    return MaildirRepository("local", str(tmp_path / "Mail"), sep="/", on_warning=warnings.append)


@pytest.fixture
def box(repo: MaildirRepository) -> MaildirFolder:
    repo.create_folder("INBOX")
    return repo.open_folder("INBOX")


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _files(folder: MaildirFolder, subdir: str) -> list[str]:
    return sorted(os.listdir(os.path.join(folder.path, subdir)))


def _put(folder: MaildirFolder, subdir: str, name: str, data: bytes = DATA) -> str:
    path = os.path.join(folder.path, subdir, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# -- layouts -------------------------------------------------------------------


def test_nested_layout(repo: MaildirRepository) -> None:
    repo.create_folder("INBOX/Sub/Deep")
    root = Path(repo.root)
    for path in (root / "INBOX", root / "INBOX/Sub", root / "INBOX/Sub/Deep"):
        assert sorted(p.name for p in path.iterdir() if p.name in maildir.SUBDIRS) == [
            "cur",
            "new",
            "tmp",
        ]
    assert repo.list_folders() == ["INBOX", "INBOX/Sub", "INBOX/Sub/Deep"]


def test_flat_layout(tmp_path: Path) -> None:
    repo = MaildirRepository("local", str(tmp_path / "Mail"))
    assert repo.sep == "."
    repo.create_folder("INBOX.Sub")
    assert (tmp_path / "Mail" / "INBOX.Sub" / "cur").is_dir()
    assert not (tmp_path / "Mail" / "INBOX").exists()
    repo.create_folder("INBOX")
    assert repo.list_folders() == ["INBOX", "INBOX.Sub"]
    with pytest.raises(FolderError):
        repo.create_folder("a/b")
    folder = repo.open_folder("INBOX.Sub")
    folder.append(Message(DATA, frozenset()))
    assert len(folder.list_messages()) == 1
    assert repo.open_folder("INBOX").list_messages() == []


def test_nested_listing_goes_through_plain_directories(repo: MaildirRepository) -> None:
    repo.create_folder("Lists/rust")
    for sub in maildir.SUBDIRS:  # Lists/ is no Maildir any more
        os.rmdir(os.path.join(repo.root, "Lists", sub))
    os.makedirs(os.path.join(repo.root, "notes", "misc"))
    assert repo.list_folders() == ["Lists/rust"]
    with pytest.raises(FolderError):
        repo.open_folder("Lists")
    repo.create_folder("Lists")  # makes it a Maildir again
    assert repo.list_folders() == ["Lists", "Lists/rust"]


def test_non_ascii_folders_are_utf8_directories(repo: MaildirRepository) -> None:
    repo.create_folder("Entwürfe/✓")
    root = os.fsencode(repo.root)
    assert "Entwürfe".encode() in os.listdir(root)
    assert "✓".encode() in os.listdir(os.path.join(root, "Entwürfe".encode()))
    latin1 = os.path.join(root, b"caf\xe9")
    for sub in (b"cur", b"new", b"tmp"):
        os.makedirs(os.path.join(latin1, sub))
    assert repo.list_folders() == ["Entwürfe", "Entwürfe/✓"]


def test_create_is_idempotent_and_refuses_bad_names(repo: MaildirRepository) -> None:
    repo.create_folder("A/B")
    repo.create_folder("A/B")
    repo.create_folder("A")
    assert repo.list_folders() == ["A", "A/B"]
    for bad in ("", "A//B", "../x", "A/..", "A/cur", "tmp", "/A"):
        with pytest.raises(FolderError):
            repo.create_folder(bad)
    assert repo.list_folders() == ["A", "A/B"]


def test_missing_root_lists_nothing(repo: MaildirRepository) -> None:
    assert repo.list_folders() == []
    with pytest.raises(FolderError):
        repo.open_folder("INBOX")


def test_a_directory_without_tmp_is_no_folder(repo: MaildirRepository) -> None:
    repo.create_folder("Half")
    os.rmdir(os.path.join(repo.root, "Half", "tmp"))
    assert repo.list_folders() == []
    with pytest.raises(FolderError):
        repo.open_folder("Half")


def test_permissions_are_private(repo: MaildirRepository) -> None:
    repo.create_folder("INBOX/Sub")
    folder = repo.open_folder("INBOX/Sub")
    folder.append(Message(DATA, frozenset()))
    folder.append(Message(DATA, frozenset("S")))
    dirs = [repo.root, *(os.path.join(repo.root, "INBOX", s) for s in ("", *maildir.SUBDIRS))]
    dirs += [os.path.join(folder.path, s) for s in ("", *maildir.SUBDIRS)]
    for path in dirs:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700, path
    files = [os.path.join(folder.path, s, n) for s in ("new", "cur") for n in _files(folder, s)]
    assert len(files) == 2
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


# -- writing -------------------------------------------------------------------


def test_append_names_files_like_offlineimap(box: MaildirFolder) -> None:
    fmd5 = folder_md5("INBOX")
    flagged = box.append(Message(DATA, frozenset("SF"), uid=7))
    plain = box.append(Message(DATA, frozenset()))
    [cur] = _files(box, "cur")
    [new] = _files(box, "new")
    assert re.fullmatch(rf"\d+_\d+\.{os.getpid()}\.[^/:,!]+,U=7,FMD5={fmd5}:2,FS", cur)
    assert re.fullmatch(rf"\d+_\d+\.{os.getpid()}\.[^/:,!]+,FMD5={fmd5}", new)
    assert cur == f"{flagged}:2,FS"
    assert new == plain
    assert _files(box, "tmp") == []
    hints = {m.id: m.uid_hint for m in box.list_messages()}
    assert hints == {flagged: 7, plain: None}


def test_windows_compatible_names(tmp_path: Path) -> None:
    repo = MaildirRepository("local", str(tmp_path), windows_compatible=True)
    repo.create_folder("INBOX")
    folder = repo.open_folder("INBOX")
    id = folder.append(Message(DATA, frozenset("S"), uid=3))
    assert _files(folder, "cur") == [f"{id}!2,S"]
    folder.set_flags(str(id), frozenset("R"), frozenset())
    assert _files(folder, "cur") == [f"{id}!2,RS"]
    [info] = folder.list_messages()
    assert (info.id, info.flags, info.uid_hint) == (id, frozenset("RS"), 3)


def test_append_stores_lf_and_the_date(box: MaildirFolder) -> None:
    when = 1_500_000_000.0
    box.append(Message(DATA, frozenset(), internaldate=when))
    [name] = _files(box, "new")
    path = os.path.join(box.path, "new", name)
    assert Path(path).read_bytes() == DATA.replace(b"\r\n", b"\n")
    assert os.stat(path).st_mtime == when
    [fetched] = box.fetch([name])
    assert fetched.message.internaldate == when


def test_a_taken_name_is_never_overwritten(
    box: MaildirFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = iter(["same", "same", "other"])
    monkeypatch.setattr(box, "_new_id", lambda uid: next(ids))
    assert box.append(Message(b"first\n", frozenset())) == "same"
    assert box.append(Message(b"second\n", frozenset())) == "other"
    assert Path(box.path, "new", "same").read_bytes() == b"first\n"
    assert Path(box.path, "new", "other").read_bytes() == b"second\n"
    assert _files(box, "tmp") == []


def _append_many(root: str, count: int) -> None:
    folder = MaildirRepository("local", root, sep="/").open_folder("INBOX")
    for n in range(count):
        folder.append(Message(b"Subject: %d\n\n" % n, frozenset("S" if n % 2 else "")))


def test_concurrent_writers_get_unique_names(box: MaildirFolder, repo: MaildirRepository) -> None:
    errors: list[BaseException] = []

    def thread_body() -> None:
        try:
            _append_many(repo.root, 20)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=thread_body) for _ in range(4)]
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_append_many, args=(repo.root, 20)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for proc in procs:
        proc.start()
    for thread in threads:
        thread.join()
    for proc in procs:
        proc.join()
        assert proc.exitcode == 0
    assert errors == []
    assert len(box.list_messages()) == 120
    assert len(_files(box, "new")) + len(_files(box, "cur")) == 120


def test_fsync_on_and_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    for fsync, expect_some in ((True, True), (False, False)):
        repo = MaildirRepository("local", str(tmp_path / str(fsync)), sep="/", fsync=fsync)
        repo.create_folder("INBOX")
        folder = repo.open_folder("INBOX")
        calls.clear()
        id = folder.append(Message(DATA, frozenset()))
        assert calls == []  # held back: a batch is made durable together
        folder.flush()
        after_append = len(calls)
        folder.set_flags(str(id), frozenset("S"), frozenset())
        folder.flush()
        after_move = len(calls)
        folder.delete([str(id)])
        assert len(calls) == after_move  # held back too, for the batch's flush
        folder.flush()
        assert (after_append >= 2) is expect_some  # the file and new/
        assert (len(calls) >= 5) is expect_some  # + new/ and cur/ on the move, cur/ on delete
        assert bool(calls) is expect_some


def test_close_makes_appends_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    repo = MaildirRepository("local", str(tmp_path), sep="/")
    repo.create_folder("INBOX")
    folder = repo.open_folder("INBOX")
    synced.clear()
    for _ in range(3):
        folder.append(Message(DATA, frozenset("S")))
    folder.close()
    assert len(synced) == 4  # three files, then cur/ once


# -- listing -------------------------------------------------------------------


def test_garbage_is_skipped_with_a_warning_and_left_alone(
    box: MaildirFolder, warnings: list[str]
) -> None:
    good = box.append(Message(DATA, frozenset("S")))
    _put(box, "cur", ".hidden")
    _put(box, "cur", "x:1,experimental")
    _put(box, "cur", ":2,S")
    _put(box, "new", "weird:2,S:2,F")
    os.mkdir(os.path.join(box.path, "cur", "subdir"))
    os.mkfifo(os.path.join(box.path, "new", "pipe"))
    with open(os.path.join(os.fsencode(box.path), b"new", b"caf\xe9"), "wb") as f:
        f.write(DATA)
    _put(box, "new", f"{good}")  # a second copy of one id
    before = sorted(_files(box, "cur") + _files(box, "new"))

    listing = box.list_messages()

    assert [(m.id, m.flags) for m in listing] == [(good, frozenset("S"))]
    assert sorted(_files(box, "cur") + _files(box, "new")) == before
    text = "\n".join(warnings)
    for name in ("experimental", "':2,S'", "weird", "subdir", "pipe", "caf", f"new/'{good}'"):
        assert name in text
    assert ".hidden" not in text
    assert len(warnings) == 7


def test_leftover_tmp_files_are_not_listed_and_old_ones_go(
    repo: MaildirRepository, box: MaildirFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put(box, "tmp", "half-written")
    os.mkdir(os.path.join(box.path, "tmp", "a-directory"))
    assert box.list_messages() == []
    assert repo.open_folder("INBOX").list_messages() == []
    assert sorted(_files(box, "tmp")) == ["a-directory", "half-written"]  # young: kept
    now = time.time()
    monkeypatch.setattr(maildir, "_clock", lambda: now + maildir.TMP_MAX_AGE - 60)
    repo.open_folder("INBOX")
    assert sorted(_files(box, "tmp")) == ["a-directory", "half-written"]
    monkeypatch.setattr(maildir, "_clock", lambda: now + maildir.TMP_MAX_AGE + 60)
    repo.open_folder("INBOX")
    assert _files(box, "tmp") == ["a-directory"]


def test_foreign_names_and_flags_in_new(box: MaildirFolder) -> None:
    fmd5 = folder_md5("INBOX")
    _put(box, "new", "1600000000.1_1.laptop")  # mutt, just delivered
    _put(box, "new", f"1_0.9.h,U=5,FMD5={fmd5}:2,F")  # OfflineIMAP: flagged, not seen
    _put(box, "cur", "1600000000.M1P2.srv,S=10,W=12:2,Sa")  # Dovecot with a keyword
    _put(box, "cur", f"2_0.9.h,U=6,FMD5={folder_md5('Other')}:2,S")  # moved in by hand
    infos = {m.id: (m.flags, m.uid_hint, m.size) for m in box.list_messages()}
    assert infos == {
        "1600000000.1_1.laptop": (frozenset(), None, None),
        f"1_0.9.h,U=5,FMD5={fmd5}": (frozenset("F"), 5, None),
        "1600000000.M1P2.srv,S=10,W=12": (frozenset("S"), None, None),
        f"2_0.9.h,U=6,FMD5={folder_md5('Other')}": (frozenset("S"), None, None),
    }


# -- flags and other writers ---------------------------------------------------


def test_set_flags_keeps_unknown_letters(box: MaildirFolder) -> None:
    _put(box, "cur", "1600000000.M1P2.srv:2,Sab")
    [info] = box.list_messages()
    box.set_flags(info.id, frozenset("F"), frozenset("S"))
    assert _files(box, "cur") == ["1600000000.M1P2.srv:2,Fab"]


def test_unflagged_new_message_stays_in_new(box: MaildirFolder) -> None:
    id = str(box.append(Message(DATA, frozenset())))
    box.set_flags(id, frozenset(), frozenset("S"))
    assert _files(box, "new") == [id]
    box.set_flags(id, frozenset("S"), frozenset())
    assert (_files(box, "new"), _files(box, "cur")) == ([], [f"{id}:2,S"])
    box.set_flags(id, frozenset(), frozenset("S"))
    assert _files(box, "cur") == [f"{id}:2,"]
    [info] = box.list_messages()
    assert (info.id, info.flags) == (id, frozenset())


def test_mail_reader_renames_between_listing_and_set_flags(box: MaildirFolder) -> None:
    id = str(box.append(Message(DATA, frozenset())))
    assert [m.id for m in box.list_messages()] == [id]
    # mutt shows the message: new/ -> cur/, seen, plus a keyword letter
    os.rename(os.path.join(box.path, "new", id), os.path.join(box.path, "cur", f"{id}:2,Sa"))
    box.set_flags(id, frozenset("F"), frozenset())
    assert _files(box, "cur") == [f"{id}:2,FSa"]
    assert _files(box, "new") == []
    os.rename(
        os.path.join(box.path, "cur", f"{id}:2,FSa"), os.path.join(box.path, "cur", f"{id}:2,FRSa")
    )
    [fetched] = box.fetch([id])  # stale path: found again
    assert fetched.message.flags == frozenset("FRS")
    assert fetched.message.data == DATA.replace(b"\r\n", b"\n")


def test_set_flags_to_what_a_reader_already_did(box: MaildirFolder) -> None:
    id = str(box.append(Message(DATA, frozenset("S"))))
    box.list_messages()
    os.rename(
        os.path.join(box.path, "cur", f"{id}:2,S"), os.path.join(box.path, "cur", f"{id}:2,FS")
    )
    box.set_flags(id, frozenset("F"), frozenset())
    assert _files(box, "cur") == [f"{id}:2,FS"]


def test_set_flags_never_replaces_a_second_copy(box: MaildirFolder) -> None:
    _put(box, "cur", "dup:2,S", b"one\n")
    _put(box, "cur", "dup:2,FS", b"two\n")
    box.list_messages()  # keeps "dup:2,FS"
    with pytest.raises(MessageError):
        box.set_flags("dup", frozenset(), frozenset("F"))
    assert Path(box.path, "cur", "dup:2,S").read_bytes() == b"one\n"
    assert Path(box.path, "cur", "dup:2,FS").read_bytes() == b"two\n"


def test_set_flags_on_a_message_gone_behind_our_back(box: MaildirFolder) -> None:
    id = str(box.append(Message(DATA, frozenset("S"))))
    box.list_messages()
    os.unlink(os.path.join(box.path, "cur", f"{id}:2,S"))
    with pytest.raises(MessageError):
        box.set_flags(id, frozenset("F"), frozenset())


def test_delete_finds_renamed_files_and_ignores_missing(box: MaildirFolder) -> None:
    a = str(box.append(Message(DATA, frozenset())))
    b = str(box.append(Message(DATA, frozenset())))
    box.list_messages()
    os.rename(os.path.join(box.path, "new", a), os.path.join(box.path, "cur", f"{a}:2,S"))
    box.delete([a, b, "never-there"])
    assert _files(box, "new") == _files(box, "cur") == []


def test_another_handle_sees_the_same_ids(repo: MaildirRepository, box: MaildirFolder) -> None:
    ids = {str(box.append(Message(DATA, frozenset(f)))) for f in ("", "S", "FR")}
    other = repo.open_folder("INBOX")
    assert {m.id for m in other.list_messages()} == ids
    assert box.state().uidvalidity is None


def test_forgotten_places_are_found_again(box: MaildirFolder) -> None:
    """A first sync in windows drops the index of what it wrote: later lookups read
    the directory again, and the tracked fingerprint still counts our own writes."""
    assert box.list_messages() == []
    ids = [box.append(Message(DATA + bytes([65 + n]), frozenset())) for n in range(3)]
    tracked = box.names_fingerprint

    box.forget_written()

    assert box.names_fingerprint == tracked and box.unchanged_by_others()
    assert [f.id for f in box.fetch([ids[0]])] == [ids[0]]
    box.set_flags(str(ids[1]), frozenset("S"), frozenset())
    box.delete([str(ids[2])])
    assert {(m.id, m.flags) for m in box.list_messages()} == {
        (ids[0], frozenset()),
        (ids[1], frozenset("S")),
    }


def _large(n: int = 3) -> bytes:
    """A message over HOLD_AT_MOST, with CRLFs across every megabyte's end."""
    return DATA + b"line of text\r\n" * (n * HOLD_AT_MOST // 14)


def test_a_body_spooled_into_tmp_is_delivered_by_rename(box: MaildirFolder) -> None:
    data = _large()
    spool_dir = box.spool_dir()
    assert spool_dir == os.path.join(box.path, "tmp")
    body = spool(io.BytesIO(data).read, len(data), spool_dir)
    assert body.path is not None
    inode = os.stat(body.path).st_ino
    id = box.append(Message(body, frozenset("S"), internaldate=1_500_000_000.0))
    body.release()
    assert id is not None and _files(box, "tmp") == []
    (name,) = _files(box, "cur")
    stored = os.stat(os.path.join(box.path, "cur", name))
    assert stored.st_ino == inode  # renamed into place, never copied
    assert stored.st_mtime == 1_500_000_000.0
    assert Path(box.path, "cur", name).read_bytes() == to_lf(data)


def test_a_file_body_from_elsewhere_is_copied(box: MaildirFolder, tmp_path: Path) -> None:
    data = _large()
    body = spool(io.BytesIO(data).read, len(data), str(tmp_path))
    box.append(Message(body, frozenset()))
    body.release()
    (name,) = _files(box, "new")
    assert Path(box.path, "new", name).read_bytes() == to_lf(data)
    assert _files(box, "tmp") == []


def test_a_large_file_is_fetched_open_and_survives_a_rename(box: MaildirFolder) -> None:
    data = _large()
    id = box.append(Message(data, frozenset()))
    assert id is not None
    (fetched,) = box.fetch([id])
    body = fetched.message.data
    assert isinstance(body, FileBody)
    (name,) = _files(box, "new")
    os.rename(os.path.join(box.path, "new", name), os.path.join(box.path, "cur", name + ":2,S"))
    assert whole(body) == to_lf(data)
    body.release()
    (small,) = box.fetch([box.append(Message(DATA, frozenset())) or ""])
    assert small.message.data == to_lf(DATA)
