"""A ready-to-sync demo: a throwaway Dovecot full of realistic mail, and a config for it.

``blinken demo`` needs no mail account: :func:`prepare_demo` starts a local
server, fills it with the fixed-seed corpus (so every demo looks the same),
and writes an ordinary OfflineIMAP-format config pointing at it.
:meth:`Demo.trickle` keeps new mail and flag changes coming, so the dashboard
has something to show on each refresh.
"""

from __future__ import annotations

import imaplib
import itertools
import os
import random
import secrets
import shutil
import stat
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from blinken import corpus
from blinken.dovecot import ThrowawayDovecot

DEMO_SEED = 20240601  # fixed: the demo is the same every time
TRICKLE_SEED = DEMO_SEED + 1  # another stream, so trickled Message-IDs are new
DEMO_USER = "demo"
ACCOUNT = "demo"
_OURS = ("config", "Mail", "state", "dovecot")  # what prepare_demo creates in base_dir


class DemoError(RuntimeError):
    """The demo cannot be set up where it was asked to be."""


@dataclass
class Demo:
    """A running demo server plus the config file that syncs it; ``stop()`` ends it."""

    base_dir: Path
    config_path: Path
    maildir: Path  # the local side, empty until the first sync
    state_dir: Path
    server: ThrowawayDovecot
    user: str
    password: str
    counts: Counter[str]  # messages put into each server folder
    _trickles: list[tuple[threading.Event, threading.Thread]] = field(
        default_factory=list, repr=False
    )
    _sequence: itertools.count[int] = field(default_factory=itertools.count, repr=False)

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def trickle(self, stop_event: threading.Event, interval: float = 3.0) -> threading.Thread:
        """Start a daemon thread delivering one message and one flag change per ``interval``.

        It runs until ``stop_event`` is set (or :meth:`stop` sets it).
        Connection errors are ignored until the next tick: the server may be
        restarting, or a test may have kicked the user.
        """
        thread = threading.Thread(
            target=self._trickle_loop,
            args=(stop_event, interval),
            name="blinken-demo-trickle",
            daemon=True,
        )
        self._trickles.append((stop_event, thread))
        thread.start()
        return thread

    def _trickle_loop(self, stop_event: threading.Event, interval: float) -> None:
        rng = random.Random(TRICKLE_SEED)
        while not stop_event.wait(interval):
            try:
                self.deliver_one(rng)
            except (OSError, imaplib.IMAP4.error):
                continue

    def deliver_one(self, rng: random.Random) -> None:
        """APPEND a new unseen message to INBOX, then toggle a flag on one INBOX message."""
        new = corpus.message(TRICKLE_SEED, next(self._sequence), "INBOX", float(int(time.time())))
        client = corpus.connect_plain(self.host, self.port, self.user, self.password)
        try:
            client.append("INBOX", new.data, (), datetime.fromtimestamp(new.internaldate, UTC))
            client.select_folder("INBOX")
            uids = client.search("ALL")
            if uids:
                uid = rng.choice(uids)
                flag = rng.choice((corpus.SEEN, corpus.FLAGGED))
                has = flag.encode() in client.get_flags([uid]).get(uid, ())
                (client.remove_flags if has else client.add_flags)([uid], [flag])
        finally:
            corpus.close_quietly(client)

    def stop(self) -> None:
        """Stop the trickles and the server; the config, Maildir and state stay for a look."""
        for event, _thread in self._trickles:
            event.set()
        for _event, thread in self._trickles:
            thread.join(timeout=35)  # a tick in flight ends at the latest at its socket timeout
        self._trickles.clear()
        self.server.stop()
        shutil.rmtree(self.base_dir / "dovecot", ignore_errors=True)

    def __enter__(self) -> Demo:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def prepare_demo(base_dir: Path, messages: int = 400, attachment_share: float = 0.1) -> Demo:
    """Start and fill the demo server, write ``base_dir/config``; the caller must ``stop()``.

    ``base_dir`` must not hold an earlier demo: its Maildir and state would
    not match the new server (new UIDVALIDITYs), so it is refused, not reused.
    """
    base_dir = Path(base_dir).absolute()
    _check_fresh(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    server = ThrowawayDovecot(_server_dir(base_dir)).start()
    try:
        password = secrets.token_urlsafe(12)
        server.add_user(DEMO_USER, password)
        mail = corpus.generate(
            DEMO_SEED, messages, corpus.DEMO_FOLDERS, attachment_share=attachment_share
        )
        counts = corpus.populate_via_imap(
            server.host, server.port, DEMO_USER, password, mail, folders=corpus.DEMO_FOLDERS
        )
        config_path = base_dir / "config"
        write_config(config_path, base_dir, server.port, password)
    except BaseException:
        server.stop()
        shutil.rmtree(base_dir / "dovecot", ignore_errors=True)
        raise
    return Demo(
        base_dir, config_path, base_dir / "Mail", base_dir / "state", server,
        DEMO_USER, password, counts,
    )  # fmt: skip


def _check_fresh(base_dir: Path) -> None:
    taken = [name for name in _OURS if (base_dir / name).exists()]
    if taken:
        raise DemoError(
            f"{base_dir} already holds a demo ({', '.join(taken)}); remove it or choose another"
        )


def _server_dir(base_dir: Path) -> str | None:
    """``base_dir/dovecot``, or None (a private temp dir) if Dovecot could not reach it.

    Run as root, Dovecot's auth and mail processes are other users and need
    search (x) permission on every directory above their files; pytest's
    ``tmp_path``, for one, is 0700.
    """
    if os.geteuid() == 0:
        for directory in (base_dir, *base_dir.parents):
            if not directory.stat().st_mode & stat.S_IXOTH:
                return None
    return str(base_dir / "dovecot")


def config_text(base_dir: Path, port: int, password: str) -> str:
    """The demo's config: plain IMAP is fine, the server only listens on loopback."""

    def value(text: object) -> str:  # ConfigParser interpolation: a literal % is %%
        return str(text).replace("%", "%%")

    return f"""\
# blinken demo: a throwaway Dovecot on 127.0.0.1:{port}, gone when the demo ends.
[general]
accounts = {ACCOUNT}
metadata = {value(base_dir / "state")}
ui = blinkenlights

[Account {ACCOUNT}]
localrepository = demo-local
remoterepository = demo-remote
autorefresh = 0.5

[Repository demo-local]
type = Maildir
localfolders = {value(base_dir / "Mail")}
sep = .

[Repository demo-remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {port}
remoteuser = {DEMO_USER}
remotepass = {value(password)}
ssl = no
starttls = no
maxconnections = 2
"""


def write_config(path: Path, base_dir: Path, port: int, password: str) -> None:
    """Write the config readable by its owner only: it holds the password."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(config_text(base_dir, port, password))
