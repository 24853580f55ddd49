"""APPEND on the wire: one message or many (MULTIAPPEND), and what a refusal means.

A NO to an APPEND usually concerns the message (too big, malformed): that
message is skipped and the folder goes on.  Some response codes say the
folder itself cannot take mail (quota, permissions, gone); those stop the folder.
"""

from __future__ import annotations

import imaplib

from imapclient.imapclient import _literal

from engine import imap_parse
from engine.content import to_crlf
from engine.errors import FolderError, MessageError
from engine.flags import to_imap
from engine.imap_connect import Client
from engine.repository import Message


def append_args(message: Message) -> list[bytes]:
    """Flags, INTERNALDATE and the body literal of one message of an APPEND."""
    args = [f"({' '.join(to_imap(message.flags))})".encode("ascii")]
    if message.internaldate is not None:
        args.append(f'"{imap_parse.internaldate(message.internaldate)}"'.encode("ascii"))
    args.append(_literal(to_crlf(message.data)))
    return args


def send_append(client: Client, args: list[bytes]) -> tuple[str, bytes]:
    """The tagged answer's status and text; a NO is for the caller to judge."""
    typ, data = client._raw_command(b"APPEND", args, uid=False)
    if typ not in ("OK", "NO"):
        raise imaplib.IMAP4.error(f"APPEND failed: {imap_parse.describe_data(data)}")
    response = data[0] if data and isinstance(data[0], bytes) else b""
    return typ, response


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
