"""The status database: durable pairs, pending copies, schema migrations."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import status as st
from engine import status_recorded
from engine.errors import AccountError
from engine.status import Pair, StatusDB, migrate, snapshot


def test_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "state" / "a.sqlite"
    db = StatusDB(str(path))
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert db._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db._db.execute("PRAGMA user_version").fetchone()[0] == st.SCHEMA_VERSION


def test_pairs_and_pending_round_trip(tmp_path: Path) -> None:
    db = StatusDB(str(tmp_path / "a.sqlite"))
    folder = db.ensure_folder("INBOX", "INBOX")
    with db.transaction() as tx:
        st.put_pair(tx, folder.id, Pair("l1", "7", frozenset("S"), frozenset("SF")))
        pending = st.add_pending(tx, folder.id, "remote", "l2", "fp", 10, 8, frozenset("F"))
    again = StatusDB(str(tmp_path / "a.sqlite"))
    assert again.pairs(folder.id) == [Pair("l1", "7", frozenset("S"), frozenset("SF"))]
    [p] = again.pending(folder.id)
    assert (p.id, p.src_id, p.mark, p.flags) == (pending, "l2", 8, frozenset("F"))


def test_put_pair_replaces_what_either_id_had(tmp_path: Path) -> None:
    db = StatusDB(str(tmp_path / "a.sqlite"))
    fid = db.ensure_folder("A", "A").id
    with db.transaction() as tx:
        st.put_pair(tx, fid, Pair("l1", "1", frozenset(), frozenset()))
        st.put_pair(tx, fid, Pair("l2", "2", frozenset(), frozenset()))
        st.put_pair(tx, fid, Pair("l1", "2", frozenset("S"), frozenset("S")))
    assert db.pairs(fid) == [Pair("l1", "2", frozenset("S"), frozenset("S"))]


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    db = StatusDB(str(tmp_path / "a.sqlite"))
    fid = db.ensure_folder("A", "A").id
    with pytest.raises(RuntimeError), db.transaction() as tx:
        st.put_pair(tx, fid, Pair("l1", "1", frozenset(), frozenset()))
        raise RuntimeError("crash in the middle")
    assert db.pairs(fid) == []


def test_old_schema_is_migrated_keeping_its_data(tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite")
    raw = sqlite3.connect(path)
    migrate(raw, {1: st.MIGRATIONS[1]})
    raw.execute("INSERT INTO folders (local_name, remote_name) VALUES ('INBOX', 'INBOX')")
    raw.execute("INSERT INTO messages VALUES (1, 'l1', '9', 'S', 'S')")
    raw.commit()
    raw.close()
    db = StatusDB(path)
    [folder] = db.folders()
    assert folder.remote_stamp is None and folder.remote_highestmodseq is None
    assert db.pairs(folder.id) == [Pair("l1", "9", frozenset("S"), frozenset("S"))]


def test_a_version_4_status_gets_an_empty_names_column(tmp_path: Path) -> None:
    """A status from before names fingerprints: its stamps stay, with no fingerprint."""
    path = str(tmp_path / "v4.sqlite")
    raw = sqlite3.connect(path)
    migrate(raw, {n: st.MIGRATIONS[n] for n in (1, 2, 3, 4)})
    raw.execute(
        "INSERT INTO folders (local_name, remote_name, local_stamp)"
        " VALUES ('A', 'A', 'maildir:1:2')"
    )
    raw.commit()
    raw.close()
    db = StatusDB(path)
    [folder] = db.folders()
    assert (folder.local_stamp, folder.local_names) == ("maildir:1:2", None)
    assert db._db.execute("PRAGMA user_version").fetchone()[0] == 5 == st.SCHEMA_VERSION


def test_a_names_fingerprint_lives_and_dies_with_its_local_stamp(tmp_path: Path) -> None:
    """Every write of a local stamp writes its fingerprint too, NULL when the sync
    knows none: an old fingerprint never stays beside a new stamp."""
    db = StatusDB(str(tmp_path / "a.sqlite"))
    fid = db.ensure_folder("A", "A").id

    def recorded() -> tuple[str | None, str | None]:
        (folder,) = db.folders()
        assert folder.names(st.REMOTE) is None
        return folder.local_stamp, folder.names(st.LOCAL)

    remote = st.SideState(stamp="r1")
    db.finish_folder(fid, st.SideState(stamp="s1", names="crc32:1:2"), remote)
    assert recorded() == ("s1", "crc32:1:2")
    db.finish_folder(fid, st.SideState(stamp="s2"), remote)
    assert recorded() == ("s2", None)
    db.finish_folders([], [(fid, "s3", "crc32:3:4")])
    assert recorded() == ("s3", "crc32:3:4")
    db.finish_folders([], [(fid, "s4", None)])
    assert recorded() == ("s4", None)
    db.finish_folders([st.Finished(fid, st.SideState(stamp="s5", names="crc32:5:6"), remote)])
    db.finish_folder(fid, st.SideState(names="crc32:7:8"), remote)  # no stamp: no names
    assert recorded() == (None, None)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "new.sqlite")
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(AccountError, match="newer than this blinken"):
        StatusDB(path)


def test_snapshot_is_a_private_copy(tmp_path: Path) -> None:
    path = str(tmp_path / "a.sqlite")
    db = StatusDB(path)
    fid = db.ensure_folder("A", "A").id
    copy = snapshot(path)
    copy.ensure_folder("B", "B")
    assert [f.local_name for f in db.folders()] == ["A"]
    assert [f.local_name for f in copy.folders()] == ["A", "B"]
    assert copy.pairs(fid) == []
    assert snapshot(str(tmp_path / "missing.sqlite")).folders() == []
    assert not (tmp_path / "missing.sqlite").exists()


def test_no_op_ensure_folder_writes_nothing(tmp_path: Path) -> None:
    db = StatusDB(str(tmp_path / "a.sqlite"))
    db.ensure_folder("A", "A")
    changes = db._db.total_changes
    db.ensure_folder("A", "A")
    assert db._db.total_changes == changes


def test_batched_flag_updates_and_drops(tmp_path: Path) -> None:
    """Reflags update recorded pairs in place; a pair not recorded under both ids (a
    link) is put whole, replacing what either id had; drops take many pairs at once."""
    db = StatusDB(str(tmp_path / "s.sqlite"))
    fid = db.ensure_folder("INBOX", "INBOX").id
    s, f = frozenset("S"), frozenset("F")
    with db.transaction() as c:
        for n in range(4):
            st.put_pair(c, fid, Pair(f"l{n}", str(n), s, s))
        st.put_pair(c, fid, Pair("lonely", None, s, frozenset()))
    with db.transaction() as c:
        st.set_pair_flags(c, fid, [Pair("l0", "0", f, f), Pair("new", "3", f, s)])
        st.drop_pairs(c, fid, [Pair("l1", "1", s, s), Pair("lonely", None, s, frozenset())])
    assert sorted(db.pairs(fid)) == [
        Pair("l0", "0", f, f),
        Pair("l2", "2", s, s),
        Pair("new", "3", f, s),
    ]


def _late_by(path: str, held: float) -> float:
    """How long after one worker's commit another worker, waiting meanwhile, commits."""
    first, second = StatusDB(path, durable=False), StatusDB(path, durable=False)
    fid = first.ensure_folder("A", "A").id
    ended: list[float] = []

    def wait_then_write() -> None:
        with second.transaction() as tx:
            tx.execute("UPDATE folders SET local_stamp = 'b' WHERE id = ?", (fid,))
        ended.append(time.monotonic())

    waiter = threading.Thread(target=wait_then_write)
    with first.transaction() as tx:
        tx.execute("UPDATE folders SET local_stamp = 'a' WHERE id = ?", (fid,))
        waiter.start()
        time.sleep(held)
    released = time.monotonic()
    waiter.join()
    first.close()
    second.close()
    return ended[0] - released


