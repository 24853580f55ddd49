"""A folder wrapper for fault-injecting test stores: forwards everything by default."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from engine.repository import (
    FetchedMessage,
    Flags,
    Folder,
    FolderState,
    Message,
    MessageInfo,
    MsgId,
    set_flags_one_by_one,
)


class Wrapped:
    """A folder that forwards everything; subclasses change one behaviour."""

    def __init__(self, inner: Folder) -> None:
        self.inner = inner
        self.name = inner.name

    def state(self) -> FolderState:
        return self.inner.state()

    def list_messages(self) -> list[MessageInfo]:
        return self.inner.list_messages()

    def fetch(self, ids: Sequence[MsgId], spool: str | None = None) -> Iterator[FetchedMessage]:
        return self.inner.fetch(ids, spool)

    def append(self, message: Message) -> MsgId | None:
        return self.inner.append(message)

    def append_many(self, messages: Sequence[Message]) -> list[MsgId | None] | None:
        """None: one by one, through ``append``, so that a subclass's faults apply."""
        return None

    def set_flags(self, id: MsgId, add: Flags, remove: Flags) -> None:
        self.inner.set_flags(id, add, remove)

    def set_flags_many(self, ids: Sequence[MsgId], add: Flags, remove: Flags) -> set[MsgId]:
        """Through ``set_flags``, so that a subclass's faults apply to batches too."""
        return set_flags_one_by_one(self, ids, add, remove)

    def delete(self, ids: Iterable[MsgId]) -> None:
        self.inner.delete(ids)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)  # whatever the interface grows


class Crash(Exception):
    """A simulated crash: not a SyncError, so nothing in the engine catches it."""


class MaildirLike(Wrapped):
    """A memory folder shown the way a Maildir shows itself.

    Ids are names rather than numbers, a copy of a remote message carries the
    source UID as its ``,U=`` hint, and there is no UIDVALIDITY, no UIDNEXT and
    no cheap size.
    """

    def __init__(self, inner: Folder) -> None:
        super().__init__(inner)
        self.hints: dict[MsgId, int] = {}

    def state(self) -> FolderState:
        return FolderState(None, None, self.inner.state().messages)

    def list_messages(self) -> list[MessageInfo]:
        return [
            MessageInfo("m" + m.id, m.flags, None, self.hints.get("m" + m.id))
            for m in self.inner.list_messages()
        ]

    def fetch(self, ids: Sequence[MsgId], spool: str | None = None) -> Iterator[FetchedMessage]:
        inner_ids = [id[1:] for id in ids if id.startswith("m")]
        for fm in self.inner.fetch(inner_ids, spool):
            yield FetchedMessage("m" + fm.id, fm.message)

    def append(self, message: Message) -> MsgId | None:
        id = self.inner.append(message)
        assert id is not None
        name = "m" + id
        if message.uid is not None:
            self.hints[name] = message.uid
        return name

    def set_flags(self, id: MsgId, add: Flags, remove: Flags) -> None:
        self.inner.set_flags(id[1:], add, remove)

    def delete(self, ids: Iterable[MsgId]) -> None:
        self.inner.delete([id[1:] for id in ids])


class NoUidplus(Wrapped):
    """A server without UIDPLUS: the message is stored, its new UID is unknown."""

    def append(self, message: Message) -> MsgId | None:
        self.inner.append(message)
        return None
