"""Run the real ``blinken`` command and kill it with SIGKILL at a chosen I/O boundary.

    python -m tests.crashpoint N -- <blinken arguments>

Before handing over to :func:`blinken.cli.main` this wraps the calls through
which a sync changes anything: the stores' ``append``, ``set_flags`` and
``delete``, folder creation (each IMAP CREATE), the Maildir's link of a
written ``tmp/`` file into place, the IMAP ``UID STORE``/``UID EXPUNGE``
commands inside ``set_flags``/``delete``, and the status file's transactions.
A counter goes up before and after every such call (for a transaction: on
entering it, just before its commit, and after it).  When the counter
reaches ``N`` the process sends itself SIGKILL, so it dies exactly there,
with no ``finally`` or ``atexit`` run.  ``N = 0`` never kills.

With the environment variable ``CRASHPOINT_REPORT`` set to a file name, the
launcher writes JSON to that file: after a run that was not killed,
``{"count": total points, "labels": [...]}`` (what happened at each point), and
just before a kill, ``{"killed_at": N, "label": ...}``.  So a test learns how
many points a run has and where exactly a kill landed.

``CRASHPOINT_BATCH`` (optional) sets the sync's ``fetch_batch_count``, which
the config file has no option for: small batches give more distinct states
(some batches recorded, one pending, the rest not started).  It also makes a
first sync go in windows of three batches (``listing_window``), so that a
kill can land between two windows of a folder.

Run blinken with one connection (``maxconnections = 1``) to get the same
sequence of points on every run.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

REPORT_ENV = "CRASHPOINT_REPORT"
BATCH_ENV = "CRASHPOINT_BATCH"

_lock = threading.Lock()
_count = 0
_target = 0
_labels: list[str] = []


def tick(label: str) -> None:
    """One more point; at the target point the process dies here."""
    global _count
    with _lock:
        _count += 1
        _labels.append(label)
        if _count == _target:
            _write_report({"killed_at": _count, "label": label})
            os.kill(os.getpid(), signal.SIGKILL)


def _write_report(data: dict[str, Any]) -> None:
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
        f.flush()


def _around(cls: type, method: str, named_by_arg: bool = False) -> None:
    """Points before and after ``cls.method``; the label names the folder.

    The folder is the object's ``name``, or with ``named_by_arg`` (a
    repository's method) the first argument.
    """
    original: Callable[..., Any] = getattr(cls, method)

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        folder = args[0] if named_by_arg else getattr(self, "name", "?")
        what = f"{cls.__name__}.{method} {folder!r}"
        tick("before " + what)
        result = original(self, *args, **kwargs)
        tick("after " + what)
        return result

    setattr(cls, method, wrapper)


def install() -> None:
    """Wrap every call that changes a store or the status file."""
    from engine import imap, imap_folder, imap_pipeline, maildir, maildir_stamps, status

    # Whether a folder's new stamp is kept by its worker or in the one commit at the
    # end depends on the file system's clock ticking in between; a kill point must
    # mean the same step in every run, so the stamps here settle by the time rule only.
    maildir_stamps.fs_now = lambda path: None

    for cls in (maildir.MaildirFolder, imap_folder.ImapFolder):
        for method in ("append", "set_flags", "delete"):
            _around(cls, method)
    _around(imap_folder.ImapFolder, "append_many")  # MULTIAPPEND: a whole chunk at once
    # Folder creation: each level of an IMAP name is one CREATE.
    _around(maildir.MaildirRepository, "create_folder", named_by_arg=True)
    _around(imap.ImapRepository, "_create", named_by_arg=True)

    place = maildir._place

    def placed(tmp: str, target: str) -> bool:
        # Inside MaildirFolder.append: the file is written in tmp/ but not yet
        # linked into cur/ or new/; afterwards it is in place and tmp/ still has it.
        tick("before maildir link into " + os.path.basename(os.path.dirname(target)) + "/")
        done = place(tmp, target)
        tick("after maildir link")
        return done

    maildir._place = placed

    uid_command = imap_folder._uid_command

    def uid_command_wrapped(client: Any, command: str, *args: str) -> list[Any]:
        if command not in ("STORE", "EXPUNGE"):
            return uid_command(client, command, *args)
        what = f"UID {command} {' '.join(args[1:])}".strip()
        tick("before " + what)
        result = uid_command(client, command, *args)
        tick("after " + what)
        return result

    imap_folder._uid_command = uid_command_wrapped

    pipelined = imap_pipeline.uid_commands

    def pipelined_wrapped(conn: Any, commands: Any) -> list[Any]:
        # The server runs a pipelined batch one command after another, and a kill or a
        # dropped connection can fall between any two (\\Deleted stored, not expunged):
        # here each command is a step of its own, named as when it went alone.
        out: list[Any] = []
        for command in commands:
            what = f"UID {command[0]} {' '.join(command[2:])}".strip()
            tick("before " + what)
            out += pipelined(conn, [command])
            tick("after " + what)
        return out

    imap_pipeline.uid_commands = pipelined_wrapped

    transaction = status.StatusDB.transaction

    @contextlib.contextmanager
    def counted(self: status.StatusDB) -> Iterator[Any]:
        caller = sys._getframe(2).f_code.co_name  # the engine function recording
        tick(f"enter status transaction ({caller})")
        with transaction(self) as db:
            yield db
            tick(f"before commit ({caller})")
        tick(f"after commit ({caller})")

    status.StatusDB.transaction = counted  # type: ignore[method-assign]


def _small_batches(size: int) -> None:
    """Make the runner's syncs copy ``size`` messages per batch, three batches per window."""
    from blinken import runner

    sync_account = runner.sync_account

    def sync(settings: Any, *args: Any, **kwargs: Any) -> Any:
        options = replace(settings.options, fetch_batch_count=size, listing_window=3 * size)
        return sync_account(replace(settings, options=options), *args, **kwargs)

    runner.sync_account = sync  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    global _target
    if len(argv) < 2 or argv[1] != "--":
        print("usage: python -m tests.crashpoint N -- BLINKEN-ARGS...", file=sys.stderr)
        return 2
    _target = int(argv[0])
    install()
    batch = os.environ.get(BATCH_ENV)
    if batch:
        _small_batches(int(batch))
    from blinken.cli import main as blinken_main

    code = blinken_main(argv[2:])
    with _lock:
        _write_report({"count": _count, "labels": list(_labels)})
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
