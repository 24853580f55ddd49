"""Modified UTF-7 mailbox names: known vectors, round trips, strict decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import imap_utf7

VECTORS = [
    ("INBOX", "INBOX"),
    ("&", "&-"),
    ("A&B", "A&-B"),
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 5.1.3
    ("Entwürfe", "Entw&APw-rfe"),
    ("Entwürfe & Co ✓", "Entw&APw-rfe &- Co &JxM-"),
    ("😀", "&2D3eAA-"),  # outside the BMP: a surrogate pair
    ("tab\there", "tab&AAk-here"),  # control characters are not printable
    ("", ""),
]


@pytest.mark.parametrize(("text", "wire"), VECTORS)
def test_known_vectors(text: str, wire: str) -> None:
    assert imap_utf7.encode(text) == wire
    assert imap_utf7.decode(wire) == text
    assert imap_utf7.decode(wire.encode("ascii")) == text


@given(st.text())
def test_round_trip(text: str) -> None:
    wire = imap_utf7.encode(text)
    assert all(0x20 <= ord(c) <= 0x7E for c in wire)
    assert imap_utf7.decode(wire) == text


@given(st.lists(st.sampled_from(["a", "&", "-", "ü", "日本", "😀", " ", ","]), max_size=12))
def test_round_trip_of_tricky_neighbours(parts: list[str]) -> None:
    text = "".join(parts)
    assert imap_utf7.decode(imap_utf7.encode(text)) == text


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_decode_accepts_only_what_encode_produces(wire: str) -> None:
    """Any printable string either fails cleanly or is the canonical form."""
    try:
        text = imap_utf7.decode(wire)
    except ValueError:
        return
    assert imap_utf7.encode(text) == wire


@pytest.mark.parametrize(
    "wire",
    [
        "&U,BTFw",  # unterminated
        "&U,B*Fw-",  # not base64
        "&AGE-",  # printable 'a' hidden in base64
        "&AP-",  # 12 bits: not a whole UTF-16 unit
        "&APx-",  # ends in non-zero padding bits
        "&APw-&APw-",  # two adjacent runs: encode would make one
        "&2D0-",  # a lone high surrogate
        "caf\u00e9",  # 8-bit text is not modified UTF-7
        "bad\x01",
    ],
)
def test_malformed_names_are_rejected(wire: str) -> None:
    with pytest.raises(ValueError):
        imap_utf7.decode(wire)


def test_8bit_bytes_are_rejected() -> None:
    with pytest.raises(ValueError):
        imap_utf7.decode("Entwürfe".encode())


def test_lone_surrogate_cannot_be_encoded() -> None:
    with pytest.raises(ValueError):
        imap_utf7.encode("bad\ud800name")
