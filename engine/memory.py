"""An in-memory mail store: the reference behaviour of the repository interface.

Planner and property tests run thousands of syncs against it; the conformance
tests hold the IMAP and Maildir stores to the same behaviour.  It numbers
messages like an IMAP server (increasing UIDs, a UIDVALIDITY per folder), so
it can stand in for either side.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from engine.content import crlf_size, whole
from engine.errors import FolderError, MessageError
from engine.repository import (
    Changes,
    FetchedMessage,
    Flags,
    FolderState,
    Message,
    MessageInfo,
    MsgId,
    set_flags_one_by_one,
)

_validity = itertools.count(1000)


@dataclass
class MemoryMailbox:
    """The stored state of one folder; shared by every handle opened on it."""

    uidvalidity: int = field(default_factory=lambda: next(_validity))
    uidnext: int = 1
    messages: dict[int, Message] = field(default_factory=dict)
    version: int = 0  # bumped by every change: the folder's stamp

    def add(self, message: Message) -> int:
        uid = self.uidnext
        self.uidnext += 1
        if not isinstance(message.data, bytes):  # a FileBody: its file is the sender's
            message = replace(message, data=whole(message.data))
        self.messages[uid] = message
        self.version += 1
        return uid

    def stamp(self) -> str:
        return f"memory:{self.uidvalidity}:{self.version}"


class MemoryFolder:
    def __init__(self, name: str, box: MemoryMailbox) -> None:
        self.name = name
        self._box = box

    def state(self) -> FolderState:
        box = self._box
        return FolderState(box.uidvalidity, box.uidnext, len(box.messages), stamp=box.stamp())

    def list_messages(self) -> list[MessageInfo]:
        return [
            MessageInfo(str(uid), m.flags, crlf_size(m.data))
            for uid, m in sorted(self._box.messages.items())
        ]

    def list_windows(self, size: int) -> Iterator[list[MessageInfo]]:
        """The listing in pieces of ``size`` messages, as a large IMAP folder gives it."""
        listing = self.list_messages()
        for start in range(0, len(listing), size):
            yield listing[start : start + size]

    def fetch(self, ids: Sequence[MsgId], spool: str | None = None) -> Iterator[FetchedMessage]:
        for id in ids:
            message = self._box.messages.get(int(id))
            if message is not None:
                yield FetchedMessage(id, message)

    def spool_dir(self) -> str | None:
        return None

    def changes_since(self, modseq: int, known: Callable[[], Collection[MsgId]]) -> Changes | None:
        return None

    def ids_since(self, since: float, ids: Sequence[MsgId]) -> set[MsgId]:
        box = self._box.messages
        return {
            id
            for id in ids
            if int(id) in box and (box[int(id)].internaldate or time.time()) >= since
        }

    def append(self, message: Message) -> MsgId | None:
        return str(self._box.add(message))

    def append_many(self, messages: Sequence[Message]) -> list[MsgId | None] | None:
        """Atomic like a MULTIAPPEND, so that tests on memory stores take that path too."""
        return [self.append(m) for m in messages] if len(messages) > 1 else None

    def set_flags(self, id: MsgId, add: Flags, remove: Flags) -> None:
        message = self._box.messages.get(int(id))
        if message is None:
            raise MessageError(f"message {id} is gone from {self.name}")
        flags = (message.flags | add) - remove
        self._box.messages[int(id)] = Message(message.data, flags, message.internaldate)
        self._box.version += 1

    def set_flags_many(self, ids: Sequence[MsgId], add: Flags, remove: Flags) -> set[MsgId]:
        return set_flags_one_by_one(self, ids, add, remove)

    def flush(self) -> None:
        pass  # nothing is held back

    def delete(self, ids: Iterable[MsgId]) -> None:
        for id in ids:
            if self._box.messages.pop(int(id), None) is not None:
                self._box.version += 1

    def close(self) -> None:
        pass


class MemoryRepository:
    """Folders by name; ``sep`` separates hierarchy levels as in any store."""

    def __init__(self, name: str = "memory", sep: str = "/") -> None:
        self.name = name
        self.sep = sep
        self.boxes: dict[str, MemoryMailbox] = {}

    def list_folders(self) -> list[str]:
        return sorted(self.boxes)

    def create_folder(self, name: str) -> None:
        parts = name.split(self.sep)
        for depth in range(1, len(parts) + 1):
            self.boxes.setdefault(self.sep.join(parts[:depth]), MemoryMailbox())

    def open_folder(self, name: str) -> MemoryFolder:
        box = self.boxes.get(name)
        if box is None:
            raise FolderError(f"folder {name!r} does not exist in {self.name}")
        return MemoryFolder(name, box)

    def folder_states(self, names: Sequence[str]) -> dict[str, FolderState]:
        return {
            name: FolderState(box.uidvalidity, box.uidnext, len(box.messages), stamp=box.stamp())
            for name in names
            if (box := self.boxes.get(name)) is not None
        }

    def close(self) -> None:
        pass
