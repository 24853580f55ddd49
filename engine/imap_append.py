"""APPEND on the wire: one message or many (MULTIAPPEND), and what a refusal means.

A NO to an APPEND usually concerns the message (too big, malformed): that
message is skipped and the folder goes on.  Some response codes say the
folder itself cannot take mail (quota, permissions, gone); those stop the folder.

The command is written here rather than by imapclient, whose literals are
bytes objects joined to their headers: a 50 MB message would be held three
times more while being sent.  Each body goes out with CRLF line ends a piece
at a time (LITERAL+ where offered, else after the server's continuation).
"""

from __future__ import annotations

import imaplib
from typing import Any, NamedTuple

from engine import imap_parse
from engine.content import Body, crlf_size, lf_chunks
from engine.errors import FolderError, MessageError
from engine.flags import to_imap
from engine.imap_connect import Client
from engine.repository import Message


class Literal(NamedTuple):
    """A message body to send as a literal: as stored, whatever its line ends."""

    data: Body


Arg = bytes | Literal


def append_args(message: Message) -> list[Arg]:
    """Flags, INTERNALDATE and the body of one message of an APPEND."""
    args: list[Arg] = [f"({' '.join(to_imap(message.flags))})".encode("ascii")]
    if message.internaldate is not None:
        args.append(f'"{imap_parse.internaldate(message.internaldate)}"'.encode("ascii"))
    args.append(Literal(message.data))
    return args


def send_append(client: Client, args: list[Arg]) -> tuple[str, bytes]:
    """The tagged answer's status and text; a NO is for the caller to judge."""
    imap = client._imap
    plus = client.has_capability("LITERAL+")  # asked before the command starts
    tag: bytes = imap._new_tag()
    line = [tag, b"APPEND"]
    for item in args:
        if not isinstance(item, Literal):
            line.append(item)
            continue
        size = crlf_size(item.data)
        imap.send(b" ".join(line) + b" {%d%s}\r\n" % (size, b"+" if plus else b""))
        refused = None if plus else _await_continuation(imap, tag)
        if refused is not None:  # answered at once (too big, say): nothing more to send
            return _judgeable(*refused)
        for piece in lf_chunks(item.data):
            imap.send(piece.replace(b"\n", b"\r\n"))
        line = [b""]  # what follows a literal starts with a space
    imap.send(b" ".join(line) + b"\r\n")
    return _judgeable(*imap._command_complete("APPEND", tag))


def _judgeable(typ: str, data: list[Any]) -> tuple[str, bytes]:
    if typ not in ("OK", "NO"):
        raise imaplib.IMAP4.error(f"APPEND failed: {imap_parse.describe_data(data)}")
    return typ, data[0] if data and isinstance(data[0], bytes) else b""


def _await_continuation(imap: imaplib.IMAP4, tag: bytes) -> tuple[str, list[Any]] | None:
    """Read until the server's "+"; its tagged answer instead, if it gave one."""
    while imap._get_response():
        answer = imap.tagged_commands.get(tag)
        if answer:
            del imap.tagged_commands[tag]
            typ: str | bytes = answer[0]  # imaplib files a str, whatever its stubs say
            return typ if isinstance(typ, str) else typ.decode(), list(answer[1])
    return None


# A refused APPEND with one of these codes would be refused for any message.
_FOLDER_WIDE = (b"[OVERQUOTA", b"[TRYCREATE", b"[NONEXISTENT", b"[NOPERM", b"[SERVERBUG")


def judged(answer: tuple[str, bytes], where: str) -> bytes:
    """The OK text; a NO about these messages is a MessageError, else a FolderError."""
    typ, text = answer
    if typ == "OK":
        return text
    reason = f"{where}: APPEND refused: {imap_parse.text(text) or 'no reason given'}"
    if text.upper().startswith(_FOLDER_WIDE):
        raise FolderError(reason)
    raise MessageError(reason)
