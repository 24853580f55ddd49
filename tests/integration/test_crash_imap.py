"""IMAP to IMAP under kill -9: the rerun leaves no duplicate and no loss on either server.

As in :mod:`tests.integration.test_crash`, the real ``blinken`` command runs
through :mod:`tests.crashpoint` and dies by SIGKILL at the Nth call that
changes a store or the status file; here both repositories are IMAP, on two
Dovecot servers with different separators (``.`` locally, ``/`` remotely), so
every copy, flag change and deletion in either direction is an IMAP command
whose effect may or may not have been recorded.  A normal sync afterwards must
bring both servers to the expected state, each message once, and one more sync
must find nothing to do.

Three syncs are killed: one of changes on both sides (new, deleted and
reflagged messages, a new folder on each side), a first sync that copies both
ways, and the run after a kill while it recognises the copies the killed run
left unrecorded (reconciliation on the local and on the remote server).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import imapclient
import pytest

from blinken.dovecot import ThrowawayDovecot
from engine.account_sync import AccountResult, sync_account
from engine.events import discard
from engine.flags import to_imap
from tests.fixtures import configs
from tests.fixtures.dovecot import DovecotUser, new_user
from tests.integration.test_crash import (
    Kills,
    Outcome,
    _killed_as_asked,
    assert_all_fine,
    choose_points,
    crash_run,
    run_all,
    spread,
)
from tests.integration.test_imap_imap import (
    Model,
    _edit,
    client_of,
    fill,
    folders,
    imap_account,
    message,
    on,
    problems,
    slash_server,
)

pytestmark = [pytest.mark.slow, pytest.mark.dovecot]

__all__ = ["slash_server"]  # the fixture, imported for this module's tests

ACCOUNT = "both"  # as in imap_account(): the in-process syncs share the status file
CHANGE_KILLS = 10
FIRST_KILLS = 5

HERE = {"INBOX": 16, "Lists.python": 8, "Entwürfe": 6}
THERE = {"INBOX": 12, "Archiv.2024": 8}
EDITS_HERE = {
    "INBOX": (4, {0: "F", 3: "R"}, {5: "S"}, 3),
    "Entwürfe": (2, {0: "D"}, {}, 1),
    "Lists.python": (0, {1: "F"}, {}, 2),
}
EDITS_THERE = {
    "INBOX": (4, {1: "D", 4: "F"}, {7: "S"}, 3),
    "Archiv.2024": (3, {2: "F"}, {}, 2),
}
NEW_FOLDERS = {"here": "Notizen.Ölwechsel", "there": "Archiv.2025"}


def write_config(tmp: Path, here: DovecotUser, there: DovecotUser) -> Path:
    return configs.write_config(
        tmp / "blinkenrc",
        ACCOUNT,
        tmp / "state",
        (
            ("here", configs.imap_section("here", here)),
            ("there", configs.imap_section("there", there)),
        ),
        general="fsync = no",
    )


def sync(tmp: Path, here: DovecotUser, there: DovecotUser) -> AccountResult:
    """A normal sync, in this process."""
    return sync_account(imap_account(tmp, here, there), discard)


def new_folder(client: imapclient.IMAPClient, model: Model, folder: str, tag: str) -> None:
    client.create_folder(on(client, folder))
    model[folder] = {}
    for n in range(4):
        data, flags = message(tag, folder, n), frozenset("F" if n % 2 else "")
        client.append(on(client, folder), data, to_imap(flags))
        model[folder][data] = flags


class Scenario:
    """Fresh users on both servers for each run, brought to the state to crash in."""

    def __init__(
        self, here: ThrowawayDovecot, there: ThrowawayDovecot, tmp: Path, changes: bool
    ) -> None:
        self.servers = (here, there)
        self.tmp = tmp
        self.changes = changes
        self._numbers = itertools.count()

    def run(self, kills: Kills) -> Outcome:
        tmp = self.tmp / f"{next(self._numbers)}-{'-'.join(map(str, kills))}"
        tmp.mkdir()
        here, there = (new_user(server) for server in self.servers)
        try:
            clients = client_of(here), client_of(there)
            model = self._prepare(tmp, here, there, *clients)
            config = write_config(tmp, here, there)
            runs = [crash_run(tmp, config, kill, f"run{i}") for i, kill in enumerate(kills)]
            found = [
                p
                for kill, run in zip(kills, runs, strict=True)
                for p in _killed_as_asked(kill, run)
            ]
            found += self._recover_and_check(tmp, here, there, *clients, model)
            return Outcome(kills, runs, found)
        finally:
            here.close_all()
            there.close_all()

    def _prepare(
        self,
        tmp: Path,
        here: DovecotUser,
        there: DovecotUser,
        here_client: imapclient.IMAPClient,
        there_client: imapclient.IMAPClient,
    ) -> Model:
        mine, theirs = fill(here_client, HERE, "here"), fill(there_client, THERE, "there")
        model = mine | theirs | {"INBOX": mine["INBOX"] | theirs["INBOX"]}
        if not self.changes:
            return model  # the killed run is the first sync
        first = sync(tmp, here, there)
        assert first.ok and first.counts.copied_to_local == sum(THERE.values()), first
        touched: set[bytes] = set()
        _edit(here_client, model, "here-new", EDITS_HERE, touched)
        _edit(there_client, model, "there-new", EDITS_THERE, touched)
        new_folder(here_client, model, NEW_FOLDERS["here"], "here")
        new_folder(there_client, model, NEW_FOLDERS["there"], "there")
        return model

    def _recover_and_check(
        self,
        tmp: Path,
        here: DovecotUser,
        there: DovecotUser,
        here_client: imapclient.IMAPClient,
        there_client: imapclient.IMAPClient,
        model: Model,
    ) -> list[str]:
        found = []
        recovery = sync(tmp, here, there)
        if not recovery.ok:
            found.append(f"the run after the kill failed: {recovery}")
        found += problems(here_client, model, "here") + problems(there_client, model, "there")
        # Parents that CREATE made are new folders to the run after the one that made them.
        settle = sync(tmp, here, there)
        again = sync(tmp, here, there)
        if not (settle.ok and again.ok) or again.counts.changes or settle.counts.changes:
            found.append(f"more syncs still changed something: {settle.counts}, {again.counts}")
        if folders(here_client) != folders(there_client):
            found.append(f"folders differ: {folders(here_client)} / {folders(there_client)}")
        return found


@pytest.fixture
def changes(
    tmp_path: Path, dovecot_server: ThrowawayDovecot, slash_server: ThrowawayDovecot
) -> Scenario:
    return Scenario(dovecot_server, slash_server, tmp_path, changes=True)


def calibrate(scenario: Scenario, kills: Kills = ()) -> list[str]:
    """The points of a run after ``kills``, from a run that was not killed."""
    outcome = scenario.run((*kills, 0))
    assert not outcome.problems, outcome.describe()
    labels: list[str] = outcome.runs[-1].report["labels"]
    assert len(labels) == outcome.runs[-1].report["count"]
    return labels


def test_kill_during_a_sync_of_changes_on_both_servers(changes: Scenario) -> None:
    labels = calibrate(changes)
    # Copies, flag changes and deletions on both servers, named the way each server does.
    for wanted in (
        "ImapFolder.append_many 'Notizen/Ölwechsel'",  # to the remote server (MULTIAPPEND)
        "ImapFolder.append_many 'Archiv.2025'",  # to the local one
        "ImapFolder.delete 'Lists/python'",
        "ImapFolder.delete 'Archiv.2024'",
        "UID STORE",
        "UID EXPUNGE",
    ):
        assert any(wanted in label for label in labels), (wanted, labels)
    assert_all_fine(run_all(changes, [(p,) for p in choose_points(labels, CHANGE_KILLS)]))


def test_kill_during_the_first_sync_both_ways(
    tmp_path: Path, dovecot_server: ThrowawayDovecot, slash_server: ThrowawayDovecot
) -> None:
    scenario = Scenario(dovecot_server, slash_server, tmp_path, changes=False)
    labels = calibrate(scenario)
    assert_all_fine(run_all(scenario, [(p,) for p in choose_points(labels, FIRST_KILLS)]))


def test_kill_again_while_recognising_copies_on_both_servers(changes: Scenario) -> None:
    labels = calibrate(changes)
    # After a MULTIAPPEND to each server: the chunk is stored, none of it recorded.
    firsts = [
        labels.index(f"after ImapFolder.append_many {name!r}") + 1
        for name in ("Notizen/Ölwechsel", "Archiv.2025")
    ]
    calibrations = run_all(changes, [(n, 0) for n in firsts])
    assert_all_fine(calibrations)
    runs: list[Kills] = []
    for first, calibration in zip(firsts, calibrations, strict=True):
        again: list[str] = calibration.runs[-1].report["labels"]
        reconciling = [n for n, label in enumerate(again, 1) if "(reconcile)" in label]
        assert reconciling, again
        inside = spread(len(again), 3) - {1, len(again)}
        runs += [(first, m) for m in sorted(set(reconciling[:2]) | inside)]
    assert_all_fine(run_all(changes, runs))
