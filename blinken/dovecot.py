"""A throwaway Dovecot IMAP server on 127.0.0.1, for the tests and the demo.

Everything it needs (config, sockets, state, log, passwd-file, mail homes)
lives in one temporary directory that ``stop()`` removes.  The server runs in
its own process group so that stopping it cannot leave a daemon behind, not
even when the interpreter exits without calling ``stop()`` (atexit).

Run ``python -m blinken.dovecot`` for a server to point a mail client at.
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
IMAP_BINARY = "/usr/lib/dovecot/imap"
DH_PARAMS = "/usr/share/dovecot/dh.pem"


class DovecotError(RuntimeError):
    """The throwaway server could not be set up, started or controlled."""


class DovecotMissing(DovecotError):
    """Dovecot is not installed here (Debian: ``apt-get install dovecot-imapd``)."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files the server presents: ``cert`` may hold the chain after the leaf."""

    cert: str
    key: str


@dataclass(frozen=True)
class _MailOwner:
    """Whom the mail files belong to; Dovecot refuses to access mail as root."""

    uid: int
    gid: int
    internal_user: str  # for Dovecot's own unprivileged processes


def _mail_owner() -> _MailOwner:
    if os.geteuid() == 0:
        mail = pwd.getpwnam("mail")
        return _MailOwner(mail.pw_uid, mail.pw_gid, "dovecot")
    me = pwd.getpwuid(os.geteuid())
    return _MailOwner(me.pw_uid, me.pw_gid, me.pw_name)


def free_port() -> int:
    """A port nobody listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_running: set[ThrowawayDovecot] = set()


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        server.stop()


class ThrowawayDovecot:
    """One Dovecot master process with a passwd-file of users added on the fly.

    ``separator`` is the hierarchy delimiter of the mail namespace; ``tls``
    turns on STARTTLS and an IMAPS listener, without it the server offers no
    TLS at all (useful to check that a client insists on STARTTLS).
    ``capability`` replaces the advertised CAPABILITY list, to play an older
    server.  ``auth_mechanisms`` is Dovecot's setting of that name: add
    ``xoauth2 oauthbearer`` and a user's passwd-file password doubles as their
    OAuth bearer token (Dovecot checks the token like a password).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        base_dir: str | None = None,
        port: int | None = None,
        tls: TlsFiles | None = None,
        *,
        separator: str = ".",
        capability: str | None = None,
        auth_mechanisms: str = "plain login",
        start_timeout: float = 15.0,
    ) -> None:
        self._given_dir = base_dir
        self._wanted_port = port
        self.tls = tls
        self.separator = separator
        self.capability = capability
        self.auth_mechanisms = auth_mechanisms
        self.start_timeout = start_timeout
        self.port = 0
        self.imaps_port: int | None = None
        self._root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._users: dict[str, str] = {}
        self._owner = _mail_owner()

    # -- paths -----------------------------------------------------------

    @property
    def root(self) -> Path:
        if self._root is None:
            raise DovecotError("the throwaway Dovecot is not started")
        return self._root

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def home(self, user: str) -> Path:
        return self.root / "home" / user

    def maildir_path(self, user: str) -> Path:
        """The user's Maildir++ root, to look behind the server's back."""
        return self.home(user) / "Maildir"

    # -- life cycle ------------------------------------------------------

    def start(self) -> ThrowawayDovecot:
        if not os.access(DOVECOT, os.X_OK):
            raise DovecotMissing(f"{DOVECOT} not found: install the dovecot-imapd package")
        if self._proc is not None:
            return self
        self._root = self._make_root()
        for sub in ("run", "state", "home"):
            (self._root / sub).mkdir(mode=0o755, exist_ok=True)
        self.port = self._wanted_port or free_port()
        self.imaps_port = free_port() if self.tls else None
        self.config_path.write_text(self._config())
        self._write_users()
        output = (self._root / "dovecot.out").open("wb")
        with output:
            self._proc = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _running.add(self)
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def _make_root(self) -> Path:
        """A directory Dovecot's auth process (another user) can traverse."""
        if self._given_dir is not None:
            root = Path(self._given_dir)
            root.mkdir(parents=True, exist_ok=True)
        else:
            root = Path(tempfile.mkdtemp(prefix="blinken-dovecot-"))
        root.chmod(0o755)
        if os.geteuid() == 0:  # as root, Dovecot's auth runs as its own user
            _check_traversable(root)
        return root

    def _wait_until_listening(self) -> None:
        ports = [self.port] + ([self.imaps_port] if self.imaps_port else [])
        deadline = time.monotonic() + self.start_timeout
        for port in ports:
            while not _accepts(self.host, port, greeting=port == self.port):
                if self._proc is not None and self._proc.poll() is not None:
                    raise DovecotError(f"Dovecot exited at start-up:\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise DovecotError(
                        f"Dovecot did not listen on {self.host}:{port} within "
                        f"{self.start_timeout:.0f}s:\n{self.log_tail()}"
                    )
                time.sleep(0.02)

    def stop(self) -> None:
        """Kill the whole process group, wait for it, remove the directory."""
        proc, self._proc = self._proc, None
        _running.discard(self)
        if proc is not None:
            _kill_group(proc)
        if self._root is not None and self._given_dir is None:
            shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> ThrowawayDovecot:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- users and control -----------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Add (or re-password) a user; a running server sees it at its next login.

        Each user has a passwd-file of their own (``users/NAME``): Dovecot
        checks a passwd-file for changes at most once a second, so one shared
        file would hide a user added within a second of the last login.  A
        new file is read at its first lookup.  Changing an existing user's
        password waits out that second.
        """
        if not name or not all(c.isalnum() or c in "._-" for c in name) or name[0] == ".":
            raise DovecotError(f"unusable user name: {name!r}")
        if not password or any(c in password for c in ":\n\r"):
            raise DovecotError("unusable password: it must not be empty or hold ':' or newlines")
        known = name in self._users
        self._users[name] = password
        if self._root is not None:
            self._write_user(name)
            if known:
                time.sleep(1.1)

    def kick(self, user: str) -> None:
        """Drop every connection of ``user`` (the server says BYE), and wait until they are gone.

        ``doveadm kick`` only signals the imap processes; under load they may
        still answer a command or two, which would make a test flaky.
        """
        self.doveadm("kick", user)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._logged_in(user):
            time.sleep(0.05)

    def _logged_in(self, user: str) -> bool:
        lines = self.doveadm("who", user).splitlines()[1:]
        return any(line.split()[:1] == [user] for line in lines)

    def doveadm(self, *args: str) -> str:
        """Run ``doveadm`` against this server; its standard output."""
        done = subprocess.run(
            [DOVEADM, "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise DovecotError(f"doveadm {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def tunnel_command(self, user: str) -> str:
        """A shell command speaking IMAP on stdio, pre-authenticated as ``user``."""
        return f"{IMAP_BINARY} -c {self.config_path} -u {user}"

    def log_tail(self, lines: int = 30) -> str:
        """The end of Dovecot's log and console output, for error messages."""
        text = []
        for path in (self.root / "dovecot.out", self.log_path):
            with contextlib.suppress(OSError):
                text.extend(path.read_text(errors="replace").splitlines())
        return "\n".join(text[-lines:]) or "(Dovecot wrote nothing)"

    def _write_users(self) -> None:
        (self.root / "users").mkdir(mode=0o755, exist_ok=True)
        for name in self._users:
            self._write_user(name)

    def _write_user(self, name: str) -> None:
        owner = self._owner
        home = self.home(name)
        if not home.exists():
            home.mkdir(mode=0o700)
            os.chown(home, owner.uid, owner.gid)
        line = f"{name}:{{PLAIN}}{self._users[name]}:{owner.uid}:{owner.gid}::{home}::\n"
        path = self.root / "users" / name
        fresh = path.with_name(f".{name}.new")
        fresh.write_text(line)
        fresh.chmod(0o644)
        fresh.replace(path)

    # -- configuration ---------------------------------------------------

    def _config(self) -> str:
        root = self.root
        owner = self._owner
        internal = owner.internal_user
        login_user = "dovenull" if os.geteuid() == 0 else internal
        text = f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {self.host}
