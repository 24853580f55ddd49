"""Kill a real blinken with SIGKILL at many points; the next run loses and duplicates nothing.

Each kill point gets a fresh Dovecot user and Maildir.  The crash run is the
real ``blinken`` command started through :mod:`tests.crashpoint`, which
counts the calls that change a store or the status file and kills the
process at the Nth.  A first run with no kill tells how many points a sync
has and what happens at each; the kill points are then spread over all of
them, at least one at every kind of point.  After the kill a normal run
must bring both sides together: every message that should exist exists once
on each side with the expected flags, the deleted ones are gone, and one
more sync has nothing left to do.

Three syncs are killed: one of changes on both sides (new, deleted and
reflagged messages, a new folder on each side), a first sync (a plain
download), and the run after a kill, while it recognises the copies the
killed run left unrecorded.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imapclient
import pytest

from blinken.dovecot import ThrowawayDovecot
from engine.account_sync import AccountResult, sync_account
from engine.content import to_lf
from engine.events import Event
from engine.flags import from_imap, to_imap
from engine.maildir import MaildirRepository
from engine.repository import Message
from engine.settings import AccountSettings, MaildirSettings, SyncOptions
from tests.crashpoint import BATCH_ENV, REPORT_ENV
from tests.fixtures import configs
from tests.fixtures.dovecot import DovecotUser, new_user

pytestmark = [pytest.mark.slow, pytest.mark.dovecot]

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "crash"
BATCH = 4  # messages per copy batch in the crash run: several batches per folder
CHANGE_KILLS = 12  # kill points in the sync of changes on both sides
DOWNLOAD_KILLS = 6  # kill points in a first sync (a plain download)
PARALLEL = 2  # scenarios at a time: each is mostly waiting for Dovecot or a process

FOLDERS = {"INBOX": 40, "Lists.python": 20, "Entwürfe": 10}
DOWNLOAD = {"INBOX": 40, "Entwürfe": 20}

Model = dict[str, dict[bytes, frozenset[str]]]  # folder -> LF body -> flag letters


@dataclass
class Edits:
    """What one side does to a folder between syncs; messages named by their number."""

    new: int = 0
    delete: tuple[int, ...] = ()
    add: dict[int, str] = field(default_factory=dict)
    remove: dict[int, str] = field(default_factory=dict)


# INBOX 33 gets the same new flag on both sides and 35 is deleted on both (the
# status alone changes), 30 gets a different new flag on each side (merged),
# 24 gains one flag and loses another (two STOREs on the server).
SERVER_EDITS = {
    "INBOX": Edits(6, (1, 2, 3, 35), {10: "F", 11: "F", 12: "R", 30: "F", 33: "R"}, {15: "S"}),
    "Lists.python": Edits(4, (1, 2), {5: "R", 6: "S"}),
}
LOCAL_EDITS = {
    "INBOX": Edits(
        6, (20, 21, 22, 35), {24: "F", 25: "R", 26: "F", 30: "R", 33: "R"}, {24: "S", 27: "S"}
    ),
    "Entwürfe": Edits(4, (1, 2), {4: "F"}),
}
NEW_FOLDERS = {"local": "Notizen.Ölwechsel", "server": "Archiv.2025"}  # the sync creates them
NEW_FOLDER_MESSAGES = 4


def message(tag: str, folder: str, n: int) -> bytes:
    """A message no other message equals (tag, folder and number are in it)."""
    fid = zlib.crc32(folder.encode())
    body = f"{tag} message {n} in {folder}, grüße.\r\n" + "Lorem ipsum dolor.\r\n" * (n % 5)
    return (
        f"From: Sender {n} <s{n}@example.org>\r\n"
        "To: me@example.org\r\n"
        f"Subject: {tag} {n} in {fid}\r\n"
        f"Message-ID: <{tag}.{n}.{fid}@crash.test>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n{body}"
    ).encode()


def initial_flags(n: int) -> frozenset[str]:
    return frozenset(("S" if n % 3 == 0 else "") + ("F" if n % 7 == 0 else ""))


def subject(body: bytes) -> str:
    found = re.search(rb"^Subject: (.*)$", body, re.MULTILINE)
    return found.group(1).decode() if found else repr(body[:40])


# -- the two sides ------------------------------------------------------------


def populate(client: imapclient.IMAPClient, folders: dict[str, int]) -> Model:
    client.folder_encode = True
    model: Model = {}
    for folder, count in folders.items():
        if folder != "INBOX":
            client.create_folder(folder)
        msgs = [(message("orig", folder, n), initial_flags(n)) for n in range(count)]
        client.multiappend(folder, [{"msg": m, "flags": to_imap(f)} for m, f in msgs])
        model[folder] = {to_lf(m): f for m, f in msgs}
    return model


def server_messages(
    client: imapclient.IMAPClient, folder: str
) -> dict[int, tuple[bytes, frozenset[str]]]:
    client.select_folder(folder)
    uids = client.search()
    data = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"]) if uids else {}
    return {uid: (to_lf(d[b"BODY[]"]), from_imap(d[b"FLAGS"])) for uid, d in data.items()}


def server_folders(client: imapclient.IMAPClient) -> list[str]:
    return sorted(
        name
        for flags, _sep, name in client.list_folders()
        if b"\\Noselect" not in flags and b"\\NonExistent" not in flags
    )


def maildir(root: Path) -> MaildirRepository:
    return MaildirRepository("test", str(root), sep=".", fsync=False)


def local_messages(root: Path, folder: str) -> dict[str, tuple[bytes, frozenset[str]]]:
    box = maildir(root).open_folder(folder)
    listing = {m.id: m.flags for m in box.list_messages()}
    return {f.id: (to_lf(f.message.data), listing[f.id]) for f in box.fetch(list(listing))}


def edit_server(client: imapclient.IMAPClient, model: Model) -> None:
    for folder, edits in SERVER_EDITS.items():
        uid_of = {b: uid for uid, (b, _f) in server_messages(client, folder).items()}
        orig = {n: to_lf(message("orig", folder, n)) for n in range(FOLDERS[folder])}
        for n, letters in edits.add.items():
            client.add_flags(uid_of[orig[n]], to_imap(letters))
            model[folder][orig[n]] |= frozenset(letters)
        for n, letters in edits.remove.items():
            client.remove_flags(uid_of[orig[n]], to_imap(letters))
            model[folder][orig[n]] -= frozenset(letters)
        client.delete_messages([uid_of[orig[n]] for n in edits.delete])
        client.expunge()
        for n in edits.delete:
            model[folder].pop(orig[n], None)
        for n in range(edits.new):
            data, flags = message("server", folder, n), frozenset("S" if n % 2 else "")
            client.append(folder, data, to_imap(flags))
            model[folder][to_lf(data)] = flags
    folder = NEW_FOLDERS["server"]
    client.create_folder(folder)
    model[folder] = {}
    for n in range(NEW_FOLDER_MESSAGES):
        data, flags = message("server", folder, n), frozenset("F" if n % 2 else "")
        client.append(folder, data, to_imap(flags))
        model[folder][to_lf(data)] = flags


def edit_local(root: Path, model: Model) -> None:
    repo = maildir(root)
    for folder, edits in LOCAL_EDITS.items():
        box = repo.open_folder(folder)
        id_of = {b: id for id, (b, _f) in local_messages(root, folder).items()}
        orig = {n: to_lf(message("orig", folder, n)) for n in range(FOLDERS[folder])}
        for n, letters in edits.add.items():
            box.set_flags(id_of[orig[n]], frozenset(letters), frozenset())
            model[folder][orig[n]] |= frozenset(letters)
        for n, letters in edits.remove.items():
            box.set_flags(id_of[orig[n]], frozenset(), frozenset(letters))
            model[folder][orig[n]] -= frozenset(letters)
        box.delete([id_of[orig[n]] for n in edits.delete])
        for n in edits.delete:
            model[folder].pop(orig[n], None)
        for n in range(edits.new):
            data, flags = message("local", folder, n), frozenset("F" if n % 2 else "S")
            box.append(Message(data, flags))
            model[folder][to_lf(data)] = flags
    folder = NEW_FOLDERS["local"]
    repo.create_folder(folder)
    box = repo.open_folder(folder)
    model[folder] = {}
    for n in range(NEW_FOLDER_MESSAGES):
        data, flags = message("local", folder, n), frozenset("S" if n % 2 else "")
        box.append(Message(data, flags))
        model[folder][to_lf(data)] = flags


def converged(root: Path, client: imapclient.IMAPClient, model: Model) -> list[str]:
    """What is wrong with the messages of both sides, compared with the model."""
    problems: list[str] = []
    remote_names, local_names = server_folders(client), maildir(root).list_folders()
    for folder in sorted(set(remote_names) | set(local_names) | set(model)):
        want = model.get(folder, {})
        sides = {
            "server": server_messages(client, folder) if folder in remote_names else {},
            "Maildir": local_messages(root, folder) if folder in local_names else {},
        }
        for side, messages in sides.items():
            counts = Counter(body for body, _flags in messages.values())
            for body, times in counts.items():
                if times > 1:
                    problems.append(f"{folder}: {side} has {subject(body)!r} {times} times")
            for body in want.keys() - counts.keys():
                problems.append(f"{folder}: {side} lost {subject(body)!r}")
            for body in counts.keys() - want.keys():
                problems.append(f"{folder}: {side} has unexpected {subject(body)!r}")
            for body, flags in messages.values():
                if body in want and flags != want[body]:
                    problems.append(
                        f"{folder}: {side} has {subject(body)!r} flagged "
                        f"{''.join(sorted(flags)) or '-'}, expected "
                        f"{''.join(sorted(want[body])) or '-'}"
                    )
    return problems


def same_folders(root: Path, client: imapclient.IMAPClient) -> list[str]:
    remote_names, local_names = server_folders(client), maildir(root).list_folders()
    if remote_names != local_names:
        return [f"folders differ: server {remote_names}, Maildir {local_names}"]
    return []


# -- running blinken ----------------------------------------------------------


def settings(tmp: Path, user: DovecotUser) -> AccountSettings:
    """The same account as the config file, for syncs run in this process.

    Without fsync, as the killed runs: see :func:`write_config`.
    """
    return AccountSettings(
        name=ACCOUNT,
        local=MaildirSettings(name="local", root=str(tmp / "Mail"), sep=".", fsync=False),
        remote=user.settings(maxconnections=1),
        status_path=str(tmp / "state" / f"{ACCOUNT}.sqlite"),
        options=SyncOptions(fsync=False),
    )


def sync(tmp: Path, user: DovecotUser) -> AccountResult:
    """A normal sync, in this process."""
    return sync_account(settings(tmp, user), _ignore)


def _ignore(_event: Event) -> None:
    pass


def write_config(tmp: Path, user: DovecotUser) -> Path:
    # Flushing to disk guards against a machine that stops, not a process killed
    # (the kernel keeps what it was given); off, each run is twice as fast.
    return configs.write_config(
        tmp / "blinkenrc",
        ACCOUNT,
        tmp / "state",
        (
            ("local", configs.maildir_section("local", tmp / "Mail")),
            ("remote", configs.imap_section("remote", user)),
        ),
        general="fsync = no",
    )


@dataclass
class CrashRun:
    returncode: int
    report: dict[str, Any]
    log: str

    @property
    def where(self) -> str:
        return str(self.report.get("label", "?"))


def crash_run(tmp: Path, config: Path, point: int, name: str) -> CrashRun:
    """The real blinken, killed at ``point`` (0: never)."""
    report, log = tmp / f"{name}.json", tmp / f"{name}.log"
    env = {**os.environ, REPORT_ENV: str(report), BATCH_ENV: str(BATCH)}
    command = [sys.executable, "-m", "tests.crashpoint", str(point), "--"]
    with open(log, "wb") as out:
        done = subprocess.run(
            [*command, "-c", str(config), "-o", "-u", "basic"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=90,
        )
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    return CrashRun(done.returncode, data, log.read_text(encoding="utf-8", errors="replace"))


# -- scenarios ----------------------------------------------------------------

Kills = tuple[int, ...]  # one blinken run per item, killed at that point (0: not killed)


@dataclass
class Outcome:
    kills: Kills
    runs: list[CrashRun]
    problems: list[str]

    def describe(self) -> str:
        pairs = zip(self.kills, self.runs, strict=True)
        where = " then ".join(f"{k} ({r.where})" for k, r in pairs)
        return f"killed at {where}:\n  " + "\n  ".join(self.problems)


class Scenario:
    """A fresh user and Maildir for each run, brought to the state to crash in."""

    def __init__(self, server: ThrowawayDovecot, tmp: Path, changes: bool) -> None:
        self.server = server
        self.tmp = tmp
        self.changes = changes
        self._numbers = itertools.count()

    def run(self, kills: Kills) -> Outcome:
        """Run blinken once per item of ``kills``, then normally; check the result."""
        tmp = self.tmp / f"{next(self._numbers)}-{'-'.join(map(str, kills))}"
        tmp.mkdir()
        user = new_user(self.server)
        client = user.client()
        client.folder_encode = True
        try:
            model = self._prepare(tmp, user, client)
            config = write_config(tmp, user)
            runs = [crash_run(tmp, config, kill, f"run{i}") for i, kill in enumerate(kills)]
            problems = [
                p
                for kill, run in zip(kills, runs, strict=True)
                for p in _killed_as_asked(kill, run)
            ]
            problems += self._recover_and_check(tmp, user, client, model)
            return Outcome(kills, runs, problems)
        finally:
            user.close_all()

    def _prepare(self, tmp: Path, user: DovecotUser, client: imapclient.IMAPClient) -> Model:
        if not self.changes:
            return populate(client, DOWNLOAD)
        model = populate(client, FOLDERS)
        first = sync(tmp, user)
        assert first.ok and first.counts.copied_to_local == sum(FOLDERS.values()), first
        edit_server(client, model)
        edit_local(tmp / "Mail", model)
        return model

    def _recover_and_check(
        self, tmp: Path, user: DovecotUser, client: imapclient.IMAPClient, model: Model
    ) -> list[str]:
        problems = []
        recovery = sync(tmp, user)
        if not recovery.ok:
            problems.append(f"the run after the kill failed: {recovery}")
        problems += converged(tmp / "Mail", client, model)
        again = sync(tmp, user)
        if not again.ok or again.counts.changes:
            problems.append(f"one more sync still changed something: {again.counts}")
        # A parent that CREATE made on the server (Notizen) is a new folder to the
        # run after the one that made it, crash or not: compare folders only now.
        return problems + same_folders(tmp / "Mail", client)


def _killed_as_asked(point: int, run: CrashRun) -> list[str]:
    if point and run.returncode != -signal.SIGKILL:
        return [f"run not killed at {point} (exit status {run.returncode}):\n{run.log[-2000:]}"]
    if not point and run.returncode != 0:
        return [f"a run without a kill failed (exit status {run.returncode}):\n{run.log}"]
    return []


def kind(label: str) -> str:
    """A point's label without folder names and UIDs; both uncommitted points are one kind."""
    label = re.sub(r"^(enter status transaction|before commit) ", "uncommitted ", label)
    return re.sub(r"'[^']*'|\b[0-9:,]+\b", "_", label)


