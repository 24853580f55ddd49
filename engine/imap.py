"""The IMAP store: the repository interface over one imapclient connection.

Each ``ImapRepository`` owns one connection, opened at first use (worker
threads each make their own repository).  Messages are named by UID, so
nothing here depends on sequence numbers and the EXPUNGEs of other clients
cannot shift our ids.

Where imapclient 4.1 is slow or lacks a command form, the command goes through
its imaplib object directly: the whole-folder listing (one ``UID FETCH 1:*``
parsed by :mod:`engine.imap_parse`), bodies fetched by UID set, and APPEND
with LITERAL+ and the message bytes untouched.

Failures become the typed errors of :mod:`engine.errors`: a connection
dropped in the middle of a folder operation is a ``FolderError`` once a fresh
connection is up again (the next folder can go on), or the ``AccountError`` of
the failed reconnect.
"""

from __future__ import annotations

import imaplib
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from engine import imap_parse, imap_pipeline, imap_state, imap_utf7
from engine.errors import FolderError, MessageError, SyncError, UidValidityError
from engine.flags import to_imap
from engine.imap_append import append_args, judged, send_append
from engine.imap_connect import Client, connect, describe
from engine.imap_trace import Trace
from engine.repository import (
    Changes,
    FetchedMessage,
    Flags,
    FolderState,
    Message,
    MessageInfo,
    MsgId,
)
from engine.settings import ImapSettings

FETCH_CHUNK = 100  # UIDs per UID FETCH of bodies
STORE_CHUNK = 1000  # UIDs per UID STORE/EXPUNGE, to keep command lines short


T = TypeVar("T")


