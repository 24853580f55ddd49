"""The ``blinken`` command as a user runs it: a real process, a real Dovecot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import configs
from tests.fixtures.dovecot import DovecotUser
from tests.integration.test_sync import local_bodies, message

pytestmark = pytest.mark.dovecot
ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp: Path, user: DovecotUser, extra: str = "") -> Path:
    return configs.write_config(
        tmp / "config",
        "Work",
        tmp / "state",
        (
            ("Local", configs.maildir_section("Local", tmp / "Mail")),
            ("Remote", configs.imap_section("Remote", user, connections=2)),
        ),
        account_extra=extra,
    )


def blinken(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, XDG_CONFIG_HOME="/nonexistent", HOME="/nonexistent")
    done = subprocess.run(
        [sys.executable, "-m", "blinken", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_sync_once_with_basic_ui(tmp_path: Path, dovecot: DovecotUser) -> None:
    client = dovecot.client()
    client.folder_encode = True
    client.create_folder("Entwürfe")
    for n in range(5):
        client.append("INBOX", message("INBOX", n))
        client.append("Entwürfe", message("Entwürfe", n))
    config = write_config(tmp_path, dovecot)

    done = blinken("-c", str(config), "-o", "-u", "basic")

    assert len(local_bodies(tmp_path / "Mail", "INBOX")) == 5
    assert len(local_bodies(tmp_path / "Mail", "Entwürfe")) == 5
    assert dovecot.password not in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    again = blinken("-c", str(config), "-o", "-u", "machineui")
    events = [json.loads(line) for line in again.stdout.splitlines()]
    finished = [e for e in events if e["type"] == "account_finished"]
    assert finished and finished[0]["counts"]["copied_to_local"] == 0
    assert events[-1]["type"] == "run_finished" and events[-1]["exit_code"] == 0


def test_dry_run_from_the_command_line_writes_nothing(tmp_path: Path, dovecot: DovecotUser) -> None:
    client = dovecot.client()
    client.append("INBOX", message("INBOX", 1))
    config = write_config(tmp_path, dovecot)

    done = blinken("-c", str(config), "-o", "-u", "basic", "--dry-run")

    assert "copy remote message" in done.stdout
    assert not (tmp_path / "Mail").exists() and not (tmp_path / "state").exists()


def test_wrong_password_is_one_line_and_exit_1(tmp_path: Path, dovecot: DovecotUser) -> None:
    config = write_config(tmp_path, dovecot)
    config.write_text(config.read_text().replace(dovecot.password, "wrong-password"))

    done = blinken("-c", str(config), "-o", "-u", "quiet", check=False)

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "wrong-password" not in done.stderr
    assert "Work" in done.stderr


def test_bad_config_value_names_section_and_option(tmp_path: Path, dovecot: DovecotUser) -> None:
    config = write_config(tmp_path, dovecot, "autorefresh = soon")

    done = blinken("-c", str(config), "-o", "-u", "basic", check=False)

    assert done.returncode == 1
    assert "[Account Work]" in done.stderr and "autorefresh" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_hooks_run_with_counts_in_the_environment(tmp_path: Path, dovecot: DovecotUser) -> None:
    dovecot.client().append("INBOX", message("INBOX", 1))
    out = tmp_path / "hook.out"
    hooks = (
        f"presynchook = echo pre $BLINKEN_ACCOUNT >> {out}\n"
        f"postsynchook = echo post $BLINKEN_COPIED_TO_LOCAL >> {out}\n"
        f"newmailhook = echo new $BLINKEN_COPIED_TO_LOCAL >> {out}; exit 3"
    )
    config = write_config(tmp_path, dovecot, hooks)

    done = blinken("-c", str(config), "-o", "-u", "basic")

    assert out.read_text().split("\n")[:3] == ["pre Work", "post 1", "new 1"]
    assert "exited with status 3" in done.stdout


def test_second_instance_on_the_same_account_refuses(tmp_path: Path, dovecot: DovecotUser) -> None:
    from blinken.lock import AccountLock

    config = write_config(tmp_path, dovecot)
    held = AccountLock(str(tmp_path / "state" / "Work.sqlite"), "Work")
    held.acquire()
    try:
        done = blinken("-c", str(config), "-o", "-u", "basic", check=False)
    finally:
        held.release()
    assert done.returncode == 1
    assert f"PID {os.getpid()}" in done.stdout


def test_changed_uidvalidity_stops_the_folder_with_exit_2(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    client = dovecot.client()
    client.create_folder("Box")
    bodies = [message("Box", n) for n in range(3)]
    for body in bodies:
        client.append("Box", body)
    client.append("INBOX", message("INBOX", 1))
    config = write_config(tmp_path, dovecot)
    blinken("-c", str(config), "-o", "-u", "basic")
    before = client.folder_status("Box", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    client.delete_folder("Box")
    client.create_folder("Box")
    for body in bodies:
        client.append("Box", body)
    assert client.folder_status("Box", [b"UIDVALIDITY"])[b"UIDVALIDITY"] != before
    client.append("INBOX", message("INBOX", 2))

    done = blinken("-c", str(config), "-o", "-u", "basic", check=False)

    assert done.returncode == 2, done.stdout
    assert "UIDVALIDITY" in done.stdout and "--forget-folder" in done.stdout
    assert len(local_bodies(tmp_path / "Mail", "Box")) == 3  # nothing deleted, nothing doubled
    assert len(local_bodies(tmp_path / "Mail", "INBOX")) == 2  # other folders go on
    client.select_folder("Box")
    assert len(client.search()) == 3

    (tmp_path / "Mail" / "Box").rename(tmp_path / "Box.old")
    blinken("-c", str(config), "--forget-folder", "Box")
    blinken("-c", str(config), "-o", "-u", "basic")
    assert sorted(local_bodies(tmp_path / "Mail", "Box")) == sorted(
        b.replace(b"\r\n", b"\n") for b in bodies
    )
    assert len(client.search()) == 3


def test_machineui_output_of_a_real_sync_matches_the_schema(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    from ui.machine_schema import validate

    client = dovecot.client()
    client.folder_encode = True
    client.create_folder("Entwürfe")
    for n in range(30):
        client.append("INBOX", message("INBOX", n, n % 5), flags=[b"\\Seen"] if n % 2 else [])
        client.append("Entwürfe", message("Entwürfe", n))
    config = write_config(tmp_path, dovecot)

    runs = [
        blinken("-c", str(config), "-o", "-u", "machineui", "--dry-run"),
        blinken("-c", str(config), "-o", "-u", "machineui", "-d", "imap"),
    ]
    client.select_folder("INBOX")
    client.delete_messages(client.search()[:20])  # the guard stops it: an error event
    client.expunge()
    runs.append(blinken("-c", str(config), "-o", "-u", "machineui", check=False))

    seen: set[str] = set()
    for done in runs:
        for line in done.stdout.splitlines():
            obj = json.loads(line)
            assert validate(obj) == [], (line, validate(obj))
            seen.add(obj["type"])
        assert dovecot.password not in done.stdout
    assert {"thread_state", "log", "account_started", "folder_started", "progress"} <= seen
    assert {"folder_finished", "account_finished", "error", "planned_action"} <= seen
    assert "run_finished" in seen


NOT_FOR_A_NO_OP = (
    "engine.planner",
    "engine.executor",
    "engine.folder_work",
    "engine.settle",
    "blinken.watch",
    "engine.imap_idle",
    "keyring",
    "urwid",
    "importlib.metadata",  # imapclient asks it for its version: engine.imap_library
    "encodings.idna",  # getaddrinfo of a str host name (the test server's is plain)
    "tempfile",  # tunnels and anonymous spool files only
    "shutil",  # argparse's terminal width: blinken.cli gives it from os
)
IMPORTED = """\
import runpy, sys
sys.argv = ["blinken", *sys.argv[1:]]
try:
    runpy.run_module("blinken", run_name="__main__", alter_sys=True)
finally:
    print("imported:", " ".join(sorted(sys.modules)), file=sys.stderr)
"""


def run_script(script: str, config: Path, *args: str) -> str:
    """``python -c script`` for a script that runs blinken -o -u quiet: its stderr."""
    env = dict(os.environ, XDG_CONFIG_HOME="/nonexistent", HOME="/nonexistent")
    done = subprocess.run(
        [sys.executable, "-c", script, "-c", str(config), "-o", "-u", "quiet", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stderr


def test_a_no_op_sync_imports_only_what_it_needs(tmp_path: Path, dovecot: DovecotUser) -> None:
    """Importing is most of a no-op's time: the planner, the executor, IDLE, the
    keyring and urwid are left for the runs that use them."""
    client = dovecot.client()
    client.append("INBOX", message("INBOX", 1))
    config = write_config(tmp_path, dovecot)
    blinken("-c", str(config), "-o", "-u", "quiet")

    stderr = run_script(IMPORTED, config)

    line = [x for x in stderr.splitlines() if x.startswith("imported:")][-1]
    modules = set(line.split()[1:])
    assert "engine.account_sync" in modules  # it did run a sync
    assert not [m for m in NOT_FOR_A_NO_OP if m in modules or m + "." in " ".join(modules)]
