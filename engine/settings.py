"""Plain settings the engine is handed; it never reads a config file itself.

``blinken.config`` turns the user's INI file into these; tests build them
directly.  Everything has a default that matches what an OfflineIMAP user
would expect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from ssl import TLSVersion  # not `import ssl`: ImapSettings has a field named ssl

from engine.frozen import Frozen, record

PasswordSource = Callable[[], str]


def _keep_all(_name: str) -> bool:
    return True


def _same(name: str) -> str:
    return name


@record
class FolderRules(Frozen):
    """Which folders of a repository to sync and what they are called elsewhere.

    ``nametrans`` maps this repository's folder name (with its own ``sep``) to
    the name the other side sees, still written with this repository's ``sep``;
    the engine then swaps separators.  ``includes`` are folders to sync even if
    the filter drops them or the listing misses them.
    """

    folderfilter: Callable[[str], bool] = _keep_all
    nametrans: Callable[[str], str] = _same
    includes: tuple[str, ...] = ()


@record
class MaildirSettings(Frozen):
    name: str
    root: str
    sep: str = "."
    fsync: bool = True
    readonly: bool = False
    createfolders: bool = True
    sync_deletes: bool = True
    windows_compatible: bool = False  # '!' instead of ':' before the info part
    rules: FolderRules = field(default_factory=FolderRules)


@record
class ImapSettings(Frozen):
    name: str
    host: str
    port: int | None = None  # None: 993 with ssl, else 143
    user: str = ""
    password: PasswordSource | None = None
    ssl: bool = True
    starttls: bool = True
    cafile: str | None = None
    cert_fingerprints: tuple[str, ...] = ()  # hex SHA-256 (or SHA-1) digests
    verify: bool = True  # turning this off is an explicit, loudly named option
    tls_min_version: TLSVersion = TLSVersion.TLSv1_2  # tls_level / ssl_version
    allow_plaintext_login: bool = False  # loopback is always allowed
    timeout: float = 60.0
    maxconnections: int = 1
    readonly: bool = False
    createfolders: bool = True
    sync_deletes: bool = True
    tunnel: str | None = None  # preauthtunnel: a command whose stdio is IMAP
    tunnel_preauth: bool = True  # False: transporttunnel, log in through the tunnel
    oauth2_token: PasswordSource | None = None  # bearer token for XOAUTH2/OAUTHBEARER
    auth_mechanisms: tuple[str, ...] = ()  # allowed, in order; () = engine.imap_auth's default
    compress: bool = False  # usecompression: COMPRESS=DEFLATE where the server offers it
    keyring_store: str = "ask"  # ask|yes|no: keep a typed-in password (blinken.credentials)
    rules: FolderRules = field(default_factory=FolderRules)


RepositorySettings = MaildirSettings | ImapSettings


@record
class SyncOptions(Frozen):
    """How one account syncs; the knobs OfflineIMAP and mbsync users know."""

    dry_run: bool = False
    fsync: bool = True
    maxage_days: int | None = None  # only messages younger than this are synced
    maxsize: int | None = None  # bytes: larger messages are not copied (where sizes are known)
    mass_delete_fraction: float = 0.5  # stop a folder that would lose more than this
    mass_delete_minimum: int = 10  # ... but only when it would lose at least this many
    force_deletes: bool = False  # the user confirmed a mass deletion
    fetch_batch_bytes: int = 4 * 1024 * 1024
    fetch_batch_count: int = 100
    folders: tuple[str, ...] = ()  # -f: only these (remote names); empty = all
    full: bool = False  # list every message on both sides: no stamps, no CONDSTORE deltas
    listing_window: int = 1000  # a first sync lists and copies a larger folder this many at a time


@record
class AccountSettings(Frozen):
    name: str
    local: RepositorySettings
    remote: RepositorySettings
    status_path: str  # the SQLite file for this account
    options: SyncOptions = field(default_factory=SyncOptions)
