"""Small pieces of IMAP syntax that imapclient does not give us, or not fast.

The listing parser matters most: one ``UID FETCH 1:* (UID FLAGS RFC822.SIZE)``
of a 100,000-message folder is 100,000 response lines, and imapclient's general
parser spends about 20 microseconds on each.  The lines are simple enough for
regular expressions (one for the usual item order, one item by item for any
other); anything unusual falls back to imapclient's parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.content import FileBody
from engine.flags import from_imap
from engine.imap_library import parse_fetch_response
from engine.imap_spool import Spooled, release_untaken
from engine.repository import FetchedMessage, Message, MessageInfo

_USUAL_LINE = re.compile(rb"\d+ \(UID (\d+) FLAGS \(([^()\"{}]*)\) RFC822\.SIZE (\d+)\)\Z")
_FETCH_LINE = re.compile(rb"(\d+) \((.*)\)\Z", re.DOTALL)
_ITEM = re.compile(rb' *([A-Za-z0-9.]+) (\([^()"{}]*\)|[^ ()"{}]+)')
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) ([0-9:,]+)\]", re.IGNORECASE)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Listed = tuple[int, frozenset[str], int | None]  # uid, flag letters, RFC822.SIZE


def uid_set(uids: Iterable[int]) -> str:
    """A compact UID set: ``[1, 2, 3, 5, 9, 10]`` -> ``"1:3,5,9:10"``."""
    parts: list[str] = []
    run_start = previous = -1
    for uid in sorted(set(uids)):
        if uid == previous + 1 and run_start >= 0:
            previous = uid
            continue
        if run_start >= 0:
            parts.append(_range(run_start, previous))
        run_start = previous = uid
    if run_start >= 0:
        parts.append(_range(run_start, previous))
    return ",".join(parts)


def _range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}:{last}"


def chunked(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


LISTING_ITEMS = "(UID FLAGS RFC822.SIZE)"  # what a listing asks for, and parse_listing reads


def parse_listing(data: Iterable[Any]) -> dict[int, Listed]:
    """UID -> (uid, letters, size) from the untagged FETCH data imaplib collected.

    Responses without a UID (unsolicited flag changes reported by sequence
    number) are dropped; a later response for the same UID updates flags and
    keeps a size already known.
    """
    out: dict[int, Listed] = {}
    for parsed in _responses(data):
        for uid, flags, size in parsed:
            known = out.get(uid)
            if size is None and known is not None:
                size = known[2]
            out[uid] = (uid, flags, size)
    return out


def listing_infos(listed: dict[int, Listed]) -> list[MessageInfo]:
    """A parsed listing as the repository interface gives it, in UID order."""
    return [MessageInfo(str(uid), flags, size) for uid, flags, size in sorted(listed.values())]


def _responses(data: Iterable[Any]) -> Iterator[list[Listed]]:
    """Parsed responses in order; a response with literals spans several items.

    imaplib hands a response with a literal as ``(text, literal)`` tuples
    followed by the bytes after the last literal; those go to imapclient's
    parser together.
    """
    pending: list[Any] = []
    for item in data:
        if item is None:  # imaplib's data of an answer without any
            continue
        if isinstance(item, tuple):
            pending.append(item)
            continue
        if pending:
            pending.append(item)
            yield _parse_general(pending)
            pending = []
            continue
        simple = _parse_simple(item) if isinstance(item, bytes) else None
        yield simple if simple is not None else _parse_general([item])
    if pending:
        yield _parse_general(pending)


_letters_cache: dict[bytes, frozenset[str]] = {}


def _letters(flags: bytes) -> frozenset[str]:
    """Flag letters of a FLAGS list's inside; a folder has few distinct ones, so cached."""
    letters = _letters_cache.get(flags)
    if letters is None:
        letters = from_imap(flags.split())
        if len(_letters_cache) < 4096:
            _letters_cache[flags] = letters
    return letters


def _parse_simple(line: bytes) -> list[Listed] | None:
    usual = _USUAL_LINE.match(line)
    if usual is not None:
        return [(int(usual.group(1)), _letters(usual.group(2)), int(usual.group(3)))]
    items = _simple_items(line)
    if items is None:
        return None
    uid = items.get(b"UID")
    if uid is None or not uid.isdigit():
        return [] if b"UID" not in items else None
    flags = items.get(b"FLAGS")
    if flags is None or not flags.startswith(b"("):
        return None
    size = items.get(b"RFC822.SIZE")
    if size is not None and not size.isdigit():
        return None
    return [(int(uid), _letters(flags[1:-1]), int(size) if size is not None else None)]


def _simple_items(line: bytes) -> dict[bytes, bytes] | None:
    """A FETCH response line without literals or nested lists, item name -> value;
    None for anything else (imapclient's parser reads that)."""
    match = _FETCH_LINE.match(line)
    if match is None:
        return None
    body = match.group(2)
    items: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(body):
        item = _ITEM.match(body, pos)
        if item is None:
            return None
        items[item.group(1).upper()] = item.group(2)
        pos = item.end()
    return items


