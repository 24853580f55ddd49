"""imapclient, imported without asking importlib.metadata for its version.

imapclient's package ``__init__`` reads its own version with
``importlib.metadata.version``: that imports importlib.metadata (with
zipfile, csv, email.message and more) and scans every distribution on
``sys.path``, about 35 ms on a slow machine, a fifth of a no-op sync's wall
time, for a string that no sync reads.  Before the first import of
imapclient, :func:`_stand_in_version` puts a ``imapclient.version`` module
into ``sys.modules`` that takes the version from the ``*.dist-info``
directory beside the package: one directory listing.  Where that cannot be
read (an unusual install), nothing is put in and imapclient does its own
lookup.

Every engine module imports imapclient from here, so whichever comes first
gets the stand-in.
"""

from __future__ import annotations

import importlib.machinery
import os
import re
import sys
import types

_DIST_INFO = re.compile(r"imapclient-(\d+)\.(\d+)\.(\d+)\.dist-info", re.IGNORECASE)


def _stand_in_version() -> None:
    if "imapclient" in sys.modules or "imapclient.version" in sys.modules:
        return
    version = _installed_version()
    if version is None:
        return
    module = types.ModuleType("imapclient.version", "imapclient's version, read by blinken")
    module.version = ".".join(str(part) for part in version)  # type: ignore[attr-defined]
    module.version_info = (*version, "final")  # type: ignore[attr-defined]
    sys.modules["imapclient.version"] = module


def _installed_version() -> tuple[int, int, int] | None:
    """From the one ``imapclient-X.Y.Z.dist-info`` beside the package, else None."""
    spec = importlib.machinery.PathFinder.find_spec("imapclient")  # importlib.util costs 3 ms
    if spec is None or spec.origin is None:
        return None
    where = os.path.dirname(os.path.dirname(spec.origin))
    try:
        found = [m for m in map(_DIST_INFO.fullmatch, os.listdir(where)) if m]
    except OSError:
        return None
    if len(found) != 1:
        return None
    major, minor, micro = (int(part) for part in found[0].groups())
    return major, minor, micro


_stand_in_version()

import imapclient  # noqa: E402  (after the stand-in, on purpose)
from imapclient import imap4, tls  # noqa: E402
from imapclient.response_parser import parse_fetch_response, parse_response  # noqa: E402

__all__ = ["imap4", "imapclient", "parse_fetch_response", "parse_response", "tls"]
