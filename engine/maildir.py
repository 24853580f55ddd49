"""The Maildir store: a tree of Maildirs under one root directory.

Durability follows the Maildir delivery rule: a message is written under a
unique name in ``tmp/``, flushed to disk, then hard-linked into ``new/`` or
``cur/`` (a link never replaces an existing file, unlike a rename) and the
directory is flushed, so (with fsync on) a crash leaves no message or a whole one.

Other programs (mail readers, a second blinken, OfflineIMAP) may work on the
same Maildir at any time.  A listing is therefore only a cache of where each
message was: whenever a file is not where it was seen, the folder is scanned
again before a message is declared gone.  Files blinken cannot make sense of
are reported through ``on_warning`` and left alone, never deleted.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

from engine.errors import AccountError, FolderError, MessageError
from engine.flags import to_letters
from engine.maildir_compare import Recorded
from engine.maildir_files import _error, _fsync_dir, _place, read_body, remove_untouched
from engine.maildir_index import Entry, Index
from engine.maildir_names import (
    MaildirName,
    folder_md5,
    format_name,
    hostname,
    infosep_for,
    is_utf8,
    letters_after,
    parse_name,
    uid_hint,
    unique_id,
)
from engine.maildir_stamps import Fingerprint, folder_stamp, names_fingerprint
from engine.maildir_write import Writes
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

Warn = Callable[[str], None]

SUBDIRS = ("cur", "new", "tmp")
TMP_MAX_AGE = 36 * 3600  # the Maildir rule for abandoned deliveries
_DIR_MODE = 0o700  # mail is private
_NEW_NAME_TRIES = 100
_clock = time.time  # tests move it forward to age tmp/ files
_seq_lock = threading.Lock()
_seq = itertools.count()


def _ignore(_text: str) -> None:
    pass


def _next_seq() -> int:
    """A per-process counter: never repeats, even if the clock steps back."""
    with _seq_lock:
        return next(_seq)


def _is_maildir(path: str) -> bool:
    return all(os.path.isdir(os.path.join(path, sub)) for sub in SUBDIRS)


class MaildirFolder:
    """One Maildir; a worker's own handle, holding the last listing as a cache."""

    def __init__(self, name: str, path: str, *, infosep: str, fsync: bool, warn: Warn) -> None:
        self.name = name
        self.path = path
        self._infosep = infosep
        self._writes = Writes(path, fsync)
        self._warn = warn
        self._fmd5 = folder_md5(name)
        self._index = Index(name, path, infosep, self._fmd5, warn)

    def state(self) -> FolderState:
        """A Maildir has no UIDVALIDITY; counting would cost a listing."""
        return FolderState(uidvalidity=None)

    @property
    def names_fingerprint(self) -> Fingerprint | None:
        """Of the names as the last listing read them, moved along by our own writes."""
        return self._index.fingerprint()

    def unchanged_by_others(self) -> bool:
        """For engine.settle: whether only our own writes changed the names since the
        folder was read (a directory read and a comparison, no parsing)."""
        return self._index.unchanged_by_others()

    def read_names(self) -> None:
        """Read the names for their fingerprint only (see engine.maildir_index)."""
        self._index.read_names()

    def start_from_names(self, recorded: Fingerprint) -> bool:
        """Start from the fingerprint the status recorded instead of ``read_names``
        (see ``Index.start_from_names``); False if it is not one this version makes."""
        return self._index.start_from_names(recorded)

    def expect_names(self, recorded: Iterable[tuple[MsgId, str]]) -> None:
        """The flag letters the status records for ids about to be touched: their
        files are found under the names those imply, without a directory read."""
        self._index.expect(recorded)

    def changes_from(self, recorded: Recorded) -> Changes | None:
        """The folder's changes since the status was written, from one read of its
        names (see ``Index.compare``): a resync after a mail reader renamed or
        deleted a few files parses those few names, not the whole folder."""
        found = self._index.compare(recorded)
        if found is None:
            return None
        entries, gone = found
        return Changes([MessageInfo(e.name.id, e.name.flags, None, e.uid) for e in entries], gone)

    def list_messages(self) -> list[MessageInfo]:
        self._index.scan(warn=True, base=True)
        return [
            MessageInfo(id, e.name.flags, None, e.uid)
            for id, e in sorted(self._index.entries.items(), key=lambda item: item[0])
        ]

    def fetch(self, ids: Sequence[MsgId], spool: str | None = None) -> Iterator[FetchedMessage]:
        """Files are read as they are asked for; a large one comes as a FileBody on the
        open file, so a mail reader's rename cannot take it away meanwhile."""
        moved: list[MsgId] = []
        for id in ids:
            got = self._read(id)
            if got is None:
                moved.append(id)
            else:
                yield got
        if moved:
            self._index.scan(warn=False)
            for id in moved:
                got = self._read(id)
                if got is not None:
                    yield got

    def spool_dir(self) -> str | None:
        return self._writes.tmp

    def changes_since(self, modseq: int, known: Callable[[], Collection[MsgId]]) -> Changes | None:
        return None  # names are the listing; the folder stamp says when to read them

    def append_many(self, messages: Sequence[Message]) -> list[MsgId | None] | None:
        return None  # one by one: each delivery is its own atomic rename

    def ids_since(self, since: float, ids: Sequence[MsgId]) -> set[MsgId]:
        """By modification time: we set it to the INTERNALDATE of what we write."""
        found = set()
        for id in ids:
            entry = self._index.get(id)
            if entry is None:
                continue
            try:
                if os.stat(self._file(entry)).st_mtime >= since:
                    found.add(id)
            except OSError:
                continue
        return found

    def append(self, message: Message) -> MsgId | None:
        letters = to_letters(message.flags)
        id, tmp = self._writes.write(
            message.data, message.internaldate, lambda: self._new_id(message.uid)
        )
        try:
            entry = self._deliver(tmp, id, letters or None, message.uid)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self._writes.dirs.add(entry.subdir)
        self._index.added(entry)
        return entry.name.id

    def flush(self) -> None:
        """Make every append, rename and unlink so far durable (see engine.maildir_write)."""
        self._writes.flush()

    def set_flags(self, id: MsgId, add: Flags, remove: Flags) -> None:
        entry = self._index.get(id) or self._index.rescan_for(id)
        for _attempt in range(3):
            if entry is None:
                raise MessageError(f"message {id} is gone from {self.name}")
            if self._rename(entry, add, remove):
                return
            entry = self._index.rescan_for(id)  # a mail reader renamed it meanwhile
        raise MessageError(
            f"message {id} in {self.name} cannot be renamed: it keeps moving,"
            " or another file already has its new name"
        )

    def set_flags_many(self, ids: Sequence[MsgId], add: Flags, remove: Flags) -> set[MsgId]:
        return set_flags_one_by_one(self, ids, add, remove)

    def delete(self, ids: Iterable[MsgId]) -> None:
        touched: set[str] = set()
        missing: list[MsgId] = []
        for id in ids:
            if not self._unlink(self._index.get(id), touched):
                missing.append(id)
        if missing:  # gone already, or renamed by someone else: look again once
            self._index.scan(warn=False)
            for id in missing:
                self._unlink(self._index.entries.get(id), touched)
        self._writes.dirs |= touched  # made durable by ``flush``, with the batch's renames

    def forget_written(self) -> None:
        """A first sync's window is done with the files it wrote (see ``Index.forget``)."""
        self._index.forget()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._index.clear()

    # -- listing ---------------------------------------------------------------

    def _file(self, entry: Entry) -> str:
        return os.path.join(self.path, entry.subdir, entry.filename)

    # -- reading ---------------------------------------------------------------

    def _read(self, id: MsgId) -> FetchedMessage | None:
        entry = self._index.get(id)
        found = read_body(self._file(entry)) if entry is not None else None
        if entry is None or found is None:
            return None
        return FetchedMessage(id, Message(found[0], entry.name.flags, internaldate=found[1]))

    # -- writing ---------------------------------------------------------------

    def _new_id(self, uid: int | None) -> str:
        return unique_id(int(time.time()), _next_seq(), os.getpid(), hostname(), uid, self._fmd5)

    def _deliver(self, tmp: str, id: str, letters: str | None, uid: int | None) -> Entry:
        """Link the tmp/ file into new/ or cur/ under a name that nobody uses."""
        subdir = "cur" if letters else "new"
        for _try in range(_NEW_NAME_TRIES):
            filename = format_name(id, letters, self._infosep)
            target = os.path.join(self.path, subdir, filename)
            if _place(tmp, target):
                name = parse_name(filename, self._infosep)
                return Entry(subdir, filename, name, uid_hint(name.id, self._fmd5))
            id = self._new_id(uid)
        raise MessageError(f"no unique file name found in {self.path}/{subdir}")

    def _rename(self, entry: Entry, add: Flags, remove: Flags) -> bool:
        """Rename for new flags; False if the file is not where the cache says."""
        letters = letters_after(entry.name, add, remove)
        if letters == (entry.name.letters or ""):
            return True
        filename = format_name(entry.name.id, letters, self._infosep)
        moved = Entry("cur", filename, MaildirName(entry.name.id, letters), entry.uid)
        source, target = self._file(entry), self._file(moved)
        if os.path.lexists(target):
            return False  # a second file with this id; a rescan decides which one counts
        try:
            os.rename(source, target)
        except FileNotFoundError:
            return False
        except OSError as err:
            raise _error(err, f"cannot rename {source}") from err
        self._index.moved(entry, moved)
        self._writes.dirs |= {entry.subdir, "cur"}
        return True

    def _unlink(self, entry: Entry | None, touched: set[str]) -> bool:
        """Remove one file; False if it was not there."""
        if entry is None:
            return False
        try:
            os.unlink(self._file(entry))
        except FileNotFoundError:
            return False
        except OSError as err:
            raise _error(err, f"cannot delete {self._file(entry)}") from err
        self._index.removed(entry)
        touched.add(entry.subdir)
        return True

    def remove_stale_tmp(self) -> None:
        """Delete tmp/ files nobody touched for 36 hours: deliveries that died."""
        for path, err in remove_untouched(os.path.join(self.path, "tmp"), _clock() - TMP_MAX_AGE):
            self._warn(f"{self.name}: cannot remove stale {path}: {err.strerror or err}")


