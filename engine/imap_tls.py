"""TLS policy for IMAP connections: what is trusted, and what to say when not.

OfflineIMAP's users learned the hard way that "TLS" without checks protects
nothing (seeds/000).  So the default is full verification of the chain and the
host name against the system store plus an optional ``cafile``.  A pinned
certificate fingerprint replaces the chain check (it is how people trust a
self-signed server), and only the explicit ``verify = no`` turns checks off.

When verification fails the error names the SHA-256 fingerprint of the
certificate the server showed, so the user can check it and pin it.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass

from engine.errors import ConnectionFailed
from engine.settings import ImapSettings

_DIGEST_BY_LENGTH = {64: "sha256", 40: "sha1"}


@dataclass(frozen=True)
class Pin:
    """A certificate fingerprint the user trusts, in lower-case hex."""

    algorithm: str
    hexdigest: str

    def matches(self, der: bytes) -> bool:
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


def make_context(settings: ImapSettings, pins: tuple[Pin, ...]) -> ssl.SSLContext:
    """The context for IMAPS or STARTTLS; with pins, the pin check comes later."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
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
    return context


def sha256_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def check_pins(settings: ImapSettings, pins: tuple[Pin, ...], der: bytes | None) -> None:
    """Refuse the connection unless the server's certificate is a pinned one."""
    if not pins:
        return
    if der is None:
        raise ConnectionFailed(f"{settings.name}: the server sent no TLS certificate to check")
    if not any(pin.matches(der) for pin in pins):
        raise ConnectionFailed(
            f"{settings.name}: certificate of {settings.host} matches no pinned fingerprint; "
            f"it has SHA-256 fingerprint {sha256_fingerprint(der)}"
        )


def verification_failure(
    settings: ImapSettings, port: int, exc: ssl.SSLError, seen: bytes | None
) -> ConnectionFailed:
    """The one-line error for a certificate we did not trust."""
    reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
    shown = sha256_fingerprint(seen) if seen else "unknown (could not fetch it)"
    return ConnectionFailed(
        f"{settings.name}: TLS certificate of {settings.host}:{port} not trusted ({reason}); "
        f"SHA-256 fingerprint {shown} (pin it to trust this certificate)"
    )
