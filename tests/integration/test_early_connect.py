"""Connecting while blinken still loads (engine.imap_early), against a real Dovecot."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from engine import imap_connect, imap_early, imap_state
from engine.errors import AuthenticationError, ConnectionFailed
from engine.imap import ImapRepository
from engine.settings import ImapSettings
from engine.stores import open_store
from tests.fixtures.dovecot import DovecotUser
from tests.integration.test_cli import message, run_script, write_config

pytestmark = pytest.mark.dovecot


@pytest.fixture(autouse=True)
def no_leftovers() -> object:
    yield
    imap_early.discard()


def waited(name: str) -> None:
    """Until the opening for ``name`` has finished, whatever its outcome."""
    imap_early._OPENINGS[name]._done.wait(15)


def opened_early(
    dovecot: DovecotUser, monkeypatch: pytest.MonkeyPatch
) -> tuple[ImapSettings, list[str]]:
    """Settings whose early login is done, and a list that grows by one for every
    connection opened afterwards."""
    settings = dovecot.settings()
    imap_connect.open_early(settings, log_in=True)
    waited(settings.name)
    fresh: list[str] = []
    real = imap_connect._opened
    monkeypatch.setattr(imap_connect, "_opened", lambda *a: fresh.append("x") or real(*a))
    return settings, fresh


def test_the_first_connect_takes_the_early_login(
    dovecot: DovecotUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, fresh = opened_early(dovecot, monkeypatch)
    assert "INBOX" in ImapRepository(settings).list_folders()
    assert fresh == []
    assert "INBOX" in ImapRepository(settings).list_folders()  # the second opens its own
    assert fresh == ["x"]


def test_the_early_login_lists_ahead_for_the_first_list(
    dovecot: DovecotUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first LIST with states is answered from the one the opening asked; it
    is taken once, and only while fresh."""
    dovecot.client().append("INBOX", message("INBOX", 1))
    settings = dovecot.settings()
    imap_connect.open_early(settings, log_in=True)
    waited(settings.name)
    asked: list[str] = []
    real = imap_state.list_status
    who = threading.current_thread
    monkeypatch.setattr(imap_state, "list_status", lambda *a: asked.append(who().name) or real(*a))
    repo = ImapRepository(settings)
    names = repo.list_folders()
    assert asked == [] and "INBOX" in names
    assert repo.folder_states(["INBOX"])["INBOX"].messages == 1
    repo.list_folders()
    assert asked == [who().name]
    repo.close()

    imap_connect.open_early(settings, log_in=True)
    waited(settings.name)
    monkeypatch.setattr(imap_connect, "LISTED_FRESH_FOR", -1.0)
    ImapRepository(settings).list_folders()
    assert asked == [who().name, "opening", who().name]  # asked ahead, but too old


