"""Commands that look after an account instead of syncing it."""

from __future__ import annotations

import getpass
import sys

from blinken.config import Account
from blinken.credentials import keyring_user, store_in_keyring
from blinken.runner import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
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
    """Ask for the remote repository's password and keep it in the keyring."""
    account = accounts[0]
    remote = account.settings.remote
    if not isinstance(remote, ImapSettings):
        print(f"blinken: {account.name}: the remote repository is not IMAP", file=sys.stderr)
        return EXIT_USAGE
    try:
        password = getpass.getpass(f"Password for {keyring_user(remote)}: ")
        store_in_keyring(remote, password)
    except (EOFError, KeyboardInterrupt):
        return EXIT_ERRORS
    except Exception as e:  # keyring backends raise their own types
        print(f"blinken: keyring: cannot store the password: {e}", file=sys.stderr)
        return EXIT_ERRORS
    print(f"stored the password for {keyring_user(remote)} in the keyring (service blinken)")
    return EXIT_OK
