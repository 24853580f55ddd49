"""Typed failures, scoped like mbsync's so that damage stays local.

A ``MessageError`` skips one message, a ``FolderError`` stops one folder, an
``AccountError`` stops one account.  The engine raises them with a one-line,
human-readable text; frontends word them, and nothing here prints.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error the engine expects; anything else is a bug."""


class MessageError(SyncError):
    """One message could not be read, written or changed; the rest go on."""


class FolderError(SyncError):
    """One folder cannot be synchronised this run; other folders go on."""


class UidValidityError(FolderError):
    """The server renumbered a folder and blinken could not safely re-map it."""


class MassDeleteError(FolderError):
    """A sync would delete more of a folder than the guard allows."""


class AccountError(SyncError):
    """The account cannot be used this run: connection, login, status database."""


class AuthenticationError(AccountError):
    """The server refused the credentials."""


class ConnectionFailed(AccountError):
    """The server could not be reached or the TLS handshake failed."""


class Aborted(SyncError):
    """The user asked to stop; raised at a safe point between messages.

    ``done`` carries what was completed (and recorded) before stopping, so the
    summary can say it; it is whatever the raiser counted (a SyncCounts).
    """

    def __init__(self, message: str = "aborted", done: object = None) -> None:
        super().__init__(message)
        self.done = done
