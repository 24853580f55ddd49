"""An opened IMAP folder: the Folder interface by UID over its repository's connection.

Where imapclient 4.1 is slow or lacks a command form, the command goes through
its imaplib object directly: the whole-folder listing (one ``UID FETCH 1:*``
parsed by :mod:`engine.imap_parse`), bodies fetched by UID set, APPEND with
LITERAL+ and the message bytes untouched, and flag changes and deletions
pipelined (:mod:`engine.imap_pipeline`).
"""

from __future__ import annotations

import imaplib
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from engine import imap_parse, imap_pipeline, imap_state
from engine.errors import FolderError, MessageError, UidValidityError
from engine.flags import to_imap
from engine.imap_append import Arg, append_args, judged, send_append
from engine.imap_connect import Client
from engine.imap_spool import release_untaken, spooling
from engine.repository import (
    Changes,
    FetchedMessage,
    Flags,
    FolderState,
    Message,
    MessageInfo,
    MsgId,
)

if TYPE_CHECKING:
    from engine.imap import ImapRepository

FETCH_CHUNK = 100  # UIDs per UID FETCH of bodies
STORE_CHUNK = 1000  # UIDs per UID STORE/EXPUNGE, to keep command lines short

T = TypeVar("T")


class ImapFolder:
    """A selected mailbox; every operation is by UID."""

    def __init__(self, repo: ImapRepository, name: str, wire: str) -> None:
        self.name = name
        self.wire = wire
        self._repo = repo
        self._state: FolderState | None = None
        self._changed = False  # we wrote since the last SELECT: state() re-selects
        self._expect: int | None = None  # the next SELECT also asks for changes since
        self._prefetched: tuple[int, list[Any], list[Any]] | None = None  # its answer
        self._deletions: list[tuple[str, ...]] = []  # UID commands held for the next batch
        self._closed = False

    # -- selection and state -----------------------------------------------

    def expect_changes(self, modseq: int) -> None:
        """The next SELECT asks, in the same round trip, what changed since ``modseq``."""
        self._expect = modseq

    def select(self) -> None:
        """SELECT the folder, with the CHANGEDSINCE listing asked for by ``expect_changes``.

        A folder still selected and written to since gets its new numbers from
        STATUS instead (see ``_refreshed``).
        """
        modseq, self._expect, self._prefetched = self._expect, None, None
        if modseq is not None and self._repo.has_capability("CONDSTORE"):
            state = self._refreshed(modseq)
            if state is None:
                response, fetched, vanished = self._repo.select_with_changes(self, modseq)
                self._prefetched = (modseq, fetched, vanished)
                state = imap_state.state_from(response)
        else:
            state = imap_state.state_from(self._repo.select(self))
        old = self._state
        if old is not None and old.uidvalidity != state.uidvalidity:
            self._repo.forget(self)  # so every later use re-selects and fails again
            raise UidValidityError(
                f"{self._repo.name}: UIDVALIDITY of {self.name!r} changed from "
                f"{old.uidvalidity} to {state.uidvalidity} while it was open"
            )
        self._state = state
        self._changed = False

    def _refreshed(self, modseq: int) -> FolderState | None:
        """After our own writes to the selected folder: its numbers from a STATUS and the
        changes since ``modseq`` from a FETCH sent right behind it, instead of a new
        SELECT, which costs a server such as Dovecot a scan of the whole mailbox
        (7 to 30 ms for 6,000 messages here; the STATUS takes 1 ms).

        A server whose STATUS of the selected mailbox lagged behind would give
        older numbers than the listing after it has seen: a stamp that the next
        sync finds moved, so it looks again; never one that hides a change.
        None where a SELECT is needed: nothing written, another folder selected
        (or a new connection), or no STATUS line in the answer.
        """
        if not self._changed or not self._repo.is_selected(self):
            return None
        state, fetched, vanished = self._repo.refresh_with_changes(self, modseq)
        if state is None or state.stamp is None:
            return None
        self._prefetched = (modseq, fetched, vanished)
        return state

    def state(self) -> FolderState:
        """The numbers of the last SELECT; re-selected first if we changed the folder.

        Without our own writes this is the folder as it was when opened: the
        state that goes with a listing taken since.
        """
        self._check_open()
        if self._deletions:
            self.flush()
        if self._changed or self._state is None:
            self.select()
        assert self._state is not None
        return self._state

    def _client(self) -> Client:
        self._check_open()
        return self._repo.current(self)

    def _check_open(self) -> None:
        if self._closed:
            raise FolderError(f"{self._repo.name}: folder {self.name!r} was closed")

    def _run(self, what: str, action: Any, *args: Any, ahead: bool = False) -> Any:
        """``action`` on the folder's connection; deletions held back go first."""
        if self._deletions and action is not _pipelined:
            self.flush()
        self._client()
        return self._repo.run(what, self.name, action, *args, ahead=ahead)

    def _writable(self, what: str) -> None:
        self._check_open()
        self._repo._refuse_if_readonly(self.name, what)

    # -- reading -----------------------------------------------------------

    def list_messages(self) -> list[MessageInfo]:
        """One ``UID FETCH 1:* (UID FLAGS RFC822.SIZE)``; memory grows with the count only.

        Some servers answer NO or BAD to ``1:*`` in an empty mailbox; a
        refusal is therefore checked against a fresh SELECT before it counts.
        """
        data = self._run("listing", _listing)
        if data is None:
            self.select()
            if self.state().messages != 0:
                raise FolderError(f"{self._repo.name}: listing {self.name!r} was refused")
            return []
        return _infos(data)

    def list_windows(self, size: int) -> Iterator[list[MessageInfo]]:
        """The listing in UID ranges of at most a few ``size`` messages each, in UID order.

        The ranges end at the UIDNEXT the SELECT gave: a message that arrives
        later has a MODSEQ above the one this sync records, so the next sync
        finds it.  Each range's width follows the density the last one showed
        (a long-lived folder's UIDs are sparse), within 1 to 8 times ``size``
        UIDs, so no range can hold more than ``8 * size`` messages.
        """
        uidnext = self.state().uidnext
        if uidnext is None:
            yield self.list_messages()
            return
        first, last, span = 1, uidnext - 1, size
        while first <= last:
            end = min(first + span - 1, last)
            uid_set = f"{first}:{end}"
            data = self._run("listing", _uid_command, "FETCH", uid_set, imap_parse.LISTING_ITEMS)
            window = _infos(data)
            yield window
            first = end + 1
            span = max(size, min(8 * size, span * size // max(len(window), 1)))

    def fetch(self, ids: Sequence[MsgId], spool: str | None = None) -> Iterator[FetchedMessage]:
        """Bodies, flags and INTERNALDATE, ``FETCH_CHUNK`` UIDs per command; large
        bodies go to spool files as they arrive (:mod:`engine.imap_spool`)."""
        for chunk in imap_parse.chunked(_uids(ids), FETCH_CHUNK):
            data = self._run("fetch", self._bodies, imap_parse.uid_set(chunk), spool, ahead=True)
            yield from imap_parse.fetched_messages(data, set(chunk))

    def spool_dir(self) -> str | None:
        return None

    def fetch_ahead(self, ids: Sequence[MsgId]) -> None:
        """Send the FETCH of (the first chunk of) ``ids`` now, without waiting for it.

        The caller is about to write what it fetched last; meanwhile the server
        sends these bodies, and ``fetch`` of the same ids reads them, so a
        distant server costs no round trip per batch.  The bodies wait in the
        socket, not in memory; any other command reads and drops them first.
        """
        uids = _uids(ids)[:FETCH_CHUNK]
        if uids:
            self._client()
            uid_set = imap_parse.uid_set(uids)
            self._repo.send_ahead(
                lambda c: imap_pipeline.send_fetch(c._imap, uid_set, _BODIES), uid_set
            )

    def _bodies(self, client: Client, uid_set: str, spool: str | None) -> list[Any]:
        """A chunk's FETCH data: the answer sent ahead if it was for these UIDs."""
        ahead = self._repo.take_ahead()
        with spooling(client._imap, spool):
            if ahead is not None:
                data = imap_pipeline.fetch_answer(client._imap, ahead[0])
                if ahead[1] == uid_set:
                    return data
                release_untaken(data)  # an answer for other UIDs
            return _uid_command(client, "FETCH", uid_set, _BODIES)

    # -- writing -----------------------------------------------------------

    def changes_since(self, modseq: int, known: Callable[[], Collection[MsgId]]) -> Changes | None:
        """CHANGEDSINCE, with VANISHED where QRESYNC is enabled: one round trip, or
        none when it went out with the SELECT (``expect_changes``)."""
        if self.state().highestmodseq is None or not self._repo.has_capability("CONDSTORE"):
            return None
        qresync = self._repo.enabled_qresync()
        exists = self.state().messages or 0

        def uids() -> list[int]:
            return [int(id) for id in known() if _uid(id) is not None]

        prefetched, self._prefetched = self._prefetched, None
        asked = prefetched if prefetched is not None and prefetched[0] == modseq else None

        def answer(c: Client) -> Changes:
            if asked is not None:  # the FETCH went out with the SELECT
                return imap_state.changes_from(c._imap, asked[1], asked[2], uids, exists, qresync)
            return imap_state.changes_since(c._imap, modseq, uids, exists, qresync)

        changes: Changes = self._run("changes", answer)
        return changes

    def ids_since(self, since: float, ids: Sequence[MsgId]) -> set[MsgId]:
        """One ``UID SEARCH SINCE``: day granularity, in the server's time zone."""
        day = time.strftime("%d-%b-%Y", time.gmtime(since - 86400))
        data = self._run("search", _uid_search, "SINCE", day)
        return set(ids) & {str(uid) for uid in data}

    def append(self, message: Message) -> MsgId | None:
        """APPEND with flags and INTERNALDATE; the UID from APPENDUID, else None."""
        response = self._append([imap_parse.quoted(self.wire), *append_args(message)])
        uid = self._same_validity(imap_parse.appenduid, response)
        return str(uid) if uid is not None else None

    def append_many(self, messages: Sequence[Message]) -> list[MsgId | None] | None:
        """One MULTIAPPEND (RFC 3502) for all: one round trip, and all or nothing.

        None where the server has no MULTIAPPEND (the caller appends one by one).
        """
        if len(messages) < 2 or not self._repo.has_capability("MULTIAPPEND"):
            return None
        args: list[Arg] = [imap_parse.quoted(self.wire)]
        for message in messages:
            args += append_args(message)
        uids = self._same_validity(imap_parse.appenduids, self._append(args))
        if uids is None or len(uids) != len(messages):
            return [None] * len(messages)  # stored, ids unknown: found again by content
        return [str(uid) for uid in uids]

    def _append(self, args: list[Arg]) -> bytes:
        self._writable("append")
        response = judged(self._run("append", send_append, args), self._where)
        self._changed = True
        return response

    def _same_validity(self, parse: Callable[[bytes, int | None], T], response: bytes) -> T:
        """APPENDUID's answer, unless it names another UIDVALIDITY than the folder's."""
        try:
            return parse(response, self._uidvalidity())
        except ValueError as exc:
            raise UidValidityError(f"{self._where}: {exc}") from exc

    @property
    def _where(self) -> str:
        return f"{self._repo.name}: {self.name!r}"

    def _uidvalidity(self) -> int | None:
        return self._state.uidvalidity if self._state is not None else None

    def set_flags(self, id: MsgId, add: Flags, remove: Flags) -> None:
        """UID STORE +FLAGS/-FLAGS; a UID the server does not know is a MessageError.

        IMAP answers OK to a STORE on a missing UID, so existence is read off
        the untagged FETCH the (non-silent) STORE returns, and asked for with
        ``UID FETCH`` when a server sends none.
        """
        if self.set_flags_many([id], add, remove):
            raise MessageError(f"{self._repo.name}: message {id} is gone from {self.name!r}")

    def set_flags_many(self, ids: Sequence[MsgId], add: Flags, remove: Flags) -> set[MsgId]:
        """One UID STORE per sign and chunk of UIDs; the gone ones found from its answer."""
        return self.set_flags_grouped([(ids, add, remove)])

    def set_flags_grouped(
        self, groups: Sequence[tuple[Sequence[MsgId], Flags, Flags]]
    ) -> set[MsgId]:
        """Several flag changes, each on its own messages: every STORE in flight at
        once (one round trip), behind any deletions held back; returns the ids that
        are gone, which were not changed.

        Should the batch fail, its deletions are held again, for ``flush`` to send
        once more (they can be repeated) before the caller records any of them.
        A message those deletions expunge is gone, whatever FETCH its STORE of
        \\Deleted brought back.
        """
        self._writable("change flags")
        held, self._deletions = self._deletions, []
        stores, wanted = _stores(groups)
        doomed = imap_state.parse_vanished(c[1] for c in held if c[0] == "EXPUNGE")
        seen: set[int] = set()
        if held or stores:
            self._changed = True
            try:
                seen = imap_parse.fetch_uids(self._run("flags", _pipelined, held + stores))
            except BaseException:
                self._deletions = held + self._deletions
                raise
        seen -= doomed
        unsure = wanted - seen - doomed
        if unsure:
            data = self._run("fetch", _uid_command, "FETCH", imap_parse.uid_set(unsure), "(UID)")
            seen |= imap_parse.fetch_uids(data)
        return {id for ids, _, _ in groups for id in ids if _uid(id) not in seen}

    def flush(self) -> None:
        """Send the deletions held back and wait for their answers (see ``delete``)."""
        commands, self._deletions = self._deletions, []
        if commands:
            self._run("delete", _pipelined, commands)

    def delete(self, ids: Iterable[MsgId]) -> None:
        """Flag \\Deleted and UID EXPUNGE exactly these UIDs, in the next round trip.

        With UIDPLUS the commands are held back and go out in front of the next
        flag changes, or at ``flush``, which the caller awaits before it records
        the deletions: a server such as Dovecot takes a batch of STOREs and
        EXPUNGEs sent together far faster than the same in two round trips (70
        against 120 ms for 60 flag changes and 30 deletions among 6,000
        messages here), and the UIDs they name cannot change meanwhile.

        A server without UIDPLUS can only EXPUNGE every \\Deleted message of
        the folder, which would also remove messages another client marked
        and meant to keep.  So there the EXPUNGE happens only when every
        \\Deleted message is one of ours; otherwise ours stay marked \\Deleted
        and a FolderError says why.
        """
        self._writable("delete")
        uids = _uids(ids)
        if not uids:
            return
        sets = [imap_parse.uid_set(chunk) for chunk in imap_parse.chunked(uids, STORE_CHUNK)]
        commands: list[tuple[str, ...]] = [
            ("STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)") for uid_set in sets
        ]
        self._changed = True
        if self._repo.has_capability("UIDPLUS"):  # the server runs them in the order sent
            self._deletions += commands + [("EXPUNGE", uid_set) for uid_set in sets]
            return
        self._run("delete", _pipelined, commands)
        self._expunge_without_uidplus(set(uids))

    def _expunge_without_uidplus(self, ours: set[int]) -> None:
        marked = self._run("search", lambda c: set(c.search(["DELETED"])))
        if not marked <= ours:
            raise FolderError(
                f"{self._repo.name}: {self.name!r}: the server lacks UIDPLUS and other messages "
                "are marked deleted; left ours marked \\Deleted instead of expunging theirs"
            )
        self._run("expunge", lambda c: c.expunge())

    def close(self) -> None:
        """Forget the folder (sending any deletions held back first); the selection
        stays until another folder is selected."""
        try:
            self.flush()
        finally:
            self._closed = True


def _uid(id: MsgId) -> int | None:
    return int(id) if id.isascii() and id.isdigit() and int(id) > 0 else None


def _uids(ids: Iterable[MsgId]) -> list[int]:
    """The UIDs among ``ids``, once each and in order."""
    return sorted({u for u in map(_uid, ids) if u is not None})


def _stores(
    groups: Sequence[tuple[Sequence[MsgId], Flags, Flags]],
) -> tuple[list[tuple[str, ...]], set[int]]:
    """The UID STORE commands of flag changes (one per sign and chunk), and their UIDs."""
    commands: list[tuple[str, ...]] = []
    wanted: set[int] = set()
    for ids, add, remove in groups:
        uids = _uids(ids)
        wanted.update(uids)
        for sign, letters in (("+", add - remove), ("-", remove)):
            names = to_imap(letters)
            for chunk in imap_parse.chunked(uids, STORE_CHUNK) if names else ():
                flags = f"({' '.join(names)})"
                commands.append(("STORE", imap_parse.uid_set(chunk), f"{sign}FLAGS", flags))
    return commands, wanted


def _uid_command(client: Client, command: str, *args: str) -> list[Any]:
    """``UID <command>``; the untagged FETCH data it brought, stale ones dropped first."""
    imap = client._imap
    imap.untagged_responses.pop("FETCH", None)
    typ, data = imap.uid(command, *args)
    if typ != "OK":
        raise imaplib.IMAP4.error(f"UID {command} failed: {imap_parse.describe_data(data)}")
    return [item for item in data if item is not None]


def _pipelined(client: Client, commands: list[tuple[str, ...]]) -> list[Any]:
    return imap_pipeline.uid_commands(client._imap, commands)


def _uid_search(client: Client, *criteria: str) -> list[int]:
    imap = client._imap
    imap.untagged_responses.pop("SEARCH", None)
    typ, data = imap.uid("SEARCH", *criteria)
    if typ != "OK":
        raise imaplib.IMAP4.error(f"UID SEARCH failed: {imap_parse.describe_data(data)}")
    return [int(n) for line in data if line for n in line.split()]


_BODIES = "(UID FLAGS INTERNALDATE BODY.PEEK[])"


def _infos(data: list[Any]) -> list[MessageInfo]:
    return imap_parse.listing_infos(imap_parse.parse_listing(data))


def _listing(client: Client) -> list[Any] | None:
    """The listing's FETCH data; None when the server refused the command itself."""
    try:
        return _uid_command(client, "FETCH", "1:*", imap_parse.LISTING_ITEMS)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error:
        return None
