"""The ``-d imap`` protocol trace: every line both ways, secrets and bodies left out.

The tracer sits below imaplib, on the bytes themselves, so nothing imaplib or
imapclient sends escapes it and nothing they log matters.  Literals (message
bodies, and any argument sent as one) are shown by size only.  The arguments
of LOGIN and AUTHENTICATE (all but the mechanism's name), and every client
line of a SASL exchange, are replaced by ``<redacted>``, so neither a
password nor a token (nor its base64 form, nor its length) can reach a trace.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Trace = Callable[[str], None]

_LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}\r\n$")
_SECRET_COMMAND = re.compile(
    rb"^(\S+ (?:UID )?)(LOGIN|AUTHENTICATE(?: [A-Z0-9_-]+(?= |\r?\n))?)", re.IGNORECASE
)
_MAX_SHOWN = 300


def _show(line: bytes) -> str:
    text = line.rstrip(b"\r\n").decode("utf-8", "replace")
    if len(text) > _MAX_SHOWN:
        return f"{text[:_MAX_SHOWN]}... ({len(text)} chars)"
    return text


class ProtocolTracer:
    """Turns the raw byte streams of one connection into trace lines."""

    def __init__(self, trace: Trace) -> None:
        self._trace = trace
        self._partial = b""
        self._literal_left = 0
        self._secret_tag: bytes | None = None  # a SASL exchange is running

    def sent(self, data: bytes) -> None:
        while data:
            if self._literal_left:
                taken = min(len(data), self._literal_left)
                self._literal_left -= taken
                data = data[taken:]
                continue
            newline = data.find(b"\n")
            if newline < 0:
                self._partial += data
                return
            line, data = self._partial + data[: newline + 1], data[newline + 1 :]
            self._partial = b""
            self._client_line(line)

    def _client_line(self, line: bytes) -> None:
        literal = _LITERAL_AT_END.search(line)
        secret = _SECRET_COMMAND.match(line)
        if secret:
            self._secret_tag = line.split(b" ", 1)[0]
            shown = secret.group(0).decode("ascii", "replace") + " <redacted>"
        elif self._secret_tag is not None:
            shown = "<redacted>"
        elif line in (b"\r\n", b"\n"):
            return  # the end of a command whose last argument was a literal
        else:
            shown = _show(line)
        if literal:
            self._literal_left = int(literal.group(1))
            if not secret:  # a secret's length is nobody's business either
                shown += f" <literal of {self._literal_left} bytes follows>"
        self._trace(f"C: {shown}")

    def received_line(self, line: bytes) -> None:
        if self._secret_tag is not None and line.startswith(self._secret_tag + b" "):
            self._secret_tag = None
        self._trace(f"S: {_show(line)}")

    def received_literal(self, size: int) -> None:
        self._trace(f"S: <literal of {size} bytes>")