class ImapRepository:
    """An IMAP account as a tree of folders; ``sep`` comes from the server."""

    def __init__(self, settings: ImapSettings, trace: Trace | None = None) -> None:
        self.name = settings.name
        self.settings = settings
        self._trace = trace
        self._client: Client | None = None
        self._sep: str | None = None
        self._selected: ImapFolder | None = None
        self._listed_states: dict[str, FolderState] = {}
        self._wire_names: dict[str, str] = {}  # names whose wire form is not encode(name)

    # -- connection ------------------------------------------------------

    def client(self) -> Client:
        """The connection, opened and logged in on first use."""
        if self._client is None:
            self._client = connect(self.settings, self._trace)
            self._selected = None
        return self._client

    def enabled_qresync(self) -> bool:
        """Whether the login's ENABLE turned QRESYNC on (it must precede any SELECT)."""
        return "QRESYNC" in self.client().enabled

    def _drop(self) -> None:
        client, self._client = self._client, None
        self._selected = None
        if client is not None:
            client.quiet_logout()

    def run(self, what: str, folder: str | None, action: Any, *args: Any) -> Any:
        """``action(client, *args)`` with every raw failure turned into a typed one."""
        client = self.client()
        where = f" {folder!r}" if folder is not None else ""
        try:
            return action(client, *args)
        except SyncError:
            raise
        except imaplib.IMAP4.readonly as exc:
            raise FolderError(f"{self.name}: {what}{where}: {describe(exc)}") from exc
        except (imaplib.IMAP4.abort, OSError) as exc:
            self._drop()
            self.client()  # a failure here is the AccountError the caller gets
            raise FolderError(
                f"{self.name}: connection lost during {what}{where}: {describe(exc)}"
            ) from exc
        except (imaplib.IMAP4.error, ValueError) as exc:
            raise FolderError(f"{self.name}: {what}{where} failed: {describe(exc)}") from exc

    def has_capability(self, name: str) -> bool:
        return bool(self.run("CAPABILITY", None, lambda c: c.has_capability(name)))

    # -- folder names ----------------------------------------------------

    @property
    def sep(self) -> str:
        """The server's hierarchy delimiter, learned from LIST (connects if needed)."""
        if self._sep is None:
            self._list()
        return self._sep or "/"

    @sep.setter
    def sep(self, value: str) -> None:
        self._sep = value

    def wire_name(self, name: str) -> str:
        """The mailbox name as the server spells it (modified UTF-7)."""
        wire = self._wire_names.get(name)
        if wire is not None:
            return wire
        try:
            return imap_utf7.encode(name)
        except ValueError as exc:
            raise FolderError(f"{self.name}: unusable folder name {name!r}: {exc}") from exc

    def _list(self, with_status: bool = False) -> list[tuple[str, bool]]:
        """(name, selectable) of every mailbox; remembers the delimiter.

        ``with_status`` asks for every folder's state in the same command where
        the server offers LIST-STATUS, and keeps it for :meth:`folder_states`.
        """
        self._listed_states = {}
        if with_status and self.has_capability("LIST-STATUS"):
            condstore = self.has_capability("CONDSTORE")
            entries, self._listed_states = self.run(
                "LIST", None, lambda c: imap_state.list_status(c, condstore)
            )
        else:
            entries = self.run("LIST", None, lambda c: c.list_folders("", "*"))
        out = []
        for flags, delimiter, raw in entries:
            if delimiter and self._sep is None:
                self._sep = imap_parse.text(delimiter)
            name = self._decoded(imap_parse.text(raw))
            lowered = {imap_parse.text(f).lower() for f in flags}
            out.append((name, not lowered & {"\\noselect", "\\nonexistent"}))
        if self._sep is None:
            self._sep = "/"  # a flat server (NIL delimiter): never split names
        return out

    def _decoded(self, wire: str) -> str:
        try:
            return imap_utf7.decode(wire)
        except ValueError:
            self._wire_names[wire] = wire  # not valid modified UTF-7: keep the server's form
            return wire

    def list_folders(self) -> list[str]:
        return sorted(name for name, selectable in self._list(with_status=True) if selectable)

    def create_folder(self, name: str) -> None:
        """CREATE (and SUBSCRIBE) the folder and any missing parents."""
        self._refuse_if_readonly(name, "create folder")
        existing = {_fold_inbox(n) for n, selectable in self._list() if selectable}
        sep = self.sep  # known now: the LIST told it
        parts = name.split(sep)
        if not all(parts):
            raise FolderError(f"{self.name}: folder name {name!r} has an empty level")
        for depth in range(1, len(parts) + 1):
            path = sep.join(parts[:depth])
            if _fold_inbox(path) not in existing:
                self._create(path, parent=depth < len(parts))

    def _create(self, name: str, parent: bool) -> None:
        """CREATE one level; a refusal is fine if the folder is there after all.

        "There" means selectable for the folder asked for, but merely listed
        for a parent: some servers keep a \\Noselect parent that cannot be
        made selectable, and the child can be created below it all the same.
        """
        wire = self.wire_name(name)

        def create(client: Client) -> None:
            try:
                client.create_folder(wire)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error:
                if not any(n == name and (ok or parent) for n, ok in self._list()):
                    raise
            client.subscribe_folder(wire)

        self.run("CREATE", name, create)

    # -- folders ---------------------------------------------------------

    def folder_states(self, names: Sequence[str]) -> dict[str, FolderState]:
        """From the last LIST where it brought them (LIST-STATUS), else one pipelined
        round of STATUS commands."""
        states, self._listed_states = self._listed_states, {}
        if names and all(n in states for n in names):
            return {n: states[n] for n in names}
        condstore = self.has_capability("CONDSTORE")
        wires = {self.wire_name(n): n for n in names}
        found = self.run(
            "STATUS", None, lambda c: imap_state.pipelined_status(c._imap, list(wires), condstore)
        )
        return {n: found[n] for n in names if n in found}

    def open_folder(self, name: str) -> ImapFolder:
        folder = ImapFolder(self, name, self.wire_name(name))
        folder.select()
        return folder

    def select(self, folder: ImapFolder) -> dict[bytes, Any]:
        """SELECT (EXAMINE when read-only) ``folder``, making it the current one."""
        readonly = self.settings.readonly
        self._selected = None  # a failed SELECT leaves no mailbox selected
        response: dict[bytes, Any] = self.run(
            "opening",
            folder.name,
            lambda c: c.select_folder(folder.wire, readonly=readonly),
        )
        self._selected = folder
        return response

    def current(self, folder: ImapFolder) -> Client:
        """The client with ``folder`` selected (again, after a reconnect or another folder)."""
        if self._selected is not folder or self._client is None:
            folder.select()
        return self.client()

    def forget(self, folder: ImapFolder) -> None:
        """Treat ``folder`` as not selected, whatever the server thinks."""
        if self._selected is folder:
            self._selected = None

    def _refuse_if_readonly(self, folder: str, what: str) -> None:
        if self.settings.readonly:
            raise FolderError(f"{self.name}: cannot {what} in {folder!r}: repository is read-only")

    def close(self) -> None:
        """LOGOUT quietly; the repository reconnects if used again."""
        self._drop()


