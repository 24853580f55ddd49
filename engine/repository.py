"""The one interface every mail store implements: IMAP, Maildir, in-memory.

The planner and executor only ever see these types, which is what lets an
IMAP<->IMAP account reuse the IMAP<->Maildir code unchanged and lets the same
conformance tests run against all three stores.

Conventions shared by all implementations:

* A message id (``MsgId``) is a string unique within one folder and stable for
  the life of the message: an IMAP UID in decimal, a Maildir file's name before
  its ``:2,`` info part.
* Flags are the Maildir letters ``D F P R S T`` (see :mod:`engine.flags`); other
  keywords are left alone on the store.
* Message bytes may come out of ``fetch`` with CRLF or LF line ends; ``append``
  accepts either and stores its own native form.  A body larger than
  :data:`engine.content.HOLD_AT_MOST` may come as a :class:`~engine.content.FileBody`,
  which whoever fetched it releases once it is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import NamedTuple, Protocol

from engine.content import Body
from engine.errors import MessageError
from engine.frozen import Frozen, record

MsgId = str
Flags = frozenset[str]


class MessageInfo(NamedTuple):
    """One line of a folder listing: cheap to get for 100,000 messages."""

    id: MsgId
    flags: Flags
    size: int | None = None  # size with CRLF line ends, when the store knows it cheaply
    uid_hint: int | None = None  # Maildir: ``,U=`` of a name written for this folder


class Changes(NamedTuple):
    """A folder told as its difference from the status: what a stateful sync reads.

    ``changed`` holds every message added or reflagged since the status was
    written (a reflag may also be our own, or none at all: the planner compares);
    ``gone`` the ids removed since, possibly including ids the status never knew.
    Anything in neither is exactly as the status records it.
    """

    changed: list[MessageInfo]
    gone: set[MsgId]

    def named(self) -> list[MsgId]:
        """Every id the changes name: what to look up in the status."""
        return [*(m.id for m in self.changed), *self.gone]


@record(slots=True)
class Message(Frozen):
    """A message in flight between two stores."""

    data: Body
    flags: Flags
    internaldate: float | None = None  # seconds since the epoch
    uid: int | None = None  # the source UID; a Maildir writes it as ``,U=`` in the name


@record(slots=True)
class FetchedMessage(Frozen):
    id: MsgId
    message: Message


@record(slots=True)
class FolderState(Frozen):
    """Cheap numbers that say whether a folder changed (STATUS-like)."""

    uidvalidity: int | None
    uidnext: int | None = None
    messages: int | None = None
    highestmodseq: int | None = None
    # Changes whenever a message is added, removed or reflagged; None: cannot tell.
    # Equal stamps at two syncs mean the folder need not even be opened.
    stamp: str | None = None


class Folder(Protocol):
    """An opened folder of a repository.  Not thread-safe: one worker each."""

    name: str

    def state(self) -> FolderState:
        """UIDVALIDITY and friends; a Maildir has no UIDVALIDITY (None)."""
        ...

    def list_messages(self) -> list[MessageInfo]:
        """Every message with its flags, without reading message bodies."""
        ...

    def fetch(self, ids: Sequence[MsgId], spool: str | None = None) -> Iterator[FetchedMessage]:
        """Bodies and flags of ``ids``, in any order; missing ids are skipped.

        A body too large to hold is kept in a file: in the directory ``spool``
        where one is given (the destination's :meth:`spool_dir`), else in an
        anonymous temporary file.
        """
        ...

    def spool_dir(self) -> str | None:
        """Where a large body on its way into this folder is best spooled: a
        Maildir's ``tmp/``, from which it is renamed into place and never copied.
        None: anywhere."""
        ...

    def changes_since(self, modseq: int, known: Callable[[], Collection[MsgId]]) -> Changes | None:
        """What changed since ``modseq`` (CONDSTORE/QRESYNC): work in proportion to
        the changes, not to the folder.

        ``known`` gives the ids the status holds; it is called only by a store
        that cannot report removals itself (CONDSTORE without QRESYNC).  None:
        the store cannot do this, so the caller lists everything.
        """
        ...

    def ids_since(self, since: float, ids: Sequence[MsgId]) -> set[MsgId]:
        """Those of ``ids`` whose internal date is at or after ``since`` (``maxage``).

        IMAP compares whole days (SEARCH SINCE), so the window may reach a day further.
        """
        ...

    def append(self, message: Message) -> MsgId | None:
        """Store a new message durably; its id, or None if the store cannot tell."""
        ...

    def append_many(self, messages: Sequence[Message]) -> list[MsgId | None] | None:
        """All of ``messages`` in one atomic step, their ids in order; None when the
        store has no such step (the caller then appends one by one).  A MessageError
        means none was stored."""
        ...

    def set_flags(self, id: MsgId, add: Flags, remove: Flags) -> None:
        """Add and remove flags of one message; a missing message raises MessageError."""
        ...

    def set_flags_many(self, ids: Sequence[MsgId], add: Flags, remove: Flags) -> set[MsgId]:
        """The same change on many messages (one command where the store allows);
        returns the ids that are gone, which were not changed."""
        ...

    def flush(self) -> None:
        """Make every change so far durable; the status is written only after this.

        Stores that are durable at once (IMAP) do nothing; a Maildir fsyncs the
        batch's files and directories together, far cheaper than one by one.
        """
        ...

    def delete(self, ids: Iterable[MsgId]) -> None:
        """Remove messages for good; ids already gone are not an error."""
        ...

    def close(self) -> None: ...


class Repository(Protocol):
    """A mail store: a tree of folders with a hierarchy separator."""

    name: str
    sep: str

    def list_folders(self) -> list[str]:
        """Folder names in the store's own form, with ``sep`` between levels."""
        ...

    def create_folder(self, name: str) -> None:
        """Make a folder (and its parents); an existing folder is not an error."""
        ...

    def open_folder(self, name: str) -> Folder:
        """Open an existing folder; a missing one raises FolderError."""
        ...

    def folder_states(self, names: Sequence[str]) -> dict[str, FolderState]:
        """The states of many folders at once, as cheaply as the store allows.

        Folders missing from the answer are simply unknown (opened and listed).
        """
        ...

    def close(self) -> None: ...


def set_flags_one_by_one(
    folder: Folder, ids: Sequence[MsgId], add: Flags, remove: Flags
) -> set[MsgId]:
    """``set_flags_many`` for a store without a batch command: the gone ids, collected."""
    gone: set[MsgId] = set()
    for id in ids:
        try:
            folder.set_flags(id, add, remove)
        except MessageError:
            gone.add(id)
    return gone
