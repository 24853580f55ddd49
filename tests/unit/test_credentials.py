"""Passwords and tokens: the config's sources, the keyring, the prompt, and the login choice.

The keyring here is an in-memory backend; tests/integration/test_credentials.py
uses a real Secret Service.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend

from blinken import credentials, maintenance
from blinken.config import Account, ConfigCallError, ConfigError, load_config, parse_config
from blinken.config_auth import CommandSecret
from blinken.config_values import Override
from blinken.credentials import keyring_user, with_password
from engine import imap_auth
from engine.errors import AuthenticationError
from engine.events import Event, Log, PasswordRequest
from engine.settings import ImapSettings
from tests.unit.configs import MINIMAL_CONFIG

SOURCE = "test.rc"
CONFIG = MINIMAL_CONFIG


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.fail_with: Exception | None = None

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


class Frontend:
    """An emit that records events and answers password requests from a script."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, PasswordRequest):
            event.reply.answer(self.answers.pop(0))

    @property
    def questions(self) -> list[str]:
        return [e.prompt for e in self.events if isinstance(e, PasswordRequest)]

    @property
    def logs(self) -> list[str]:
        return [e.message for e in self.events if isinstance(e, Log)]


def imap(**overrides: Any) -> ImapSettings:
    return replace(ImapSettings(name="R", host="imap.example.org", user="me"), **overrides)


def asked(
    frontend: Frontend, can_prompt: bool = True, **overrides: Any
) -> Any:  # the password source with_password added
    source = with_password(imap(**overrides), "A", frontend, can_prompt).password
    assert source is not None
    return source


# --- keyring, then the prompt ------------------------------------------------


def test_keyring_names_service_and_user() -> None:
    assert credentials.KEYRING_SERVICE == "blinken"
    assert keyring_user(imap()) == "me@imap.example.org"
    assert keyring_user(imap(host="", tunnel="ssh x imapd")) == "me@R"


