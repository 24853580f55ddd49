"""Line-end conversions and content fingerprints shared by all stores.

IMAP speaks CRLF, Unix Maildirs hold LF.  Comparing a message across the two
(to find an upload that a crash left unrecorded, or to re-map after a
UIDVALIDITY change) needs one notion of "the same bytes" that ignores that.

A message body is bytes, or a :class:`FileBody` when it is too large to hold
in memory (a 50 MB attachment): every function here takes either and reads a
file a piece at a time.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

CHUNK = 1 << 20  # a large message is converted a MB at a time, never copied whole
HOLD_AT_MOST = 1 << 20  # a larger body travels as a FileBody


class FileBody:
    """A message body in a file, read a piece at a time.

    Either a store's own file, kept open so that a rename by a mail reader
    cannot take it away (``path`` None), or a spool file written as the body
    came off the wire, already with LF line ends (``lf``) and its fingerprint
    worked out on the way.  ``release`` closes it and removes a spool file
    that nobody took over (a Maildir renames one in its own ``tmp/`` into place).
    """

    __slots__ = ("_file", "_summary", "lf", "path", "size")

    def __init__(
        self,
        file: BinaryIO,
        *,
        path: str | None = None,
        lf: bool = False,
        summary: tuple[str, int] | None = None,
    ) -> None:
        self._file = file
        self.path = path
        self.lf = lf
        self.size = os.fstat(file.fileno()).st_size
        self._summary = summary

    def __len__(self) -> int:
        return self.size

    def pieces(self, size: int = CHUNK) -> Iterator[bytes]:
        """The bytes as stored, from the start, ``size`` at a time."""
        self._file.seek(0)
        while piece := self._file.read(size):
            yield piece

    def summary(self) -> tuple[str, int]:
        """:func:`fingerprint_and_size`, read once."""
        if self._summary is None:
            self._summary = _summarise(lf_chunks(self))
        return self._summary

    def fileno(self) -> int:
        return self._file.fileno()

    def release(self) -> None:
        self._file.close()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


Body = bytes | FileBody


class LfStream:
    """:func:`to_lf` over a stream of pieces: a CR that ends a piece waits for the next."""

    __slots__ = ("_cr",)

    def __init__(self) -> None:
        self._cr = False

    def feed(self, piece: bytes) -> bytes:
        if self._cr:
            piece = b"\r" + piece
        self._cr = piece.endswith(b"\r")
        return to_lf(piece[:-1] if self._cr else piece)

    def end(self) -> bytes:
        return b"\r" if self._cr else b""


def to_crlf(data: bytes) -> bytes:
    """Every line end as CRLF (bare LFs become CRLF, existing CRLFs stay)."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def to_lf(data: bytes) -> bytes:
    """Every CRLF as LF, the form mail readers expect in a Maildir."""
    return data.replace(b"\r\n", b"\n")


def whole(data: Body) -> bytes:
    """All of a body in memory: for small stores and tests, never the copy path."""
    return data if isinstance(data, bytes) else b"".join(data.pieces())


def release(data: Body) -> None:
    """Done with a body: a FileBody's file is closed (and a spool file removed)."""
    if isinstance(data, FileBody):
        data.release()


def lf_chunks(data: Body, size: int = CHUNK) -> Iterator[bytes]:
    """:func:`to_lf` of ``data`` in pieces of at most ``size`` (+1) bytes.

    A 50 MB attachment would otherwise be held twice, as fetched and as
    converted.  A piece never ends in a CR, so no CRLF is split between two.
    """
    if isinstance(data, FileBody):
        pieces = data.pieces(size)
        if data.lf:
            yield from pieces
            return
    else:
        pieces = (data[start : start + size] for start in range(0, len(data), size))
    stream = LfStream()
    for piece in pieces:
        if out := stream.feed(piece):
            yield out
    if out := stream.end():
        yield out


def crlf_size(data: Body) -> int:
    """What an IMAP server reports as RFC822.SIZE for these bytes: every LF counts
    two, a CR before one counts nothing more (counted, no converted copy made)."""
    if isinstance(data, FileBody):
        return data.summary()[1]
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


def fingerprint(data: Body) -> str:
    """A digest that is equal for the CRLF and LF forms of one message."""
    return fingerprint_and_size(data)[0]


def fingerprint_and_size(data: Body) -> tuple[str, int]:
    """:func:`fingerprint` and :func:`crlf_size` with one conversion (the copy hot path)."""
    if isinstance(data, FileBody):
        return data.summary()
    return _summarise(lf_chunks(data))


class Summary:
    """:func:`fingerprint_and_size` worked out piece by piece (LF pieces, in order)."""

    __slots__ = ("_digest", "size")

    def __init__(self) -> None:
        import hashlib  # here: a run that copies nothing never imports it (1 ms)

        self._digest = hashlib.sha256()
        self.size = 0

    def add(self, lf_piece: bytes) -> None:
        self._digest.update(lf_piece)
        self.size += len(lf_piece) + lf_piece.count(b"\n")

    def result(self) -> tuple[str, int]:
        return self._digest.hexdigest(), self.size


def _summarise(lf_pieces: Iterable[bytes]) -> tuple[str, int]:
    summary = Summary()
    for piece in lf_pieces:
        summary.add(piece)
    return summary.result()


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
