"""IMAP's modified UTF-7 for mailbox names (RFC 3501, section 5.1.3).

Servers speak mailbox names in this 7-bit form; users (and Maildir folders)
see Unicode.  Printable ASCII stands for itself except ``&``, which starts a
run of UTF-16BE in base64 with ``,`` for ``/``, no padding, closed by ``-``;
``&-`` is a literal ``&``.

``decode`` is strict: it rejects anything ``encode`` would not have produced,
so a decoded name always encodes back to the very bytes the server sent.  A
caller that meets a name it cannot decode keeps the server's form instead.
"""

from __future__ import annotations

import base64
import binascii

_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,")


def _printable(char: str) -> bool:
    return 0x20 <= ord(char) <= 0x7E


def encode(name: str) -> str:
    """The wire form of a Unicode mailbox name; ValueError for lone surrogates."""
    out: list[str] = []
    pending: list[str] = []
    for char in name:
        if _printable(char):
            if pending:
                out.append(_encode_run("".join(pending)))
                pending.clear()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    if pending:
        out.append(_encode_run("".join(pending)))
    return "".join(out)


def _encode_run(text: str) -> str:
    try:
        raw = text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise ValueError(f"cannot encode {text!r} as a mailbox name: {exc.reason}") from exc
    return f"&{_b64(raw)}-"


def decode(wire: str | bytes) -> str:
    """The Unicode form of a wire mailbox name; ValueError if it is malformed."""
    if isinstance(wire, bytes):
        try:
            wire = wire.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ValueError(f"8-bit byte in mailbox name {wire!r}") from exc
    out: list[str] = []
    pos = 0
    run_ended_at = -2  # where the last base64 run's closing '-' was
    while pos < len(wire):
        char = wire[pos]
        if not _printable(char):
            raise ValueError(f"unprintable character in mailbox name {wire!r}")
        if char != "&":
            out.append(char)
            pos += 1
            continue
        end = wire.find("-", pos + 1)
        if end < 0:
            raise ValueError(f"unterminated '&' run in mailbox name {wire!r}")
        run = wire[pos + 1 : end]
        if not run:
            out.append("&")
        elif run_ended_at == pos - 1:
            raise ValueError(f"two adjacent base64 runs in mailbox name {wire!r}")
        else:
            out.append(_decode_run(run, wire))
            run_ended_at = end
        pos = end + 1
    return "".join(out)


def _decode_run(run: str, wire: str) -> str:
    if any(c not in _B64_ALPHABET for c in run):
        raise ValueError(f"bad base64 in mailbox name {wire!r}")
    padded = run.replace(",", "/") + "=" * (-len(run) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"bad base64 in mailbox name {wire!r}") from exc
    if len(raw) % 2 or _b64(raw) != run:
        raise ValueError(f"bad base64 length or padding in mailbox name {wire!r}")
    try:
        text = raw.decode("utf-16-be")
    except UnicodeDecodeError as exc:
        raise ValueError(f"bad UTF-16 in mailbox name {wire!r}") from exc
    if any(_printable(c) for c in text):
        raise ValueError(f"printable ASCII hidden in base64 in mailbox name {wire!r}")
    return text


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",")
