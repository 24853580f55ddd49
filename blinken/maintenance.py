"""Commands that look after an account instead of syncing it."""

from __future__ import annotations

import getpass
import sys

from blinken.config import Account
from blinken.credentials import KEYRING_SERVICE, keyring_failure, keyring_user, store_in_keyring
from blinken.run_options import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from engine.errors import SyncError
from engine.settings import ImapSettings
from engine.status import StatusDB


def forget_folder(accounts: list[Account], folder: str) -> int:
    """Drop one folder's status, so the next sync treats it as never synced."""
    found = 0
    for account in accounts:
        try:
            status = StatusDB(account.settings.status_path)
        except SyncError as e:
            print(f"blinken: {account.name}: {e}", file=sys.stderr)
            return EXIT_ERRORS
        for record in status.folders():
            if folder in (record.local_name, record.remote_name):
                status.forget_folder(record.id)
                found += 1
                print(f"{account.name}: forgot the status of {record.remote_name!r}")
        status.close()
    if not found:
        print(f"blinken: --forget-folder: no account knows a folder {folder!r}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def store_password(accounts: list[Account]) -> int:
    """Ask for the remote repository's password and keep it in the keyring.

    On a terminal the password is asked for without echo; otherwise the
    first line of standard input is taken (``pass show mail | blinken
    --store-password Work``).
    """
    account = accounts[0]
    remote = account.settings.remote
    if not isinstance(remote, ImapSettings):
        print(f"blinken: {account.name}: the remote repository is not IMAP", file=sys.stderr)
        return EXIT_USAGE
    user = keyring_user(remote)
    try:
        password = _read_password(f"Password for {user}: ")
    except (EOFError, KeyboardInterrupt):
        return EXIT_ERRORS
    if not password:
        print("blinken: --store-password: no password given; nothing stored", file=sys.stderr)
        return EXIT_ERRORS
    try:
        store_in_keyring(remote, password)
    except Exception as e:  # keyring backends raise their own types
        reason = keyring_failure(e, password)
        print(f"blinken: keyring: cannot store the password: {reason}", file=sys.stderr)
        return EXIT_ERRORS
    print(f"stored the password for {user} in the keyring (service {KEYRING_SERVICE})")
    if remote.password is not None:
        print(
            f"note: [Repository {remote.name}] gives a password itself, which comes first; "
            "the keyring is used only without it"
        )
    return EXIT_OK


def _read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\r\n")