class MaildirRepository:
    """Folders as Maildirs under ``root``: nested directories if ``sep`` is "/",
    else flat directories whose names hold ``sep`` (OfflineIMAP's "." default)."""

    def __init__(
        self,
        name: str,
        root: str,
        sep: str = ".",
        fsync: bool = True,
        windows_compatible: bool = False,
        on_warning: Warn | None = None,
    ) -> None:
        if not sep:
            raise ValueError("a Maildir separator cannot be empty")
        self.name = name
        self.root = root
        self.sep = sep
        self.fsync = fsync
        self.windows_compatible = windows_compatible
        self._warn = on_warning or _ignore

    @property
    def nested(self) -> bool:
        return self.sep == "/"

    def list_folders(self) -> list[str]:
        if not os.path.exists(self.root):
            return []
        if not os.path.isdir(self.root):
            raise AccountError(f"the Maildir root {self.root} is not a directory")
        names: list[str] = []
        try:
            self._walk(self.root, [], names)
        except OSError as err:
            raise AccountError(f"cannot list {self.root}: {err.strerror or err}") from err
        return sorted(names)

    def create_folder(self, name: str) -> None:
        parts = self._parts(name)
        levels = [parts[: n + 1] for n in range(len(parts))] if self.nested else [parts]
        try:
            self._mkdir(self.root, parents=True)
            for level in levels:
                path = os.path.join(self.root, *level)
                self._mkdir(path)
                for sub in SUBDIRS:
                    self._mkdir(os.path.join(path, sub))
        except OSError as err:
            raise FolderError(f"cannot create folder {name!r}: {err.strerror or err}") from err

    def folder_states(self, names: Sequence[str]) -> dict[str, FolderState]:
        """Stamps from the mtimes of ``new/`` and ``cur/``: delivering, renaming (a flag
        change) and deleting all touch them.  A stamp younger than ``STAMP_SETTLE``
        seconds is not given out: a change in the same clock tick could hide in it."""
        out: dict[str, FolderState] = {}
        now = time.time_ns()
        for name in names:
            try:
                stamp = folder_stamp(os.path.join(self.root, *self._parts(name)), now)
            except (OSError, FolderError):
                continue
            out[name] = FolderState(uidvalidity=None, stamp=stamp)
        return out

    def names_fingerprint(self, name: str) -> Fingerprint | None:
        """For :mod:`engine.settle`: are a folder's names still those of its last listing?"""
        try:
            return names_fingerprint(os.path.join(self.root, *self._parts(name)))
        except (OSError, FolderError):
            return None

    def open_folder(self, name: str) -> MaildirFolder:
        path = os.path.join(self.root, *self._parts(name))
        if not _is_maildir(path):
            raise FolderError(f"folder {name!r} does not exist in {self.name}")
        folder = MaildirFolder(
            name,
            path,
            infosep=infosep_for(self.windows_compatible),
            fsync=self.fsync,
            warn=self._warn,
        )
        folder.remove_stale_tmp()
        return folder

    def close(self) -> None:
        pass

    def _walk(self, directory: str, prefix: list[str], names: list[str]) -> None:
        """Collect Maildirs below ``directory``; nested mode goes down the tree."""
        with os.scandir(directory) as it:
            dirents = [d for d in it if d.name not in SUBDIRS and d.is_dir()]
        for dirent in dirents:
            if not is_utf8(dirent.name):
                self._warn(f"{self.name}: folder {dirent.path!r} is not named in UTF-8, skipped")
                continue
            parts = [*prefix, dirent.name]
            if _is_maildir(dirent.path):
                names.append(self.sep.join(parts))
            if self.nested and not dirent.is_symlink():  # no symlink loops
                self._walk(dirent.path, parts, names)

    def _parts(self, name: str) -> list[str]:
        """The directory names of a folder, refusing what would escape or clash."""
        parts = name.split("/") if self.nested else [name]
        for part in parts:
            if part in ("", ".", "..") or "\0" in part:
                raise FolderError(f"{name!r} is not a usable Maildir folder name")
            if part in SUBDIRS:
                raise FolderError(f"{name!r}: {part!r} is reserved inside a Maildir")
            if "/" in part:
                raise FolderError(f"{name!r}: a flat Maildir folder name cannot hold '/'")
        return parts

    def _mkdir(self, path: str, parents: bool = False) -> None:
        """Make one private directory; flush its parent so the folder survives a crash."""
        if os.path.isdir(path):
            return
        if parents:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        try:
            os.mkdir(path, _DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
            return
        if self.fsync:
            _fsync_dir(os.path.dirname(os.path.abspath(path)))
