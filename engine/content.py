"""Line-end conversions and content fingerprints shared by all stores.

IMAP speaks CRLF, Unix Maildirs hold LF.  Comparing a message across the two
(to find an upload that a crash left unrecorded, or to re-map after a
UIDVALIDITY change) needs one notion of "the same bytes" that ignores that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

CHUNK = 1 << 20  # a large message is converted a MB at a time, never copied whole


def to_crlf(data: bytes) -> bytes:
    """Every line end as CRLF (bare LFs become CRLF, existing CRLFs stay)."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def to_lf(data: bytes) -> bytes:
    """Every CRLF as LF, the form mail readers expect in a Maildir."""
    return data.replace(b"\r\n", b"\n")


def lf_chunks(data: bytes, size: int = CHUNK) -> Iterator[bytes]:
    """:func:`to_lf` of ``data`` in pieces of at most ``size`` (+1) bytes.

    A 50 MB attachment would otherwise be held twice, as fetched and as
    converted.  A piece never ends in a CR, so no CRLF is split between two.
    """
    if len(data) <= size:
        yield to_lf(data)
        return
    view, start = memoryview(data), 0
    while start < len(data):
        end = min(start + size, len(data))
        if end < len(data) and data[end - 1] == 0x0D:  # with the LF that may follow it
            end = end - 1 if end - 1 > start else end + 1
        yield to_lf(bytes(view[start:end]))
        start = end


def crlf_size(data: bytes) -> int:
    """What an IMAP server reports as RFC822.SIZE for these bytes: every LF counts
    two, a CR before one counts nothing more (counted, no converted copy made)."""
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


def fingerprint(data: bytes) -> str:
    """A digest that is equal for the CRLF and LF forms of one message."""
    return fingerprint_and_size(data)[0]


def fingerprint_and_size(data: bytes) -> tuple[str, int]:
    """:func:`fingerprint` and :func:`crlf_size` with one conversion (the copy hot path)."""
    digest, size = hashlib.sha256(), 0
    for piece in lf_chunks(data):
        digest.update(piece)
        size += len(piece) + piece.count(b"\n")
    return digest.hexdigest(), size


def header_value(data: bytes, name: bytes) -> bytes | None:
    """The first value of a header field (unfolded, stripped), or None."""
    head = to_lf(data).split(b"\n\n", 1)[0]
    wanted = name.lower() + b":"
    value: list[bytes] | None = None
    for line in head.split(b"\n"):
        if value is not None:
            if line[:1] in (b" ", b"\t"):
                value.append(line.strip())
                continue
            break
        if line.lower().startswith(wanted):
            value = [line[len(wanted) :].strip()]
    return b" ".join(value) if value is not None else None
