"""A folder's names fingerprint: the same in every process, however it is built."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import maildir_stamps
from engine.maildir_stamps import NameSum, names_fingerprint

ROOT = Path(__file__).resolve().parents[2]
NAMES = [
    f"{1700000000 + n}_{n}.42.host,U={n},FMD5={'ab' * 16}:2,{'FS'[: n % 3]}" for n in range(50)
]


def maildir(root: Path, cur: list[str], new: list[str]) -> str:
    for sub, names in (("cur", cur), ("new", new), ("tmp", [])):
        (root / sub).mkdir(parents=True)
        for name in names:
            (root / sub / name).touch()
    return str(root)


def fingerprint_in_a_process(path: str, seed: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from engine.maildir_stamps import names_fingerprint as f;"
            " print(f(sys.argv[1]))",
            path,
        ],
        env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_a_listing_has_one_fingerprint_in_every_process(tmp_path: Path) -> None:
    """Python's ``hash`` of a str changes with PYTHONHASHSEED: the status could not
    keep a fingerprint made with it for the next run."""
    path = maildir(tmp_path / "box", NAMES[:40], NAMES[40:])
    one, two = (fingerprint_in_a_process(path, seed) for seed in ("1", "2"))
    assert one == two == names_fingerprint(path)


def test_names_added_one_by_one_or_all_at_once_agree() -> None:
    whole, single = NameSum(), NameSum()
    whole.add_all("cur", NAMES[:30])
    whole.add_all("new", NAMES[30:])
    for name in reversed(NAMES):
        single.add("cur" if NAMES.index(name) < 30 else "new", name)
    assert whole.value() == single.value()
    single.remove("cur", NAMES[0])
    fewer = NameSum()
    fewer.add_all("cur", NAMES[1:30])
    fewer.add_all("new", NAMES[30:])
    assert single.value() == fewer.value() != whole.value()


def test_a_file_moved_from_new_to_cur_changes_the_fingerprint() -> None:
    before, after = NameSum(), NameSum()
    before.add_all("new", NAMES[:1])
    after.add_all("cur", NAMES[:1])
    assert before.value() != after.value()


@pytest.mark.parametrize("utf8", [True, False])
def test_names_that_are_not_utf8_are_hashed_by_their_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, utf8: bool
) -> None:
    """os.listdir gives bytes that are no UTF-8 back as surrogates; they are hashed as
    the bytes on disk (os.fsencode), one by one or in a whole listing."""
    monkeypatch.setattr(maildir_stamps, "_FS_UTF8", utf8)
    odd = os.fsdecode(b"1.host:2,S\xff")
    cur = tmp_path / "box" / "cur"
    path = maildir(tmp_path / "box", [], [])
    os.close(os.open(os.path.join(os.fsencode(cur), b"1.host:2,S\xff"), os.O_CREAT, 0o600))
    (cur / "2.host:2,S").touch()
    assert sorted(os.listdir(cur)) == sorted([odd, "2.host:2,S"])

    one = NameSum()
    one.add("cur", odd)
    one.add("cur", "2.host:2,S")
    assert names_fingerprint(path) == one.value()
    one.remove("cur", odd)
    assert one.value() == names_fingerprint_of(["2.host:2,S"])


def names_fingerprint_of(cur: list[str]) -> str:
    names = NameSum()
    names.add_all("cur", cur)
    return names.value()


def test_a_fingerprint_is_parsed_back_and_foreign_text_is_not() -> None:
    names = NameSum()
    names.add_all("cur", NAMES)
    again = NameSum.parse(names.value())
    assert again is not None and again.value() == names.value()
    for text in ("", "crc32:", "crc32:1", "sip:3:7", "crc32:-1:5", "crc32:3:x", "crc32:\u00b2:1"):
        assert NameSum.parse(text) is None, text
