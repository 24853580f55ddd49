"""Deleted message files: out of ``new/`` and ``cur/`` at once, unlinked in the background.

An unlink on ext4 waits for the file system to free the file's blocks: about
0.4 ms of wall time a file here (1 ms and more under load), nearly all of it
waiting, not computing; a resync that deletes 60 messages of a folder would
wait 20 to 40 ms for them.  A rename into the folder's ``tmp/`` takes some
20 microseconds and is all a deletion needs: a file in ``tmp/`` is no message
of the folder (the Maildir rule), so once ``new/`` and ``cur/`` are flushed
the deletion is as durable as an unlink would be, and the status may record it.

The files renamed away are unlinked by a helper thread while the sync goes on;
whoever owns the ``Trash`` waits for it before it is done (``empty``).  A
crash in between leaves them in ``tmp/``, where the Maildir rule removes them
like any abandoned delivery once they are 36 hours old
(``MaildirFolder.remove_stale_tmp``).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading

SUFFIX = ".deleted"  # never a name a delivery uses in tmp/ (see ``trash_name``)


def trash_name(folder_path: str, filename: str) -> str:
    """Where a deleted ``filename`` of the Maildir ``folder_path`` waits for its unlink.

    Deliveries name their ``tmp/`` files by a unique id without this suffix, so the
    rename cannot take the place of a message being delivered.
    """
    return os.path.join(folder_path, "tmp", filename + SUFFIX)


class Trash:
    """Files to unlink, taken by a helper thread started on the first of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # The running helper and its own queue (a helper ends at the None put in it).
        self._helper: tuple[threading.Thread, queue.SimpleQueue[str | None]] | None = None

    def discard(self, path: str) -> None:
        """Unlink ``path`` soon, on the helper thread (a file already gone is fine)."""
        with self._lock:
            if self._helper is None:
                paths: queue.SimpleQueue[str | None] = queue.SimpleQueue()
                thread = threading.Thread(
                    target=_unlink_all, args=(paths,), name="maildir-trash", daemon=True
                )
                thread.start()
                self._helper = thread, paths
            self._helper[1].put(path)

    def empty(self) -> None:
        """Wait until every file handed over so far is unlinked."""
        with self._lock:
            helper, self._helper = self._helper, None
        if helper is not None:
            helper[1].put(None)
            helper[0].join()


def _unlink_all(paths: queue.SimpleQueue[str | None]) -> None:
    while (path := paths.get()) is not None:
        with contextlib.suppress(OSError):  # gone already, or left to the tmp/ rule
            os.unlink(path)
