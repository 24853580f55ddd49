"""Line-end conversion in pieces: the same bytes and digests as converting whole."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from engine.content import fingerprint_and_size, lf_chunks, to_lf

# Bytes rich in CR and LF, so that pieces often end between a CR and its LF.
MESSAGES = st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b"bc"]), max_size=80).map(
    b"".join
)


@given(MESSAGES, st.integers(1, 9))
def test_pieces_join_to_the_whole_conversion(data: bytes, size: int) -> None:
    pieces = list(lf_chunks(data, size))
    assert b"".join(pieces) == to_lf(data)
    assert all(len(p) <= size + 1 for p in pieces)


@given(MESSAGES)
def test_fingerprint_and_size_as_from_the_whole_message(data: bytes) -> None:
    lf = to_lf(data)
    assert fingerprint_and_size(data) == (hashlib.sha256(lf).hexdigest(), len(lf) + lf.count(b"\n"))


def test_a_large_message_is_converted_a_piece_at_a_time() -> None:
    data = b"x" * 1_048_575 + b"\r\n" + b"y\r\n" * 10
    pieces = list(lf_chunks(data))
    assert len(pieces) == 2 and pieces[0].endswith(b"x") and pieces[1].startswith(b"\n")
    assert b"".join(pieces) == to_lf(data)
