"""Opening an authenticated IMAP connection, and nothing less safe than asked.

One function, :func:`connect`, goes from settings to a logged-in
``IMAPClient``: TCP or a tunnel command, IMAPS or a *required* STARTTLS, the
certificate checks of :mod:`engine.imap_tls`, then LOGIN.  Every failure on
the way becomes a typed, one-line :class:`~engine.errors.AccountError`.
"""

from __future__ import annotations

import contextlib
import imaplib
import ipaddress
import re
import socket
import ssl
import time
from dataclasses import replace
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from engine import imap_auth, imap_compress, imap_early, imap_state, imap_tls
from engine.errors import AccountError, ConnectionFailed
from engine.imap_library import imapclient
from engine.imap_trace import ProtocolTracer, Trace
from engine.imap_transport import PlainIMAP4, TlsIMAP4, TunnelIMAP4
from engine.repository import FolderState
from engine.settings import ImapSettings

if TYPE_CHECKING:
    pass


class Client(imapclient.IMAPClient):  # type: ignore[misc]
    """IMAPClient with the byte-level trace, tunnels that work, own folder names.

    ``folder_encode`` is off because :mod:`engine.imap_utf7` encodes names.
    imaplib's own debug logging is off: the tracer replaces it.
    """

    enabled: frozenset[str] = frozenset()  # what ENABLE turned on after login
    compressed: Any = None  # the inflating reader once COMPRESS=DEFLATE is on
    listed: ListedAhead | None = None  # a LIST-STATUS asked while blinken was loading

    def __init__(
        self,
        settings: ImapSettings,
        port: int,
        context: ssl.SSLContext | None,
        tracer: ProtocolTracer | None,
        stderr: IO[bytes] | None = None,
    ) -> None:
        self._tracer = tracer
        self._stderr = stderr
        if settings.tunnel:
            super().__init__(settings.tunnel, stream=True, ssl=False)
        else:
            super().__init__(
                settings.host,
                port,
                ssl=settings.ssl,
                ssl_context=context,
                timeout=settings.timeout,
            )
        self.folder_encode = False
        self._imap.debug = 0

    def _create_IMAP4(self) -> imaplib.IMAP4:
        if self.stream:
            if self._stderr is None:
                raise ValueError("a tunnel needs a file for its stderr")
            return TunnelIMAP4(self.host, self._tracer, self._stderr)
        timeout = self._timeout.connect
        if self.ssl:
            return TlsIMAP4(self.host, self.port, self.ssl_context, timeout, self._tracer)
        return PlainIMAP4(self.host, self.port, timeout, self._tracer)

    def _set_read_timeout(self) -> None:
        if not self.stream:  # a tunnel has no socket to set a timeout on
            super()._set_read_timeout()

    def peer_certificate(self) -> bytes | None:
        sock = self._imap.sock
        if isinstance(sock, ssl.SSLSocket):
            der: bytes | None = sock.getpeercert(binary_form=True)
            return der
        return None

    def tls_version(self) -> str | None:
        """``TLSv1.3`` and the like, or None on a connection without TLS."""
        sock = self._imap.sock
        return sock.version() if isinstance(sock, ssl.SSLSocket) else None

    def quiet_logout(self) -> None:
        """LOGOUT if the server still listens, and close without waiting for its goodbye.

        Every command before it has had its answer, so the server has done all
        that was asked; the BYE would only cost a round trip at the end of
        every run.
        """
        imap = self._imap
        with contextlib.suppress(Exception):
            imap.state = "LOGOUT"
            imap._command("LOGOUT")
        with contextlib.suppress(Exception):
            imap.shutdown()
        if self._stderr is not None:
            self._stderr.close()


def port_of(settings: ImapSettings) -> int:
    if settings.port:
        return settings.port
    return 993 if settings.ssl else 143


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


Opened = tuple[Client, tuple[imap_tls.Pin, ...], "ssl.SSLContext | None"]
LISTED_FRESH_FOR = 5.0  # seconds a listing asked ahead stands for the server's state


class ListedAhead(NamedTuple):
    """A LIST-STATUS answer (``imap_state.list_status``) and when it came."""

    at: float  # time.monotonic()
    entries: list[Any]
    states: dict[str, FolderState]

    def fresh(self) -> bool:
        return time.monotonic() - self.at <= LISTED_FRESH_FOR


def connect(settings: ImapSettings, trace: Trace | None = None, take_early: bool = True) -> Client:
    """A logged-in client, or a typed AccountError saying why not; ``take_early``: the
    connection opened while blinken loaded may be taken (an account's first store)."""
    tracer = ProtocolTracer(trace) if trace is not None else None
    taking = take_early and tracer is None
    opening = imap_early.take(settings.name, _endpoint(settings)) if taking else None
    if opening is None:
        return _logged_in(settings, *_opened(settings, tracer))
    early: Client | Opened = opening.result()
    return early if isinstance(early, Client) else _logged_in(settings, *early)