def spread(total: int, wanted: int) -> set[int]:
    """``wanted`` points (1-based) spread evenly over ``total``."""
    return {1 + round(i * (total - 1) / max(1, wanted - 1)) for i in range(wanted)}


def choose_points(labels: list[str], wanted: int) -> list[int]:
    """One point of every kind (a middle one of its kind), and ``wanted`` more spread evenly."""
    seen: dict[str, list[int]] = {}
    for n, label in enumerate(labels, 1):
        seen.setdefault(kind(label), []).append(n)
    chosen = {points[len(points) // 2] for points in seen.values()}
    return sorted(chosen | spread(len(labels), wanted))


def run_all(scenario: Scenario, runs: list[Kills]) -> list[Outcome]:
    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(scenario.run, runs))


def calibrate(scenario: Scenario, kills: Kills = ()) -> list[str]:
    """The points of a run after ``kills``, from a run that was not killed."""
    outcome = scenario.run((*kills, 0))
    assert not outcome.problems, outcome.describe()
    labels: list[str] = outcome.runs[-1].report["labels"]
    assert len(labels) == outcome.runs[-1].report["count"]
    return labels


def assert_all_fine(outcomes: list[Outcome]) -> None:
    failures = [o for o in outcomes if o.problems]
    assert not failures, f"{len(failures)} of {len(outcomes)} crash runs broke:\n" + "\n".join(
        o.describe() for o in failures
    )


def test_kill_during_a_sync_of_changes_on_both_sides(
    tmp_path: Path, dovecot_server: ThrowawayDovecot
) -> None:
    scenario = Scenario(dovecot_server, tmp_path, changes=True)
    points = choose_points(calibrate(scenario), CHANGE_KILLS)
    assert_all_fine(run_all(scenario, [(p,) for p in points]))


def test_kill_during_the_first_download(tmp_path: Path, dovecot_server: ThrowawayDovecot) -> None:
    scenario = Scenario(dovecot_server, tmp_path, changes=False)
    points = choose_points(calibrate(scenario), DOWNLOAD_KILLS)
    assert_all_fine(run_all(scenario, [(p,) for p in points]))


# After a kill at one of these (the second of its kind: inside a batch), the
# next run has unrecorded work to recognise; that run is killed in turn.
FIRST_KILLS = (
    "after ImapFolder.append_many _",
    "after MaildirFolder.append _",
    "after maildir link",
    "after UID STORE +FLAGS.SILENT (\\Deleted)",  # not expunged yet
)


def test_kill_again_while_recovering(tmp_path: Path, dovecot_server: ThrowawayDovecot) -> None:
    scenario = Scenario(dovecot_server, tmp_path, changes=True)
    labels = calibrate(scenario)
    firsts = [
        [n for n, label in enumerate(labels, 1) if kind(label) == k][1:][:1] for k in FIRST_KILLS
    ]
    assert all(firsts), (firsts, labels)
    firsts = [n for (n,) in firsts]
    calibrations = run_all(scenario, [(n, 0) for n in firsts])
    assert_all_fine(calibrations)
    runs: list[Kills] = []
    for first, calibration in zip(firsts, calibrations, strict=True):
        again: list[str] = calibration.runs[-1].report["labels"]
        reconciling = [n for n, label in enumerate(again, 1) if "(reconcile)" in label]
        assert reconciling or "append" not in labels[first - 1], again
        inside = spread(len(again), 4) - {1, len(again)}  # a third and two thirds in
        runs += [(first, m) for m in sorted(set(reconciling[:3]) | inside)]
    assert_all_fine(run_all(scenario, runs))
