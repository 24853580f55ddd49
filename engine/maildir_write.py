"""Message files written into a Maildir's ``tmp/``, made durable a batch at a time.

A delivery is safe only once the file and then the directory entry that names
it have reached the disk.  Doing that per message costs a disk flush each;
keeping the written files open and the changed directories listed until
``flush`` lets the file system commit a whole batch at once, and the status
is written only after ``flush`` returns.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from engine.content import Body, FileBody, lf_chunks
from engine.errors import MessageError
from engine.maildir_files import _error, _fsync_dir

_MAX_UNSYNCED = 64  # open descriptors kept for one batched fsync
_FILE_MODE = 0o600  # mail is private
_NEW_NAME_TRIES = 100
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


class Writes:
    """The files written and the directories changed in one Maildir since ``flush``."""

    def __init__(self, path: str, fsync: bool) -> None:
        self.path = path
        self.fsync = fsync
        self.tmp = os.path.join(path, "tmp")
        self.dirs: set[str] = set()  # subdirectories whose entries changed
        self._files: list[int] = []  # open descriptors of written files

    def write(
        self, data: Body, internaldate: float | None, new_id: Callable[[], str]
    ) -> tuple[str, str]:
        """The message in a fresh file in ``tmp/``, with LF line ends: its id and path.

        A body already spooled into this ``tmp/`` in that form is taken as it is.
        """
        spooled = self._spooled_here(data)
        if spooled is not None:
            return new_id(), self._adopt(spooled, internaldate)
        for _try in range(_NEW_NAME_TRIES):
            id = new_id()
            path = os.path.join(self.tmp, id)
            try:
                fd = os.open(path, _CREATE, _FILE_MODE)
            except FileExistsError:
                continue
            except OSError as err:
                raise _error(err, f"cannot create {path}") from err
            try:
                self._fill(fd, data, internaldate)
            except OSError as err:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                raise _error(err, f"cannot write {path}") from err
            return id, path
        raise MessageError(f"no unique file name found in {self.tmp}")

    def flush(self) -> None:
        """Make every write and directory change so far durable (files first)."""
        self._sync_files()
        dirs, self.dirs = self.dirs, set()
        if self.fsync:
            for subdir in sorted(dirs):
                path = os.path.join(self.path, subdir)
                try:
                    _fsync_dir(path)
                except OSError as err:
                    raise _error(err, f"cannot flush {path}") from err

    def _spooled_here(self, data: Body) -> str | None:
        """The path of a spool file in this ``tmp/`` that holds ``data`` in LF form."""
        if not isinstance(data, FileBody) or data.path is None or not data.lf:
            return None
        return data.path if os.path.dirname(data.path) == self.tmp else None

    def _adopt(self, path: str, internaldate: float | None) -> str:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as err:
            raise _error(err, f"cannot open {path}") from err
        self._dated(fd, internaldate)
        return path

    def _fill(self, fd: int, data: Body, internaldate: float | None) -> None:
        """Write (a piece at a time), date and flush one file."""
        with os.fdopen(fd, "wb") as f:
            for piece in lf_chunks(data):
                f.write(piece)
            f.flush()
            self._dated(os.dup(f.fileno()), internaldate)

    def _dated(self, fd: int, internaldate: float | None) -> None:
        """Date a file still in tmp/ and keep it open for ``flush``'s fsync.

        The date is set while the file is still in tmp/: a tmp/ cleaner that
        goes by the newest of atime, mtime and ctime still sees it as fresh.
        """
        try:
            if internaldate is not None:
                os.utime(fd, (internaldate, internaldate))
        except OSError:
            os.close(fd)
            raise
        if not self.fsync:
            os.close(fd)
            return
        self._files.append(fd)
        if len(self._files) >= _MAX_UNSYNCED:
            self._sync_files()

    def _sync_files(self) -> None:
        """Fsync the files written so far (not yet their directory entries)."""
        files, self._files = self._files, []
        try:
            for fd in files:
                os.fsync(fd)
        except OSError as err:
            raise _error(err, f"cannot flush messages in {self.path}") from err
        finally:
            for fd in files:
                os.close(fd)
