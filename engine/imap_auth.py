"""Logging in: the first mechanism both sides allow, with the secret asked for only then.

Mechanisms, in the default order (``auth_mechanisms`` narrows or reorders it):

* ``XOAUTH2`` and ``OAUTHBEARER``, when an OAuth2 access token source is set
  and the server offers them;
* ``PLAIN`` (``AUTHENTICATE PLAIN``), when offered, in one round trip when
  the server offers ``SASL-IR``; it carries UTF-8 passwords;
* ``LOGIN`` (the IMAP ``LOGIN`` command), unless the server says
  ``LOGINDISABLED``; a password that cannot be a quoted string goes as a
  literal.

Only the first usable mechanism is tried.  A refusal is one
:class:`~engine.errors.AuthenticationError` and nothing is tried again, so a
wrong password costs one failed login per sync, never a loop.

The secret goes to the socket and nowhere else: not into an exception, not
into imaplib's in-memory command log (cleared), and the protocol trace
redacts the lines that carry it (:mod:`engine.imap_trace`).
"""

from __future__ import annotations

import base64
import imaplib
from typing import Any, Protocol, runtime_checkable

from engine.errors import AuthenticationError
from engine.imap_library import imapclient
from engine.settings import ImapSettings, PasswordSource

MECHANISMS = ("XOAUTH2", "OAUTHBEARER", "PLAIN", "LOGIN")
OAUTH_MECHANISMS = frozenset({"XOAUTH2", "OAUTHBEARER"})
_MAX_CONTINUATIONS = 4  # a server that keeps asking gets a cancel ("*")


@runtime_checkable
class LoginFeedback(Protocol):
    """A secret source that wants to hear whether the server took its secret."""

    def accepted(self) -> None:
        """The login worked (a prompt may now offer to keep the password)."""

    def refused(self) -> str:
        """The server said no; a hint to add to the error message, or ''."""


def authenticate(client: imapclient.IMAPClient, settings: ImapSettings) -> None:
    """Log ``client`` in, or raise AuthenticationError saying why not, once."""
    if settings.tunnel and settings.tunnel_preauth:
        raise AuthenticationError(
            f"{settings.name}: the preauthtunnel command did not start a pre-authenticated "
            "session (its greeting was not PREAUTH); use transporttunnel to log in through it"
        )
    server = offered(client)
    mechanism = choose(settings, server)
    source = secret_source(settings, mechanism)
    assert source is not None  # choose() picks only mechanisms with a source
    imap = client._imap
    try:
        ok, server_says = _attempt(imap, mechanism, settings.user, source(), server)
    finally:
        imap.literal = None
        _forget_commands(imap)
    if not ok:
        hint = source.refused() if isinstance(source, LoginFeedback) else ""
        raise AuthenticationError(
            f"{settings.name}: {settings.host or 'the server'} refused the login of "
            f"{settings.user!r} ({mechanism}): {server_says}{'; ' + hint if hint else ''}"
        )
    imap.state = "AUTH"
    client._cached_capabilities = None  # they change at login; ask again
    if isinstance(source, LoginFeedback):
        source.accepted()


def secret_source(settings: ImapSettings, mechanism: str) -> PasswordSource | None:
    """Where ``mechanism`` takes its secret from."""
    return settings.oauth2_token if mechanism in OAUTH_MECHANISMS else settings.password


def offered(client: imapclient.IMAPClient) -> frozenset[str]:
    """The server's capabilities as upper-case text."""
    return frozenset(bytes(c).decode("ascii", "replace").upper() for c in client.capabilities())


def choose(settings: ImapSettings, server: frozenset[str]) -> str:
    """The first allowed mechanism the server offers and a secret exists for."""
    allowed = settings.auth_mechanisms or MECHANISMS
    for mechanism in allowed:
        if _usable(mechanism, settings, server):
            return mechanism
    raise AuthenticationError(_nothing_usable(settings, allowed, server))


def _usable(mechanism: str, settings: ImapSettings, server: frozenset[str]) -> bool:
    if mechanism in OAUTH_MECHANISMS:
        return settings.oauth2_token is not None and f"AUTH={mechanism}" in server
    if settings.password is None:
        return False
    if mechanism == "PLAIN":
        return "AUTH=PLAIN" in server
    return mechanism == "LOGIN" and "LOGINDISABLED" not in server and _quotable(settings.user)


