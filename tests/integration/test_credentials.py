"""Credentials and logins for real: the ``blinken`` command against Dovecot.

Every way to log in syncs a mailbox through the real CLI: ``remotepasscmd``,
XOAUTH2 and OAUTHBEARER with a token command, ``preauthtunnel`` running
Dovecot's imap binary, ``transporttunnel`` through a relay command, and a
password kept in a real Secret Service (gnome-keyring-daemon on a private
D-Bus), written by ``--store-password`` or by the dashboard's and the TTY's
prompt.  The ``-d imap`` log of each login is searched for the secret.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from blinken.dovecot import ThrowawayDovecot
from engine.imap import ImapRepository
from engine.imap_auth import initial_response
from tests.fixtures.dovecot import DovecotUser, new_user, start_server
from tests.integration.test_sync import local_bodies, message

pytestmark = pytest.mark.dovecot
ROOT = Path(__file__).resolve().parents[2]
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

RELAY = """\
import socket, sys, threading
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def upstream():
    while data := sys.stdin.buffer.read1(65536):
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
threading.Thread(target=upstream, daemon=True).start()
while data := sock.recv(65536):
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
"""


def missing(reason: str) -> None:
    """Skip locally, fail on CI: CI must never pass by skipping."""
    if os.environ.get("CI"):
        pytest.fail(f"required on CI: {reason}")
    pytest.skip(reason)


def write_config(tmp: Path, remote: str) -> Path:
    path = tmp / "config"
    path.write_text(
        f"""[general]
accounts = Work
metadata = {tmp}/state

[Account Work]
localrepository = Local
remoterepository = Remote

[Repository Local]
type = Maildir
localfolders = {tmp}/Mail

[Repository Remote]
type = IMAP
ssl = no
starttls = no
maxconnections = 2
{remote}
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def server_lines(user: DovecotUser, **options: str) -> str:
    lines = {"remotehost": user.host, "remoteport": str(user.port), "remoteuser": user.user}
    lines.update(options)
    return "\n".join(f"{k} = {v}" for k, v in lines.items() if v)


