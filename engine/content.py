"""Line-end conversions and content fingerprints shared by all stores.

IMAP speaks CRLF, Unix Maildirs hold LF.  Comparing a message across the two
(to find an upload that a crash left unrecorded, or to re-map after a
UIDVALIDITY change) needs one notion of "the same bytes" that ignores that.
"""

from __future__ import annotations

import hashlib


def to_crlf(data: bytes) -> bytes:
    """Every line end as CRLF (bare LFs become CRLF, existing CRLFs stay)."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def to_lf(data: bytes) -> bytes:
    """Every CRLF as LF, the form mail readers expect in a Maildir."""
    return data.replace(b"\r\n", b"\n")


def crlf_size(data: bytes) -> int:
    """What an IMAP server reports as RFC822.SIZE for these bytes."""
    lf = to_lf(data)
    return len(lf) + lf.count(b"\n")


def fingerprint(data: bytes) -> str:
    """A digest that is equal for the CRLF and LF forms of one message."""
    return hashlib.sha256(to_lf(data)).hexdigest()


def fingerprint_and_size(data: bytes) -> tuple[str, int]:
    """:func:`fingerprint` and :func:`crlf_size` with one conversion (the copy hot path)."""
    lf = to_lf(data)
    return hashlib.sha256(lf).hexdigest(), len(lf) + lf.count(b"\n")


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
