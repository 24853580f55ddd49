"""TLS policy for IMAP connections: what is trusted, and what to say when not.

OfflineIMAP's users learned the hard way that "TLS" without checks protects
nothing (seeds/000).  So the default is full verification of the chain and the
host name against the system store plus an optional ``cafile``, over TLS 1.2
or newer.  A pinned certificate fingerprint replaces the chain check (it is
how people trust a self-signed server), and only ``verify = False`` (the
config's loudly named ``tls_insecure_skip_verify``) turns checks off.

When verification fails the error names the SHA-256 fingerprint of the
certificate the server showed, so the user can check it and pin it.
"""

from __future__ import annotations

import ssl
import warnings

from engine.errors import ConnectionFailed
from engine.frozen import Frozen, record
from engine.settings import ImapSettings

_DIGEST_BY_LENGTH = {64: "sha256", 40: "sha1"}

# OpenSSL 3 refuses TLS 1.0 and 1.1 above security level 0 (their handshake
# signs with SHA-1), and Python's default cipher list has no cipher they know.
_LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"

# Handshake failures that mean "no TLS version in common".
_VERSION_REASONS = frozenset(
    {
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "WRONG_SSL_VERSION",
        "NO_PROTOCOLS_AVAILABLE",
        "UNSUPPORTED_SSL_VERSION",
    }
)

_PROTOCOLS = {  # ssl.SSLSocket.version() to TLSVersion
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}

_VERSION_NAMES = {
    ssl.TLSVersion.TLSv1: "TLS 1.0",
    ssl.TLSVersion.TLSv1_1: "TLS 1.1",
    ssl.TLSVersion.TLSv1_2: "TLS 1.2",
    ssl.TLSVersion.TLSv1_3: "TLS 1.3",
}


@record
class Seen(Frozen):
    """What an unchecked second handshake showed: the certificate, the TLS version."""

    der: bytes | None = None
    version: str | None = None  # as ssl.SSLSocket.version() says it: "TLSv1.1"


@record
class Pin(Frozen):
    """A certificate fingerprint the user trusts, in lower-case hex."""

    algorithm: str
    hexdigest: str

    def matches(self, der: bytes) -> bool:
        import hashlib  # here: only a pinned certificate needs it

        return hashlib.new(self.algorithm, der).hexdigest() == self.hexdigest


def parse_pins(settings: ImapSettings) -> tuple[Pin, ...]:
    """The configured fingerprints; colons and spaces allowed, SHA-256 or SHA-1."""
    pins = []
    for text in settings.cert_fingerprints:
        digest = text.replace(":", "").replace(" ", "").lower()
        algorithm = _DIGEST_BY_LENGTH.get(len(digest))
        if algorithm is None or any(c not in "0123456789abcdef" for c in digest):
            raise ConnectionFailed(
                f"{settings.name}: certificate fingerprint {text!r} is neither a SHA-256 "
                "nor a SHA-1 digest in hex"
            )
        pins.append(Pin(algorithm, digest))
    return tuple(pins)


def version_name(version: ssl.TLSVersion) -> str:
    return _VERSION_NAMES.get(version, version.name)


def make_context(settings: ImapSettings, pins: tuple[Pin, ...]) -> ssl.SSLContext:
    """The context for IMAPS or STARTTLS; with pins, the pin check comes later."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if settings.tls_min_version < ssl.TLSVersion.TLSv1_2:
        with warnings.catch_warnings():  # the user asked for it, and the config warned
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = settings.tls_min_version
        context.set_ciphers(_LEGACY_CIPHERS)
    else:
        context.minimum_version = settings.tls_min_version
    if settings.cafile:
        try:
            context.load_verify_locations(cafile=settings.cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionFailed(
                f"{settings.name}: cannot load CA file {settings.cafile}: {exc}"
            ) from exc
    if pins or not settings.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def unverified_context() -> ssl.SSLContext:
    """For looking at a certificate we already decided not to trust."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers(_LEGACY_CIPHERS)
    return context


def sha256_fingerprint(der: bytes) -> str:
    import hashlib  # here: only a pin or a certificate problem needs it

    return hashlib.sha256(der).hexdigest()


def check_pins(settings: ImapSettings, port: int, pins: tuple[Pin, ...], der: bytes | None) -> None:
    """Refuse the connection unless the server's certificate is a pinned one."""
    if not pins:
        return
    if der is None:
        raise ConnectionFailed(f"{settings.name}: the server sent no TLS certificate to check")
    if not any(pin.matches(der) for pin in pins):
        raise ConnectionFailed(
            f"{settings.name}: TLS certificate of {settings.host}:{port} not trusted "
            f"(it matches no pinned fingerprint); SHA-256 fingerprint {sha256_fingerprint(der)}"
        )


def verification_failure(
    settings: ImapSettings, port: int, exc: ssl.SSLError, seen: bytes | None
) -> ConnectionFailed:
    """The one-line error for a certificate we did not trust."""
    reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
    reason = " ".join(str(reason).split()).rstrip(".")
    shown = sha256_fingerprint(seen) if seen else "unknown (could not fetch it)"
    return ConnectionFailed(
        f"{settings.name}: TLS certificate of {settings.host}:{port} not trusted ({reason}); "
        f"SHA-256 fingerprint {shown} (pin it to trust this certificate)"
    )


def handshake_failure(
    settings: ImapSettings, where: str, exc: ssl.SSLError, seen_version: str | None = None
) -> ConnectionFailed:
    """The one-line error for a TLS handshake that failed for another reason.

    ``seen_version`` is what the server agreed to without our minimum; older
    than the minimum, it is the reason, whatever OpenSSL called the failure.
    """
    reason = exc.reason or " ".join(str(exc).split())
    minimum = settings.tls_min_version
    seen = _PROTOCOLS.get(seen_version or "")
    hint = ""
    if seen is not None and seen < minimum:
        hint = (
            f" (the server speaks only {version_name(seen)}; blinken accepts "
            f"{version_name(minimum)} or newer)"
        )
    elif reason in _VERSION_REASONS:
        hint = (
            f" (the server speaks no TLS version blinken accepts: {version_name(minimum)} or newer)"
        )
    elif reason == "WRONG_VERSION_NUMBER" and settings.ssl:
        hint = " (is that port really IMAPS?)"
    return ConnectionFailed(f"{settings.name}: TLS handshake with {where} failed: {reason}{hint}")
