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

    changes = folder.changes_from(lambda: recorded)

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

    changes = folder.changes_from(lambda: recorded)

    assert changes is not None
    assert sorted((m.id, "".join(sorted(m.flags))) for m in changes.changed) == [
        ("7.host", "FS"),
        ("new.host", ""),
    ]
    assert changes.gone == {"9.host"}
    assert len(parsed) == 4, parsed
    assert len(warnings) == 2, warnings


def test_two_files_with_one_id_leave_it_to_a_full_scan(tmp_path: Path) -> None:
    folder = _open(tmp_path, [])
    _write(folder, "cur", "1.host:2,S")
    _write(folder, "new", "1.host")
    assert folder.changes_from(lambda: [("1.host", "S")]) is None
