"""Opening a repository from its settings.

Each worker thread opens its own stores (an IMAP connection is one session,
and a selected folder belongs to it), so opening must be cheap and
side-effect free until the first real request.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.imap import ImapRepository
from engine.imap_trace import Trace
from engine.maildir import MaildirRepository
from engine.repository import Repository
from engine.settings import ImapSettings, MaildirSettings, RepositorySettings


def open_store(
    settings: RepositorySettings,
    warn: Callable[[str], None],
    trace: Trace | None = None,
    early: bool = True,
) -> Repository:
    """A repository object for ``settings``; IMAP connects on first use (``early``:
    it may take the connection opened while blinken loaded, see engine.imap_early)."""
    if isinstance(settings, MaildirSettings):
        return MaildirRepository(
            settings.name,
            settings.root,
            sep=settings.sep,
            fsync=settings.fsync,
            windows_compatible=settings.windows_compatible,
            on_warning=warn,
        )
    assert isinstance(settings, ImapSettings)
    return ImapRepository(settings, trace, early)


def writable(settings: RepositorySettings) -> bool:
    return not settings.readonly


def may_delete(settings: RepositorySettings) -> bool:
    return settings.sync_deletes and not settings.readonly


def connections(settings: RepositorySettings) -> int:
    """How many connections a repository allows; a Maildir has no limit."""
    return max(1, settings.maxconnections) if isinstance(settings, ImapSettings) else 1_000