class ImapFolder:
    """A selected mailbox; every operation is by UID."""

    def __init__(self, repo: ImapRepository, name: str, wire: str) -> None:
        self.name = name
        self.wire = wire
        self._repo = repo
        self._state: FolderState | None = None
        self._changed = False  # we wrote since the last SELECT: state() re-selects
        self._closed = False

    # -- selection and state -----------------------------------------------

    def select(self) -> None:
        response = self._repo.select(self)
        state = imap_state.state_from(response)
        old = self._state
        if old is not None and old.uidvalidity != state.uidvalidity:
            self._repo.forget(self)  # so every later use re-selects and fails again
            raise UidValidityError(
                f"{self._repo.name}: UIDVALIDITY of {self.name!r} changed from "
                f"{old.uidvalidity} to {state.uidvalidity} while it was open"
            )
        self._state = state
        self._changed = False

    def state(self) -> FolderState:
        """The numbers of the last SELECT; re-selected first if we changed the folder.

        Without our own writes this is the folder as it was when opened: the
        state that goes with a listing taken since.
        """
        self._check_open()
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

    def _run(self, what: str, action: Any, *args: Any) -> Any:
        self._client()
        return self._repo.run(what, self.name, action, *args)

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
        listed = imap_parse.parse_listing(item for item in data if item is not None)
        return [MessageInfo(str(uid), flags, size) for uid, flags, size in sorted(listed.values())]

    def fetch(self, ids: Sequence[MsgId]) -> Iterator[FetchedMessage]:
        """Bodies, flags and INTERNALDATE, ``FETCH_CHUNK`` UIDs per command."""
        uids = sorted({u for u in map(_uid, ids) if u is not None})
        for chunk in imap_parse.chunked(uids, FETCH_CHUNK):
            data = self._run(
                "fetch",
                _uid_command,
                "FETCH",
                imap_parse.uid_set(chunk),
                "(UID FLAGS INTERNALDATE BODY.PEEK[])",
            )
            yield from imap_parse.fetched_messages(data, set(chunk))

    # -- writing -----------------------------------------------------------

    def changes_since(self, modseq: int, known: Callable[[], Collection[MsgId]]) -> Changes | None:
        """CHANGEDSINCE, with VANISHED where QRESYNC is enabled: one round trip."""
        if self.state().highestmodseq is None or not self._repo.has_capability("CONDSTORE"):
            return None
        qresync = self._repo.enabled_qresync()
        exists = self.state().messages or 0

        def uids() -> list[int]:
            return [int(id) for id in known() if _uid(id) is not None]

        changes: Changes = self._run(
            "changes", lambda c: imap_state.changes_since(c._imap, modseq, uids, exists, qresync)
        )
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
        args = [imap_parse.quoted(self.wire)]
        for message in messages:
            args += append_args(message)
        uids = self._same_validity(imap_parse.appenduids, self._append(args))
        if uids is None or len(uids) != len(messages):
            return [None] * len(messages)  # stored, ids unknown: found again by content
        return [str(uid) for uid in uids]

    def _append(self, args: list[bytes]) -> bytes:
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
        once (one round trip); returns the ids that are gone, which were not changed."""
        self._writable("change flags")
        commands: list[tuple[str, ...]] = []
        wanted: set[int] = set()
        for ids, add, remove in groups:
            uids = sorted({u for u in map(_uid, ids) if u is not None})
            wanted.update(uids)
            for sign, letters in (("+", add - remove), ("-", remove)):
                names = to_imap(letters)
                for chunk in imap_parse.chunked(uids, STORE_CHUNK) if names else ():
                    flags = f"({' '.join(names)})"
                    commands.append(("STORE", imap_parse.uid_set(chunk), f"{sign}FLAGS", flags))
        seen: set[int] = set()
        if commands:
            self._changed = True
            seen = imap_parse.fetch_uids(self._run("flags", _pipelined, commands))
        unsure = wanted - seen
        if unsure:
            data = self._run("fetch", _uid_command, "FETCH", imap_parse.uid_set(unsure), "(UID)")
            seen |= imap_parse.fetch_uids(data)
        return {id for ids, _, _ in groups for id in ids if _uid(id) not in seen}

    def flush(self) -> None:
        pass  # nothing is held back

    def delete(self, ids: Iterable[MsgId]) -> None:
        """Flag \\Deleted and UID EXPUNGE exactly these UIDs.

        A server without UIDPLUS can only EXPUNGE every \\Deleted message of
        the folder, which would also remove messages another client marked
        and meant to keep.  So there the EXPUNGE happens only when every
        \\Deleted message is one of ours; otherwise ours stay marked \\Deleted
        and a FolderError says why.
        """
        self._writable("delete")
        uids = sorted({u for u in (_uid(i) for i in ids) if u is not None})
        if not uids:
            return
        sets = [imap_parse.uid_set(chunk) for chunk in imap_parse.chunked(uids, STORE_CHUNK)]
        commands: list[tuple[str, ...]] = [
            ("STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)") for uid_set in sets
        ]
        uidplus = self._repo.has_capability("UIDPLUS")
        if uidplus:  # in the same round trip: the server runs them in the order sent
            commands += [("EXPUNGE", uid_set) for uid_set in sets]
        self._changed = True
        self._run("delete", _pipelined, commands)
        if not uidplus:
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
        """Forget the folder; the selection stays until another folder is selected."""
        self._closed = True


def _fold_inbox(name: str) -> str:
    """INBOX is case-insensitive in IMAP, every other name is not."""
    return "INBOX" if name.upper() == "INBOX" else name


def _uid(id: MsgId) -> int | None:
    return int(id) if id.isascii() and id.isdigit() and int(id) > 0 else None


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


def _listing(client: Client) -> list[Any] | None:
    """The listing's FETCH data; None when the server refused the command itself."""
    try:
        return _uid_command(client, "FETCH", "1:*", "(UID FLAGS RFC822.SIZE)")
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error:
        return None
