"""TLS options from the config, and the engine's TLS policy, without a server.

The handshakes themselves are tested against Dovecot in
tests/integration/test_tls.py; here: what each option turns into, which
warnings and errors the user sees, and what the SSLContext enforces.
"""

from __future__ import annotations

import hashlib
import ssl
import warnings
from pathlib import Path

import pytest

from blinken.config import Config, ConfigError, parse_config
from engine import imap_tls
from engine.errors import AccountError, ConnectionFailed
from engine.imap_connect import is_loopback
from engine.settings import ImapSettings
from tests.unit.configs import MINIMAL_CONFIG

SOURCE = "test.rc"
CONFIG = MINIMAL_CONFIG
V = ssl.TLSVersion


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path)}


def parse(env: dict[str, str], *lines: str) -> Config:
    text = CONFIG + "".join(line + "\n" for line in lines)
    return parse_config(text, SOURCE, env=env)


def remote(env: dict[str, str], *lines: str) -> ImapSettings:
    settings = parse(env, *lines).accounts["A"].settings.remote
    assert isinstance(settings, ImapSettings)
    return settings


def error_of(env: dict[str, str], *lines: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse(env, *lines)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- the config file -------------------------------------------------------------------


def test_defaults_verify_everything_over_tls_1_2(env: dict[str, str]) -> None:
    config = parse(env)
    settings = config.accounts["A"].settings.remote
    assert isinstance(settings, ImapSettings)
    assert (settings.ssl, settings.starttls, settings.verify) == (True, True, True)
    assert settings.tls_min_version == V.TLSv1_2
    assert (settings.cafile, settings.cert_fingerprints) == (None, ())
    assert config.warnings == []


@pytest.mark.parametrize(
    ("written", "minimum", "warned"),
    [
        ("tls1_2", V.TLSv1_2, False),
        ("TLSv1.3", V.TLSv1_3, False),
        ("tls1_3", V.TLSv1_3, False),
        ("ssl23", V.TLSv1_2, False),  # OfflineIMAP's "negotiate": our default
        ("tls1.1", V.TLSv1_1, True),
        ("tls1", V.TLSv1, True),
    ],
)
def test_ssl_version_sets_the_minimum(
    env: dict[str, str], written: str, minimum: ssl.TLSVersion, warned: bool
) -> None:
    config = parse(env, f"ssl_version = {written}")
    assert config.accounts["A"].settings.remote.tls_min_version == minimum  # type: ignore[union-attr]
    deprecated = [w for w in config.warnings if "deprecated (RFC 8996)" in w]
    assert bool(deprecated) == warned
    assert not any("not supported yet" in w for w in config.warnings)


@pytest.mark.parametrize(
    ("lines", "minimum"),
    [
        (("tls_level = tls_secure",), V.TLSv1_2),
        (("tls_level = tls_no_ssl",), V.TLSv1),
        (("tls_level = tls_compat",), V.TLSv1),
        (("tls_level = tls_compat", "ssl_version = ssl23"), V.TLSv1),
        (("tls_level = tls_compat", "ssl_version = tls1_2"), V.TLSv1_2),
    ],
)
def test_tls_level_sets_the_floor(
    env: dict[str, str], lines: tuple[str, ...], minimum: ssl.TLSVersion
) -> None:
    assert remote(env, *lines).tls_min_version == minimum


def test_lowered_minimum_is_warned_about(env: dict[str, str]) -> None:
    assert parse(env, "tls_level = tls_compat").warnings == [
        "[Repository R] tls_level: TLS 1.0 and newer are accepted; versions older than "
        "TLS 1.2 are deprecated (RFC 8996)"
    ]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (("ssl_version = ssl3",), "[Repository R] ssl_version: 'ssl3': SSL 2 and 3 are broken"),
        (("ssl_version = tls9",), "[Repository R] ssl_version: 'tls9' is not one of tls1,"),
        (("tls_level = paranoid",), "[Repository R] tls_level: 'paranoid' is not one of"),
        (
            ("tls_level = tls_secure", "ssl_version = tls1"),
            "[Repository R] ssl_version: TLS 1.0 is older than tls_level allows (TLS 1.2)",
        ),
    ],
)
def test_bad_versions_are_one_line(
    env: dict[str, str], lines: tuple[str, ...], expected: str
) -> None:
    assert expected in error_of(env, *lines)


def test_sha1_pin_is_accepted_with_a_deprecation_warning(env: dict[str, str]) -> None:
    sha1 = "AB:" * 19 + "CD"
    config = parse(env, f"cert_fingerprint = {'12' * 32}, {sha1}")
    settings = config.accounts["A"].settings.remote
    assert settings.cert_fingerprints == ("12" * 32, "ab" * 19 + "cd")  # type: ignore[union-attr]
    assert config.warnings == [
        "[Repository R] cert_fingerprint abababab...: SHA-1 fingerprints are deprecated; "
        "pin the certificate's SHA-256 fingerprint instead"
    ]
    assert parse(env, f"cert_fingerprint = {'12' * 32}").warnings == []


def test_ssl_verify_no_is_not_enough(env: dict[str, str]) -> None:
    message = error_of(env, "ssl_verify = no")
    assert message.startswith("config test.rc: [Repository R] ssl_verify: 'no' is not enough")
    assert "tls_insecure_skip_verify = yes" in message and "cert_fingerprint" in message
    assert remote(env, "ssl_verify = yes").verify is True


