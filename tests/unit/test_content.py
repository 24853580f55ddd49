"""Line-end conversion in pieces: the same bytes and digests as converting whole."""

from __future__ import annotations

import hashlib
import imaplib
import io
import itertools
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.content import FileBody, crlf_size, fingerprint_and_size, lf_chunks, to_lf, whole
from engine.imap_spool import spool

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


def _file_body(data: bytes) -> FileBody:
    file = tempfile.TemporaryFile()  # noqa: SIM115 (the body owns it)
    file.write(data)
    file.flush()
    return FileBody(file)


@given(MESSAGES, st.integers(1, 9))
def test_a_file_body_reads_as_its_bytes_would(data: bytes, size: int) -> None:
    body = _file_body(data)
    try:
        assert len(body) == len(data)
        assert b"".join(lf_chunks(body, size)) == to_lf(data)
        assert fingerprint_and_size(body) == fingerprint_and_size(data)
        assert crlf_size(body) == crlf_size(data)
        assert whole(body) == data
    finally:
        body.release()


@given(MESSAGES, st.lists(st.integers(1, 9), min_size=1))
def test_a_spooled_literal_is_the_lf_form_with_its_fingerprint(
    data: bytes, sizes: list[int]
) -> None:
    """Read in pieces of any size (a socket's), the spool holds exactly to_lf of the
    literal, and the fingerprint worked out on the way is the one of the bytes."""
    source = io.BytesIO(data)
    widths = itertools.cycle(sizes)

    def read(n: int) -> bytes:
        return source.read(min(n, next(widths)))

    body = spool(read, len(data), None)
    try:
        assert body.lf and body.path is None
        assert whole(body) == to_lf(data)
        assert fingerprint_and_size(body) == fingerprint_and_size(data)
    finally:
        body.release()


def test_a_literal_cut_short_leaves_no_spool_file(tmp_path: Path) -> None:
    source = io.BytesIO(b"only this much")
    with pytest.raises(imaplib.IMAP4.abort):
        spool(source.read, 100, str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_named_spool_file_goes_with_its_release(tmp_path: Path) -> None:
    data = b"a\r\nb\r\n" * 1000
    body = spool(io.BytesIO(data).read, len(data), str(tmp_path))
    assert body.path is not None and os.path.dirname(body.path) == str(tmp_path)
    assert Path(body.path).read_bytes() == to_lf(data)
    body.release()
    assert list(tmp_path.iterdir()) == []
