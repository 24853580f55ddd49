"""The demo against a real throwaway Dovecot, checked by an independent IMAP client."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import imapclient
import pytest

from blinken import corpus
from blinken.config import load_config, select_accounts
from blinken.demo import DEMO_SEED, Demo, DemoError, prepare_demo
from blinken.dovecot import DovecotMissing
from engine.settings import ImapSettings, MaildirSettings
from tests.fixtures.dovecot import dovecot_unavailable

pytestmark = pytest.mark.dovecot

COUNT = 60


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo for the module: filling the server is the slow part."""
    try:
        running = prepare_demo(tmp_path_factory.mktemp("demo"), COUNT)
    except DovecotMissing as exc:
        dovecot_unavailable(str(exc))
    with running:
        yield running
    assert not running.server.running


@pytest.fixture
def client(demo: Demo) -> Iterator[imapclient.IMAPClient]:
    other = imapclient.IMAPClient(demo.host, demo.port, ssl=False, timeout=15)
    other.login(demo.user, demo.password)
    yield other
    other.logout()


def _expected() -> Counter[str]:
    return Counter(m.folder for m in corpus.generate(DEMO_SEED, COUNT, corpus.DEMO_FOLDERS))


def test_config_parses_and_points_at_the_server(demo: Demo) -> None:
    config = load_config(demo.config_path)
    assert config.warnings == []
    assert config.general.accounts == ["demo"]
    assert config.general.metadata == demo.base_dir / "state"
    [account] = select_accounts(config, None)
    assert account.name == "demo"
    local, remote = account.settings.local, account.settings.remote
    assert isinstance(local, MaildirSettings) and local.root == str(demo.maildir)
    assert isinstance(remote, ImapSettings)
    assert (remote.host, remote.port, remote.user) == ("127.0.0.1", demo.port, "demo")
    assert remote.password is not None and remote.password() == demo.password
    assert (remote.ssl, remote.starttls, remote.maxconnections) == (False, False, 2)
    assert demo.config_path.stat().st_mode & 0o077 == 0  # it holds the password


def test_server_holds_the_corpus_per_folder(demo: Demo, client: imapclient.IMAPClient) -> None:
    expected = _expected()
    assert demo.counts == expected
    assert sum(expected.values()) == COUNT
    assert set(expected) == set(corpus.DEMO_FOLDERS)  # every folder got mail
    listed = {name for _flags, _sep, name in client.list_folders()}
    assert {"Entwürfe", "Projekte.Ünïcode"} <= listed
    for folder in corpus.DEMO_FOLDERS:
        client.select_folder(folder, readonly=True)
        # the corpus's Message-IDs hold its seed; the trickle tests add others to INBOX
        ours = client.search(["HEADER", "Message-ID", f".{DEMO_SEED}."])
        assert len(ours) == expected[folder], folder


def test_non_ascii_folders_are_modified_utf7_on_the_wire(
    demo: Demo, client: imapclient.IMAPClient
) -> None:
    client.folder_encode = False
    wire = {name for _flags, _sep, name in client.list_folders()}
    wire = {n.decode() if isinstance(n, bytes) else n for n in wire}
    assert {"Entw&APw-rfe", "Projekte.&ANw-n&AO8-code"} <= wire


def test_flags_and_dates_arrive(demo: Demo, client: imapclient.IMAPClient) -> None:
    mail = corpus.generate(DEMO_SEED, COUNT, corpus.DEMO_FOLDERS)
    drafts = [m for m in mail if m.folder == "Drafts"]
    client.select_folder("Drafts", readonly=True)
    fetched = client.fetch(client.search(), ["FLAGS", "INTERNALDATE", "RFC822.SIZE"])
    got = sorted((d[b"INTERNALDATE"].timestamp(), d[b"RFC822.SIZE"]) for d in fetched.values())
    assert got == sorted((m.internaldate, len(m.data)) for m in drafts)
    assert all(b"\\Draft" in d[b"FLAGS"] for d in fetched.values())


def _flags(client: imapclient.IMAPClient) -> dict[int, set[bytes]]:
    """INBOX flags by UID; \\Recent goes when another session selects the folder."""
    return {uid: set(f) - {b"\\Recent"} for uid, f in client.get_flags(client.search()).items()}


def _inbox_size(client: imapclient.IMAPClient) -> int:
    """STATUS: the current count, as long as this session has not selected INBOX."""
    return int(client.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"])


def test_deliver_one_adds_mail_and_changes_a_flag(
    demo: Demo, client: imapclient.IMAPClient
) -> None:
    before = client.select_folder("INBOX", readonly=True)[b"EXISTS"]
    flags_before = _flags(client)
    demo.deliver_one(random.Random(7))
    after = client.select_folder("INBOX", readonly=True)[b"EXISTS"]
    assert after == before + 1
    flags_after = _flags(client)
    changed = [uid for uid in flags_after if flags_before.get(uid, set()) != flags_after[uid]]
    assert len(changed) == 1  # the new message arrives without flags


def test_trickle_runs_until_stopped(demo: Demo, client: imapclient.IMAPClient) -> None:
    before = _inbox_size(client)
    stop = threading.Event()
    thread = demo.trickle(stop, interval=0.05)
    deadline = time.monotonic() + 15
    while _inbox_size(client) < before + 2:
        assert time.monotonic() < deadline, "the trickle delivered nothing"
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive()


def test_a_used_directory_is_refused(demo: Demo) -> None:
    with pytest.raises(DemoError, match="already holds a demo"):
        prepare_demo(demo.base_dir, 1)


def test_stop_ends_the_server_and_keeps_the_config(tmp_path: Path) -> None:
    try:
        running = prepare_demo(tmp_path / "d", 3)
    except DovecotMissing as exc:
        dovecot_unavailable(str(exc))
    running.stop()
    assert not running.server.running
    assert running.config_path.is_file()
    assert not (tmp_path / "d" / "dovecot").exists()
    running.stop()  # twice is harmless