def test_only_an_accounts_first_store_takes_the_early_login(
    dovecot: DovecotUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An extra worker that logs in before the first worker has listed opens its own
    connection: the early one, with the LIST asked ahead, stays for the first."""
    settings, fresh = opened_early(dovecot, monkeypatch)
    extra = open_store(settings, lambda _text: None, early=False)
    assert isinstance(extra, ImapRepository)
    extra.client()
    assert fresh == ["x"] and settings.name in imap_early._OPENINGS
    first = open_store(settings, lambda _text: None)
    assert isinstance(first, ImapRepository) and "INBOX" in first.list_folders()
    assert fresh == ["x"] and settings.name not in imap_early._OPENINGS
    extra.close()
    first.close()


def test_without_log_in_only_the_connection_is_early(dovecot: DovecotUser) -> None:
    asked: list[str] = []

    def password() -> str:
        asked.append(threading.current_thread().name)
        return dovecot.password

    settings = dovecot.settings(password=password)
    imap_connect.open_early(settings, log_in=False)
    waited(settings.name)
    assert asked == []
    ImapRepository(settings).list_folders()
    assert asked == [threading.current_thread().name]


def test_other_settings_do_not_take_it(dovecot: DovecotUser) -> None:
    settings = dovecot.settings()
    imap_connect.open_early(settings, log_in=True)
    waited(settings.name)
    other = replace(settings, port=dovecot.port + 1)  # nothing listens there
    with pytest.raises(ConnectionFailed, match=f"cannot connect to 127.0.0.1:{dovecot.port + 1}"):
        imap_connect.connect(other)
    assert settings.name not in imap_early._OPENINGS


def test_an_early_failure_is_the_usual_error_once(dovecot: DovecotUser) -> None:
    asked: list[int] = []

    def wrong() -> str:
        asked.append(1)
        return "not-the-password"

    settings = dovecot.settings(password=wrong)
    imap_connect.open_early(settings, log_in=True)
    with pytest.raises(AuthenticationError) as caught:
        ImapRepository(settings).list_folders()
    assert dovecot.user in str(caught.value) and "not-the-password" not in str(caught.value)
    assert asked == [1]


WHO_OPENED = """\
import runpy, sys, threading
from engine import imap_connect, imap_state
seen = []
spied = [(imap_connect, "_opened"), (imap_connect, "_logged_in"), (imap_state, "list_status")]
for module, name in spied:
    real = getattr(module, name)
    def spy(*a, _real=real, _name=name):
        seen.append(_name + "@" + threading.current_thread().name)
        return _real(*a)
    setattr(module, name, spy)
sys.argv = ["blinken", *sys.argv[1:]]
try:
    runpy.run_module("blinken", run_name="__main__", alter_sys=True)
finally:
    print("seen:", " ".join(seen), file=sys.stderr)
"""


def who_opened(config: Path, *args: str) -> list[str]:
    stderr = run_script(WHO_OPENED, config, *args)
    return [x for x in stderr.splitlines() if x.startswith("seen:")][-1].split()[1:]


def test_a_run_logs_in_while_it_loads_unless_it_traces(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    """With the password in the config, the whole login happens on the opening thread,
    and the sync's LIST-STATUS too; ``-d imap`` wants the greeting in its trace, so it
    connects the usual way."""
    dovecot.client().append("INBOX", message("INBOX", 1))
    config = write_config(tmp_path, dovecot)
    early = ["_opened@opening", "_logged_in@opening", "list_status@opening"]
    assert who_opened(config) == early
    assert who_opened(config, "-d", "imap") == [
        "_opened@Work",
        "_logged_in@Work",
        "list_status@Work",
    ]
    assert (tmp_path / "Mail" / "INBOX" / "cur").exists()


def test_a_password_from_code_is_asked_for_by_the_sync(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    config = write_config(tmp_path, dovecot)
    text = config.read_text().replace(
        f"remotepass = {dovecot.password}", f"remotepasseval = {dovecot.password!r}"
    )
    config.write_text(text)
    assert who_opened(config) == ["_opened@opening", "_logged_in@Work", "list_status@Work"]


COLLECTIONS = """\
import gc, sys
runs = []
gc.callbacks.append(lambda phase, info: phase == "stop" and runs.append(info["generation"]))
def spy(name):
    real = getattr(gc, name)
    def call():
        runs.append(name)
        real()
    setattr(gc, name, call)
spy("disable")
spy("enable")
sys.argv = ["blinken", *sys.argv[1:]]
from blinken.start import command
try:
    command()
finally:
    print("gc:", *runs, gc.isenabled(), file=sys.stderr)
"""


def test_start_up_runs_no_garbage_collection(tmp_path: Path, dovecot: DovecotUser) -> None:
    """Importing makes objects, not garbage (blinken.start): the collector is off
    until the run is up, and on again after."""
    config = write_config(tmp_path, dovecot)
    stderr = run_script(COLLECTIONS, config)
    runs = [x for x in stderr.splitlines() if x.startswith("gc:")][-1].split()[1:]
    start_up = runs[runs.index("disable") : runs.index("enable")]
    assert start_up == ["disable"] and runs[-1] == "True", runs


IMPORTED_BY_THE_LIST = """\
import runpy, sys, time
from engine import imap_state
real = imap_state.list_status
def slow(*a):
    time.sleep(0.5)  # the server rescanning changed folders
    print("while listing:", "engine.folder_work" in sys.modules, file=sys.stderr)
    return real(*a)
imap_state.list_status = slow
sys.argv = ["blinken", *sys.argv[1:]]
runpy.run_module("blinken", run_name="__main__", alter_sys=True)
"""


def test_a_local_change_imports_the_sync_code_while_the_server_lists(
    tmp_path: Path, dovecot: DovecotUser
) -> None:
    """Local stamps that moved mean a changed folder to sync: its code is imported
    while the main thread waits for the LIST, not after it.  Nothing moved, nothing
    is imported (see test_cli's no-op imports)."""
    dovecot.client().append("INBOX", message("INBOX", 1))
    config = write_config(tmp_path, dovecot)
    run_script(IMPORTED_BY_THE_LIST, config)  # the first sync
    inbox = tmp_path / "Mail" / "INBOX"
    (name,) = os.listdir(inbox / "new")  # delivered unread
    os.rename(inbox / "new" / name, inbox / "cur" / f"{name}:2,F")  # a reader flags it
    time.sleep(0.1)  # the rename's stamp settles
    stderr = run_script(IMPORTED_BY_THE_LIST, config)
    assert "while listing: True" in stderr, stderr
    client = dovecot.client()
    client.select_folder("INBOX")
    flags = client.get_flags(client.search("ALL"))
    assert [b"\\Flagged" in f for f in flags.values()] == [True]
