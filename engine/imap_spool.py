"""Large FETCH literals written to a file as they arrive, never held in memory.

imaplib reads a literal with one ``read(size)`` and keeps the bytes in its
list of untagged responses: a 50 MB message would be 50 MB of Python memory,
then more as it is converted and written.  While a body FETCH is answered,
the connection's ``read`` is replaced by one that, for a literal over
``HOLD_AT_MOST``, copies it a megabyte at a time into a spool file, converting
it to LF line ends and working out its fingerprint on the way.  imaplib then
files a :class:`Spooled` placeholder where the bytes would be; it has the
literal's length, which is all imapclient's parser checks.

The spool file goes where the body is going (a Maildir's ``tmp/``, so that
delivery is a rename), or is an anonymous temporary file.  Into a Maildir,
every literal over ``SPOOL_INTO_MAILDIR`` goes that way: the file is the one
the message would be written to anyway, so a batch holds in memory only its
small messages instead of up to ``fetch_batch_bytes`` of attachments.
"""

from __future__ import annotations

import contextlib
import imaplib
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from engine.content import CHUNK, HOLD_AT_MOST, FileBody, LfStream, Summary

# Into a Maildir's tmp/ a spool file costs nothing more than writing the body
# from memory later; messages with an attachment are over this, plain text is not.
SPOOL_INTO_MAILDIR = 64 << 10

_FILE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
_count = itertools.count()


class Spooled:
    """What imaplib files for a spooled literal: its wire length, and the body
    until someone takes it (whoever takes it releases it)."""

    __slots__ = ("body", "size")

    def __init__(self, body: FileBody, size: int) -> None:
        self.body: FileBody | None = body
        self.size = size

    def __len__(self) -> int:
        return self.size

    def take(self) -> FileBody | None:
        body, self.body = self.body, None
        return body


def release_untaken(data: Iterable[Any]) -> None:
    """Release the spooled bodies of FETCH data that nobody took."""
    for item in data:
        if isinstance(item, tuple) and isinstance(item[-1], Spooled):
            body = item[-1].take()
            if body is not None:
                body.release()


@contextlib.contextmanager
def spooling(imap: imaplib.IMAP4, directory: str | None) -> Iterator[None]:
    """While inside, literals over ``HOLD_AT_MOST`` (``SPOOL_INTO_MAILDIR`` into a
    Maildir's ``tmp/``) go to spool files and imaplib files a :class:`Spooled` for
    each; if reading fails, every one made is released."""
    created: list[FileBody] = []
    plain: Callable[[int], bytes] = type(imap).read.__get__(imap)
    most = HOLD_AT_MOST if directory is None else SPOOL_INTO_MAILDIR

    def read(size: int) -> Any:
        if size <= most:
            return plain(size)
        body = spool(plain, size, directory)
        created.append(body)
        return Spooled(body, size)

    imap.read = read  # type: ignore[method-assign]
    try:
        yield
    except BaseException:
        for body in created:
            body.release()
        raise
    finally:
        del imap.read


def spool(read: Callable[[int], bytes], size: int, directory: str | None) -> FileBody:
    """Read a literal of ``size`` bytes into a spool file, with LF line ends."""
    file, path = _open(directory)
    try:
        stream, summary = LfStream(), Summary()
        left = size
        while left:
            piece = read(min(CHUNK, left))
            if not piece:
                raise imaplib.IMAP4.abort("connection closed in the middle of a message")
            left -= len(piece)
            _write(file, stream.feed(piece), summary)
        _write(file, stream.end(), summary)
        file.flush()
    except BaseException:
        file.close()
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        raise
    return FileBody(file, path=path, lf=True, summary=summary.result())


def _write(file: BinaryIO, lf_piece: bytes, summary: Summary) -> None:
    file.write(lf_piece)
    summary.add(lf_piece)


def _open(directory: str | None) -> tuple[BinaryIO, str | None]:
    """A fresh spool file: named in ``directory`` (a Maildir's ``tmp/``), else anonymous."""
    if directory is None:
        import tempfile  # only here: it costs a no-op 6 ms to import (shutil, bz2, lzma)

        return tempfile.TemporaryFile(), None
    for _try in range(100):
        path = os.path.join(directory, f"blinken-spool.{os.getpid()}.{next(_count)}")
        try:
            fd = os.open(path, _FILE_FLAGS, 0o600)
        except FileExistsError:
            continue
        return os.fdopen(fd, "w+b"), path
    raise FileExistsError(f"no free spool file name in {directory}")
