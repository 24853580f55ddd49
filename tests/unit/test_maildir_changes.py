"""A Maildir's changes found by comparing its names with the status.

The comparison must tell the planner exactly what a full scan would: the status
listing with the changes applied is the scanned listing, whatever mix of
canonical names, renamed files, files in new/, odd letter orders, unknown
letters, stale status rows and unrecorded files the folder holds.  And it must
parse only the names that differ.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import maildir_index
from engine.flags import LETTERS
from engine.maildir import MaildirFolder, MaildirRepository
from engine.maildir_compare import RecordedPairs
from engine.planner import Side, as_listing
from engine.status import Pair

DATA = b"Subject: x\r\n\r\nbody\r\n"
LETTER_SETS = st.frozensets(st.sampled_from(LETTERS), max_size=3)


def _open(root: Path, warnings: list[str]) -> MaildirFolder:
    repo = MaildirRepository("local", str(root), sep="/", on_warning=warnings.append)
    repo.create_folder("INBOX")
    return repo.open_folder("INBOX")


def _write(folder: MaildirFolder, subdir: str, name: str) -> None:
    with open(os.path.join(folder.path, subdir, name), "wb") as f:
        f.write(DATA)


# One file: where it is and how its info part is written, and what the status holds.
FILES = st.lists(
    st.tuples(
        st.sampled_from(["cur", "cur", "new", "new-with-info", "reversed", "extra-letter"]),
        LETTER_SETS,
        st.sampled_from(["same", "stale", "unrecorded", "deleted"]),
        LETTER_SETS,
    ),
    max_size=12,
)


def _name(id: str, how: str, letters: str) -> tuple[str, str]:
    if how == "new":
        return "new", id
    if how == "new-with-info":
        return "new", f"{id}:2,{letters}"
    if how == "reversed":
        return "cur", f"{id}:2,{letters[::-1]}"
    if how == "extra-letter":
        return "cur", f"{id}:2,{letters}a"  # a Dovecot keyword letter: not ours, kept
    return "cur", f"{id}:2,{letters}"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=FILES)
def test_status_plus_changes_is_the_scanned_listing(
    tmp_path_factory: pytest.TempPathFactory,
    files: list[tuple[str, frozenset[str], str, frozenset[str]]],
) -> None:
    warnings: list[str] = []
    folder = _open(tmp_path_factory.mktemp("md"), warnings)
    recorded: list[tuple[str, str]] = []
    for n, (how, flags, status, stale) in enumerate(files):
        id = f"{1000 + n}.M{n}P1.host"
        letters = "".join(sorted(flags))
        if status != "deleted":
            _write(folder, *_name(id, "cur" if how == "new" and flags else how, letters))
        if status != "unrecorded":
            kept = stale if status == "stale" else flags
            recorded.append((id, "".join(sorted(kept))))
    recorded.append(("1.gone.host", "S"))
    scanned = {(m.id, m.flags) for m in _open(Path(folder.path).parent, []).list_messages()}

    changes = folder.changes_from(RecordedPairs(recorded))

    assert changes is not None
    pairs = [Pair(id, None, frozenset(text), frozenset()) for id, text in recorded]
    assert {(m.id, m.flags) for m in as_listing(changes, pairs, Side.LOCAL)} == scanned
    assert warnings == []


def test_only_the_names_that_differ_are_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warnings: list[str] = []
    folder = _open(tmp_path, warnings)
    recorded = []
    for n in range(50):
        _write(folder, "cur", f"{n}.host:2,S")
        recorded.append((f"{n}.host", "S"))
    _write(folder, "new", "plain.host")  # delivered without flags, never looked at since
    recorded.append(("plain.host", ""))
    os.rename(
        os.path.join(folder.path, "cur", "7.host:2,S"),
        os.path.join(folder.path, "cur", "7.host:2,FS"),
    )
    os.unlink(os.path.join(folder.path, "cur", "9.host:2,S"))
    _write(folder, "new", "new.host")
    _write(folder, "cur", "\udcff.host:2,S")  # not UTF-8: skipped with a warning
    os.mkdir(os.path.join(folder.path, "cur", "odd.host:2,S"))
    parsed: list[str] = []
    parse = maildir_index.parse_name
    monkeypatch.setattr(
        maildir_index, "parse_name", lambda n, sep: parsed.append(n) or parse(n, sep)
    )

    changes = folder.changes_from(RecordedPairs(recorded))

    assert changes is not None
    assert sorted((m.id, "".join(sorted(m.flags))) for m in changes.changed) == [
        ("7.host", "FS"),
        ("new.host", ""),
    ]
    assert changes.gone == {"9.host"}
    assert len(parsed) == 4, parsed
    assert len(warnings) == 2, warnings


@pytest.mark.parametrize(
    ("files", "letters"),
    [
        ([("cur", "1.host:2,S"), ("new", "1.host")], "S"),  # the canonical one matched
        ([("cur", "1.host:2,SR"), ("new", "1.host")], ""),  # the one in new/ matched
        ([("cur", "1.host:2,F"), ("cur", "1.host:2,SR")], "S"),  # neither matched
        ([("cur", "1.host:2,F"), ("new", "1.host:2,F")], "F"),  # both named canonically
    ],
)
def test_two_files_with_one_id_leave_it_to_a_full_scan(
    tmp_path: Path, files: list[tuple[str, str]], letters: str
) -> None:
    folder = _open(tmp_path, [])
    for subdir, name in files:
        _write(folder, subdir, name)
    assert folder.changes_from(RecordedPairs([("1.host", letters)])) is None
    assert {m.id for m in folder.list_messages()} == {"1.host"}


def test_a_compare_keeps_no_map_of_the_folder(tmp_path: Path) -> None:
    folder = _open(tmp_path, [])
    for n in range(20):
        _write(folder, "cur", f"{n}.host:2,S")
    _write(folder, "cur", "5.host:2,FS")
    os.unlink(os.path.join(folder.path, "cur", "5.host:2,S"))

    changes = folder.changes_from(RecordedPairs((f"{n}.host", "S") for n in range(20)))

    assert changes is not None and [m.id for m in changes.changed] == ["5.host"]
    index = folder._index
    assert index._unparsed is None and set(index.entries) == {"5.host"}


def _recorded_folder(tmp_path: Path, count: int) -> MaildirFolder:
    folder = _open(tmp_path, [])
    for n in range(count):
        _write(folder, "cur", f"{n}.host:2,S")
    folder.read_names()  # a folder as recorded: its names are read for the fingerprint only
    return folder


def test_expected_names_find_files_without_a_directory_map(tmp_path: Path) -> None:
    folder = _recorded_folder(tmp_path, 30)
    folder.expect_names([("3.host", "S"), ("4.host", "S")])

    folder.set_flags("3.host", frozenset("F"), frozenset())
    folder.delete(["4.host"])

    assert folder._index._unparsed is None  # nothing had to map the folder
    assert folder.unchanged_by_others()
    names = sorted(os.listdir(os.path.join(folder.path, "cur")))
    assert "3.host:2,FS" in names and "4.host:2,S" not in names and len(names) == 29


def test_an_expected_name_that_moved_is_found_by_reading_the_folder(tmp_path: Path) -> None:
    folder = _recorded_folder(tmp_path, 10)
    folder.expect_names([("3.host", "S")])
    os.rename(  # a mail reader's change since the read: the sync must not vouch for it
        os.path.join(folder.path, "cur", "3.host:2,S"),
        os.path.join(folder.path, "cur", "3.host:2,RS"),
    )

    folder.set_flags("3.host", frozenset("F"), frozenset())

    assert "3.host:2,FRS" in os.listdir(os.path.join(folder.path, "cur"))
    assert folder.names_fingerprint is None and not folder.unchanged_by_others()


def test_a_rescan_does_not_adopt_changes_made_by_others(tmp_path: Path) -> None:
    folder = _open(tmp_path, [])
    for n in range(5):
        _write(folder, "cur", f"{n}.host:2,S")
    assert len(folder.list_messages()) == 5
    os.rename(
        os.path.join(folder.path, "cur", "2.host:2,S"),
        os.path.join(folder.path, "cur", "2.host:2,DS"),
    )

    folder.set_flags("2.host", frozenset("F"), frozenset())  # renamed meanwhile: rescans

    assert "2.host:2,DFS" in os.listdir(os.path.join(folder.path, "cur"))
    assert folder.names_fingerprint is None and not folder.unchanged_by_others()


def test_the_read_a_sync_plans_from_is_the_one_tracked(tmp_path: Path) -> None:
    """A folder read as recorded, then changed before its stamp was checked again, is
    compared with the status: that comparison, which the plan sees, is the base."""
    folder = _recorded_folder(tmp_path, 5)
    os.rename(
        os.path.join(folder.path, "cur", "1.host:2,S"),
        os.path.join(folder.path, "cur", "1.host:2,FS"),
    )

    changes = folder.changes_from(RecordedPairs((f"{n}.host", "S") for n in range(5)))

    assert changes is not None and [m.id for m in changes.changed] == ["1.host"]
    assert folder.names_fingerprint is not None and folder.unchanged_by_others()


def _as_recorded_then(tmp_path: Path, count: int) -> tuple[MaildirFolder, MaildirFolder]:
    """A folder written and read once (its fingerprint, as a status records it), and a
    second handle on it that starts from that fingerprint instead of reading it."""
    first = _recorded_folder(tmp_path, count)
    recorded = first.names_fingerprint
    assert recorded is not None
    again = MaildirRepository("local", str(tmp_path), sep="/").open_folder("INBOX")
    assert again.start_from_names(recorded)
    return first, again


def test_a_folder_started_from_its_recorded_names_tracks_them_like_a_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No directory read to start with; our own changes move the recorded fingerprint
    along, and the read at the end agrees with it."""
    listed: list[str] = []
    listdir = os.listdir
    first, folder = _as_recorded_then(tmp_path, 20)
    monkeypatch.setattr(os, "listdir", lambda path: listed.append(path) or listdir(path))
    assert folder.names_fingerprint == first.names_fingerprint and listed == []
    folder.expect_names([("3.host", "S"), ("4.host", "S")])

    folder.set_flags("3.host", frozenset("F"), frozenset())
    folder.delete(["4.host"])

    assert listed == []  # the expected names were found where the status said
    assert folder.unchanged_by_others()
    assert len(listed) == 2  # new/ and cur/, once, by the check


def test_a_change_by_others_is_seen_against_the_recorded_names(tmp_path: Path) -> None:
    """A mail reader's rename after the folder started from its recorded names: the
    directory read that finds the moved file, and the check at the end, both see it."""
    _, folder = _as_recorded_then(tmp_path, 10)
    folder.expect_names([("3.host", "S")])
    os.rename(
        os.path.join(folder.path, "cur", "5.host:2,S"),
        os.path.join(folder.path, "cur", "5.host:2,RS"),
    )
    folder.set_flags("3.host", frozenset("F"), frozenset())  # found by its name: no read
    assert folder.names_fingerprint is not None and not folder.unchanged_by_others()

    folder.set_flags("7.host", frozenset("F"), frozenset())  # not expected: a directory read

    assert folder.names_fingerprint is None and not folder.unchanged_by_others()


def test_a_fingerprint_this_version_does_not_make_is_not_started_from(tmp_path: Path) -> None:
    folder = _open(tmp_path, [])
    assert not folder.start_from_names("12:34")  # e.g. from a hash that is gone
    assert folder.names_fingerprint is None
