"""IMAP to IMAP: two Dovecot servers, one with ``.`` and one with ``/`` between levels.

Both repositories of an account are IMAP: two-way sync (InterIMAP-style) with
new messages, flags and deletions on both sides converging in one run and
folders created both ways; a read-only migration (imapsync-style) that copies
every message byte for byte with its flags and INTERNALDATE and copies nothing
the second time; ``maxsize``; the command line with ``--dry-run`` and
``nametrans``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import imapclient
import pytest

from blinken.dovecot import ThrowawayDovecot
from engine.account_sync import AccountResult, sync_account
from engine.events import (
    AccountFinished,
    Event,
    Level,
    Log,
    PlannedAction,
    ThreadState,
    ThreadStateChanged,
)
from engine.flags import from_imap, to_imap
from engine.settings import AccountSettings, FolderRules, SyncOptions
from tests.fixtures import configs
from tests.fixtures.dovecot import DovecotUser, new_user, start_server
from ui.blinken_model import DashboardModel

pytestmark = pytest.mark.dovecot

ROOT = Path(__file__).resolve().parents[2]

Model = dict[str, dict[bytes, frozenset[str]]]  # folder ('.' form) -> body -> flag letters


@pytest.fixture(scope="session")
def slash_server() -> Iterator[ThrowawayDovecot]:
    """A second server, with ``/`` as its hierarchy separator."""
    server = start_server(separator="/")
    yield server
    server.stop()


@pytest.fixture
def there(slash_server: ThrowawayDovecot) -> Iterator[DovecotUser]:
    """A fresh user on the ``/`` server."""
    user = new_user(slash_server)
    yield user
    user.close_all()


def message(tag: str, folder: str, n: int, size: int = 0) -> bytes:
    """A message no other message equals; ``size`` lines of filler."""
    body = f"{tag} {n} in {folder}, grüße.\r\n" + ("y" * 70 + "\r\n") * size
    return (
        f"From: Sender {n} <s{n}@example.org>\r\n"
        "To: me@example.org\r\n"
        f"Subject: {tag} {n}\r\n"
        f"Message-ID: <{tag}.{n}.{abs(hash(folder))}@imap-imap.test>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n{body}"
    ).encode()


def flags_of(n: int) -> frozenset[str]:
    chosen = [(2, "S"), (5, "F"), (7, "R"), (11, "D"), (13, "P")]
    return frozenset(letter for every, letter in chosen if n % every == 0)


def client_of(user: DovecotUser) -> imapclient.IMAPClient:
    client = user.client()
    client.folder_encode = True
    return client


def sep_of(client: imapclient.IMAPClient) -> str:
    return str(client.namespace().personal[0][1])


def on(client: imapclient.IMAPClient, folder: str) -> str:
    """A '.'-form folder name as this server writes it."""
    return folder.replace(".", sep_of(client))


def fill(client: imapclient.IMAPClient, folders: dict[str, int], tag: str) -> Model:
    """Folders ('.' form) with ``count`` messages each; returns the model."""
    model: Model = {}
    for folder, count in folders.items():
        name = on(client, folder)
        if name != "INBOX" and not client.folder_exists(name):
            client.create_folder(name)
        msgs = [(message(tag, folder, n, n % 4), flags_of(n)) for n in range(count)]
        for start in range(0, len(msgs), 100):
            chunk = msgs[start : start + 100]
            client.multiappend(name, [{"msg": m, "flags": to_imap(f)} for m, f in chunk])
        model[folder] = {m: f for m, f in msgs}
    return model


def folders(client: imapclient.IMAPClient) -> set[str]:
    """The selectable folders, in '.' form."""
    sep = sep_of(client)
    return {
        str(name).replace(sep, ".")
        for flags, _sep, name in client.list_folders()
        if not {b"\\Noselect", b"\\NonExistent"} & set(flags)
    }


def contents(client: imapclient.IMAPClient, folder: str) -> dict[int, dict[bytes, Any]]:
    """UID -> FETCH data (BODY[], FLAGS, INTERNALDATE) of a '.'-form folder, read-only."""
    client.select_folder(on(client, folder), readonly=True)
    uids = client.search()
    return client.fetch(uids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"]) if uids else {}


def problems(client: imapclient.IMAPClient, model: Model, side: str) -> list[str]:
    """How a server differs from the model: duplicates, losses, extras, flags."""
    found: list[str] = []
    for folder, want in sorted(model.items()):
        data = contents(client, folder)
        counts = Counter(d[b"BODY[]"] for d in data.values())
        found += [f"{side} {folder}: {n} copies of {b[:60]!r}" for b, n in counts.items() if n > 1]
        found += [f"{side} {folder}: lost {b[:60]!r}" for b in want.keys() - counts.keys()]
        found += [f"{side} {folder}: extra {b[:60]!r}" for b in counts.keys() - want.keys()]
        for d in data.values():
            body, flags = d[b"BODY[]"], from_imap(d[b"FLAGS"])
            if body in want and flags != want[body]:
                found.append(f"{side} {folder}: {body[:40]!r} has {sorted(flags)}")
    return found


def imap_account(
    tmp: Path,
    local: DovecotUser,
    remote: DovecotUser,
    local_rules: FolderRules | None = None,
    remote_rules: FolderRules | None = None,
    *,
    remote_readonly: bool = False,
    **options: Any,
) -> AccountSettings:
    return AccountSettings(
        name="both",
        local=local.settings(name="here", maxconnections=2, rules=local_rules or FolderRules()),
        remote=remote.settings(
            name="there",
            maxconnections=2,
            readonly=remote_readonly,
            rules=remote_rules or FolderRules(),
        ),
        status_path=str(tmp / "state" / "both.sqlite"),
        options=SyncOptions(fsync=False, **options),
    )


def run(
    settings: AccountSettings, trace: list[str] | None = None
) -> tuple[AccountResult, list[Event]]:
    events: list[Event] = []
    lock = threading.Lock()

    def emit(e: Event) -> None:
        with lock:
            events.append(e)

    def traced(line: str) -> None:
        with lock:
            assert trace is not None
            trace.append(line)

    result = sync_account(settings, emit, trace=traced if trace is not None else None)
    return result, events


def commands(lines: list[str]) -> list[str]:
    return [line[3:].split(" ", 1)[1] for line in lines if line.startswith("C: ")]


# -- two-way ----------------------------------------------------------------------------


HERE = {"INBOX": 10, "Lists.python": 6, "Entwürfe": 4}
THERE = {"INBOX": 8, "Archiv.2024": 5, "日本語.Notizen": 3}


def _untouched(
    bodies: list[bytes],
    box: dict[bytes, frozenset[str]],
    touched: set[bytes],
    wanted: Callable[[frozenset[str]], bool],
) -> bytes:
    """The first of ``bodies`` not touched yet whose flags are ``wanted``; now touched."""
    body = next(b for b in bodies if b not in touched and wanted(box[b]))
    touched.add(body)
    return body


def _edit(
    client: imapclient.IMAPClient,
    model: Model,
    tag: str,
    edits: dict[str, Any],
    touched: set[bytes],
) -> None:
    """Per folder: (new messages, {i: flags to add}, {i: flags to remove}, deletions).

    The model follows.  Each edit picks a message (the i-th or a later one) that no
    edit has touched yet (``touched`` is shared by both sides' edits), so that every
    edit shows in the counts.
    """
    for folder, (new, add, remove, delete) in edits.items():
        name = on(client, folder)
        uid_of = {d[b"BODY[]"]: uid for uid, d in contents(client, folder).items()}
        client.select_folder(name)
        bodies = sorted(b for b in model[folder] if b in uid_of)  # on both servers
        box = model[folder]
        for i, letters in add.items():
            body = _untouched(bodies[i:], box, touched, lambda f, x=letters: not set(x) <= f)
            client.add_flags(uid_of[body], to_imap(letters))
            model[folder][body] |= frozenset(letters)
        for i, letters in remove.items():
            body = _untouched(bodies[i:], box, touched, lambda f, x=letters: set(x) <= f)
            client.remove_flags(uid_of[body], to_imap(letters))
            model[folder][body] -= frozenset(letters)
        doomed = [b for b in bodies if b not in touched][:delete]
        touched.update(doomed)
        if doomed:
            client.delete_messages([uid_of[b] for b in doomed])
            client.expunge()
            for body in doomed:
                model[folder].pop(body)
        for n in range(new):
            data = message(tag, folder, n)
            client.append(name, data, to_imap("S" if n % 2 else "F"))
            model[folder][data] = frozenset("S" if n % 2 else "F")


def test_two_way_sync_converges_in_one_run_and_lists_only_changes(
    tmp_path: Path, dovecot: DovecotUser, there: DovecotUser
) -> None:
    here_client, there_client = client_of(dovecot), client_of(there)
    mine, theirs = fill(here_client, HERE, "here"), fill(there_client, THERE, "there")
    model = mine | theirs | {"INBOX": mine["INBOX"] | theirs["INBOX"]}
    settings = imap_account(tmp_path, dovecot, there)

    first, _ = run(settings)
    assert first.ok, first
    assert first.counts.copied_to_local == sum(THERE.values())
    assert first.counts.copied_to_remote == sum(HERE.values())
    assert first.counts.folders_created >= 4  # each side's two folders (and their parents)
    assert problems(here_client, model, "here") + problems(there_client, model, "there") == []
    assert run(settings)[0].ok  # parents CREATE made are new folders to this run
    assert folders(here_client) == folders(there_client)
    settled, _ = run(settings)
    assert settled.ok and settled.counts.changes == 0, settled.counts

    # Both sides change: new messages, flags added and removed, deletions.
    touched: set[bytes] = set()
    _edit(here_client, model, "here-new", {"INBOX": (3, {0: "F", 2: "R"}, {4: "S"}, 2)}, touched)
    _edit(
        there_client,
        model,
        "there-new",
        {
            "INBOX": (2, {0: "D"}, {8: "S"}, 1),
            "Archiv.2024": (1, {1: "F"}, {}, 0),
            "Lists.python": (0, {}, {}, 2),
        },
        touched,
    )
    lines: list[str] = []
    result, events = run(settings, lines)

    assert result.ok, result
    c = result.counts
    assert (c.copied_to_local, c.copied_to_remote) == (3, 3), c
    assert (c.deleted_local, c.deleted_remote) == (3, 2), c
    assert (c.flags_local, c.flags_remote) == (3, 3), c
    _one_led_per_connection(events)
    assert problems(here_client, model, "here") + problems(there_client, model, "there") == []
    # Stateful on both sides: every listing is a CHANGEDSINCE delta, none lists a whole
    # folder; three folders changed, each listed on both servers, and each side written
    # to is checked once more afterwards (engine.settle) so the next sync can skip it.
    sent = commands(lines)
    listings = [s for s in sent if s.startswith("UID FETCH 1:* (UID FLAGS RFC822.SIZE)")]
    assert listings and all("CHANGEDSINCE" in s for s in listings), listings
    assert 6 < len(listings) <= 12, listings
    again, _ = run(settings)
    assert again.ok and again.counts.changes == 0, again.counts
    lines = []
    idle, _ = run(settings, lines)
    sent = commands(lines)
    assert idle.ok and not [s for s in sent if s.startswith(("SELECT", "EXAMINE"))], sent
    assert sum(s.startswith("LIST") and "RETURN (STATUS" in s for s in sent) == 2, sent


def _one_led_per_connection(events: list[Event]) -> None:
    """Each worker shows two LEDs, one per server, lit by what that connection does."""
    states = [e for e in events if isinstance(e, ThreadStateChanged)]
    remote = {e.thread for e in states if "/" not in e.thread}
    local = {e.thread for e in states if e.thread.endswith("/here")}
    assert len(remote) == 2 and local == {f"{t}/here" for t in remote}, (remote, local)
    lit: dict[str, set[ThreadState]] = {}
    for e in states:
        lit.setdefault("local" if "/" in e.thread else "remote", set()).add(e.state)
    both = {ThreadState.LOADING_LIST, ThreadState.COPYING, ThreadState.DELETING}
    both |= {ThreadState.ADDING_FLAGS, ThreadState.REMOVING_FLAGS}
    assert both <= lit["local"] and both <= lit["remote"], lit
    # A deletion on one server lights only that server's LED (the other waits).
    for worker in remote:
        mine = [e for e in states if e.thread in (worker, f"{worker}/here")]
        for i, e in enumerate(mine):
            if e.state is ThreadState.DELETING:
                twin = mine[i + 1] if "/" in e.thread else mine[i - 1]
                assert twin.state is ThreadState.SYNC_CONTROLLER, (e, twin)
    model = DashboardModel(["both"])
    model.apply_all(events)
    ((_, leds),) = [(a, leds) for a, leds in model.groups() if a == "both"]
    assert len(leds) == 4, [led.name for led in leds]


def test_crash_left_pending_copies_on_the_local_imap_side_are_recognised(
    tmp_path: Path, dovecot: DovecotUser, there: DovecotUser
) -> None:
    """A copy that landed on the local server but was never recorded is not made twice."""
    from engine import executor

    there_client, here_client = client_of(there), client_of(dovecot)
    model = fill(there_client, {"INBOX": 16}, "there")
    settings = imap_account(tmp_path, dovecot, there, fetch_batch_count=4)
    original = executor.Executor._record_copies
    calls = 0

    def lose_the_third_batch(self: executor.Executor, stored: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt  # dies after the APPENDs, before their record
        original(self, stored)

    executor.Executor._record_copies = lose_the_third_batch  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            run(settings)
    finally:
        executor.Executor._record_copies = original  # type: ignore[method-assign]

    result, events = run(settings)
    assert result.ok, result
    assert result.counts.copied_to_local == 4  # the fourth batch; the third is recognised
    assert any("4 of 4 interrupted copies had landed" in getattr(e, "message", "") for e in events)
    assert problems(here_client, model, "here") == []


# -- read-only migration --------------------------------------------------------------------


MIGRATED = {
    "INBOX": 200,
    "Archive": 200,
    "Archive.2023": 200,
    "Archive.2023.Q4": 200,
    "Entwürfe": 200,
    "Projekte": 200,
    "Projekte.Ünïcode": 200,
    "日本語": 200,
    "Lists.python": 200,
    "Gesendete Objekte": 200,
}
RENAMED = {"Gesendete Objekte": "Sent"}  # nametrans of the source


def populate_dated(client: imapclient.IMAPClient, wanted: dict[str, int]) -> None:
    """Messages with flags, keywords and distinct INTERNALDATEs."""
    start = dt.datetime(2019, 3, 1, 8, 0, tzinfo=dt.UTC)
    for folder, count in wanted.items():
        name = on(client, folder)
        if name != "INBOX":
            client.create_folder(name)
        items = [
            {
                "msg": message("migrated", folder, n, n % 9),
                "flags": to_imap(flags_of(n)),
                "date": start + dt.timedelta(hours=n * 7, seconds=len(folder) + n),
            }
            for n in range(count)
        ]
        for i in range(0, len(items), 100):
            client.multiappend(name, items[i : i + 100])


def server_states(client: imapclient.IMAPClient) -> dict[str, Any]:
    return {
        f: client.folder_status(on(client, f), ["UIDNEXT", "MESSAGES", "HIGHESTMODSEQ"])
        for f in sorted(folders(client))
    }


def config(
    tmp: Path,
    local: DovecotUser,
    remote: DovecotUser,
    local_extra: str = "",
    remote_extra: str = "",
) -> Path:
    return configs.write_config(
        tmp / "config",
        "Move",
        tmp / "state",
        (
            ("New", configs.imap_section("New", local, 2, local_extra)),
            ("Old", configs.imap_section("Old", remote, 2, remote_extra)),
        ),
        general="fsync = no",
    )


def blinken(*args: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """The real command with the machine UI; its events."""
    env = dict(os.environ, XDG_CONFIG_HOME="/nonexistent", HOME="/nonexistent")
    done = subprocess.run(
        [sys.executable, "-m", "blinken", *args, "-o", "-u", "machineui"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    return done, [json.loads(line) for line in done.stdout.splitlines()]


def finished(events: list[dict[str, Any]]) -> dict[str, int]:
    (account,) = [e for e in events if e["type"] == "account_finished"]
    counts: dict[str, int] = account["counts"]
    return counts


def summaries(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["message"]
        for e in events
        if e["type"] == "log" and e["message"].startswith(("summary", "dry run summary"))
    ]


@pytest.mark.slow
def test_readonly_migration_copies_everything_exactly_once(
    tmp_path: Path, dovecot: DovecotUser, there: DovecotUser
) -> None:
    """2,000 messages in 10 folders from the '.' server (read-only) to the '/' server."""
    source, target = client_of(dovecot), client_of(there)
    populate_dated(source, MIGRATED)
    before = server_states(source)
    rc = config(
        tmp_path,
        there,
        dovecot,
        remote_extra="readonly = yes\nnametrans = lambda f: 'Sent' if f == 'Gesendete Objekte' "
        "else f",
    )

    _, planned = blinken("-c", str(rc), "--dry-run")
    assert folders(target) == {"INBOX"} and not (tmp_path / "state").exists()
    assert sum(e["type"] == "planned_action" for e in planned) >= 2000
    assert finished(planned)["copied_to_local"] == 2000

    _, events = blinken("-c", str(rc))

    counts = finished(events)
    assert counts["copied_to_local"] == 2000 and counts["copied_to_remote"] == 0, counts
    assert counts["skipped"] == counts["too_large"] == 0
    assert server_states(source) == before  # never written: not even \Seen (EXAMINE, PEEK)
    renamed = {RENAMED.get(f, f) for f in MIGRATED}
    assert renamed <= folders(target)
    for folder in MIGRATED:
        old = {d[b"BODY[]"]: d for d in contents(source, folder).values()}
        new = list(contents(target, RENAMED.get(folder, folder)).values())
        assert len(new) == len(old) == MIGRATED[folder], folder
        for d in new:
            was = old[d[b"BODY[]"]]  # byte for byte
            assert set(d[b"FLAGS"]) - {b"\\Recent"} == set(was[b"FLAGS"]) - {b"\\Recent"}
            assert d[b"INTERNALDATE"] == was[b"INTERNALDATE"]
    (line,) = summaries(events)
    assert "2000 messages copied (2000 to local, 0 to remote)" in line, line

    _, again = blinken("-c", str(rc))
    counts = finished(again)
    assert counts["copied_to_local"] == counts["copied_to_remote"] == 0, counts
    assert sum(counts[k] for k in ("deleted_local", "flags_local", "flags_remote")) == 0
    assert server_states(source) == before
    (line,) = summaries(again)
    assert "0 messages copied" in line and "0 skipped" in line, line


def test_maxsize_skips_and_reports_large_messages(
    tmp_path: Path, dovecot: DovecotUser, there: DovecotUser
) -> None:
    source, target = client_of(there), client_of(dovecot)
    source.create_folder("Archiv/Groß")
    small = [message("small", "INBOX", n) for n in range(5)]
    large = [message("large", "INBOX", n, 200) for n in range(3)]  # about 14 kB each
    source.multiappend("INBOX", [*small, *large])
    source.multiappend("Archiv/Groß", [message("large", "Groß", 1, 300), message("s", "G", 1)])

    def settings(**options: Any) -> AccountSettings:
        return imap_account(
            tmp_path, dovecot, there, remote_readonly=True, maxsize=10_000, **options
        )

    planned, plan_events = run(settings(dry_run=True))
    assert planned.counts.too_large == 4 and planned.counts.copied_to_local == 6
    assert sum(isinstance(e, PlannedAction) and "copy" in e.description for e in plan_events) == 6

    result, events = run(settings())

    assert result.ok, result
    c = result.counts
    assert (c.copied_to_local, c.too_large, c.skipped) == (6, 4, 0), c
    got = {d[b"BODY[]"] for d in contents(target, "INBOX").values()}
    assert got == set(small)
    assert len(contents(target, "Archiv.Groß")) == 1
    logs = [e.message for e in events if isinstance(e, Log) and e.level >= Level.INFO]
    reasons = [m for m in logs if "larger than maxsize (10000 bytes)" in m]
    assert len(reasons) == 2 and any("remote 6 (" in m for m in reasons), logs
    (line,) = [m for m in logs if m.startswith("summary")]
    assert "4 skipped: 4 larger than maxsize" in line, line
    (done,) = [e for e in events if isinstance(e, AccountFinished)]
    assert done.counts.too_large == 4

    again, _ = run(settings())
    assert again.ok and again.counts.changes == 0, again.counts
    full, _ = run(settings(full=True))
    assert full.counts.changes == 0 and full.counts.too_large == 4, full.counts


def test_command_line_two_way_with_dry_run_and_nametrans(
    tmp_path: Path, dovecot: DovecotUser, there: DovecotUser
) -> None:
    """``type = IMAP`` on both sides through the CLI; folder renames both ways."""
    here_client, there_client = client_of(dovecot), client_of(there)
    model = fill(here_client, {"INBOX": 3, "Sent": 2, "Ordner.Unterordner": 2}, "here")
    model |= fill(there_client, {"Gesendet": 2, "Ablage": 1}, "there")
    rc = config(
        tmp_path,
        dovecot,
        there,
        local_extra="nametrans = lambda f: 'Gesendet' if f == 'Sent' else f",
        remote_extra="nametrans = lambda f: 'Sent' if f == 'Gesendet' else f",
    )
    before = (server_states(here_client), server_states(there_client))

    _, planned = blinken("-c", str(rc), "--dry-run")

    assert (server_states(here_client), server_states(there_client)) == before
    descriptions = [e["description"] for e in planned if e["type"] == "planned_action"]
    assert "create folder 'Ordner/Unterordner'" in descriptions, descriptions
    assert "create folder 'Ablage'" in descriptions, descriptions
    assert finished(planned)["copied_to_remote"] == 7
    assert finished(planned)["copied_to_local"] == 3
    assert summaries(planned) and summaries(planned)[0].startswith("dry run summary")

    _, events = blinken("-c", str(rc))

    counts = finished(events)
    assert (counts["copied_to_local"], counts["copied_to_remote"]) == (3, 7), counts
    sent = model.pop("Gesendet") | model.pop("Sent")
    expect_here = model | {"Sent": sent}
    expect_there = model | {"Gesendet": sent}
    assert problems(here_client, expect_here, "here") == []
    assert problems(there_client, expect_there, "there") == []
    assert "Gesendet" not in folders(here_client) and "Sent" not in folders(there_client)


def test_a_first_sync_between_servers_goes_in_windows(
    tmp_path: Path, dovecot: DovecotUser, there: DovecotUser
) -> None:
    there_client, here_client = client_of(there), client_of(dovecot)
    model = fill(there_client, {"INBOX": 30, "Archive": 12}, "there")
    settings = imap_account(tmp_path, dovecot, there, listing_window=7)
    trace: list[str] = []

    result, _ = run(settings, trace)

    assert result.ok and result.counts.copied_to_local == 42, result
    listings = [line.split() for line in trace if line.endswith("(UID FLAGS RFC822.SIZE)")]
    by_connection: dict[str, list[str]] = {}
    for _c, tag, _uid, _fetch, uids, *_ in listings:  # a tag: the connection's prefix, a count
        by_connection.setdefault(tag.rstrip("0123456789"), []).append(uids)
    windowed = sorted(v for v in by_connection.values() if "1:*" not in v)
    assert windowed == [["1:7", "8:12"], ["1:7", "8:14", "15:21", "22:28", "29:30"]], listings
    assert problems(here_client, model, "here") == []
    again, _ = run(settings)
    assert again.ok and again.counts.changes == 0, again.counts
