"""The IMAP store: the repository interface over one imapclient connection.

Each ``ImapRepository`` owns one connection, opened at first use (worker
threads each make their own repository).  Messages are named by UID, so
nothing here depends on sequence numbers and the EXPUNGEs of other clients
cannot shift our ids.

An opened folder is an :class:`engine.imap_folder.ImapFolder`.

Failures become the typed errors of :mod:`engine.errors`: a connection
dropped in the middle of a folder operation is a ``FolderError`` once a fresh
connection is up again (the next folder can go on), or the ``AccountError`` of
the failed reconnect.
"""

from __future__ import annotations

import imaplib
from collections.abc import Callable, Sequence
from typing import Any

from engine import imap_parse, imap_pipeline, imap_state, imap_utf7
from engine.errors import FolderError, SyncError
from engine.imap_connect import Client, ListedAhead, connect, describe
from engine.imap_folder import ImapFolder
from engine.imap_spool import release_untaken, spooling
from engine.imap_trace import Trace
from engine.repository import (
    FolderState,
)
from engine.settings import ImapSettings


class ImapRepository:
    """An IMAP account as a tree of folders; ``sep`` comes from the server."""

    def __init__(
        self, settings: ImapSettings, trace: Trace | None = None, early: bool = True
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self._trace = trace
        # Whether the connection opened while blinken loaded (and the LIST it asked
        # ahead) may be this store's: only an account's first store takes it.
        self._early = early
        self._client: Client | None = None
        self._sep: str | None = None
        self._selected: ImapFolder | None = None
        self._listed_states: dict[str, FolderState] = {}
        self._wire_names: dict[str, str] = {}  # names whose wire form is not encode(name)
        # A body FETCH sent ahead (engine.imap_folder.fetch_ahead): its tag and UID set.
        self._ahead: tuple[str, str] | None = None

    # -- connection ------------------------------------------------------

    def client(self) -> Client:
        """The connection, opened and logged in on first use."""
        if self._client is None:
            self._client = connect(self.settings, self._trace, self._early)
            self._selected = None
        return self._client

    def enabled_qresync(self) -> bool:
        """Whether the login's ENABLE turned QRESYNC on (it must precede any SELECT)."""
        return "QRESYNC" in self.client().enabled

    def _drop(self) -> None:
        client, self._client = self._client, None
        self._selected, self._ahead = None, None
        if client is not None:
            client.quiet_logout()

    def run(
        self, what: str, folder: str | None, action: Any, *args: Any, ahead: bool = False
    ) -> Any:
        """``action(client, *args)`` with every raw failure turned into a typed one.

        A FETCH sent ahead is answered first (its data dropped), so that no other
        command's answer is mixed with it; only an ``ahead`` action reads it itself.
        """
        client = self.client()
        where = f" {folder!r}" if folder is not None else ""
        try:
            dropped = None if ahead else self.take_ahead()
            if dropped is not None:
                _drop_answer(client, dropped[0])
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

    def send_ahead(self, send: Callable[[Client], str], uid_set: str) -> None:
        """Send a body FETCH whose answer a later ``ahead`` action reads; one at a time."""
        if self._ahead is None:
            self._ahead = (self.run("fetch", None, send), uid_set)

    def take_ahead(self) -> tuple[str, str] | None:
        """The FETCH sent ahead (tag, UID set), if any, now the caller's to read."""
        ahead, self._ahead = self._ahead, None
        return ahead

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
        ahead = self._listed_ahead() if with_status else None
        if ahead is not None:
            entries, self._listed_states = ahead.entries, ahead.states
        elif with_status and self.has_capability("LIST-STATUS"):
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

    def _listed_ahead(self) -> ListedAhead | None:
        """The LIST-STATUS an early connection asked while blinken loaded, once, if fresh."""
        client = self.client()
        ahead, client.listed = client.listed, None
        return ahead if ahead is not None and ahead.fresh() else None

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

    def open_folder_expecting(self, name: str, modseq: int) -> ImapFolder:
        """Open ``name`` and, in the same round trip, ask what changed since ``modseq``
        (the folder's ``changes_since(modseq)`` then answers from that)."""
        folder = ImapFolder(self, name, self.wire_name(name))
        folder.expect_changes(modseq)
        folder.select()
        return folder

    def select(self, folder: ImapFolder) -> dict[bytes, Any]:
        """SELECT (EXAMINE when read-only) ``folder``, making it the current one."""
        readonly = self.settings.readonly
        response: dict[bytes, Any] = self._opening(
            folder, lambda c: c.select_folder(folder.wire, readonly=readonly)
        )
        return response

    def select_with_changes(
        self, folder: ImapFolder, modseq: int
    ) -> tuple[dict[bytes, Any], list[Any], list[Any]]:
        """SELECT and the CHANGEDSINCE listing in one round trip (see imap_pipeline):
        the SELECT's numbers, the FETCH data and the VANISHED lines."""
        name = "EXAMINE" if self.settings.readonly else "SELECT"
        qresync = self.enabled_qresync()
        fetch = ("1:*", imap_parse.LISTING_ITEMS, imap_state.changes_modifier(modseq, qresync))

        def both(c: Client) -> tuple[dict[bytes, Any], list[Any], list[Any]]:
            mailbox = imap_parse.quoted(folder.wire)
            untagged, fetched = imap_pipeline.select_and_fetch(c._imap, name, mailbox, fetch)
            vanished = untagged.pop("VANISHED", [])
            return c._process_select_response(untagged), fetched, vanished

        out: tuple[dict[bytes, Any], list[Any], list[Any]] = self._opening(folder, both)
        return out

    def refresh_with_changes(
        self, folder: ImapFolder, modseq: int
    ) -> tuple[FolderState | None, list[Any], list[Any]]:
        """The selected ``folder``'s numbers (STATUS) and the CHANGEDSINCE listing, in one
        round trip and without selecting it again: the state (None if the server gave
        none), the FETCH data and the VANISHED lines.  See ``ImapFolder.select``."""
        qresync = self.enabled_qresync()
        items = imap_state.STATUS_ITEMS  # CHANGEDSINCE: the server has CONDSTORE
        fetch = ("1:*", imap_parse.LISTING_ITEMS, imap_state.changes_modifier(modseq, qresync))

        def both(c: Client) -> tuple[FolderState | None, list[Any], list[Any]]:
            mailbox = imap_parse.quoted(folder.wire)
            lines, fetched, vanished = imap_pipeline.status_and_fetch(
                c._imap, mailbox, items, fetch
            )
            states = imap_state.parse_status(lines)
            return next(iter(states.values()), None), fetched, vanished

        out: tuple[FolderState | None, list[Any], list[Any]] = self.run(
            "refresh", folder.name, both
        )
        return out

    def is_selected(self, folder: ImapFolder) -> bool:
        """Whether ``folder`` is the mailbox selected on the current connection."""
        return self._selected is folder and self._client is not None

    def _opening(self, folder: ImapFolder, action: Callable[[Client], Any]) -> Any:
        """``action`` selects ``folder``; it is the current one only if that succeeded."""
        self._selected = None  # a failed SELECT leaves no mailbox selected
        result = self.run("opening", folder.name, action)
        self._selected = folder
        return result

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


def _drop_answer(client: Client, tag: str) -> None:
    """Read a FETCH answer nobody wants; its large bodies pass through a spool file."""
    with spooling(client._imap, None):
        release_untaken(imap_pipeline.fetch_answer(client._imap, tag))


def _fold_inbox(name: str) -> str:
    """INBOX is case-insensitive in IMAP, every other name is not."""
    return "INBOX" if name.upper() == "INBOX" else name
