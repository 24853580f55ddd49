"""Several UID commands in flight on one connection: one round trip for the lot.

imapclient sends a command and waits for its answer, so on a distant server a
folder's flag changes and deletions would cost a round trip per command: the
STOREs for each flag, the STORE of \\Deleted, the EXPUNGE.  imaplib underneath
can send several tagged commands before reading any answer and files each
answer under its tag; a server executes them in the order sent.  That is all
these commands need: none depends on another's answer, only on its effect.
"""

from __future__ import annotations

import imaplib
from collections.abc import Sequence
from typing import Any

from engine import imap_parse


def uid_commands(imap: imaplib.IMAP4, commands: Sequence[tuple[str, ...]]) -> list[Any]:
    """Send ``UID <command> <args>`` for each of ``commands``, then read every answer.

    Returns the untagged FETCH data they brought (flag changes, by which a
    STORE shows which UIDs exist).  A refusal raises once every answer has
    been read, so the connection stays in step for the next command.
    """
    imap.untagged_responses.pop("FETCH", None)
    tags = [imap._command("UID", *command) for command in commands]
    refused: Exception | None = None
    for tag, command in zip(tags, commands, strict=True):
        try:
            typ, data = imap._command_complete("UID", tag)
        except imaplib.IMAP4.abort:
            raise  # the connection is gone: nothing more to read
        except imaplib.IMAP4.error as exc:  # BAD
            refused = refused or exc
            continue
        if typ != "OK" and refused is None:
            refused = imaplib.IMAP4.error(
                f"UID {command[0]} failed: {imap_parse.describe_data(data)}"
            )
    fetched = imap.untagged_responses.pop("FETCH", [])
    if refused is not None:
        raise refused
    return [item for item in fetched if item is not None]
