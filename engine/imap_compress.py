"""COMPRESS=DEFLATE (RFC 4978) under imaplib, which has no notion of it.

After ``COMPRESS DEFLATE`` is accepted, everything either side sends is one
raw DEFLATE stream, flushed at the end of every write so that nothing waits in
a buffer.  imaplib reads through ``self.file`` and writes through
``self.sock.sendall``; both are replaced here, below the protocol tracer, so a
``-d imap`` trace still shows the commands as sent.  Listings and headers
shrink several times over; already compressed attachments do not, which is
why it is the user's choice (``usecompression``), as in OfflineIMAP.
"""

from __future__ import annotations

import imaplib
import io
import socket
import zlib
from typing import Any

imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))

_READ = 64 * 1024


class _Inflating(io.RawIOBase):
    """The server's stream, inflated; counts the bytes that crossed the wire."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        self._ready = b""
        self.wire_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._ready:
            raw = self._sock.recv(_READ)
            if not raw:
                return 0
            self.wire_bytes += len(raw)
            self._ready = self._inflate.decompress(raw)
        size = min(len(buffer), len(self._ready))
        buffer[:size] = self._ready[:size]
        self._ready = self._ready[size:]
        return size


class _Deflating:
    """The socket as imaplib writes to it: each ``sendall`` compressed and flushed."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)

    def sendall(self, data: bytes) -> None:
        out = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        self._sock.sendall(out)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)  # settimeout, fileno, shutdown, close...


def start(imap: imaplib.IMAP4) -> _Inflating | None:
    """Turn compression on for this connection if the server agrees; the reader, or None.

    Only for a socket connection: a tunnel's pipes are left as they are.
    """
    sock = getattr(imap, "sock", None)
    if not isinstance(sock, socket.socket):
        return None
    typ, _data = imap._simple_command("COMPRESS", "DEFLATE")
    if typ != "OK":
        return None
    reader = _Inflating(sock)
    imap.file = io.BufferedReader(reader, _READ)
    imap.sock = _Deflating(sock)  # type: ignore[assignment]
    return reader
