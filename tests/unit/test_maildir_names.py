"""The Maildir name codec: our own names, and names other programs write."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.maildir_names import (
    BadName,
    MaildirName,
    escape_host,
    folder_md5,
    format_name,
    is_utf8,
    letters_after,
    parse_name,
    uid_hint,
    unique_id,
)

INBOX_MD5 = "7e33429f656f1e6e9d79b29c3f82c57e"  # md5(b"INBOX"), as OfflineIMAP writes it

texts = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30)
flag_sets = st.frozensets(st.sampled_from("DFPRST"))
keyword_letters = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), max_size=5)
infoseps = st.sampled_from([":", "!"])


@given(
    epoch=st.integers(0, 2**40),
    seq=st.integers(0, 10**9),
    pid=st.integers(1, 2**22),
    host=texts,
    uid=st.none() | st.integers(1, 2**32 - 1),
    folder=texts,
    flags=flag_sets,
    infosep=infoseps,
)
def test_our_names_round_trip(
    epoch: int,
    seq: int,
    pid: int,
    host: str,
    uid: int | None,
    folder: str,
    flags: frozenset[str],
    infosep: str,
) -> None:
    fmd5 = folder_md5(folder)
    id = unique_id(epoch, seq, pid, host, uid, fmd5)
    name = format_name(id, "".join(flags), infosep)
    parsed = parse_name(name, infosep)
    assert parsed.id == id
    assert parsed.flags == flags
    assert parsed.others == ""
    assert uid_hint(parsed.id, fmd5) == uid
    assert id.startswith(f"{epoch}_{seq}.{pid}.")
    assert "/" not in name


@given(id=texts, flags=flag_sets, keywords=keyword_letters, infosep=infoseps)
def test_unknown_letters_survive_a_round_trip(
    id: str, flags: frozenset[str], keywords: str, infosep: str
) -> None:
    id = id.replace(infosep, "_")
    parsed = parse_name(format_name(id, "".join(flags) + keywords, infosep), infosep)
    assert parsed == MaildirName(id, "".join(sorted(flags | set(keywords))))
    assert parsed.others == "".join(sorted(set(keywords)))


@given(flags=flag_sets, keywords=keyword_letters, add=flag_sets, remove=flag_sets)
def test_letters_after_changes_only_known_flags(
    flags: frozenset[str], keywords: str, add: frozenset[str], remove: frozenset[str]
) -> None:
    name = MaildirName("x", "".join(sorted(flags | set(keywords))))
    letters = letters_after(name, add, remove)
    assert letters == "".join(sorted(letters))  # ASCII order
    after = parse_name(format_name("x", letters))
    assert after.flags == (flags | add) - remove
    assert after.others == name.others


def test_letters_are_sorted_in_ascii_order() -> None:
    assert format_name("x", "SbFaR") == "x:2,FRSab"
    assert format_name("x", "SbFaR", "!") == "x!2,FRSab"
    assert format_name("x", None) == "x"
    assert format_name("x", "") == "x:2,"


def test_offlineimap_name() -> None:
    name = f"1431853406_0.28541.bahamut,U=12,FMD5={INBOX_MD5}:2,RS"
    parsed = parse_name(name)
    assert parsed.id == f"1431853406_0.28541.bahamut,U=12,FMD5={INBOX_MD5}"
    assert parsed.flags == frozenset("RS")
    assert folder_md5("INBOX") == INBOX_MD5
    assert uid_hint(parsed.id, INBOX_MD5) == 12


def test_offlineimap_hashes_the_utf8_folder_name() -> None:
    assert folder_md5("INBOX.Entwürfe") == "c7064702262217f4c317ba505d08e5ed"


def test_uid_hint_needs_this_folders_fmd5() -> None:
    other = folder_md5("Archive")
    id = f"1431853406_0.28541.bahamut,U=12,FMD5={other}"
    assert uid_hint(id, INBOX_MD5) is None
    assert uid_hint(id, other) == 12
    assert uid_hint(f"1_0.1.h,U=12,FMD5={INBOX_MD5.upper()}", INBOX_MD5) == 12
    assert uid_hint(f"1_0.1.h,U=0,FMD5={INBOX_MD5}", INBOX_MD5) is None
    assert uid_hint(f"1_0.1.h,FMD5={INBOX_MD5}", INBOX_MD5) is None
    assert uid_hint(f"1_0.1.h,U=12x,FMD5={INBOX_MD5}", INBOX_MD5) is None


def test_mbsync_uid_is_not_a_hint() -> None:
    parsed = parse_name("1600000000.12345_1.laptop,U=42:2,S")
    assert parsed.id == "1600000000.12345_1.laptop,U=42"
    assert parsed.flags == frozenset("S")
    assert uid_hint(parsed.id, INBOX_MD5) is None


def test_mutt_names() -> None:
    assert parse_name("1600000000.12345_3.laptop") == MaildirName("1600000000.12345_3.laptop", None)
    parsed = parse_name("1600000000.12345_3.laptop:2,FS")
    assert parsed.id == "1600000000.12345_3.laptop"
    assert parsed.flags == frozenset("FS")


def test_dovecot_names_with_keywords() -> None:
    parsed = parse_name("1600000000.M20046P2137.mail.example.org,S=1234,W=1260:2,Sab")
    assert parsed.id == "1600000000.M20046P2137.mail.example.org,S=1234,W=1260"
    assert parsed.flags == frozenset("S")
    assert parsed.others == "ab"
    assert letters_after(parsed, frozenset("F"), frozenset("S")) == "Fab"


def test_windows_compatible_names() -> None:
    name = f"1431853406_0.28541.bahamut,U=7,FMD5={INBOX_MD5}!2,FS"
    parsed = parse_name(name, "!")
    assert parsed.id == f"1431853406_0.28541.bahamut,U=7,FMD5={INBOX_MD5}"
    assert parsed.flags == frozenset("FS")
    assert parse_name(name, ":") == MaildirName(name, None)  # '!' means nothing there


def test_unknown_upper_case_letters_are_kept_not_synced() -> None:
    parsed = parse_name("x:2,QS")
    assert parsed.flags == frozenset("S")
    assert parsed.others == "Q"


@pytest.mark.parametrize(
    "name",
    [
        ":2,S",  # nothing before the info part
        "x:1,experimental",  # info of another version
        "x:S",
        "x:2,S:2,F",
        "x:2,S,",
        "x:2,F S",
        "caf\udce9:2,S",  # a Latin-1 byte, as os.listdir shows it
    ],
)
def test_bad_names(name: str) -> None:
    with pytest.raises(BadName):
        parse_name(name)


def test_escape_host() -> None:
    assert escape_host("mail.example.org") == "mail.example.org"
    assert escape_host("a/b:c!d,e") == "a-b-c-d-e"


def test_unique_id_shape() -> None:
    id = unique_id(1600000000, 3, 4242, "host/x", 17, INBOX_MD5)
    assert id == f"1600000000_3.4242.host-x,U=17,FMD5={INBOX_MD5}"
    assert unique_id(1, 0, 2, "h", None, INBOX_MD5) == f"1_0.2.h,FMD5={INBOX_MD5}"


def test_is_utf8() -> None:
    assert is_utf8("Entwürfe ✓")
    assert not is_utf8("caf\udce9")


def _uid_hint_by_regex(id: str, fmd5: str) -> int | None:
    """The definition the fast ``uid_hint`` must agree with."""
    md5 = re.search(r",FMD5=([0-9a-fA-F]{32})(?=,|$)", id)
    if md5 is None or md5.group(1).lower() != fmd5:
        return None
    uid = re.search(r",U=([0-9]+)(?=,|$)", id)
    value = int(uid.group(1)) if uid is not None else 0
    return value if value > 0 else None


_MD5 = folder_md5("INBOX")
_pieces = st.sampled_from(
    [",U=", ",U=7", ",U=0", ",U=12a", ",U=٣", ",FMD5=", f",FMD5={_MD5}", f",FMD5={_MD5.upper()}",
     f",FMD5={_MD5[:31]}", f",FMD5={_MD5}x", ",", "1", "٣", "x", "=", ",S=120"]
)  # fmt: skip


@settings(max_examples=500)
@given(st.lists(_pieces, max_size=8).map("".join))
def test_uid_hint_reads_fields_as_their_definition_says(id: str) -> None:
    assert uid_hint(id, _MD5) == _uid_hint_by_regex(id, _MD5)