def test_a_worker_waiting_to_write_goes_on_as_soon_as_the_other_commits(tmp_path: Path) -> None:
    """Not at SQLite's next poll of its lock (1, 2, 5, 10, 15 ms apart: 13 ms late here)."""
    path = str(tmp_path / "a.sqlite")
    assert min(_late_by(path, 0.02) for _ in range(3)) < 0.005


def _sqlite_memory_used() -> Callable[[], int]:
    """SQLite's own count of the memory it holds (the library _sqlite3 is linked to)."""
    ctypes = pytest.importorskip("ctypes")
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
    except OSError:
        pytest.skip("no shared libsqlite3 to ask")
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    used: Callable[[], int] = lib.sqlite3_memory_used
    return used


def test_reading_a_large_folder_leaves_little_in_the_page_cache(tmp_path: Path) -> None:
    """A folder's ids and flags are read once per sync: a cache that kept the pages of
    a large folder (2 MB by SQLite's default) would hold them for the whole run."""
    used = _sqlite_memory_used()
    path = str(tmp_path / "a.sqlite")
    db = StatusDB(path, durable=False)
    fid = db.ensure_folder("INBOX", "INBOX").id
    with db.transaction() as tx:
        tx.executemany(
            "INSERT INTO messages (folder_id, local_id, remote_id, local_flags, remote_flags)"
            " VALUES (?, ?, ?, 'S', 'S')",
            ((fid, f"{n:010d}_1.1.host,U={n},FMD5={'0' * 32}", str(n)) for n in range(30_000)),
        )
    db.close()
    again = StatusDB(path, durable=False)
    before = used()
    assert sum(len(chunk) for chunk in again.recorded_names(fid, st.LOCAL).names(":2,")) == 30_000
    grown = used() - before
    assert grown < 512 * 1024, f"{grown} bytes stay in SQLite's cache"


def test_recorded_names_come_in_chunks_of_whole_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each id joined to its flags as a Maildir names the file, every one exactly once
    however the chunks fall; the other side's ids and other folders stay out."""
    monkeypatch.setattr(status_recorded, "CHUNK", 3)
    db = StatusDB(str(tmp_path / "a.sqlite"), durable=False)
    fid = db.ensure_folder("INBOX", "INBOX").id
    other = db.ensure_folder("Other", "Other").id
    with db.transaction() as tx:
        for n in range(10):
            local = f"{n}.host" if n != 4 else None  # a remote-only row
            st.put_pair(tx, fid, Pair(local, str(n), frozenset("SF"[: n % 3]), frozenset()))
        st.put_pair(tx, other, Pair("x.host", "1", frozenset(), frozenset()))
    recorded = db.recorded_names(fid, st.LOCAL)

    chunks = list(recorded.names("!2,"))

    assert [len(c) for c in chunks] == [3, 3, 3]
    expected = {f"{n}.host!2,{''.join(sorted('SF'[: n % 3]))}" for n in range(10) if n != 4}
    assert sorted(name for c in chunks for name in c) == sorted(expected)
    assert recorded.any_of(["nope", "7.host"]) and not recorded.any_of(["x.host", "4.host"])
    assert [len(c) for c in db.recorded_names(fid, st.REMOTE).names(":")] == [3, 3, 3, 1]