def test_verification_off_needs_the_loud_option_and_warns(env: dict[str, str]) -> None:
    config = parse(env, "tls_insecure_skip_verify = yes")
    assert config.accounts["A"].settings.remote.verify is False  # type: ignore[union-attr]
    assert config.warnings == [
        "[Repository R] tls_insecure_skip_verify = yes: the server's certificate is NOT "
        "checked; anyone on the network path can read your password and mail"
    ]
    assert remote(env, "tls_insecure_skip_verify = no").verify is True


def test_tls_options_without_tls_are_pointed_out(env: dict[str, str], tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read at load time")
    lines = ("ssl = no", "starttls = no", f"sslcacertfile = {ca}")
    assert any("TLS options are not used" in w for w in parse(env, *lines).warnings)


def test_sslcacertfile_must_exist(env: dict[str, str]) -> None:
    assert "sslcacertfile: no such file" in error_of(env, "sslcacertfile = ~/nope.pem")
    assert remote(env, "sslcacertfile = OS-DEFAULT").cafile is None


# -- the engine's policy ------------------------------------------------------------------


def _imap(**overrides: object) -> ImapSettings:
    return ImapSettings(name="remote", host="imap.example.org", **overrides)  # type: ignore[arg-type]


def test_context_verifies_chain_and_host_over_tls_1_2_by_default() -> None:
    context = imap_tls.make_context(_imap(), ())
    assert context.minimum_version == V.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_pins_or_the_loud_option_replace_the_chain_check() -> None:
    pins = imap_tls.parse_pins(_imap(cert_fingerprints=("ab" * 32,)))
    for context in (
        imap_tls.make_context(_imap(), pins),
        imap_tls.make_context(_imap(verify=False), ()),
    ):
        assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname
        assert context.minimum_version == V.TLSv1_2  # but never an older TLS


def test_a_lowered_minimum_is_honoured_quietly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        context = imap_tls.make_context(_imap(tls_min_version=V.TLSv1_1), ())
    assert context.minimum_version == V.TLSv1_1


def test_unreadable_ca_file_is_an_account_error(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("no certificate here")
    with pytest.raises(ConnectionFailed, match=f"^remote: cannot load CA file {bad}: ") as info:
        imap_tls.make_context(_imap(cafile=str(bad)), ())
    assert isinstance(info.value, AccountError) and "\n" not in str(info.value)


def test_pins_are_parsed_and_checked() -> None:
    der = b"not really a certificate"
    sha256, sha1 = hashlib.sha256(der).hexdigest(), hashlib.sha1(der).hexdigest()
    colons = ":".join(sha256[i : i + 2] for i in range(0, 64, 2)).upper()
    for pin in (sha256, colons, sha1):
        imap_tls.check_pins(_imap(), 993, imap_tls.parse_pins(_imap(cert_fingerprints=(pin,))), der)
    other = imap_tls.parse_pins(_imap(cert_fingerprints=("ab" * 32,)))
    with pytest.raises(ConnectionFailed) as info:
        imap_tls.check_pins(_imap(), 993, other, der)
    assert str(info.value) == (
        "remote: TLS certificate of imap.example.org:993 not trusted (it matches no pinned "
        f"fingerprint); SHA-256 fingerprint {sha256}"
    )
    with pytest.raises(ConnectionFailed, match="neither a SHA-256 nor a SHA-1"):
        imap_tls.parse_pins(_imap(cert_fingerprints=("xyz",)))


def _ssl_error(reason: str) -> ssl.SSLError:
    exc = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower()}")
    exc.reason = reason
    return exc


@pytest.mark.parametrize(
    ("reason", "seen", "hint"),
    [
        ("UNEXPECTED_EOF_WHILE_READING", "TLSv1.1", " (the server speaks only TLS 1.1; "),
        ("UNSUPPORTED_PROTOCOL", None, " (the server speaks no TLS version blinken accepts"),
        ("WRONG_VERSION_NUMBER", None, " (is that port really IMAPS?)"),
        ("UNEXPECTED_EOF_WHILE_READING", "TLSv1.3", ""),
    ],
)
def test_handshake_failures_say_why(reason: str, seen: str | None, hint: str) -> None:
    exc = _ssl_error(reason)
    text = str(imap_tls.handshake_failure(_imap(), "imap.example.org:993", exc, seen))
    assert text.startswith(f"remote: TLS handshake with imap.example.org:993 failed: {reason}")
    assert text.endswith(reason) if not hint else hint in text


def test_verification_failure_is_one_line_with_the_fingerprint() -> None:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "Hostname mismatch, certificate is not valid for 'imap.example.org'."
    text = str(imap_tls.verification_failure(_imap(), 993, exc, b"cert"))
    assert text == (
        "remote: TLS certificate of imap.example.org:993 not trusted (Hostname mismatch, "
        "certificate is not valid for 'imap.example.org'); SHA-256 fingerprint "
        f"{hashlib.sha256(b'cert').hexdigest()} (pin it to trust this certificate)"
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost", True),
        ("10.0.0.1", False),
        ("imap.example.org", False),
        ("localhost.example.org", False),
        ("::ffff:10.0.0.1", False),
    ],
)
def test_loopback_hosts_may_get_plain_login(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