def open_early(settings: ImapSettings, log_in: bool) -> None:
    """Start connecting now, and logging in if ``log_in`` (a password that asks
    nobody anything), for the first :func:`connect` to these settings to take
    (:mod:`engine.imap_early`).  Not through a tunnel, whose command may ask.

    Logged in, it lists the folders with their states too (see :func:`_list_ahead`).
    """
    if settings.tunnel:
        return

    def open_() -> Client | Opened:
        opened = _opened(settings, None)
        if not log_in:
            return opened
        client = _logged_in(settings, *opened)
        _list_ahead(client)
        return client

    def close(early: Client | Opened) -> None:
        (early if isinstance(early, Client) else early[0]).quiet_logout()

    imap_early.start(settings.name, _endpoint(settings), open_, close)


def _list_ahead(client: Client) -> None:
    """LIST-STATUS right after an early login, kept for the sync's first LIST.

    That LIST is the first thing a sync asks, and after another client's
    changes it is a slow one: the server looks at every changed folder again
    (Dovecot: 60-80 ms at 50,000 messages).  Asked here, the server does that
    while Python imports the rest of blinken.  A failure leaves nothing kept:
    the sync then asks as it always has, and meets a broken connection there.
    """
    if not client.has_capability("LIST-STATUS"):
        return
    try:
        condstore = client.has_capability("CONDSTORE")
        client.listed = ListedAhead(time.monotonic(), *imap_state.list_status(client, condstore))
    except (OSError, imaplib.IMAP4.error):
        client.listed = None


def _endpoint(settings: ImapSettings) -> tuple[object, ...]:
    """What an opened (and maybe logged-in) connection depends on: all but the secret."""
    s = settings
    return (
        s.user,
        s.auth_mechanisms,
        s.compress,
        s.host,
        s.port,
        s.ssl,
        s.starttls,
        s.cafile,
        s.cert_fingerprints,
        s.verify,
        s.tls_min_version,
        s.allow_plaintext_login,
        s.timeout,
        s.tunnel,
    )


def _opened(settings: ImapSettings, tracer: ProtocolTracer | None) -> Opened:
    """Connected, and with IMAPS through the TLS handshake; not yet logged in."""
    port = port_of(settings)
    tunnel = bool(settings.tunnel)
    tls_wanted = (settings.ssl or settings.starttls) and not tunnel
    plain_ok = settings.allow_plaintext_login or is_loopback(settings.host)
    if not tls_wanted and not tunnel and not plain_ok:
        raise ConnectionFailed(
            f"{settings.name}: refusing to send the password to {settings.host} unencrypted; "
            "turn on ssl or starttls (or allow plain-text login explicitly)"
        )
    pins = imap_tls.parse_pins(settings) if tls_wanted else ()
    context = imap_tls.make_context(settings, pins) if tls_wanted else None
    return _open(settings, port, context, tracer), pins, context


def _logged_in(
    settings: ImapSettings,
    client: Client,
    pins: tuple[imap_tls.Pin, ...],
    context: ssl.SSLContext | None,
) -> Client:
    """Pins checked or STARTTLS done, logged in, CONDSTORE/QRESYNC enabled."""
    port = port_of(settings)
    try:
        if context is not None and settings.ssl:
            imap_tls.check_pins(settings, port, pins, client.peer_certificate())
        elif context is not None:
            _starttls(client, settings, port, context, pins)
        if client._imap.state != "AUTH":  # AUTH already: the server said PREAUTH
            _login(client, settings)
        client.enabled = _enable(client)
        if settings.compress and client.has_capability("COMPRESS=DEFLATE"):
            client.compressed = imap_compress.start(client._imap)
    except AccountError:
        client.quiet_logout()
        raise
    except (OSError, imaplib.IMAP4.error) as exc:
        client.quiet_logout()
        raise ConnectionFailed(
            f"{settings.name}: connection to {_where(settings, port)} failed: {describe(exc)}"
        ) from exc
    return client


def _where(settings: ImapSettings, port: int) -> str:
    return f"tunnel {settings.tunnel!r}" if settings.tunnel else f"{settings.host}:{port}"


def _enable(client: Client) -> frozenset[str]:
    """One ENABLE for CONDSTORE (SELECT reports HIGHESTMODSEQ) and QRESYNC (VANISHED)."""
    wanted = [c for c in ("CONDSTORE", "QRESYNC") if client.has_capability(c)]
    if not wanted or not client.has_capability("ENABLE"):
        return frozenset()
    try:
        enabled = client.enable(*wanted)
    except imaplib.IMAP4.error:
        return frozenset()
    return frozenset(e.decode() if isinstance(e, bytes) else str(e) for e in enabled)