default_internal_user = {internal}
default_login_user = {login_user}
first_valid_uid = {owner.uid}
last_valid_uid = {owner.uid}
first_valid_gid = {owner.gid}
disable_plaintext_auth = no
auth_mechanisms = {self.auth_mechanisms}
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
mail_location = maildir:~/Maildir
mail_plugins = zlib
namespace inbox {{
  inbox = yes
  separator = {self.separator}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users/%u
}}
protocol imap {{
  mail_plugins = $mail_plugins imap_zlib
}}
service imap-login {{
  inet_listener imap {{
    port = {self.port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port or 0}
    ssl = yes
  }}
}}
"""
        if os.geteuid() != 0:  # no chroot and no other users without root
            text += f"default_internal_group = {grp.getgrgid(owner.gid).gr_name}\n"
            text += "service anvil {\n  chroot =\n}\nservice imap-login {\n  chroot =\n}\n"
        if self.capability:
            text += f"imap_capability = {self.capability}\n"
        return text + self._ssl_config()

    def _ssl_config(self) -> str:
        if self.tls is None:
            return "ssl = no\n"
        text = f"ssl = yes\nssl_cert = <{self.tls.cert}\nssl_key = <{self.tls.key}\n"
        if os.path.exists(DH_PARAMS):
            text += f"ssl_dh = <{DH_PARAMS}\n"
        return text


def _accepts(host: str, port: int, greeting: bool) -> bool:
    """Whether the port takes connections and (if asked) greets like IMAP.

    The master listens before its login processes run, so only the greeting
    shows that logins can work.
    """
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            return not greeting or sock.makefile("rb").readline().startswith(b"* OK")
    except OSError:
        return False


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """TERM the process group, then KILL whatever is left of it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            proc.poll()  # reap the master so it stops counting as alive
            if not _group_alive(proc.pid):
                return
            time.sleep(0.02)


def _check_traversable(root: Path) -> None:
    """Dovecot's auth process runs as another user: every directory above ``root`` must let
    it through, or each login fails later with a vague "Temporary authentication failure"."""
    for parent in root.absolute().parents:
        if not os.stat(parent).st_mode & 0o001:
            raise DovecotError(
                f"{parent} is not searchable by other users (mode "
                f"{os.stat(parent).st_mode & 0o777:o}), so Dovecot's auth process cannot "
                f"reach {root}: choose a directory elsewhere (e.g. under /tmp)"
            )


def _group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process is left in the group.

    Zombies are ignored: in a container whose init does not reap orphans they
    would otherwise look alive forever.
    """
    proc_dir = Path("/proc")
    if not (proc_dir / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc_dir.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    """Serve one user until Ctrl-C: ``python -m blinken.dovecot [USER [PASSWORD]]``."""
    args = sys.argv[1:] if argv is None else argv
    user = args[0] if args else "demo"
    password = args[1] if len(args) > 1 else "demo"
    with ThrowawayDovecot() as server:
        server.add_user(user, password)
        print(f"IMAP on {server.host}:{server.port}, user {user!r}, password {password!r}")
        print(f"Maildir: {server.maildir_path(user)}   (Ctrl-C stops and deletes it)")
        with contextlib.suppress(KeyboardInterrupt):
            while server.running:
                time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
