"""A folder wrapper for fault-injecting test stores: forwards everything by default."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from engine.errors import MessageError
from engine.repository import (
    FetchedMessage,
    Flags,
    Folder,
    FolderState,
    Message,
    MessageInfo,
    MsgId,
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

    def fetch(self, ids: Sequence[MsgId]) -> Iterator[FetchedMessage]:
        return self.inner.fetch(ids)

    def append(self, message: Message) -> MsgId | None:
        return self.inner.append(message)

    def set_flags(self, id: MsgId, add: Flags, remove: Flags) -> None:
        self.inner.set_flags(id, add, remove)

    def set_flags_many(self, ids: Sequence[MsgId], add: Flags, remove: Flags) -> set[MsgId]:
        """Through ``set_flags``, so that a subclass's faults apply to batches too."""
        gone: set[MsgId] = set()
        for id in ids:
            try:
                self.set_flags(id, add, remove)
            except MessageError:
                gone.add(id)
        return gone

    def delete(self, ids: Iterable[MsgId]) -> None:
        self.inner.delete(ids)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)  # whatever the interface grows