def _parse_general(items: list[Any]) -> list[Listed]:
    out: list[Listed] = []
    for values in parse_fetch_response(items, False, False).values():
        uid, flags = values.get(b"UID"), values.get(b"FLAGS")
        if isinstance(uid, int) and flags is not None:
            size = values.get(b"RFC822.SIZE")
            out.append((uid, from_imap(flags), size if isinstance(size, int) else None))
    return out


def appenduid(response: bytes | None, expected_validity: int | None) -> int | None:
    """The UID in ``[APPENDUID validity uid]``; None without one (no UIDPLUS).

    A different UIDVALIDITY means the folder was recreated behind our back;
    the UID would then name a message in a mailbox we never listed.
    """
    uids = appenduids(response, expected_validity)
    return uids[0] if uids else None


def appenduids(response: bytes | None, expected_validity: int | None) -> list[int] | None:
    """The UIDs of a MULTIAPPEND, in the order of the messages (RFC 4315's uid-set).

    None without APPENDUID; the UIDVALIDITY is checked as for :func:`appenduid`.
    """
    match = _APPENDUID.search(response or b"")
    if match is None:
        return None
    validity = int(match.group(1))
    if expected_validity is not None and validity != expected_validity:
        raise ValueError(
            f"APPENDUID reports UIDVALIDITY {validity}, the folder had {expected_validity}"
        )
    uids: list[int] = []
    for part in match.group(2).decode("ascii").split(","):
        first, _, last = part.partition(":")
        low, high = sorted((int(first), int(last or first)))
        uids.extend(range(low, high + 1))
    return uids


def internaldate(epoch: float) -> str:
    """``"dd-Mon-yyyy hh:mm:ss +0000"`` in UTC; month names never localised."""
    when = datetime.fromtimestamp(epoch, UTC)
    return (
        f"{when.day:02d}-{_MONTHS[when.month - 1]}-{when.year:04d} "
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} +0000"
    )


def quoted(text: str) -> bytes:
    """An IMAP quoted string of 7-bit text (a mailbox name in modified UTF-7)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'.encode("ascii")


def text(value: Any) -> str:
    """A server's bytes (or anything else imaplib hands over) as text for a message."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def describe_data(data: Any) -> str:
    """The text lines of a refusal, for an error message."""
    parts = [text(d) for d in (data or []) if isinstance(d, bytes | str)]
    return " ".join(parts) or "no reason given"


def fetch_uids(data: list[Any]) -> set[int]:
    """The UIDs of the untagged FETCH responses in ``data``.

    A plain line (what a STORE brings back: ``12 (UID 34 MODSEQ (56) FLAGS (...))``)
    is read by the regular expressions of the listing; anything else, such as a
    response with literals, by imapclient's parser, which costs some 40 µs a line
    (25 ms of CPU for the STOREs of a resync after local changes at 50,000 messages).
    """
    uids: set[int] = set()
    general: list[Any] = []
    pending: list[Any] = []  # a response with literals: its tuples, then its tail
    for item in data:
        if isinstance(item, tuple) or (pending and item is not None):
            pending.append(item)
            if not isinstance(item, tuple):
                general += pending
                pending = []
            continue
        items = _simple_items(item) if isinstance(item, bytes) else None
        uid = items.get(b"UID") if items is not None else None
        if uid is not None and uid.isdigit():
            uids.add(int(uid))
        elif item is not None and (items is None or b"UID" in items):
            general.append(item)
    general += pending
    if general:
        parsed = parse_fetch_response(general, False, False)
        uids |= {v[b"UID"] for v in parsed.values() if isinstance(v.get(b"UID"), int)}
    return uids


def fetched_messages(data: list[Any], wanted: set[int]) -> Iterator[FetchedMessage]:
    """The bodies of ``wanted`` UIDs in a FETCH answer, each taken out of ``wanted``;
    the spooled bodies not handed out (unsolicited, doubled, or left when the
    caller stops early) are released."""
    try:
        for values in parse_fetch_response(data, False, False).values():
            uid, body = values.get(b"UID"), values.get(b"BODY[]")
            if uid not in wanted:
                continue  # an unsolicited FETCH
            if isinstance(body, Spooled):
                body = body.take()
            if not isinstance(body, bytes | FileBody):
                continue  # a message expunged meanwhile
            wanted.discard(uid)
            when = values.get(b"INTERNALDATE")
            message = Message(
                data=body,
                flags=from_imap(values.get(b"FLAGS", ())),
                internaldate=when.timestamp() if when is not None else None,
                uid=uid,
            )
            yield FetchedMessage(str(uid), message)
    finally:
        release_untaken(data)
