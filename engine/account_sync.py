"""One account: pair up folders, then sync them on up to ``maxconnections`` workers.

Errors are scoped the way mbsync scopes them: a message error was already
counted by the executor, a folder error ends that folder and the others go
on, an account error (connection, login, status file) ends the account.
Each worker owns its connections and its handle on the status file, because
neither an IMAP session nor an SQLite connection is meant to be shared.
"""

from __future__ import annotations

import importlib
import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.errors import Aborted, AccountError, FolderError, UidValidityError
from engine.events import (
    AccountFinished,
    AccountStarted,
    Emit,
    FolderFinished,
    FolderStarted,
    PlannedAction,
    Scope,
    SyncCounts,
    ThreadState,
)
from engine.folder_sync import Worker, needs_sync, sync_folder
from engine.folders import FolderMatch, FolderPair, SideView, match_folders
from engine.imap_trace import Trace
from engine.report import Reporter
from engine.repository import FolderState, Repository
from engine.settings import AccountSettings, ImapSettings, MaildirSettings
from engine.sides import Policy, Side
from engine.status import Finished, FolderRecord, StatusDB, snapshot
from engine.stores import connections, may_delete, open_store, writable

if TYPE_CHECKING:
    from engine.settle import Unsettled


@dataclass
class AccountResult:
    """What one sync of one account did, and what stopped it if anything did."""

    name: str
    counts: SyncCounts = field(default_factory=SyncCounts)
    error: str | None = None
    folders_failed: int = 0
    uidvalidity_problems: int = 0
    aborted: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.folders_failed == 0 and not self.aborted


def policy_for(settings: AccountSettings) -> Policy:
    """``sync_deletes`` on a repository: do deletions made there reach the other side."""
    local, remote = settings.local, settings.remote
    return Policy(
        local_writable=writable(local),
        remote_writable=writable(remote),
        delete_local=may_delete(remote) and writable(local),
        delete_remote=may_delete(local) and writable(remote),
    )


def open_status(settings: AccountSettings) -> StatusDB:
    """The account's status; a dry run works on a private in-memory copy of it."""
    if settings.options.dry_run:
        return snapshot(settings.status_path)
    return StatusDB(settings.status_path, durable=settings.options.fsync)