def blinken(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, XDG_CONFIG_HOME="/nonexistent", HOME="/nonexistent")
    full_env.update(env or NO_KEYRING)
    return subprocess.run(
        [sys.executable, "-m", "blinken", *args],
        cwd=ROOT,
        env=full_env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def sync(config: Path, *extra: str, env: dict[str, str] | None = None) -> str:
    done = blinken("-c", str(config), "-o", "-u", "basic", *extra, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def fill(user: DovecotUser, count: int = 3, folder: str = "INBOX") -> None:
    client = user.client()
    if folder != "INBOX":
        client.create_folder(folder)
    for n in range(count):
        client.append(folder, message(folder, n))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_secret_absent(text: str, user: str, secret: str, mechanism: str) -> None:
    """Neither the secret nor any base64 form that could carry it."""
    assert secret not in text
    assert b64(secret.encode()) not in text
    if mechanism != "LOGIN":
        assert b64(initial_response(mechanism, user, secret)) not in text


def account_errors(output: str, text: str) -> list[str]:
    """Basic's account error lines (not the closing summary) that contain ``text``.

    An account error is said once, in the account's "sync failed" line.
    """
    return [line for line in output.splitlines() if text in line and ": sync failed: " in line]


def assert_private(root: Path) -> None:
    """Nobody but the user can read anything under ``root``."""
    paths = [root, *root.rglob("*")]
    assert len(paths) > 1
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


# --- password sources ------------------------------------------------------------


def test_remotepasscmd_syncs_and_everything_written_is_private(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    fill(dovecot)
    secret_file = tmp_path / "secret"
    secret_file.write_text(dovecot.password + "\nsecond line\n")
    config = write_config(
        tmp_path, server_lines(dovecot, remotepasscmd=f"cat {secret_file} | head -n 2")
    )
    output = sync(config)
    assert len(local_bodies(tmp_path / "Mail", "INBOX")) == 3
    assert dovecot.password not in output
    assert_private(tmp_path / "Mail")
    assert_private(tmp_path / "state")


def test_remotepasscmd_failure_is_one_line_naming_the_repository(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    command = "echo 'pass: mail/work is not in the password store' >&2; exit 4"
    config = write_config(tmp_path, server_lines(dovecot, remotepasscmd=command))
    done = blinken("-c", str(config), "-o", "-u", "basic")
    assert done.returncode == 1
    lines = account_errors(done.stdout + done.stderr, "remotepasscmd")
    assert len(lines) == 1
    assert (
        "[Repository Remote] remotepasscmd: the command failed (exit status 4): "
        "pass: mail/work is not in the password store" in lines[0]
    )


@pytest.mark.parametrize("ui", ["basic", "quiet", "machineui"])
def test_non_interactive_uis_never_prompt(tmp_path: Path, dovecot: DovecotUser, ui: str) -> None:
    config = write_config(tmp_path, server_lines(dovecot))
    done = blinken("-c", str(config), "-o", "-u", ui)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    expected = f"no password for {dovecot.user}@127.0.0.1 (Remote)"
    if ui == "basic":
        assert len(account_errors(output, expected)) == 1, output
    assert expected in output
    assert "blinken --store-password Work" in output


def test_a_wrong_password_is_reported_once_and_tried_once(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    for folder in ("A", "B", "C"):
        fill(dovecot, 1, folder)
    config = write_config(tmp_path, server_lines(dovecot, remotepass="wrong-password"))
    done = blinken("-c", str(config), "-o", "-u", "basic")
    assert done.returncode == 1
    output = done.stdout + done.stderr
    refused = account_errors(output, "refused the login")
    assert len(refused) == 1, output
    assert f"refused the login of '{dovecot.user}' (PLAIN)" in refused[0]
    assert "wrong-password" not in output
    log = dovecot.server.log_path.read_text(errors="replace")
    failures = [
        line for line in log.splitlines() if "auth failed" in line and f"<{dovecot.user}>" in line
    ]
    assert len(failures) == 1, failures


# --- what -d imap shows --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mechanism", "password"),
    [("PLAIN", None), ("LOGIN", None), ("LOGIN", 'pä ss"wörd\\'), ("PLAIN", "grüße aus köln")],
)
def test_debug_log_of_a_password_login_holds_no_password(
    tmp_path: Path, dovecot: DovecotUser, mechanism: str, password: str | None
) -> None:
    user = dovecot.user
    if password is not None:  # a password that LOGIN must send as a literal
        user = f"{dovecot.user}x"
        dovecot.server.add_user(user, password)
    secret = password or dovecot.password
    (tmp_path / "pw").write_text(secret)
    remote = server_lines(
        dovecot, remoteuser=user, remotepassfile=str(tmp_path / "pw"), auth_mechanisms=mechanism
    )
    config = write_config(tmp_path, remote)
    log = tmp_path / "debug.log"
    sync(config, "-l", str(log), "-d", "imap")
    text = log.read_text(encoding="utf-8")
    shown = "LOGIN <redacted>" if mechanism == "LOGIN" else "AUTHENTICATE PLAIN <redacted>"
    assert shown in text
    assert_secret_absent(text, user, secret, mechanism)
    assert "<literal of" not in text.split("LOGIN <redacted>", 1)[-1].split("\n", 1)[0]


def test_plain_without_sasl_ir_answers_the_continuation(tmp_path: Path) -> None:
    server = start_server(capability="IMAP4rev1 LITERAL+ UIDPLUS")
    try:
        account = new_user(server)
        lines: list[str] = []
        repo = ImapRepository(account.settings(), trace=lines.append)
        assert "INBOX" in repo.list_folders()
        repo.close()
    finally:
        server.stop()
    login = lines.index(next(line for line in lines if "AUTHENTICATE PLAIN" in line))
    assert lines[login].endswith("AUTHENTICATE PLAIN <redacted>")
    assert lines[login + 1].startswith("S: +")
    assert lines[login + 2] == "C: <redacted>"
    assert_secret_absent("\n".join(lines), account.user, account.password, "PLAIN")


# --- OAuth2 -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oauth_server() -> Iterator[ThrowawayDovecot]:
    server = start_server(auth_mechanisms="plain login xoauth2 oauthbearer")
    yield server
    server.stop()


@pytest.fixture
def oauth_user(oauth_server: ThrowawayDovecot) -> Iterator[DovecotUser]:
    """A user whose passwd-file password is an access token (Dovecot checks it as one)."""
    account = new_user(oauth_server)
    account.password = "ya29." + secrets.token_urlsafe(32)
    oauth_server.add_user(account.user, account.password)
    yield account
    account.close_all()


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_oauth2_token_from_a_command(
    tmp_path: Path, oauth_user: DovecotUser, mechanism: str
) -> None:
    fill(oauth_user)
    token_file = tmp_path / "token"
    token_file.write_text(oauth_user.password + "\n")
    helper = tmp_path / "token-helper"
    helper.write_text(f"#!/bin/sh\ncat {token_file}\n")
    helper.chmod(0o700)
    remote = server_lines(
        oauth_user, oauth2_access_token_cmd=str(helper), auth_mechanisms=f"{mechanism}, PLAIN"
    )
    config = write_config(tmp_path, remote)
    log = tmp_path / "debug.log"
    output = sync(config, "-l", str(log), "-d", "imap")
    assert len(local_bodies(tmp_path / "Mail", "INBOX")) == 3
    text = log.read_text(encoding="utf-8")
    assert f"AUTHENTICATE {mechanism} <redacted>" in text
    assert_secret_absent(text + output, oauth_user.user, oauth_user.password, mechanism)


def test_a_refused_token_is_one_error(tmp_path: Path, oauth_user: DovecotUser) -> None:
    config = write_config(
        tmp_path, server_lines(oauth_user, oauth2_access_token_cmd="echo ya29.expired")
    )
    done = blinken("-c", str(config), "-o", "-u", "basic")
    assert done.returncode == 1
    output = done.stdout + done.stderr
    refused = account_errors(output, "refused the login")
    assert len(refused) == 1 and "(XOAUTH2)" in refused[0], output
    assert "ya29.expired" not in output


# --- tunnels -------------------------------------------------------------------------


def test_preauthtunnel_runs_dovecots_imap_binary(tmp_path: Path, dovecot: DovecotUser) -> None:
    fill(dovecot)
    tunnel = dovecot.server.tunnel_command(dovecot.user)
    config = write_config(tmp_path, f"preauthtunnel = {tunnel}")
    sync(config)
    assert len(local_bodies(tmp_path / "Mail", "INBOX")) == 3


def test_transporttunnel_logs_in_through_the_command(tmp_path: Path, dovecot: DovecotUser) -> None:
    fill(dovecot)
    relay = tmp_path / "relay.py"
    relay.write_text(RELAY)
    command = f"{sys.executable} {relay} {dovecot.host} {dovecot.port}"
    remote = f"transporttunnel = {command}\nremoteuser = {dovecot.user}\n"
    remote += f"remotepasscmd = echo {dovecot.password}"
    config = write_config(tmp_path, remote)
    log = tmp_path / "debug.log"
    sync(config, "-l", str(log), "-d", "imap")
    assert len(local_bodies(tmp_path / "Mail", "INBOX")) == 3
    text = log.read_text(encoding="utf-8")
    assert "AUTHENTICATE PLAIN <redacted>" in text and dovecot.password not in text


# --- a real Secret Service ----------------------------------------------------------------

BUS_CONFIG = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
PROBE = """\
import sys, keyring
service, user = sys.argv[1], sys.argv[2]
if len(sys.argv) > 3:
    keyring.set_password(service, user, sys.argv[3])
print(keyring.get_password(service, user) or "")
"""


@dataclass
class SecretService:
    """gnome-keyring-daemon on a private session bus; ``env`` points a process at it."""

    env: dict[str, str]

    def keyring(self, user: str, password: str | None = None) -> str:
        args = [sys.executable, "-c", PROBE, "blinken", user]
        done = subprocess.run(
            args + ([password] if password is not None else []),
            env=dict(os.environ, **self.env),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            missing(f"{tool} is not installed (apt-get install dbus-daemon gnome-keyring)")
    base = tmp_path_factory.mktemp("secret-service")
    for sub in ("home", "run"):
        (base / sub).mkdir(mode=0o700)
    (base / "bus.conf").write_text(BUS_CONFIG.format(socket=base / "bus"))
    env = {
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={base / 'bus'}",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
    }
    daemon_env = dict(os.environ, **env, HOME=str(base / "home"), XDG_RUNTIME_DIR=str(base / "run"))
    daemon_env.pop("DISPLAY", None)
    log = (base / "daemons.log").open("wb")
    bus = subprocess.Popen(
        ["dbus-daemon", "--nofork", f"--config-file={base / 'bus.conf'}"],
        env=daemon_env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    keyring_daemon = None
    try:
        _wait_for(lambda: (base / "bus").exists(), "the D-Bus socket", base)
        keyring_daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--components=secrets", "--unlock"],
            env=daemon_env,
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        assert keyring_daemon.stdin is not None
        keyring_daemon.stdin.write(b"keyring-unlock-password")  # creates the login keyring
        keyring_daemon.stdin.close()
        service = SecretService(env)
        _wait_for(lambda: _probe(service), "the Secret Service", base)
        yield service
    finally:
        for proc in (keyring_daemon, bus):
            if proc is not None:
                _stop(proc)
        log.close()


def _probe(service: SecretService) -> bool:
    try:
        return service.keyring("probe@localhost", "probe") == "probe"
    except AssertionError:
        return False


def _wait_for(test: Callable[[], bool], what: str, base: Path) -> None:
    deadline = time.monotonic() + 30
    while not test():
        if time.monotonic() > deadline:
            log = (base / "daemons.log").read_text(errors="replace")
            raise AssertionError(f"{what} did not come up:\n{log}")
        time.sleep(0.2)


def test_store_password_then_sync_from_the_keyring(
    tmp_path: Path, dovecot: DovecotUser, secret_service: SecretService
) -> None:
    fill(dovecot)
    config = write_config(tmp_path, server_lines(dovecot))
    stored = blinken(
        "-c", str(config), "--store-password", "Work", env=secret_service.env,
        stdin=dovecot.password + "\n",
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    entry = f"{dovecot.user}@127.0.0.1"
    assert stored.stdout.strip() == (
        f"stored the password for {entry} in the keyring (service blinken)"
    )
    assert secret_service.keyring(entry) == dovecot.password
    log = tmp_path / "debug.log"
    output = sync(config, "-l", str(log), "-d", "imap", env=secret_service.env)
    assert len(local_bodies(tmp_path / "Mail", "INBOX")) == 3
    assert dovecot.password not in output + log.read_text(encoding="utf-8")


def test_a_stale_keyring_password_is_one_error_saying_so(
    tmp_path: Path, dovecot: DovecotUser, secret_service: SecretService
) -> None:
    secret_service.keyring(f"{dovecot.user}@127.0.0.1", "stale-password")
    config = write_config(tmp_path, server_lines(dovecot))
    done = blinken("-c", str(config), "-o", "-u", "basic", env=secret_service.env)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    refused = account_errors(output, "refused the login")
    assert len(refused) == 1, output
    assert "the password came from the keyring (service blinken" in refused[0]
    assert "blinken --store-password Work" in refused[0]
    assert "stale-password" not in output


# --- the prompt, in a terminal -------------------------------------------------------------


class Pane:
    def __init__(self, socket: str) -> None:
        self.base = ["tmux", "-L", socket]

    def text(self) -> str:
        done = subprocess.run(
            [*self.base, "capture-pane", "-p", "-t", "t"], capture_output=True, text=True
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        # "--": a key (a random password) may start with "-", which is not an option
        subprocess.run([*self.base, "send-keys", "-t", "t", "--", *keys], check=True)

    def wait_for(self, text: str, timeout: float = 40.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.text()
            if text in " ".join(shown.replace("│", " ").split()):  # wrapped, in a box
                return shown
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {text!r}; the pane shows:\n{self.text()}")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Callable[[str], Pane]]:
    if shutil.which("tmux") is None:
        missing("tmux is not installed")
    socket = f"blinken-cred-{os.getpid()}"

    def run(command: str) -> Pane:
        subprocess.run(
            ["tmux", "-L", socket, "new-session", "-d", "-s", "t", "-x", "110", "-y", "30",
             command],
            check=True,
        )  # fmt: skip
        return Pane(socket)

    yield run
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


@pytest.mark.slow
@pytest.mark.parametrize("ui", ["blinkenlights", "ttyui"])
def test_prompt_asks_then_keeps_the_password_in_the_keyring(
    tmp_path: Path,
    dovecot: DovecotUser,
    secret_service: SecretService,
    terminal: Callable[[str], Pane],
    ui: str,
) -> None:
    fill(dovecot)
    config = write_config(tmp_path, server_lines(dovecot))
    exit_file = tmp_path / "exit"
    env = " ".join(f"{k}={v}" for k, v in secret_service.env.items())
    pane = terminal(
        f"cd {ROOT} && env {env} TERM=xterm-256color {sys.executable} -m blinken -c {config} "
        f"-o -u {ui}; echo $? > {exit_file}; sleep 60"
    )
    entry = f"{dovecot.user}@127.0.0.1"
    pane.wait_for(f"Password for {entry} (Remote)")
    pane.keys(dovecot.password, "Enter")
    pane.wait_for(f"Keep the password for {entry} (Remote) in the keyring?")
    assert secret_service.keyring(entry) == ""  # offered only now that the login worked
    pane.keys("y", "Enter")
    deadline = time.monotonic() + 40
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert exit_file.read_text().strip() == "0", pane.text()
    assert len(local_bodies(tmp_path / "Mail", "INBOX")) == 3
    assert secret_service.keyring(entry) == dovecot.password
    assert dovecot.password not in pane.text()