def _nothing_usable(
    settings: ImapSettings, allowed: tuple[str, ...], server: frozenset[str]
) -> str:
    where = f"{settings.name}: cannot log in to {settings.host or 'the server'}"
    if settings.password is None and settings.oauth2_token is None:
        return f"{where}: no password or OAuth2 token for {settings.user!r}"
    if "LOGINDISABLED" in server and "AUTH=PLAIN" not in server:
        return f"{where}: it does not allow LOGIN on this connection"
    offers = {c.removeprefix("AUTH=") for c in server if c.startswith("AUTH=")}
    if "LOGINDISABLED" not in server:
        offers.add("LOGIN")
    secrets = [
        what
        for what, source in (("a password", settings.password), ("a token", settings.oauth2_token))
        if source is not None
    ]
    return (
        f"{where}: it offers {', '.join(sorted(offers)) or 'no mechanism'}, none of which "
        f"blinken can use with {' and '.join(secrets)} (auth_mechanisms: {', '.join(allowed)})"
    )


def _attempt(
    imap: Any, mechanism: str, user: str, secret: str, server: frozenset[str]
) -> tuple[bool, str]:
    """(accepted, the server's words) for one try; a BAD answer counts as refused."""
    try:
        if mechanism == "LOGIN":
            typ, data = _login_command(imap, user, secret)
        else:
            message = initial_response(mechanism, user, secret)
            typ, data = _sasl(imap, mechanism, message, "SASL-IR" in server)
    except imaplib.IMAP4.abort:
        raise  # the connection broke: the caller's ConnectionFailed
    except imaplib.IMAP4.error as exc:
        return False, _server_text(exc)
    return typ == "OK", _server_text(data[-1] if data else b"")


def initial_response(mechanism: str, user: str, secret: str) -> bytes:
    """The client's SASL message for PLAIN, XOAUTH2 or OAUTHBEARER (before base64)."""
    if mechanism == "PLAIN":
        return b"\0" + user.encode("utf-8") + b"\0" + secret.encode("utf-8")
    if mechanism == "XOAUTH2":
        return f"user={user}\x01auth=Bearer {secret}\x01\x01".encode()
    if mechanism == "OAUTHBEARER":  # RFC 7628, with RFC 5801's escaping of the authzid
        authzid = user.replace("=", "=3D").replace(",", "=2C")
        return f"n,a={authzid},\x01auth=Bearer {secret}\x01\x01".encode()
    raise ValueError(f"no initial response for {mechanism}")


class _Continuations:
    """Answers an AUTHENTICATE's ``+`` lines for imaplib.

    imaplib calls a *bound method* with each challenge; the first answer is
    the initial response (unless SASL-IR already sent it), every later one
    is empty, which is what XOAUTH2 expects after its error challenge.
    """

    def __init__(self, first: bytes | None) -> None:
        self._first = first
        self._count = 0

    def answer(self, _challenge: bytes) -> bytes:
        self._count += 1
        if self._count > _MAX_CONTINUATIONS:
            return b"*"
        first, self._first = self._first, None
        return base64.b64encode(first) if first is not None else b""


def _sasl(imap: Any, mechanism: str, message: bytes, sasl_ir: bool) -> tuple[str, list[Any]]:
    args = [mechanism]
    if sasl_ir:
        args.append(base64.b64encode(message).decode("ascii") or "=")
    imap.literal = _Continuations(None if sasl_ir else message).answer
    typ, data = imap._simple_command("AUTHENTICATE", *args)
    return str(typ), list(data)


def _login_command(imap: Any, user: str, password: str) -> tuple[str, list[Any]]:
    """IMAP LOGIN; a password with non-ASCII or control characters goes as a literal."""
    if _quotable(password):
        typ, data = imap._simple_command("LOGIN", imap._quote(user), imap._quote(password))
    else:
        imap.literal = password.encode("utf-8")
        typ, data = imap._simple_command("LOGIN", imap._quote(user))
    return str(typ), list(data)


def _quotable(text: str) -> bool:
    return text.isascii() and all(" " <= c <= "~" for c in text)


def _forget_commands(imap: Any) -> None:
    """imaplib keeps the last commands (LOGIN's password too) in memory: drop them."""
    log = getattr(imap, "_cmd_log", None)
    if isinstance(log, dict):
        log.clear()


def _server_text(what: object) -> str:
    from engine.imap_connect import describe  # imap_connect imports this module

    if isinstance(what, bytes):
        what = Exception(what.decode("utf-8", "replace"))
    if not isinstance(what, BaseException):
        what = Exception(str(what))
    return describe(what) or "no reason given"