class AccountSync:
    """Runs one sync of one account; ``cancel`` stops it between messages."""

    def __init__(
        self,
        settings: AccountSettings,
        emit: Emit,
        cancel: threading.Event,
        trace: Trace | None = None,
    ) -> None:
        self.settings = settings
        self.options = settings.options
        self.cancel = cancel
        self.trace = trace
        self.report = self._reporter(emit)
        self.result = AccountResult(settings.name)
        self._lock = threading.Lock()
        self._stop = threading.Event()  # an account error in any worker
        self._states: dict[Side, dict[str, FolderState]] = {}
        self._settle_later: list[Unsettled] = []  # filled by every worker
        self._finished: list[Finished] = []  # likewise: recorded in one commit at the end
        # The folders to sync, for the workers; extra workers started early wait for them.
        self._jobs: queue.Queue[tuple[int, FolderPair]] = queue.Queue()
        self._total = 0
        self._ready = threading.Event()
        self._early: list[threading.Thread] = []
        self._early_states: dict[str, FolderState] = {}  # the local ones they went by
        self._changed: set[FolderPair] = set()  # the folders that need opening
        self._folders = 0  # folder pairs this sync looks at

    def _reporter(self, emit: Emit) -> Reporter:
        """Two LEDs per worker when both sides are servers: one per connection."""
        s = self.settings
        both_imap = isinstance(s.local, ImapSettings) and isinstance(s.remote, ImapSettings)
        return Reporter(
            emit,
            s.name,
            dry_run=s.options.dry_run,
            local_connection=s.local.name if both_imap else None,
        )

    def run(self) -> AccountResult:
        self.report.state(ThreadState.ACCOUNT_SYNC)
        try:
            self._run()
        except Aborted:
            self.result.aborted = True
        except AccountError as e:
            self._account_failed(e)
        r = self.result
        if not r.aborted and r.error is None and self._worth_a_summary():
            self.report.info(summary(r, self._folders, self.options.dry_run))
        self.report.emit(
            AccountFinished(
                r.name, r.counts, r.error, r.folders_failed, r.uidvalidity_problems, r.aborted
            )
        )
        self.report.state(ThreadState.IDLE)
        return r

    def _worth_a_summary(self) -> bool:
        """A migration, a dry run, or anything left out or created: more than "sync done"."""
        c, s = self.result.counts, self.settings
        return (
            self.options.dry_run
            or s.local.readonly
            or s.remote.readonly
            or bool(c.skipped or c.too_large or c.too_old or c.folders_created)
        )

    def _run(self) -> None:
        status = open_status(self.settings)
        local, remote = self._stores()
        try:
            records = status.folders()  # read once: for the early workers and the match
            self._start_early(local, records)
            match = self._match(local, remote, records)
            self._folders = len(match.pairs)
            self.report.emit(AccountStarted(self.settings.name, len(match.pairs)))
            self._create_folders(match.pairs, local, remote)
            self._states = self._folder_states(match.pairs, local, remote)
            try:
                self._sync_folders(match.pairs, self._worker(local, remote, status, self.report))
            except BaseException:
                if self._finished:  # the folders done before the error
                    status.finish_folders(self._finished)
                raise
            if not self.options.dry_run:
                remote.close()  # its LOGOUT need not wait for the Maildir stamps to settle
                self._settle(local, status)
        finally:
            self._ready.set()  # early workers left without folders go home
            for t in self._early:
                t.join()
            local.close()
            remote.close()
            status.close()

    def _settle(self, local: Repository, status: StatusDB) -> None:
        """The numbers of every folder synced, and the stamps of those that were waiting
        to settle, in one commit.  Only a folder that was written can be waiting: a run
        that wrote nothing does not import engine.settle (and the planner behind it)."""
        if self._settle_later:
            from engine.settle import settle_later

            settle_later(local, status, self._settle_later, self._finished)
        elif self._finished:
            status.finish_folders(self._finished)

    def _worker(
        self, local: Repository, remote: Repository, status: StatusDB, report: Reporter
    ) -> Worker:
        policy = policy_for(self.settings)
        return Worker(
            local,
            remote,
            status,
            report,
            self.options,
            policy,
            self.cancel,
            self._states,
            self._settle_later,
            self._finished,
        )

    def _folder_states(
        self, pairs: list[FolderPair], local: Repository, remote: Repository
    ) -> dict[Side, dict[str, FolderState]]:
        """Every folder's state in one go, so unchanged folders need not be opened."""
        out: dict[Side, dict[str, FolderState]] = {}
        for side, repo, names in (
            (Side.LOCAL, local, [p.local for p in pairs if not p.create_local]),
            (Side.REMOTE, remote, [p.remote for p in pairs if not p.create_remote]),
        ):
            early = self._early_states if side is Side.LOCAL else {}
            try:
                if names and all(n in early for n in names):
                    out[side] = {n: early[n] for n in names}  # read a moment ago
                else:
                    out[side] = repo.folder_states(names) if names else {}
            except FolderError as e:
                self.report.debug(f"no folder states from {repo.name}: {e}")
                out[side] = {}
        return out

    def _stores(self, first: bool = True) -> tuple[Repository, Repository]:
        """The first worker's stores take the connections opened while blinken loaded
        (with the LIST asked ahead, which that worker reads); an extra worker, even
        one logging in before the first has listed, opens its own."""
        s = self.settings
        local = open_store(s.local, self.report.warn, self.trace, early=first)
        return local, open_store(s.remote, self.report.warn, self.trace, early=first)

    # -- folders ---------------------------------------------------------------

    def _match(
        self, local: Repository, remote: Repository, records: list[FolderRecord]
    ) -> FolderMatch:
        self.report.state(ThreadState.CONNECTING)
        remote_names = remote.list_folders()
        local_names = local.list_folders()
        self.report.state(ThreadState.ACCOUNT_SYNC)
        s = self.settings
        match = match_folders(
            SideView(
                local_names, local.sep, s.local.rules, s.local.createfolders and writable(s.local)
            ),
            SideView(
                remote_names,
                remote.sep,
                s.remote.rules,
                s.remote.createfolders and writable(s.remote),
            ),
            [(f.local_name, f.remote_name) for f in records],
            self.options.folders,
        )
        for warning in match.warnings:
            self.report.warn(warning)
        for lname, rname, side in match.vanished:
            self.report.warn(_vanished_message(lname, rname, side))
        return match

    def _create_folders(
        self, pairs: list[FolderPair], local: Repository, remote: Repository
    ) -> None:
        for pair in pairs:
            for create, repo, name in (
                (pair.create_local, local, pair.local),
                (pair.create_remote, remote, pair.remote),
            ):
                if not create:
                    continue
                self._tally(SyncCounts(folders_created=1), None, False)
                if self.options.dry_run:
                    self.report.emit(
                        PlannedAction(self.settings.name, pair.remote, f"create folder {name!r}")
                    )
                else:
                    self.report.info(f"creating folder {name!r} in {repo.name}")
                    repo.create_folder(name)

    def _sync_folders(self, pairs: list[FolderPair], first: Worker) -> None:
        for i, pair in enumerate(pairs, 1):
            self._jobs.put((i, pair))
        self._total = len(pairs)
        self._changed = {p for p in pairs if needs_sync(first, p)}
        extra = self._worker_count(len(self._changed)) - 1
        threads = [self._thread(n + 2 + len(self._early)) for n in range(extra - len(self._early))]
        for t in threads:
            t.start()
        self._ready.set()
        self._work(first, self._jobs, self._total)
        for t in self._early + threads:
            t.join()
        if self.cancel.is_set():
            raise Aborted("sync aborted")

    def _thread(self, number: int, early: bool = False) -> threading.Thread:
        return threading.Thread(
            target=self._extra_worker,
            args=(early,),
            name=f"{self.settings.name}.{number}",
            daemon=True,
        )

    def _start_early(self, local: Repository, records: list[FolderRecord]) -> None:
        """Extra workers that log in while the first connection lists the server, when
        the local side alone shows enough changed folders to keep them busy.

        Reading the local stamps costs a few system calls; an extra login costs a
        round trip or two that would otherwise come after the LIST.  Without a
        local change (or with folders named on the command line) they start, if
        needed, once the LIST has told which folders changed.
        """
        s = self.settings
        if s.options.dry_run or s.options.folders or not isinstance(s.local, MaildirSettings):
            return  # an IMAP local side would need a server's answer to tell
        try:
            states = self._early_states = local.folder_states([r.local_name for r in records])
        except FolderError:
            return
        changed = sum(
            1
            for r in records
            if r.local_name in states and states[r.local_name].stamp != r.local_stamp
        )
        if changed:  # the code that syncs them is imported while the server lists
            threading.Thread(target=_import_folder_work, name="importing").start()
        self._early = [
            self._thread(n + 2, early=True) for n in range(self._worker_count(changed) - 1)
        ]
        for t in self._early:
            t.start()

    def _worker_count(self, folders: int) -> int:
        """One worker per folder that needs opening, up to the connections allowed: a
        worker for folders that are all unchanged would only open the status again."""
        if self.options.dry_run:
            return 1  # the in-memory status copy cannot be shared between connections
        s = self.settings
        return max(1, min(folders, connections(s.local), connections(s.remote)))

    def _extra_worker(self, early: bool) -> None:
        """A worker on connections of its own; ``early``: logged in before the folders
        are known, it waits for them (and goes home if there are none for it)."""
        report = self._reporter(self.report.emit)
        report.state(ThreadState.CONNECTING)  # the LED exists before its first log line
        try:
            local, remote = self._stores(first=False)
            status = StatusDB(self.settings.status_path, durable=self.options.fsync)
            for repo in (local, remote) if early else ():
                login = getattr(repo, "client", None)  # an IMAP store: connect now
                if login is not None:
                    login()
        except AccountError as e:
            self._account_failed(e)
            return
        try:
            self._ready.wait()  # the folders' states are known from here on
            self._work(self._worker(local, remote, status, report), self._jobs, self._total)
        finally:
            local.close()
            remote.close()
            status.close()
            report.state(ThreadState.TERMINATED)

    def _work(self, w: Worker, jobs: queue.Queue[tuple[int, FolderPair]], total: int) -> None:
        wrote = False
        while not (self.cancel.is_set() or self._stop.is_set()):
            try:
                index, pair = jobs.get_nowait()
            except queue.Empty:
                break
            self._one_folder(w, pair, index, total)
            wrote = wrote or pair in self._changed
        if wrote:
            w.status.checkpoint()  # while the other workers finish (see StatusDB.checkpoint)

    def _one_folder(self, w: Worker, pair: FolderPair, index: int, total: int) -> None:
        name = self.settings.name
        w.report.emit(FolderStarted(name, pair.remote, index, total, w.report.thread))
        counts, error, renumbered = SyncCounts(), None, False
        try:
            counts = sync_folder(w, pair)
        except UidValidityError as e:
            error, renumbered = str(e), True
        except FolderError as e:
            error = str(e)
        except AccountError as e:
            self._account_failed(e)
            error = str(e)
        except Aborted as e:
            error = "aborted"
            if isinstance(e.done, SyncCounts):
                counts = e.done
        if error is not None and error != "aborted":
            w.report.for_folder(pair.remote).error(Scope.FOLDER, error)
        w.report.emit(FolderFinished(name, pair.remote, counts, error, renumbered, w.report.thread))
        self._tally(counts, error, renumbered)

    def _tally(self, counts: SyncCounts, error: str | None, renumbered: bool) -> None:
        with self._lock:
            r = self.result
            r.counts = r.counts + counts
            if error is not None and error != "aborted":
                r.folders_failed += 1
            r.uidvalidity_problems += int(renumbered)

    def _account_failed(self, e: AccountError) -> None:
        """Remember the first account error; AccountFinished carries it (one line, once)."""
        with self._lock:
            if self.result.error is None:
                self.result.error = str(e)
        self._stop.set()


