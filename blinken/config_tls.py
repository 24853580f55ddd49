"""The TLS options of an ``[Repository NAME]`` of type IMAP.

``ssl`` (IMAPS) and ``starttls`` verify the chain and the host name; with
``sslcacertfile`` a CA is added to the system's; ``cert_fingerprint`` pins
certificates (SHA-256, or SHA-1 with a deprecation warning).  ``ssl_version``
and ``tls_level`` (OfflineIMAP's names) set the oldest TLS version accepted,
TLS 1.2 unless lowered explicitly.  Checks go off only with the loudly named
``tls_insecure_skip_verify = yes``; ``ssl_verify = no`` is refused, pointing
there, so that nobody turns them off by a casual edit.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from ssl import TLSVersion

from blinken.config_values import BadValue, SectionReader, parse_fingerprints, show
from engine.frozen import Frozen, record
from engine.imap_connect import is_loopback
from engine.imap_tls import version_name

TLS_OPTIONS = (
    "ssl", "starttls", "sslcacertfile", "cert_fingerprint", "ssl_version", "tls_level",
    "ssl_verify", "tls_insecure_skip_verify", "allow_plaintext_login",
)  # fmt: skip

INSECURE = "tls_insecure_skip_verify"
DEFAULT_MINIMUM = ssl.TLSVersion.TLSv1_2

_VERSIONS = {
    "tls1": ssl.TLSVersion.TLSv1,
    "tls1_0": ssl.TLSVersion.TLSv1,
    "tls1_1": ssl.TLSVersion.TLSv1_1,
    "tls1_2": ssl.TLSVersion.TLSv1_2,
    "tls1_3": ssl.TLSVersion.TLSv1_3,
}
_NEGOTIATE = "ssl23"  # OfflineIMAP's "the best both sides speak": no minimum of its own
# The oldest version each OfflineIMAP level allows; SSL 3 is gone from OpenSSL.
_LEVELS = {
    "tls_secure": DEFAULT_MINIMUM,
    "tls_no_ssl": ssl.TLSVersion.TLSv1,
    "tls_compat": ssl.TLSVersion.TLSv1,
}

Warn = Callable[[str], None]


@record
class TlsOptions(Frozen):
    ssl: bool
    starttls: bool
    cafile: str | None
    cert_fingerprints: tuple[str, ...]
    verify: bool
    tls_min_version: TLSVersion
    allow_plaintext_login: bool


def parse_ssl_version(text: str) -> ssl.TLSVersion | None:
    """``tls1_2``; also ``TLSv1.2`` and ``tls1.2``, as people copy them from elsewhere.

    None for ``ssl23``: then ``tls_level`` (or the default) decides.
    """
    word = text.strip().lower().replace("tlsv", "tls").replace(".", "_")
    if word == _NEGOTIATE:
        return None
    if word in ("ssl2", "ssl3", "sslv2", "sslv3"):
        raise BadValue(f"{show(text)}: SSL 2 and 3 are broken and not supported; use tls1_2")
    if word not in _VERSIONS:
        raise BadValue(f"{show(text)} is not one of tls1, tls1_1, tls1_2, tls1_3, ssl23")
    return _VERSIONS[word]


def parse_tls_level(text: str) -> ssl.TLSVersion:
    word = text.strip().lower()
    if word not in _LEVELS:
        raise BadValue(f"{show(text)} is not one of tls_secure, tls_no_ssl, tls_compat")
    return _LEVELS[word]


def read_tls(reader: SectionReader, warn: Warn, host: str, tunnel: str | None) -> TlsOptions:
    """The TLS settings of one IMAP repository, with a warning for each weakening."""
    options = TlsOptions(
        ssl=reader.boolean("ssl", True),
        starttls=reader.boolean("starttls", True),
        cafile=_cafile(reader),
        cert_fingerprints=_fingerprints(reader, warn),
        verify=_verify(reader, warn),
        tls_min_version=_minimum_version(reader, warn),
        allow_plaintext_login=reader.boolean("allow_plaintext_login", False),
    )
    if not options.ssl and not options.starttls and not tunnel:
        if not is_loopback(host):
            warn(f"[{reader.section}] ssl and starttls are both off: the connection is unencrypted")
        if options.cert_fingerprints or options.cafile:
            warn(f"[{reader.section}] ssl and starttls are both off: TLS options are not used")
    return options


def _cafile(reader: SectionReader) -> str | None:
    text = reader.string("sslcacertfile")
    if text is None or text.upper() == "OS-DEFAULT":
        return None
    path = reader.path("sslcacertfile")
    if path is None or not os.path.isfile(path):
        raise reader.fail("sslcacertfile", f"no such file {show(path or text)}")
    return path


def _fingerprints(reader: SectionReader, warn: Warn) -> tuple[str, ...]:
    prints: tuple[str, ...] = reader.convert("cert_fingerprint", parse_fingerprints, ())
    for digest in prints:
        if len(digest) == 40:
            warn(
                f"[{reader.section}] cert_fingerprint {digest[:8]}...: SHA-1 fingerprints "
                "are deprecated; pin the certificate's SHA-256 fingerprint instead"
            )
    return prints


def _verify(reader: SectionReader, warn: Warn) -> bool:
    if not reader.boolean("ssl_verify", True):
        raise reader.fail(
            "ssl_verify",
            f"'no' is not enough to turn certificate checks off: pin the certificate with "
            f"cert_fingerprint, or if you really mean it write {INSECURE} = yes",
        )
    if not reader.boolean(INSECURE, False):
        return True
    warn(
        f"[{reader.section}] {INSECURE} = yes: the server's certificate is NOT checked; "
        "anyone on the network path can read your password and mail"
    )
    return False


def _minimum_version(reader: SectionReader, warn: Warn) -> ssl.TLSVersion:
    """``ssl_version`` if given, else ``tls_level``; never below what tls_level allows."""
    floor = reader.convert("tls_level", parse_tls_level, DEFAULT_MINIMUM)
    version = reader.convert("ssl_version", parse_ssl_version, None)
    if version is None:
        version = floor
    if reader.has("tls_level") and version < floor:
        raise reader.fail(
            "ssl_version",
            f"{version_name(version)} is older than tls_level allows ({version_name(floor)})",
        )
    if version < DEFAULT_MINIMUM:
        option = "ssl_version" if reader.has("ssl_version") else "tls_level"
        warn(
            f"[{reader.section}] {option}: {version_name(version)} and newer are accepted; "
            f"versions older than {version_name(DEFAULT_MINIMUM)} are deprecated (RFC 8996)"
        )
    return version
