"""Learning what changed on an IMAP server without listing every message.

Two tools, from cheapest up:

* the state of every folder in one round trip (LIST-STATUS, RFC 5819, or
  STATUS commands sent back to back), so that unchanged folders are not even
  selected;
* for a folder that did change, only the messages whose MODSEQ grew since
  the last sync (CONDSTORE ``CHANGEDSINCE``), and the UIDs that vanished
  (QRESYNC ``VANISHED``, or one ``UID SEARCH`` when only CONDSTORE is there).

Everything here works on imaplib's connection below imapclient, because
imapclient can neither pipeline nor pass these modifiers.
"""

from __future__ import annotations

import imaplib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from engine import imap_parse, imap_utf7
from engine.imap_library import parse_response
from engine.repository import Changes, FolderState

STATUS_ITEMS = "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)"
STATUS_ITEMS_PLAIN = "(MESSAGES UIDNEXT UIDVALIDITY)"


def status_items(condstore: bool) -> str:
    """What STATUS asks for: HIGHESTMODSEQ only from a server that has it."""
    return STATUS_ITEMS if condstore else STATUS_ITEMS_PLAIN


def state_from(values: dict[bytes, Any]) -> FolderState:
    """A FolderState from STATUS or SELECT numbers; the stamp only when flags are visible."""
    validity = values.get(b"UIDVALIDITY")
    uidnext = values.get(b"UIDNEXT")
    messages = values.get(b"MESSAGES", values.get(b"EXISTS"))
    modseq = values.get(b"HIGHESTMODSEQ")
    stamp = None
    if None not in (validity, uidnext, messages, modseq):
        stamp = f"imap:{validity}:{uidnext}:{messages}:{modseq}"
    return FolderState(validity, uidnext, messages, modseq, stamp)


def _status_lines(imap: imaplib.IMAP4) -> list[Any]:
    return [line for line in imap.untagged_responses.pop("STATUS", []) if line is not None]


def parse_status(lines: Iterable[Any]) -> dict[str, FolderState]:
    """Decoded folder name -> state, from untagged STATUS responses."""
    out: dict[str, FolderState] = {}
    for line in lines:
        parts = list(line) if isinstance(line, tuple) else [line]
        parsed = parse_response(parts)
        if len(parsed) < 2:
            continue
        raw, items = parsed[0], parsed[1]
        name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        values = {bytes(items[i]).upper(): items[i + 1] for i in range(0, len(items) - 1, 2)}
        out[_decoded(name)] = state_from(values)
    return out


def _decoded(wire: str) -> str:
    try:
        return imap_utf7.decode(wire)
    except ValueError:
        return wire


def list_status(client: Any, condstore: bool) -> tuple[list[Any], dict[str, FolderState]]:
    """Every folder and its state with one ``LIST ... RETURN (STATUS ...)``.

    The LIST entries come back as imapclient's ``list_folders`` gives them.
    """
    imap = client._imap
    imap.untagged_responses.pop("STATUS", None)
    imap.untagged_responses.pop("LIST", None)
    items = status_items(condstore)
    typ, data = imap._simple_command("LIST", '""', '"*"', "RETURN", f"(STATUS {items})")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"LIST-STATUS failed: {data}")
    listed = [line for line in imap.untagged_responses.pop("LIST", []) if line is not None]
    return client._proc_folder_list(listed), parse_status(_status_lines(imap))


def pipelined_status(
    imap: imaplib.IMAP4, wires: Sequence[str], condstore: bool
) -> dict[str, FolderState]:
    """STATUS of many folders, all sent before the first answer is read."""
    imap.untagged_responses.pop("STATUS", None)
    items = status_items(condstore)
    tags = [imap._command("STATUS", imap_parse.quoted(wire), items) for wire in wires]
    for tag in tags:
        imap._command_complete("STATUS", tag)  # a NO (folder gone) leaves it out
    return parse_status(_status_lines(imap))


def changes_modifier(modseq: int, qresync: bool) -> str:
    return f"(CHANGEDSINCE {modseq}{' VANISHED' if qresync else ''})"


def changes_since(
    imap: imaplib.IMAP4,
    modseq: int,
    known: Callable[[], Iterable[int]],
    exists: int,
    qresync: bool,
) -> Changes:
    """``UID FETCH 1:* (...) (CHANGEDSINCE modseq [VANISHED])`` on the selected folder."""
    for kind in ("FETCH", "VANISHED"):
        imap.untagged_responses.pop(kind, None)
    modifier = changes_modifier(modseq, qresync)
    typ, data = imap.uid("FETCH", "1:*", imap_parse.LISTING_ITEMS, modifier)
    if typ != "OK":
        raise imaplib.IMAP4.error(f"UID FETCH CHANGEDSINCE failed: {data}")
    vanished = imap.untagged_responses.pop("VANISHED", [])
    return changes_from(imap, data, vanished, known, exists, qresync)


def changes_from(
    imap: imaplib.IMAP4,
    fetched: list[Any],
    vanished_lines: list[Any],
    known: Callable[[], Iterable[int]],
    exists: int,
    qresync: bool,
) -> Changes:
    """The changes from a CHANGEDSINCE answer (sent alone, or right behind the SELECT).

    ``known`` (the UIDs the status holds) is asked for only without QRESYNC,
    where removals have to be found by counting and searching.
    """
    listed = imap_parse.parse_listing(fetched)
    changed = imap_parse.listing_infos(listed)
    if qresync:
        vanished = parse_vanished(vanished_lines)
    else:
        vanished = _vanished_by_search(imap, set(known()), set(listed), exists)
    return Changes(changed, {str(uid) for uid in vanished})


def parse_vanished(lines: Iterable[Any]) -> set[int]:
    """UIDs from ``VANISHED (EARLIER) 3,5:9`` responses."""
    out: set[int] = set()
    for line in lines:
        text = line.decode("ascii", "replace") if isinstance(line, bytes) else str(line)
        text = text.replace("(EARLIER)", "").strip()
        for part in text.split(","):
            first, _, last = part.strip().partition(":")
            if first.isdigit():
                end = int(last) if last.isdigit() else int(first)
                out.update(range(int(first), end + 1))
    return out


def _vanished_by_search(
    imap: imaplib.IMAP4, known: set[int], seen: set[int], exists: int
) -> set[int]:
    """Without QRESYNC: counting tells whether anything went; one search tells what."""
    if len(known | seen) == exists:
        return set()
    typ, data = imap.uid("SEARCH", "ALL")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"UID SEARCH failed: {data}")
    present = {int(n) for line in data if line for n in line.split()}
    return known - present