def _import_folder_work() -> None:
    """engine.folder_work (the planner, the executor: 8-10 ms of imports), which the
    first changed folder would import, ahead of it: the main thread is about to wait
    for the LIST, and a Python import needs the interpreter to itself."""
    importlib.import_module("engine.folder_work")


def summary(result: AccountResult, folders: int, dry_run: bool = False) -> str:
    """The closing report of an account sync: what was copied, what was left out and why.

    One line, e.g. ``summary: 10 folders (2 created); 2000 messages copied (1990 to
    local, 10 to remote), 81234567 bytes; 3 skipped: 2 larger than maxsize, 1 failed
    (see the errors above)``.
    """
    c = result.counts
    created = f" ({c.folders_created} created)" if c.folders_created else ""
    copied = c.copied_to_local + c.copied_to_remote
    parts = [
        f"{folders} folders{created}",
        f"{copied} messages copied ({c.copied_to_local} to local, {c.copied_to_remote} to "
        f"remote), {c.bytes} bytes",
    ]
    deleted, reflagged = c.deleted_local + c.deleted_remote, c.flags_local + c.flags_remote
    if deleted or reflagged:
        parts.append(f"{deleted} deleted, {reflagged} reflagged")
    why = [
        f"{n} {reason}"
        for n, reason in (
            (c.too_large, "larger than maxsize"),
            (c.too_old, "older than maxage"),
            (c.skipped, "failed (see the errors above)"),
        )
        if n
    ]
    total = c.too_large + c.too_old + c.skipped
    parts.append(f"{total} skipped" + (": " + ", ".join(why) if why else ""))
    if result.folders_failed:
        parts.append(f"{result.folders_failed} folders failed")
    prefix = "dry run summary (nothing done): " if dry_run else "summary: "
    return prefix + "; ".join(parts)


def _vanished_message(lname: str, rname: str, side: str) -> str:
    gone, kept = (lname, rname) if side == "local" else (rname, lname)
    other = "remote" if side == "local" else "local"
    return (
        f"folder {gone!r} has vanished on the {side} side; blinken neither recreates it nor "
        f"deletes the {other} folder {kept!r}: remove or rename it yourself, then run "
        f"`blinken --forget-folder {rname}` to stop tracking it"
    )


def sync_account(
    settings: AccountSettings,
    emit: Emit,
    cancel: threading.Event | None = None,
    trace: Trace | None = None,
) -> AccountResult:
    return AccountSync(settings, emit, cancel or threading.Event(), trace).run()
