"""TLS against real Dovecot servers on 127.0.0.1, with certificates made for the session.

What is checked: a certificate signed by the test CA connects over IMAPS and
STARTTLS; self-signed and wrong-host certificates are refused with one line
that names the host, the reason and the SHA-256 fingerprint, and connect
once pinned; a man in the middle that hides STARTTLS gets no password; a
server stuck on TLS 1.1 is refused unless the user lowers the minimum.
"""

from __future__ import annotations

import base64
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from blinken.dovecot import DovecotMissing, ThrowawayDovecot
from engine.errors import AccountError, ConnectionFailed
from engine.imap_connect import connect
from engine.settings import ImapSettings
from tests.fixtures.certs import CertSet, ServerCert
from tests.fixtures.dovecot import DovecotUser, dovecot_unavailable, new_user, start_server
from tests.fixtures.mitm import ImapMitm
from tests.integration.test_cli import blinken, write_config
from tests.integration.test_sync import local_bodies, message

pytestmark = pytest.mark.dovecot

MODES = ["imaps", "starttls"]
# remote: TLS certificate of HOST:PORT not trusted (REASON); SHA-256 fingerprint HEX (...)
REFUSAL = re.compile(
    r"^remote: TLS certificate of (?P<where>\S+) not trusted \((?P<reason>[^)]+)\); "
    r"SHA-256 fingerprint (?P<sha256>[0-9a-f]{64}) \(pin it to trust this certificate\)$"
)


