"""The status file itself: its schema and migrations, and how it is opened.

Apart from :mod:`engine.status`, which reads and writes what is in it.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from engine.errors import AccountError

SCHEMA_VERSION = 5

_V1 = """
CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    local_name TEXT NOT NULL,
    remote_name TEXT NOT NULL,
    local_validity INTEGER,
    remote_validity INTEGER,
    UNIQUE (local_name, remote_name)
);
CREATE TABLE messages (
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    local_id TEXT,
    remote_id TEXT,
    local_flags TEXT NOT NULL,
    remote_flags TEXT NOT NULL
);
CREATE UNIQUE INDEX messages_local ON messages(folder_id, local_id) WHERE local_id IS NOT NULL;
CREATE UNIQUE INDEX messages_remote ON messages(folder_id, remote_id) WHERE remote_id IS NOT NULL;
CREATE TABLE pending (
    id INTEGER PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    to_side TEXT NOT NULL,
    src_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    size INTEGER NOT NULL,
    mark INTEGER,
    flags TEXT NOT NULL,
    created REAL NOT NULL
);
"""

# Version 2 makes room for stateful (CONDSTORE/QRESYNC) and quick syncs.
_V2 = """
ALTER TABLE folders ADD COLUMN remote_uidnext INTEGER;
ALTER TABLE folders ADD COLUMN remote_highestmodseq INTEGER;
ALTER TABLE folders ADD COLUMN remote_messages INTEGER;
ALTER TABLE folders ADD COLUMN local_uidnext INTEGER;
ALTER TABLE folders ADD COLUMN local_highestmodseq INTEGER;
ALTER TABLE folders ADD COLUMN last_sync REAL;
"""

# Version 3: opaque per-side stamps; equal stamps mean the folder can be skipped.
_V3 = """
ALTER TABLE folders ADD COLUMN local_stamp TEXT;
ALTER TABLE folders ADD COLUMN remote_stamp TEXT;
"""

# Version 4: a Maildir's recorded names from the index alone (engine.status_recorded):
# a resync of a changed folder reads them all, and a lookup of the table row for
# each one's flags took twice as long as the index scan.
_V4 = """
CREATE INDEX messages_local_flags ON messages(folder_id, local_id, local_flags)
    WHERE local_id IS NOT NULL;
"""

# Version 5: the fingerprint of a Maildir's names under its recorded local stamp,
# so that a sync can start from it instead of reading the directory; NULL where
# the sync that wrote the stamp could not vouch for one.
_V5 = """
ALTER TABLE folders ADD COLUMN local_names TEXT;
"""

MIGRATIONS: dict[int, str] = {1: _V1, 2: _V2, 3: _V3, 4: _V4, 5: _V5}


_writer_locks: dict[str, threading.RLock] = {}
_writer_locks_guard = threading.Lock()


def writer_lock(path: str) -> threading.RLock:
    """The lock the connections of this process to one status file write under
    (a private database in memory has its own)."""
    if path in ("", ":memory:"):
        return threading.RLock()
    key = os.path.realpath(path)
    with _writer_locks_guard:
        return _writer_locks.setdefault(key, threading.RLock())


# SQLite's page cache per connection, in KiB (its default is about 2 MB).  The
# status is read a folder at a time, each page once (a folder's ids and flags,
# its pairs), and by ids, whose lookups need only the upper levels of the
# B-trees to stay cached; a default cache fills up in the first scan of a large
# folder and stays allocated for the run: 2 MB of RSS per worker at 100,000
# messages, for pages that are not read again.  The file's pages stay in the
# system's cache, a read away.
CACHE_KIB = 256


def connect(path: str, *, durable: bool) -> sqlite3.Connection:
    if path != ":memory:":
        _create_private(path)
    db = sqlite3.connect(path, timeout=60, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=" + ("FULL" if durable else "NORMAL"))
    db.execute("PRAGMA foreign_keys=ON")
    if path != ":memory:":  # an in-memory database is nothing but its cache
        db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    return db


def _create_private(path: str) -> None:
    """Create the file readable by its owner only before SQLite opens it."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))


def migrate(db: sqlite3.Connection, upgrades: dict[int, str] | None = None) -> int:
    """Bring the schema to the newest version, one version per transaction."""
    steps = MIGRATIONS if upgrades is None else upgrades
    newest = max(steps)
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > newest:
        raise AccountError(
            f"status database schema {version} is newer than this blinken ({newest}); upgrade it"
        )
    while version < newest:
        version += 1
        with db:
            db.executescript("BEGIN;" + steps[version] + f"PRAGMA user_version = {version};")
    return version