def _nodelay(client: Client) -> None:
    """No Nagle delay: imaplib writes a command and its CRLF separately, and a distant
    server's delayed ACK would add ~40 ms to each such command."""
    try:
        sock = client.socket()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError, imaplib.IMAP4.error):
        pass  # a tunnel: no socket


def _open(
    settings: ImapSettings,
    port: int,
    context: ssl.SSLContext | None,
    tracer: ProtocolTracer | None,
) -> Client:
    where = _where(settings, port)
    stderr = _stderr_file() if settings.tunnel else None
    try:
        client = Client(settings, port, context, tracer, stderr)
        _nodelay(client)
        return client
    except ssl.SSLCertVerificationError as exc:
        seen = _probe(settings, port).der
        raise imap_tls.verification_failure(settings, port, exc, seen) from exc
    except ssl.SSLError as exc:
        seen_version = _probe(settings, port).version
        raise imap_tls.handshake_failure(settings, where, exc, seen_version) from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        detail = ""
        if stderr is not None:
            detail = _tail(stderr)
            stderr.close()
        raise ConnectionFailed(
            f"{settings.name}: cannot connect to {where}: {describe(exc)}{detail}"
        ) from exc


def _stderr_file() -> IO[bytes]:
    """Where a tunnel command's stderr goes; tempfile is imported only for tunnels
    (with shutil, bz2 and lzma it costs a no-op 6 ms)."""
    import tempfile

    return tempfile.TemporaryFile()


def _tail(stderr: IO[bytes]) -> str:
    """The last line the tunnel command wrote to stderr, for the error message."""
    try:
        stderr.seek(0)
        lines = stderr.read().decode("utf-8", "replace").strip().splitlines()
    except (OSError, ValueError):
        return ""
    return f" ({lines[-1].strip()})" if lines else ""


def _starttls(
    client: Client,
    settings: ImapSettings,
    port: int,
    context: ssl.SSLContext,
    pins: tuple[imap_tls.Pin, ...],
) -> None:
    """Upgrade to TLS or give up: never go on in clear text when STARTTLS is on.

    A missing STARTTLS capability may be the server's doing or an attacker's
    (who strips it to read the password), so both are refused the same way.
    """
    where = f"{settings.host}:{port}"
    if not client.has_capability("STARTTLS"):
        raise ConnectionFailed(
            f"{settings.name}: {where} does not offer STARTTLS (or something on the way "
            "removed it); refusing to continue unencrypted (use ssl for IMAPS, or turn "
            "starttls off explicitly)"
        )
    try:
        client.starttls(context)
    except ssl.SSLCertVerificationError as exc:
        seen = _probe(settings, port).der
        raise imap_tls.verification_failure(settings, port, exc, seen) from exc
    except ssl.SSLError as exc:
        seen_version = _probe(settings, port).version
        raise imap_tls.handshake_failure(settings, where, exc, seen_version) from exc
    except imaplib.IMAP4.error as exc:
        raise ConnectionFailed(
            f"{settings.name}: STARTTLS with {where} failed ({describe(exc)}); "
            "refusing to continue unencrypted"
        ) from exc
    imap_tls.check_pins(settings, port, pins, client.peer_certificate())


def _probe(settings: ImapSettings, port: int) -> imap_tls.Seen:
    """Connect again without checks, only to tell the user what the server offers.

    No login is sent on this connection: it ends right after the handshake.
    """
    quick = replace(settings, timeout=min(settings.timeout, 10.0))
    context = imap_tls.unverified_context()
    try:
        client = Client(quick, port, context, None, None)
    except Exception:
        return imap_tls.Seen()
    try:
        if not settings.ssl:
            client.starttls(context)
        return imap_tls.Seen(client.peer_certificate(), client.tls_version())
    except Exception:
        return imap_tls.Seen()
    finally:
        client.quiet_logout()


def _login(client: Client, settings: ImapSettings) -> None:
    """Authenticate as :mod:`engine.imap_auth` decides; the secret goes nowhere else."""
    imap_auth.authenticate(client, settings)


_BYTES_REPR = re.compile(r"""b(['"])(.*?)\1""")
_CLIENT_PREFIX = re.compile(r"^[A-Za-z]+ failed: ")
_SERVER_TIMING = re.compile(r"\s*\([\d.+ ]+secs\)\.?$")


def describe(exc: BaseException) -> str:
    """An exception as one readable line (imaplib shows server text as b'...')."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    text = _BYTES_REPR.sub(lambda m: m.group(2), text)
    text = _CLIENT_PREFIX.sub("", text)  # imapclient's "select failed: "
    text = _SERVER_TIMING.sub("", text)  # Dovecot's "(0.001 + 0.000 secs)."
    return " ".join(text.split())
