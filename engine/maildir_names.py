"""Maildir file names: parsing and formatting, with no file system access.

A Maildir message's name is ``<unique>[<sep>2,<letters>]``.  blinken uses the
unique part as the message id, so a message keeps its id when a mail reader
moves it from ``new/`` to ``cur/`` or changes its flags.  The unique part of
names blinken writes follows OfflineIMAP's pattern,
``<epoch>_<seq>.<pid>.<host>,U=<uid>,FMD5=<md5 of the folder name>``, so that an
existing OfflineIMAP Maildir keeps its UID hints and OfflineIMAP can read ours.

Other writers use the same ``,U=`` field with another meaning (mbsync), so a
UID is only trusted when the ``,FMD5=`` of the same name matches the folder.
"""

from __future__ import annotations

import functools
import re
import socket
from collections.abc import Callable, Iterable
from typing import NamedTuple

from engine.flags import LETTERS

INFOSEP = ":"
WINDOWS_INFOSEP = "!"  # ':' is not allowed in Windows file names

_INFO_VERSION = "2,"
_INFO_LETTERS = re.compile(r"[A-Za-z]*")
_HEX = frozenset("0123456789abcdefABCDEF")
# Characters that would break the parsing of a name if a host name held them.
_HOST_ESCAPES = str.maketrans({"/": "-", ":": "-", "!": "-", ",": "-"})


class BadName(ValueError):
    """A file name that is not a Maildir message name blinken can handle."""


class MaildirName(NamedTuple):
    """A parsed file name; ``letters`` is None when the name has no info part."""

    id: str
    letters: str | None

    @property
    def flags(self) -> frozenset[str]:
        """The flags blinken syncs (D F P R S T); other letters are not flags to it."""
        return _flags_of(self.letters or "")

    @property
    def others(self) -> str:
        """Letters blinken does not know (e.g. Dovecot keywords a-z), kept on renames."""
        return "".join(sorted(set(self.letters or "") - set(LETTERS)))


@functools.lru_cache(maxsize=1024)
def _flags_of(letters: str) -> frozenset[str]:
    return frozenset(letters) & frozenset(LETTERS)


def infosep_for(windows_compatible: bool) -> str:
    return WINDOWS_INFOSEP if windows_compatible else INFOSEP


def parse_name(name: str, infosep: str = INFOSEP) -> MaildirName:
    """Split a file name into id and info letters, or raise BadName.

    The id must survive a trip through SQLite and IMAP, so names that are not
    valid UTF-8 (Python shows them with surrogates) are refused, as are info
    parts of another version than ``2,`` whose meaning is unknown.
    """
    if not (name.isascii() or is_utf8(name)):
        raise BadName("the name is not valid UTF-8")
    id, found, info = name.partition(infosep)
    if not id:
        raise BadName("the name has nothing before the info part")
    if not found:
        return MaildirName(id, None)
    return MaildirName(id, _info_letters(infosep, info))


@functools.lru_cache(maxsize=1024)
def _info_letters(infosep: str, info: str) -> str:
    """The sorted letters of an info part: a handful of distinct ones in a whole Maildir."""
    if not info.startswith(_INFO_VERSION):
        raise BadName(f"unknown info part {infosep}{info[:10]!r}")
    letters = info[len(_INFO_VERSION) :]
    if not _INFO_LETTERS.fullmatch(letters):
        raise BadName(f"the info part {letters[:20]!r} holds more than letters")
    return _sorted_letters(letters)


def format_name(id: str, letters: str | None, infosep: str = INFOSEP) -> str:
    """The file name for an id and info letters (None: no info part, for new/)."""
    if letters is None:
        return id
    return f"{id}{infosep}{_INFO_VERSION}{_sorted_letters(letters)}"


def letters_after(name: MaildirName, add: Iterable[str], remove: Iterable[str]) -> str:
    """The info letters once flags change, keeping letters blinken does not know."""
    flags = (name.flags | set(add)) - set(remove)
    return _sorted_letters("".join(flags & set(LETTERS)) + name.others)


def folder_md5(folder_name: str) -> str:
    """The ``FMD5`` of a folder, as OfflineIMAP computes it: MD5 of the UTF-8 name.

    OfflineIMAP hashes the folder's visible name (its local name after the
    local repository's nametrans); without a nametrans that is the folder name
    written with the local separator, which is what blinken passes in.
    """
    import hashlib  # here: only an opened folder needs it; a no-op opens none

    return hashlib.md5(folder_name.encode("utf-8")).hexdigest()


def unique_id(epoch: int, seq: int, pid: int, host: str, uid: int | None, fmd5: str) -> str:
    """The unique part of a new name, in OfflineIMAP's shape."""
    uid_field = f",U={uid}" if uid is not None else ""
    return f"{epoch}_{seq}.{pid}.{escape_host(host)}{uid_field},FMD5={fmd5}"


@functools.cache
def hostname() -> str:
    """This machine's name, for the unique part of new names (looked up once)."""
    return socket.gethostname()


def escape_host(host: str) -> str:
    """The host name made safe for a file name, as OfflineIMAP does for '/'.

    OfflineIMAP only replaces the path separator with '-'; a ':' (or '!' or
    ',') would also split the name in the wrong place, so they get the same
    treatment here.
    """
    return host.translate(_HOST_ESCAPES)


def uid_hint(id: str, fmd5: str) -> int | None:
    """The ``,U=`` number of an id, if the id's ``,FMD5=`` says it was written here.

    Each field is the first of its name whose value is well formed and runs to
    the next ``,`` or the end.  Plain string searches, not regular expressions:
    this runs for every message of every listing.
    """
    md5 = _field(id, ",FMD5=", _is_md5)
    if md5 is None or md5.lower() != fmd5:
        return None
    uid = _field(id, ",U=", _is_number)
    value = int(uid) if uid is not None else 0
    return value if value > 0 else None


def _field(id: str, key: str, valid: Callable[[str], bool]) -> str | None:
    at = id.find(key)
    while at >= 0:
        start = at + len(key)
        end = id.find(",", start)
        value = id[start:] if end < 0 else id[start:end]
        if valid(value):
            return value
        at = id.find(key, at + 1)
    return None


def _is_md5(value: str) -> bool:
    return len(value) == 32 and _HEX.issuperset(value)


def _is_number(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _sorted_letters(letters: str) -> str:
    """Each letter once, in ASCII order, as the Maildir spec asks."""
    return "".join(sorted(set(letters)))


def is_utf8(text: str) -> bool:
    """False for a file name that was not valid UTF-8 (Python decodes it with surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
