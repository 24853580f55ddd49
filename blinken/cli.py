"""The ``blinken`` command: OfflineIMAP's options, plus a few of our own.

Anything the user can get wrong (a bad option, a bad config value, an
account that does not exist) ends here as one line on stderr and exit
status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from blinken import __version__
from blinken.config import (
    Account,
    Config,
    ConfigError,
    default_config_path,
    load_config,
    select_accounts,
)
from blinken.config_repos import FilePassword, FixedPassword
from blinken.run_options import EXIT_STOPPED, EXIT_USAGE, RunOptions
from engine import imap_early
from engine.imap_connect import open_early
from engine.settings import ImapSettings

DEBUG_TYPES = ("imap", "maildir", "thread", "all")


class _Formatter(argparse.HelpFormatter):
    """argparse's, given the terminal's width from os instead of shutil.

    argparse makes a formatter for every option added, and without a width
    it imports shutil (with bz2 and lzma) to ask: 3 ms of every run.
    """

    def __init__(self, prog: str, **options: Any) -> None:
        options.setdefault("width", _columns() - 2)
        super().__init__(prog, **options)


def _columns() -> int:
    """$COLUMNS, else the terminal's width, else 80 (what shutil would say)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns or 80


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line and exit status 1, like every other mistake (argparse says 2)."""
        self.exit(EXIT_USAGE, f"blinken: {message} (see blinken -h)\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="blinken",
        formatter_class=_Formatter,
        description="Two-way IMAP <-> Maildir sync with a Blinkenlights dashboard. "
        "`blinken demo` shows it on a throwaway local server.",
    )
    p.add_argument("-c", dest="config", metavar="FILE", help="config file")
    p.add_argument("-a", dest="accounts", metavar="A,B", help="sync only these accounts")
    p.add_argument("-f", dest="folders", metavar="F,G", help="sync only these (remote) folders")
    p.add_argument(
        "-k",
        dest="overrides",
        action="append",
        default=[],
        metavar="[SECTION:]OPTION=VALUE",
        help="override a config option (repeatable)",
    )
    p.add_argument("-o", dest="once", action="store_true", help="sync once, ignore autorefresh")
    p.add_argument(
        "-1", dest="single", action="store_true", help="one account and connection at a time"
    )
    p.add_argument(
        "-u", dest="ui", metavar="UI", help="blinkenlights, ttyui, basic, quiet, machineui"
    )
    p.add_argument("-l", dest="logfile", metavar="FILE", help="also write a plain log to FILE")
    p.add_argument(
        "-d", dest="debug", metavar="TYPES", help="debug output: imap,maildir,thread,all"
    )
    p.add_argument("-q", dest="quick", action="store_true", help="never a full sync (see quick)")
    p.add_argument(
        "--full", action="store_true", help="list every message: trust no stamp or CONDSTORE delta"
    )
    p.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")
    p.add_argument(
        "--force-deletes",
        action="store_true",
        help="carry out a deletion the mass-delete guard stopped",
    )
    p.add_argument("--forget-folder", metavar="FOLDER", help="drop one folder's sync status")
    p.add_argument(
        "--store-password", metavar="ACCOUNT", help="ask for a password and keep it in the keyring"
    )
    p.add_argument("--version", action="version", version=f"blinken {__version__}")
    return p


def command() -> int:
    """The ``blinken`` program: ``main`` and then a quick exit.

    At exit the interpreter collects garbage again and again while it tears
    down its modules: tens of milliseconds once urwid is loaded, for memory the
    process gives back anyway.  Freezing every object first skips that work;
    streams are still flushed and atexit handlers still run.
    """
    code = main()
    gc.freeze()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # a Ctrl-C outside a sync (loading, asking): nothing to save
        print("blinken: interrupted", file=sys.stderr)
        return EXIT_STOPPED


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["demo"]:
        from blinken.demo_command import demo_main

        return demo_main(args[1:])
    ns = parser().parse_args(args)
    try:
        config, accounts = _load(ns)
        debug = _debug_types(ns.debug)
    except ConfigError as e:
        print(f"blinken: {e}", file=sys.stderr)
        return EXIT_USAGE
    if ns.forget_folder:
        from blinken.maintenance import forget_folder

        return forget_folder(accounts, ns.forget_folder)
    if ns.store_password:
        from blinken.maintenance import store_password

        return store_password(accounts)
    options = _run_options(ns, config, accounts)
    if "imap" not in debug:  # the protocol trace wants to show the greeting
        _open_early(accounts[: options.maxsyncaccounts])
    from blinken.app import run_app

    try:
        return run_app(config, accounts, options, ns.ui, debug, ns.logfile)
    finally:
        imap_early.discard()  # the ones no sync took (a bad -u, a run stopped early)


def _load(ns: argparse.Namespace) -> tuple[Config, list[Account]]:
    path = Path(ns.config).expanduser() if ns.config else default_config_path()
    config = load_config(path, ns.overrides)
    names = _split(ns.accounts) if ns.accounts else None
    if ns.store_password:
        names = [ns.store_password]
    accounts = [_apply(ns, a) for a in select_accounts(config, names)]
    return config, accounts


def _apply(ns: argparse.Namespace, account: Account) -> Account:
    """Command-line switches on top of what the config says."""
    s = account.settings
    options = s.options
    if ns.dry_run:
        options = replace(options, dry_run=True)
    if ns.force_deletes:
        options = replace(options, force_deletes=True)
    if ns.full:
        options = replace(options, full=True)
    if ns.quick:
        account = replace(account, quick=-1)
    if ns.folders:
        options = replace(options, folders=tuple(_split(ns.folders)))
    local, remote = s.local, s.remote
    if ns.single:
        local = replace(local, maxconnections=1) if isinstance(local, ImapSettings) else local
        remote = replace(remote, maxconnections=1) if isinstance(remote, ImapSettings) else remote
    return replace(account, settings=replace(s, local=local, remote=remote, options=options))


def _open_early(accounts: list[Account]) -> None:
    """Connect to the servers of the accounts that sync first while the rest of
    blinken loads (engine.imap_early); they log in once their sync starts."""
    for account in accounts:
        for repo in (account.settings.local, account.settings.remote):
            if isinstance(repo, ImapSettings):
                open_early(repo, log_in=_asks_nobody(repo))


def _asks_nobody(repo: ImapSettings) -> bool:
    """A password in the config or in a file: logging in early runs nobody's code."""
    fixed = isinstance(repo.password, FixedPassword | FilePassword)
    return fixed and repo.oauth2_token is None


def _run_options(ns: argparse.Namespace, config: Config, accounts: list[Account]) -> RunOptions:
    once = ns.once or all(a.autorefresh is None for a in accounts)
    parallel = 1 if ns.single else config.general.maxsyncaccounts
    return RunOptions(once=once, maxsyncaccounts=parallel)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _debug_types(text: str | None) -> set[str]:
    if not text:
        return set()
    types = set(_split(text.lower()))
    unknown = types - set(DEBUG_TYPES)
    if unknown:
        raise ConfigError(
            f"-d {text}: unknown debug type {sorted(unknown)[0]!r} "
            f"(choose from {', '.join(DEBUG_TYPES)})"
        )
    return set(DEBUG_TYPES) if "all" in types else types
