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
        typ, data = _answer(imap, "UID", tag)
        if typ != "OK" and refused is None:
            refused = imaplib.IMAP4.error(
                f"UID {command[0]} failed: {imap_parse.describe_data(data)}"
            )
    fetched = imap.untagged_responses.pop("FETCH", [])
    if refused is not None:
        raise refused
    return [item for item in fetched if item is not None]


def select_and_fetch(
    imap: imaplib.IMAP4, name: str, mailbox: str | bytes, fetch: Sequence[str]
) -> tuple[dict[str, list[Any]], list[Any]]:
    """SELECT (or EXAMINE) ``mailbox`` with ``UID FETCH <fetch>`` right behind it.

    What imaplib's select() does, except that the FETCH goes out before the
    SELECT's answer is read.  Were the SELECT refused, no mailbox would be
    selected (RFC 3501), so the FETCH cannot read another folder: it fails too,
    and the refusal of the SELECT is what is raised.  Returns the untagged
    responses (the SELECT's numbers, and VANISHED) and the FETCH data.
    """
    readonly = name == "EXAMINE"
    imap.untagged_responses = {}
    imap.is_readonly = readonly
    select_tag = imap._command(name, mailbox)
    imap.state = "SELECTED"  # imaplib sends UID commands in no other state
    fetch_tag = imap._command("UID", "FETCH", *fetch)
    selected = _answer(imap, name, select_tag)
    fetched = _answer(imap, "UID", fetch_tag)
    if selected[0] != "OK":
        imap.state = "AUTH"
        raise imaplib.IMAP4.error(f"{name} failed: {imap_parse.describe_data(selected[1])}")
    if "READ-ONLY" in imap.untagged_responses and not readonly:
        raise imap.readonly(f"{mailbox!r} is not writable")
    if fetched[0] != "OK":
        raise imaplib.IMAP4.error(f"UID FETCH failed: {imap_parse.describe_data(fetched[1])}")
    data = imap.untagged_responses.pop("FETCH", [])
    return imap.untagged_responses, [item for item in data if item is not None]


def status_and_fetch(
    imap: imaplib.IMAP4, mailbox: str | bytes, items: str, fetch: Sequence[str]
) -> tuple[list[Any], list[Any], list[Any]]:
    """STATUS of the selected ``mailbox`` with ``UID FETCH <fetch>`` right behind it,
    in one round trip: the STATUS lines, the FETCH data and the VANISHED lines.

    The server answers them in the order sent, so the STATUS numbers are read
    before the FETCH looks at the mailbox.
    """
    for kind in ("STATUS", "FETCH", "VANISHED"):
        imap.untagged_responses.pop(kind, None)
    status_tag = imap._command("STATUS", mailbox, items)
    fetch_tag = imap._command("UID", "FETCH", *fetch)
    answers = (
        ("STATUS", _answer(imap, "STATUS", status_tag)),
        ("UID FETCH", _answer(imap, "UID", fetch_tag)),
    )
    for name, (typ, data) in answers:
        if typ != "OK":
            raise imaplib.IMAP4.error(f"{name} failed: {imap_parse.describe_data(data)}")
    lines = imap.untagged_responses.pop("STATUS", [])
    data = imap.untagged_responses.pop("FETCH", [])
    vanished = imap.untagged_responses.pop("VANISHED", [])
    return (
        [line for line in lines if line is not None],
        [item for item in data if item is not None],
        vanished,
    )


def send_fetch(imap: imaplib.IMAP4, uid_set: str, items: str) -> str:
    """Send ``UID FETCH <uid_set> <items>`` and return its tag; the answer is read later
    (``fetch_answer``), while the server is already sending it."""
    imap.untagged_responses.pop("FETCH", None)
    tag: str = imap._command("UID", "FETCH", uid_set, items)
    return tag


def fetch_answer(imap: imaplib.IMAP4, tag: str) -> list[Any]:
    """The FETCH data of a ``send_fetch``; nothing else may have been sent since."""
    typ, data = _answer(imap, "UID", tag)
    fetched = imap.untagged_responses.pop("FETCH", [])
    if typ != "OK":
        raise imaplib.IMAP4.error(f"UID FETCH failed: {imap_parse.describe_data(data)}")
    return [item for item in fetched if item is not None]


def _answer(imap: imaplib.IMAP4, name: str, tag: str) -> tuple[str, list[Any]]:
    """A command's tagged answer; a BAD comes back as one, not as an exception."""
    try:
        typ, data = imap._command_complete(name, tag)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        return "BAD", [str(exc).encode()]
    return typ, data
