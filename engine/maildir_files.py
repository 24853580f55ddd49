"""Low-level Maildir file operations: durable directory entries, no-overwrite delivery.

Kept apart from the folder logic so that each safety step is small and
separately readable: a typed error for an OSError, an fsync of a directory,
and delivering a file under a name without ever replacing another.
"""

from __future__ import annotations

import contextlib
import errno
import os

from engine.content import HOLD_AT_MOST, Body, FileBody
from engine.errors import FolderError, MessageError, SyncError

# Errors that will hit every message of the folder alike: stop the folder.
_FOLDER_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
# link() not supported by the file system: fall back to a careful rename.
_NO_LINK_ERRNOS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS}


def _fsync_dir(path: str) -> None:
    """Make a directory's entries durable: a rename is only safe once this returns."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _error(err: OSError, what: str) -> SyncError:
    """A typed error: a full or read-only disk stops the folder, else one message."""
    text = f"{what}: {err.strerror or err}"
    if err.errno in _FOLDER_ERRNOS:
        return FolderError(text)
    return MessageError(text)


def read_body(path: str) -> tuple[Body, float] | None:
    """A message file's body and mtime; None if it is gone.  A large one stays open
    as a FileBody, so that a rename by a mail reader cannot take it away meanwhile."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (a large one stays open)
        with contextlib.ExitStack() as closing:
            closing.callback(f.close)
            stat = os.fstat(f.fileno())
            if stat.st_size <= HOLD_AT_MOST:
                return f.read(), stat.st_mtime
            closing.pop_all()
            return FileBody(f), stat.st_mtime
    except FileNotFoundError:
        return None
    except OSError as err:  # one unreadable file: skip that message only
        raise MessageError(f"cannot read {path}: {err.strerror or err}") from err


def _untouched_since(dirent: os.DirEntry[str], limit: float) -> bool:
    """A file still there and untouched (read, written or renamed) since ``limit``."""
    try:
        if not dirent.is_file(follow_symlinks=False):
            return False
        st = dirent.stat(follow_symlinks=False)
    except FileNotFoundError:  # delivered meanwhile
        return False
    return max(st.st_atime, st.st_mtime, st.st_ctime) < limit


def _place(tmp: str, target: str) -> bool:
    """Give ``tmp`` the name ``target`` without replacing a file; False if taken."""
    try:
        os.link(tmp, target)
        return True
    except FileExistsError:
        return False
    except OSError as err:
        if err.errno not in _NO_LINK_ERRNOS:
            raise _error(err, f"cannot deliver {target}") from err
    if os.path.lexists(target):  # no hard links here: rename, checking first
        return False
    try:
        os.rename(tmp, target)
    except OSError as err:
        raise _error(err, f"cannot deliver {target}") from err
    return True


def remove_untouched(directory: str, limit: float) -> list[tuple[str, OSError]]:
    """Delete the files of ``directory`` nobody touched since ``limit``; returns those
    that could not be removed (FolderError if the directory cannot be listed)."""
    try:
        with os.scandir(directory) as it:
            stale = [d.path for d in it if _untouched_since(d, limit)]
    except OSError as err:
        raise FolderError(f"cannot list {directory}: {err.strerror or err}") from err
    failed: list[tuple[str, OSError]] = []
    for path in stale:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as err:
            failed.append((path, err))
    return failed