def _server(cert: ServerCert) -> Iterator[DovecotUser]:
    server = start_server(tls=cert.files)
    try:
        yield new_user(server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def good(tls_certs: CertSet) -> Iterator[DovecotUser]:
    yield from _server(tls_certs.good)


@pytest.fixture(scope="module")
def self_signed(tls_certs: CertSet) -> Iterator[DovecotUser]:
    yield from _server(tls_certs.self_signed)


@pytest.fixture(scope="module")
def wrong_host(tls_certs: CertSet) -> Iterator[DovecotUser]:
    yield from _server(tls_certs.wrong_host)


def _settings(user: DovecotUser, mode: str, **overrides: Any) -> ImapSettings:
    if mode == "imaps":
        assert user.server.imaps_port is not None
        return user.settings(ssl=True, port=user.server.imaps_port, **overrides)
    return user.settings(ssl=False, starttls=True, **overrides)


def _works(settings: ImapSettings) -> bool:
    """Connect, log in, list the folders, log out; any failure raises."""
    client = connect(settings)
    try:
        return any(name == b"INBOX" for _flags, _sep, name in client.list_folders())
    finally:
        client.quiet_logout()


def _refusal(settings: ImapSettings) -> str:
    with pytest.raises(ConnectionFailed) as caught:
        _works(settings)
    assert isinstance(caught.value, AccountError)
    text = str(caught.value)
    assert "\n" not in text
    return text


# -- a good certificate ---------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize("mode", MODES)
def test_certificate_signed_by_the_given_ca_connects(
    good: DovecotUser, tls_certs: CertSet, mode: str, host: str
) -> None:
    lines: list[str] = []
    settings = _settings(good, mode, cafile=tls_certs.ca, host=host)
    client = connect(settings, trace=lines.append)
    try:
        sock = client._imap.sock
        assert isinstance(sock, ssl.SSLSocket)
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
        assert client.list_folders()
    finally:
        client.quiet_logout()
    assert (mode == "starttls") == any(line.endswith("STARTTLS") for line in lines)


@pytest.mark.parametrize("mode", MODES)
def test_the_ca_is_needed(good: DovecotUser, tls_certs: CertSet, mode: str) -> None:
    """Without sslcacertfile the test CA is unknown: the system store alone decides."""
    text = _refusal(_settings(good, mode))
    match = REFUSAL.match(text)
    assert match, text
    assert match["sha256"] == tls_certs.good.sha256
    assert "unable to get local issuer certificate" in match["reason"]


# -- untrusted certificates: refused in one line, accepted once pinned ------------


@pytest.mark.parametrize("mode", MODES)
def test_self_signed_refused_then_pinned(
    self_signed: DovecotUser, tls_certs: CertSet, mode: str
) -> None:
    port = self_signed.server.imaps_port if mode == "imaps" else self_signed.port
    text = _refusal(_settings(self_signed, mode, cafile=tls_certs.ca))
    match = REFUSAL.match(text)
    assert match, text
    assert match["where"] == f"127.0.0.1:{port}"
    assert "self-signed certificate" in match["reason"]
    assert match["sha256"] == tls_certs.self_signed.sha256
    pin = (match["sha256"],)  # what the user copies from the message
    assert _works(_settings(self_signed, mode, cafile=tls_certs.ca, cert_fingerprints=pin))


@pytest.mark.parametrize("mode", MODES)
def test_wrong_host_refused_then_pinned(
    wrong_host: DovecotUser, tls_certs: CertSet, mode: str
) -> None:
    text = _refusal(_settings(wrong_host, mode, cafile=tls_certs.ca))
    match = REFUSAL.match(text)
    assert match, text
    assert match["where"].startswith("127.0.0.1:")
    assert "mismatch" in match["reason"] and "127.0.0.1" in match["reason"]
    assert match["sha256"] == tls_certs.wrong_host.sha256
    cert = tls_certs.wrong_host
    for pin in (cert.sha256, cert.sha256_colons, cert.sha1):
        assert _works(_settings(wrong_host, mode, cafile=tls_certs.ca, cert_fingerprints=(pin,)))


def test_a_pin_replaces_the_ca_and_a_wrong_pin_is_refused(
    good: DovecotUser, tls_certs: CertSet
) -> None:
    wrong = ("ab" * 32,)
    text = _refusal(_settings(good, "imaps", cafile=tls_certs.ca, cert_fingerprints=wrong))
    assert "matches no pinned fingerprint" in text and tls_certs.good.sha256 in text
    assert f"127.0.0.1:{good.server.imaps_port}" in text
    text = _refusal(_settings(good, "starttls", cert_fingerprints=("abc",)))
    assert "neither a SHA-256 nor a SHA-1" in text
    assert _works(_settings(good, "starttls", cert_fingerprints=(tls_certs.good.sha256,)))


@pytest.mark.parametrize("mode", MODES)
def test_verification_off_only_when_asked(self_signed: DovecotUser, mode: str) -> None:
    assert _works(_settings(self_signed, mode, verify=False))


def test_imaps_to_a_plain_port_fails_cleanly(good: DovecotUser) -> None:
    text = _refusal(good.settings(ssl=True, port=good.port))
    assert text.startswith(f"remote: TLS handshake with 127.0.0.1:{good.port} failed: ")
    assert text.endswith("(is that port really IMAPS?)")


# -- a man in the middle on the plain port ----------------------------------------


def _secrets_in(data: bytes, user: DovecotUser) -> list[bytes]:
    """Login commands or the password (plain, or base64 in a SASL PLAIN response)."""
    plain = base64.b64encode(f"\0{user.user}\0{user.password}".encode())
    words = [b"LOGIN", b"AUTHENTICATE", user.password.encode(), plain]
    return [word for word in words if word.lower() in data.lower()]


def test_mitm_stripping_starttls_gets_no_password(good: DovecotUser, tls_certs: CertSet) -> None:
    with ImapMitm(good.port, strip_starttls=True) as mitm:
        settings = _settings(good, "starttls", cafile=tls_certs.ca, port=mitm.port)
        text = _refusal(settings)
    assert text == (
        f"remote: 127.0.0.1:{mitm.port} does not offer STARTTLS (or something on the way "
        "removed it); refusing to continue unencrypted (use ssl for IMAPS, or turn "
        "starttls off explicitly)"
    )
    assert b"STARTTLS" in mitm.from_server  # the server did offer it: the proxy hid it
    assert mitm.from_client, "the client spoke to the proxy"
    assert _secrets_in(bytes(mitm.from_client), good) == []


def test_mitm_refusing_starttls_gets_no_password(good: DovecotUser, tls_certs: CertSet) -> None:
    with ImapMitm(good.port, refuse_starttls=True) as mitm:
        text = _refusal(_settings(good, "starttls", cafile=tls_certs.ca, port=mitm.port))
    assert text.startswith(f"remote: STARTTLS with 127.0.0.1:{mitm.port} failed (")
    assert text.endswith("); refusing to continue unencrypted")
    assert b"STARTTLS" in mitm.from_client
    assert _secrets_in(bytes(mitm.from_client), good) == []


def test_through_a_relay_the_password_is_inside_tls(good: DovecotUser, tls_certs: CertSet) -> None:
    """The same proxy, passing everything on: STARTTLS works and hides the login."""
    with ImapMitm(good.port) as mitm:
        assert _works(_settings(good, "starttls", cafile=tls_certs.ca, port=mitm.port))
    assert b"STARTTLS" in mitm.from_client
    assert _secrets_in(bytes(mitm.from_client), good) == []


# -- the oldest TLS version accepted ---------------------------------------------------


class _OldTlsDovecot(ThrowawayDovecot):
    """Dovecot whose OpenSSL speaks TLS 1.0 and 1.1 only, playing an outdated server."""

    openssl_conf = ""

    def _ssl_config(self) -> str:
        return super()._ssl_config() + (
            "ssl_min_protocol = TLSv1\n"
            "ssl_cipher_list = DEFAULT:@SECLEVEL=0\n"
            f"import_environment = $import_environment OPENSSL_CONF={self.openssl_conf}\n"
        )


_MAX_TLS_1_1 = """\
openssl_conf = blinken_test
[blinken_test]
ssl_conf = ssl_section
[ssl_section]
system_default = system_default_section
[system_default_section]
MaxProtocol = TLSv1.1
CipherString = DEFAULT:@SECLEVEL=0
"""


@pytest.fixture(scope="module")
def old_tls(tls_certs: CertSet) -> Iterator[DovecotUser]:
    conf = Path(tls_certs.ca).with_name("max-tls-1.1.cnf")
    conf.write_text(_MAX_TLS_1_1)
    server = _OldTlsDovecot(tls=tls_certs.good.files)
    server.openssl_conf = str(conf)
    try:
        server.start()
    except DovecotMissing as exc:
        dovecot_unavailable(str(exc))
    try:
        yield new_user(server)
    finally:
        server.stop()


@pytest.mark.parametrize("mode", MODES)
def test_tls_older_than_1_2_is_refused_by_default(
    old_tls: DovecotUser, tls_certs: CertSet, mode: str
) -> None:
    text = _refusal(_settings(old_tls, mode, cafile=tls_certs.ca))
    assert text.startswith("remote: TLS handshake with 127.0.0.1:")
    assert text.endswith("(the server speaks only TLS 1.1; blinken accepts TLS 1.2 or newer)")


@pytest.mark.parametrize("mode", MODES)
def test_tls_1_1_when_the_user_allows_it(
    old_tls: DovecotUser, tls_certs: CertSet, mode: str
) -> None:
    settings = _settings(old_tls, mode, cafile=tls_certs.ca, tls_min_version=ssl.TLSVersion.TLSv1_1)
    client = connect(settings)
    try:
        sock = client._imap.sock
        assert isinstance(sock, ssl.SSLSocket) and sock.version() == "TLSv1.1"
    finally:
        client.quiet_logout()


# -- the command line ---------------------------------------------------------------


def _tls_config(tmp_path: Path, user: DovecotUser, lines: str) -> Path:
    config = write_config(tmp_path, user)
    text = config.read_text().replace("ssl = no\nstarttls = no\n", lines)
    config.write_text(
        text.replace(f"remoteport = {user.port}", f"remoteport = {user.server.imaps_port}")
    )
    return config


def test_cli_syncs_over_imaps_with_the_test_ca(
    tmp_path: Path, good: DovecotUser, tls_certs: CertSet
) -> None:
    good.client().append("INBOX", message("INBOX", 1))
    config = _tls_config(tmp_path, good, f"ssl = yes\nsslcacertfile = {tls_certs.ca}\n")

    done = blinken("-c", str(config), "-o", "-u", "basic")

    assert len(local_bodies(tmp_path / "Mail", "INBOX")) == 1
    assert "Traceback" not in done.stdout + done.stderr


def test_cli_refuses_a_self_signed_server_in_one_line(
    tmp_path: Path, self_signed: DovecotUser, tls_certs: CertSet
) -> None:
    config = _tls_config(tmp_path, self_signed, "ssl = yes\n")

    done = blinken("-c", str(config), "-o", "-u", "basic", check=False)

    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    expected = (
        f"Remote: TLS certificate of 127.0.0.1:{self_signed.server.imaps_port} not trusted "
        f"(self-signed certificate); SHA-256 fingerprint {tls_certs.self_signed.sha256} "
        "(pin it to trust this certificate)"
    )
    lines = [line for line in output.splitlines() if tls_certs.self_signed.sha256 in line]
    assert lines and all(expected in line for line in lines), output  # never split
    assert self_signed.password not in output