def test_keyring_password_is_used_without_asking(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.entries[("blinken", "me@imap.example.org")] = "from-keyring"
    frontend = Frontend()
    source = asked(frontend)
    assert source() == "from-keyring"
    source.accepted()
    assert frontend.events == []  # nothing asked, nothing offered


def test_without_prompt_the_account_fails_with_one_clear_line(
    memory_keyring: MemoryKeyring,
) -> None:
    frontend = Frontend()
    with pytest.raises(AuthenticationError) as caught:
        asked(frontend, can_prompt=False)()
    text = str(caught.value)
    assert "\n" not in text
    assert "no password for me@imap.example.org (R)" in text
    assert "remotepasscmd" in text and "blinken --store-password A" in text
    assert frontend.events == []


def test_typed_password_is_offered_to_the_keyring_after_it_worked(
    memory_keyring: MemoryKeyring,
) -> None:
    frontend = Frontend("typed secret", "y")
    source = asked(frontend)
    assert source() == "typed secret"
    assert source() == "typed secret"  # asked once per run
    assert len(frontend.questions) == 1
    assert memory_keyring.entries == {}  # not before the server said yes
    source.accepted()
    source.accepted()  # another connection logged in: no second offer
    assert len(frontend.questions) == 2
    assert "Keep the password for me@imap.example.org (R) in the keyring?" in frontend.questions[1]
    assert memory_keyring.entries == {("blinken", "me@imap.example.org"): "typed secret"}
    assert frontend.logs == [
        "stored the password for me@imap.example.org in the keyring (service blinken)"
    ]
    assert all("typed secret" not in repr(e) for e in frontend.events)


@pytest.mark.parametrize("answer", [None, "", "n", "no thanks"])
def test_declining_the_offer_stores_nothing(
    memory_keyring: MemoryKeyring, answer: str | None
) -> None:
    frontend = Frontend("typed", answer)
    source = asked(frontend)
    source()
    source.accepted()
    assert memory_keyring.entries == {}
    assert frontend.logs == []


def test_keyring_store_yes_and_no_do_not_ask(memory_keyring: MemoryKeyring) -> None:
    never = Frontend("typed")
    source = asked(never, keyring_store="no")
    source()
    source.accepted()
    assert len(never.questions) == 1 and memory_keyring.entries == {}

    always = Frontend("typed")
    source = asked(always, keyring_store="yes")
    source()
    source.accepted()
    assert len(always.questions) == 1
    assert memory_keyring.entries == {("blinken", "me@imap.example.org"): "typed"}


def test_a_refused_password_is_never_stored(memory_keyring: MemoryKeyring) -> None:
    frontend = Frontend("wrong")
    source = asked(frontend, keyring_store="yes")
    source()
    assert source.refused() == ""
    assert memory_keyring.entries == {}


def test_a_refused_keyring_password_says_where_it_came_from(
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.entries[("blinken", "me@imap.example.org")] = "stale"
    source = asked(Frontend())
    source()
    hint = source.refused()
    assert "came from the keyring (service blinken, user me@imap.example.org)" in hint
    assert "blinken --store-password A" in hint and "stale" not in hint


def test_cancelled_prompt_is_an_authentication_error(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(AuthenticationError, match=r"no password given for me@imap\.example\.org"):
        asked(Frontend(None))()


def test_a_keyring_that_cannot_store_is_a_warning_without_the_secret(
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.fail_with = RuntimeError("locked; tried to store hunter2")
    frontend = Frontend("hunter2", "y")
    source = asked(frontend)
    source()
    source.accepted()
    assert frontend.logs == [
        "keyring: cannot store the password for me@imap.example.org: RuntimeError"
    ]


def test_no_keyring_backend_means_not_stored(memory_keyring: MemoryKeyring) -> None:
    keyring.set_keyring(Broken())
    assert credentials.keyring_password(imap()) is None


class Broken(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("no D-Bus")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("no D-Bus")


def test_which_settings_get_keyring_and_prompt() -> None:
    emit = Frontend()
    configured = imap(password=lambda: "x")
    assert with_password(configured, "A", emit, True) is configured
    token = imap(oauth2_token=lambda: "t")
    assert with_password(token, "A", emit, True) is token  # the token is the credential
    preauth = imap(tunnel="ssh host imapd")
    assert with_password(preauth, "A", emit, True) is preauth  # no login at all
    transport = imap(tunnel="ssh host nc imap 143", tunnel_preauth=False)
    source = with_password(transport, "A", emit, True).password
    assert source is not None and "keyring or prompt" in repr(source)


# --- --store-password ----------------------------------------------------------


def _account(tmp_path: Path, extra: str = "") -> Account:
    path = tmp_path / "rc"
    path.write_text(CONFIG + extra)
    path.chmod(0o600)
    return load_config(path, env={"HOME": str(tmp_path)}).accounts["A"]


def test_store_password_reads_stdin_without_a_terminal(
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret pass\nignored\n"))
    assert maintenance.store_password([_account(tmp_path)]) == 0
    assert memory_keyring.entries == {("blinken", "me@imap.example.org"): "s3cret pass"}
    out = capsys.readouterr()
    assert "stored the password for me@imap.example.org in the keyring (service blinken)" in (
        out.out
    )
    assert "s3cret" not in out.out + out.err

    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert maintenance.store_password([_account(tmp_path)]) == 1
    assert "no password given" in capsys.readouterr().err


def test_store_password_notes_a_password_in_the_config(
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    account = _account(tmp_path, "remotepasscmd = pass show mail\n")
    assert maintenance.store_password([account]) == 0
    assert "the keyring is used only without it" in capsys.readouterr().out


def test_store_password_failure_is_one_line(
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    memory_keyring.fail_with = RuntimeError("Prompt dismissed.")
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    assert maintenance.store_password([_account(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "blinken: keyring: cannot store the password: Prompt dismissed.\n"
    )


# --- remotepasscmd and the token command -----------------------------------------


def command(text: str) -> CommandSecret:
    return CommandSecret(text, "config x: [Repository R] remotepasscmd")


def test_command_gives_its_first_line() -> None:
    assert command("printf ' pass word \\r\\nsecond\\n'")() == " pass word "
    assert command("printf 'p\\303\\244ss'")() == "päss"
    assert "printf" not in repr(command("printf secret"))


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        (
            "echo top-secret-cmd >/dev/null; echo 'gpg: decryption failed' >&2; exit 3",
            "config x: [Repository R] remotepasscmd: the command failed (exit status 3): "
            "gpg: decryption failed",
        ),
        ("true", "config x: [Repository R] remotepasscmd: the command printed no password"),
        ("printf '\\377'", "config x: [Repository R] remotepasscmd: the command's output is not"),
        (
            "kill -9 $$",
            "config x: [Repository R] remotepasscmd: the command failed (killed by signal 9)",
        ),
    ],
)
def test_command_failures_are_one_line_naming_the_repository(shell: str, expected: str) -> None:
    with pytest.raises(ConfigCallError) as caught:
        command(shell)()
    text = str(caught.value)
    assert text.startswith(expected)
    assert "\n" not in text and "top-secret-cmd" not in text


def test_command_that_hangs_is_stopped() -> None:
    slow = command("sleep 30 & sleep 30")
    slow.timeout = 0.5
    started = time.monotonic()
    with pytest.raises(ConfigCallError, match=r"the command gave no password within 0\.5s"):
        slow()
    assert time.monotonic() - started < 10


def test_command_runs_at_each_login(tmp_path: Path) -> None:
    counter = tmp_path / "n"
    source = command(f"echo x >> {counter}; wc -l < {counter}")
    assert [source(), source()] == ["1", "2"]  # tokens expire: never cached


# --- the config options ---------------------------------------------------------


def parse(extra: str, env: dict[str, str] | None = None) -> tuple[ImapSettings, list[str]]:
    config = parse_config(CONFIG + extra, SOURCE, env=env or {"HOME": "/home/u"})
    remote = config.accounts["A"].settings.remote
    assert isinstance(remote, ImapSettings)
    return remote, config.warnings


def test_password_options_in_order() -> None:
    remote, warnings = parse("remotepasscmd = echo from-cmd\n")
    assert warnings == [] and isinstance(remote.password, CommandSecret)
    assert remote.password() == "from-cmd"
    remote, warnings = parse("remotepasscmd = echo cmd\nremotepass = inline\n")
    assert warnings == [
        "[Repository R] several passwords given (remotepass, remotepasscmd); using remotepass"
    ]
    assert remote.password is not None and remote.password() == "inline"
    remote, warnings = parse("remotepasscmd = echo cmd\nremotepassfile = ~/pw\n")
    assert "using remotepassfile" in warnings[0]


def test_oauth2_options() -> None:
    remote, warnings = parse(
        "oauth2_access_token_cmd = echo tok\nauth_mechanisms = GSSAPI, XOAUTH2, CRAM-MD5, "
        "PLAIN, LOGIN\n"
    )
    assert remote.oauth2_token is not None and remote.oauth2_token() == "tok"
    assert remote.password is None
    assert remote.auth_mechanisms == ("XOAUTH2", "PLAIN", "LOGIN")
    assert warnings == [
        "[Repository R] auth_mechanisms: GSSAPI, CRAM-MD5 not supported (skipped); "
        "blinken knows XOAUTH2, OAUTHBEARER, PLAIN, LOGIN"
    ]
    # not a hex string: the repr holds function addresses, and "abc" was once among them
    remote, _ = parse("oauth2_access_token = token-xyz\n")
    assert remote.oauth2_token is not None and remote.oauth2_token() == "token-xyz"
    assert "token-xyz" not in repr(remote)
    remote, _ = parse("oauth2_access_token_eval = 'e' + 'val'\n")
    assert remote.oauth2_token is not None and remote.oauth2_token() == "eval"


def test_defaults_of_the_auth_options() -> None:
    remote, warnings = parse("")
    assert remote.auth_mechanisms == () and remote.oauth2_token is None
    assert remote.keyring_store == "ask" and remote.tunnel_preauth is True
    assert warnings == []


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("auth_mechanisms = GSSAPI\n", "auth_mechanisms: names none of XOAUTH2, OAUTHBEARER"),
        ("keyring_store = maybe\n", "keyring_store: 'maybe' is not ask, yes or no"),
        (
            "preauthtunnel = a\ntransporttunnel = b\n",
            "transporttunnel: set either preauthtunnel or transporttunnel",
        ),
    ],
)
def test_auth_option_errors(extra: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(extra)
    assert f"config {SOURCE}: [Repository R] {expected}" in str(caught.value)


def test_tunnels_and_keyring_store() -> None:
    remote, _ = parse("transporttunnel = ssh host nc localhost 143\nkeyring_store = no\n")
    assert remote.tunnel == "ssh host nc localhost 143" and remote.tunnel_preauth is False
    assert remote.keyring_store == "no"
    remote, _ = parse("preauthtunnel = ssh host /usr/lib/dovecot/imap\nkeyring_store = yes\n")
    assert remote.tunnel_preauth is True and remote.keyring_store == "yes"


def test_a_token_is_a_secret_in_messages_and_file_modes(tmp_path: Path) -> None:
    assert Override("Repository R", "oauth2_access_token", "abc").display().endswith("=***")
    path = tmp_path / "rc"
    path.write_text(CONFIG + "oauth2_access_token = abc\n")
    path.chmod(0o640)
    warnings = load_config(path, env={"HOME": str(tmp_path)}).warnings
    assert warnings == [
        "config ~/rc holds oauth2_access_token and is readable by other users; run: chmod 600 ~/rc"
    ]


# --- which mechanism ----------------------------------------------------------------

DOVECOT = frozenset({"IMAP4REV1", "SASL-IR", "AUTH=PLAIN", "AUTH=LOGIN"})
OAUTH = DOVECOT | {"AUTH=XOAUTH2", "AUTH=OAUTHBEARER"}


def pw() -> str:
    return "pw"


@pytest.mark.parametrize(
    ("settings", "server", "expected"),
    [
        (imap(password=pw), DOVECOT, "PLAIN"),
        (imap(password=pw), frozenset({"IMAP4REV1"}), "LOGIN"),
        (imap(password=pw, auth_mechanisms=("LOGIN", "PLAIN")), DOVECOT, "LOGIN"),
        (imap(password=pw, oauth2_token=pw), OAUTH, "XOAUTH2"),
        (imap(password=pw, oauth2_token=pw), DOVECOT, "PLAIN"),
        (imap(oauth2_token=pw, auth_mechanisms=("OAUTHBEARER",)), OAUTH, "OAUTHBEARER"),
        (imap(password=pw, user="jürgen"), frozenset({"IMAP4REV1"}), None),
    ],
)
def test_mechanism_choice(settings: ImapSettings, server: frozenset[str], expected: str) -> None:
    if expected is None:
        with pytest.raises(AuthenticationError):
            imap_auth.choose(settings, server)
    else:
        assert imap_auth.choose(settings, server) == expected


def test_no_usable_mechanism_says_what_each_side_has() -> None:
    with pytest.raises(AuthenticationError) as caught:
        imap_auth.choose(imap(oauth2_token=pw), DOVECOT)
    assert str(caught.value) == (
        "R: cannot log in to imap.example.org: it offers LOGIN, PLAIN, none of which blinken "
        "can use with a token (auth_mechanisms: XOAUTH2, OAUTHBEARER, PLAIN, LOGIN)"
    )
    with pytest.raises(AuthenticationError, match="does not allow LOGIN on this connection"):
        imap_auth.choose(imap(password=pw), frozenset({"IMAP4REV1", "LOGINDISABLED"}))
    with pytest.raises(AuthenticationError, match="no password or OAuth2 token for 'me'"):
        imap_auth.choose(imap(), DOVECOT)


def test_preauthtunnel_without_preauth_is_explained() -> None:
    with pytest.raises(AuthenticationError, match="greeting was not PREAUTH"):
        imap_auth.authenticate(None, imap(tunnel="imapd"))


def test_sasl_initial_responses() -> None:
    assert imap_auth.initial_response("PLAIN", "me", "pä") == b"\0me\0p\xc3\xa4"
    assert imap_auth.initial_response("XOAUTH2", "me", "t") == b"user=me\x01auth=Bearer t\x01\x01"
    assert (
        imap_auth.initial_response("OAUTHBEARER", "a,b=c", "t")
        == b"n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01"
    )
