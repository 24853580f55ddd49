"""The threads of a run: one loop per account, and the controls that steer them.

Keys in the dashboard and signals call the same four methods (``sync_now``,
``abort``, ``quit``, ``finish``), so both take exactly one path.  Stopping
is always cooperative: the engine checks ``cancel`` between messages, and
everything it has done by then is recorded, so even the second, impatient
``quit`` leaves a status the next run continues from.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from blinken.config import Account
from blinken.credentials import with_password
from blinken.hooks import counts_env, run_hook
from blinken.lock import AccountLock
from blinken.run_options import (
    EXIT_ERRORS,
    EXIT_OK,
    EXIT_STOPPED,
    EXIT_UIDVALIDITY,
    RunOptions,
)
from blinken.schedule import AccountClock, Wakeup
from engine import imap_early
from engine.account_sync import AccountResult, sync_account
from engine.errors import AccountError
from engine.events import (
    Countdown,
    Emit,
    Error,
    RunFinished,
    Scope,
    ThreadState,
    ThreadStateChanged,
)
from engine.imap_trace import Trace
from engine.report import Reporter
from engine.settings import AccountSettings, ImapSettings, RepositorySettings

if TYPE_CHECKING:
    from blinken.watch import Watchers

SyncFn = Callable[[AccountSettings, Emit, threading.Event, Trace | None], AccountResult]


class Runner:
    """Implements ``ui.base.Commands``; owns the account threads."""

    def __init__(
        self,
        accounts: Sequence[Account],
        emit: Emit,
        options: RunOptions,
        sync: SyncFn | None = None,
    ) -> None:
        self.accounts = [a.name for a in accounts]
        self._accounts = list(accounts)
        self._emit = emit
        self._options = options
        self._sync = sync or _default_sync
        self._slots = threading.Semaphore(max(1, options.maxsyncaccounts))
        self._cancel = threading.Event()  # stops syncs in flight (abort, quit)
        self._quitting = threading.Event()  # no new syncs
        self._clocks = {a.name: AccountClock(a.quick) for a in accounts}
        self._filled: dict[str, AccountSettings] = {}  # with password sources, per run
        self._done = threading.Event()
        self._quit_presses = 0
        self._results: dict[str, AccountResult] = {}  # the latest sync of each account
        self._lock = threading.Lock()
        self.exit_code = EXIT_OK

    # -- Commands ------------------------------------------------------------

    def sync_now(self, account: str | None = None) -> None:
        for name, clock in self._clocks.items():
            if account is None or name == account:
                clock.request()

    def abort(self) -> None:
        """Stop the syncs in flight; in a refresh loop the next sync still comes."""
        self._cancel.set()

    def finish(self) -> None:
        """Let running syncs complete, then end the run (SIGUSR2)."""
        self._quitting.set()
        self.sync_now()

    def quit(self) -> None:
        self._quit_presses += 1
        self._quitting.set()
        self._cancel.set()
        self.sync_now()

    @property
    def hurried(self) -> bool:
        """Quit was asked for twice: do not wait for the syncs to wind down."""
        return self._quit_presses >= 2

    def finished(self) -> bool:
        return self._done.is_set() or self._quit_presses >= 2

    # -- running ---------------------------------------------------------------

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._supervise, name="main", daemon=True)
        thread.start()
        return thread

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def _supervise(self) -> None:
        self._emit(ThreadStateChanged(threading.current_thread().name, ThreadState.MAIN))
        threads = [
            threading.Thread(target=self._account_loop, args=(a,), name=a.name, daemon=True)
            for a in self._accounts
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.exit_code = self._exit_code()
        self._emit(RunFinished(self.exit_code))
        self._done.set()
        if self._options.on_done is not None:
            self._options.on_done()

    def _exit_code(self) -> int:
        results = list(self._results.values())
        failed = [r for r in results if not r.ok and not r.aborted]
        if any(r.error or r.folders_failed > r.uidvalidity_problems for r in failed):
            return EXIT_ERRORS
        if failed:
            return EXIT_UIDVALIDITY
        if any(r.aborted for r in results):
            return EXIT_STOPPED
        return EXIT_OK

    def _account_loop(self, account: Account) -> None:
        watchers = self._watch(account)
        wake: Wakeup | None = Wakeup(None)
        try:
            while wake is not None and not self._quitting.is_set():
                with self._slots:
                    if self._quitting.is_set():
                        break
                    self._cancel.clear()  # an abort ends one sync, not the refresh loop
                    self._one_sync(self._scoped(account, wake))
                if self._options.once or (account.autorefresh is None and watchers is None):
                    break
                wake = self._countdown(account)
        finally:
            if watchers is not None:
                watchers.close()
        Reporter(self._emit, account.name).state(ThreadState.TERMINATED)

    def _scoped(self, account: Account, wake: Wakeup) -> Account:
        """The account as this sync sees it: maybe only IDLE's folders, maybe a full listing."""
        options = account.settings.options
        full = self._clocks[account.name].full_now() or options.full
        folders = wake.folders if wake.folders is not None else options.folders
        options = replace(options, full=full, folders=folders)
        return replace(account, settings=replace(account.settings, options=options))

    def _watch(self, account: Account) -> Watchers | None:
        remote = self._filled_settings(account.settings).remote
        if self._options.once or not account.idlefolders or not isinstance(remote, ImapSettings):
            return None
        from blinken.watch import Watchers  # IDLE only: a run without it never imports it

        report = Reporter(self._emit, account.name)
        clock = self._clocks[account.name]
        watchers = Watchers(account.name, remote, clock.folder_changed, report, self._options.trace)
        watchers.start(account.idlefolders)
        return watchers

    def _one_sync(self, account: Account) -> None:
        report = Reporter(self._emit, account.name)
        lock = AccountLock(account.settings.status_path, account.name)
        try:
            if not account.settings.options.dry_run:  # a dry run writes nothing, not even a lock
                lock.acquire()
        except AccountError as e:
            imap_early.discard(imap_names(account.settings))
            self._record(AccountResult(account.name, error=str(e)))
            self._emit(Error(Scope.ACCOUNT, str(e), account.name))
            return
        try:
            run_hook("presynchook", account.presynchook, account.name, report)
            result = self._guarded_sync(account, report)
            env = counts_env(result.counts)
            run_hook("postsynchook", account.postsynchook, account.name, report, env)
            if result.counts.copied_to_local and not account.settings.options.dry_run:
                run_hook("newmailhook", account.newmailhook, account.name, report, env)
        finally:
            lock.release()
            imap_early.discard(imap_names(account.settings))  # opened early, never used

    def _guarded_sync(self, account: Account, report: Reporter) -> AccountResult:
        settings = self._filled_settings(account.settings)
        try:
            result = self._sync(settings, self._emit, self._cancel, self._options.trace)
        except Exception as e:  # a bug: say so loudly, keep the other accounts going
            report.error(Scope.ACCOUNT, f"internal error (please report): {e!r}")
            for line in traceback.format_exc().splitlines():
                report.debug(line)
            result = AccountResult(account.name, error=f"internal error: {e!r}")
        self._record(result)
        return result

    def _filled_settings(self, settings: AccountSettings) -> AccountSettings:
        """``settings`` with password sources that ask at most once per run."""
        with self._lock:
            known = self._filled.get(settings.name)
            if known is None:
                known = self._filled[settings.name] = self._with_passwords(settings)
        return replace(settings, local=known.local, remote=known.remote)

    def _with_passwords(self, settings: AccountSettings) -> AccountSettings:
        def fill(repo: RepositorySettings) -> RepositorySettings:
            if isinstance(repo, ImapSettings):
                return with_password(repo, settings.name, self._emit, self._options.can_prompt)
            return repo

        return replace(settings, local=fill(settings.local), remote=fill(settings.remote))

    def _record(self, result: AccountResult) -> None:
        with self._lock:
            self._results[result.name] = result

    def _countdown(self, account: Account) -> Wakeup | None:
        """Wait for the next reason to sync; None when the run is stopping."""
        report = Reporter(self._emit, account.name)
        minutes = account.autorefresh
        report.state(ThreadState.COUNTDOWN if minutes is not None else ThreadState.IDLE_WAIT)

        def tick(seconds: int) -> None:
            self._emit(Countdown(account.name, seconds))

        seconds = minutes * 60 if minutes is not None else None
        return self._clocks[account.name].wait(seconds, self._quitting, tick)


def imap_names(settings: AccountSettings) -> list[str]:
    """The account's IMAP repositories: the names their connections go by."""
    return [r.name for r in (settings.local, settings.remote) if isinstance(r, ImapSettings)]


def _default_sync(
    settings: AccountSettings, emit: Emit, cancel: threading.Event, trace: Trace | None
) -> AccountResult:
    return sync_account(settings, emit, cancel, trace)
