"""blinken.config: OfflineIMAP-format files into engine settings, and every way to get it wrong."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blinken.config import (
    Config,
    ConfigCallError,
    ConfigError,
    default_config_path,
    load_config,
    parse_config,
    select_accounts,
)
from blinken.config_values import (
    BadValue,
    parse_bool,
    parse_int,
    parse_override,
)
from engine.errors import AccountError
from engine.settings import ImapSettings, MaildirSettings
from tests.unit.configs import MINIMAL_CONFIG

TODAY = date(2024, 6, 15)
SOURCE = "test.rc"

# What an OfflineIMAP user really has: Courier-style names, lambdas using re,
# a helper from the pythonfile, interpolation from [DEFAULT].
OFFLINEIMAPRC = """\
[general]
accounts = Personal
maxsyncaccounts = 2
ui = Curses.Blinkenlights
fsync = false
metadata = ~/.offlineimap
pythonfile = PYTHONFILE
socktimeout = 30

[DEFAULT]
mailroot = ~/Mail

[mbnames]
enabled = no

[Account Personal]
localrepository = PersonalLocal
remoterepository = PersonalRemote
autorefresh = 2.5
quick = 10
maxage = 30
presynchook = imapfilter -c ~/.imapfilter/personal.lua
postsynchook = notmuch new
status_backend = sqlite

[Repository PersonalLocal]
type = Maildir
localfolders = %(mailroot)s/personal
sep = /
nametrans = lambda folder: re.sub('^Sent$', 'INBOX.Sent', folder)

[Repository PersonalRemote]
type = IMAP
remotehost = imap.example.org
remoteport = 993
remoteuser = me@example.org
remotepasseval = get_password("imap.example.org")
sslcacertfile = OS-DEFAULT
cert_fingerprint = AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01
maxconnections = 3
usecompression = yes
folderfilter = lambda folder: folder in [
    'INBOX', 'INBOX.Sent', 'INBOX.Archive']
nametrans = lambda folder: re.sub(r'^INBOX\\.', '', folder) if folder != 'INBOX' else folder
folderincludes = ['INBOX.Lists']
idlefolders = ['INBOX']
"""

PYTHONFILE = """\
PASSWORDS = {"imap.example.org": "s3cret"}

def get_password(host):
    return PASSWORDS[host]
"""

MINIMAL = MINIMAL_CONFIG


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "MAILDIR_ROOT": str(tmp_path / "maildirs")}


def parse(text: str, env: dict[str, str], overrides: tuple[str, ...] = ()) -> Config:
    return parse_config(text, SOURCE, overrides, env=env, today=TODAY)


def with_lines(text: str, section: str, *lines: str) -> str:
    """Insert option lines right after ``[section]``."""
    header = f"[{section}]\n"
    assert header in text
    return text.replace(header, header + "".join(line + "\n" for line in lines), 1)


def error_of(text: str, env: dict[str, str], overrides: tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, SOURCE, overrides, env=env, today=TODAY)
    message = str(info.value)
    assert "\n" not in message
    assert "Traceback" not in message
    return message


@pytest.fixture
def realistic(tmp_path: Path, env: dict[str, str]) -> str:
    pythonfile = tmp_path / "offlineimap.py"
    pythonfile.write_text(PYTHONFILE)
    return OFFLINEIMAPRC.replace("PYTHONFILE", str(pythonfile))


# --- a real offlineimaprc ------------------------------------------------------------


def test_realistic_offlineimaprc(realistic: str, env: dict[str, str], tmp_path: Path) -> None:
    config = parse_config(realistic, SOURCE, env=env, today=TODAY)
    assert config.general.accounts == ["Personal"]
    assert config.general.maxsyncaccounts == 2
    assert config.general.ui == "blinkenlights"
    assert config.general.fsync is False
    assert config.general.metadata == tmp_path / ".offlineimap"
    account = config.accounts["Personal"]
    assert (account.autorefresh, account.quick, account.maxage) == (2.5, 10, 30)
    assert account.postsynchook == "notmuch new"
    assert account.presynchook == "imapfilter -c ~/.imapfilter/personal.lua"
    assert (account.local_repository, account.remote_repository) == (
        "PersonalLocal",
        "PersonalRemote",
    )
    assert account.idlefolders == ("INBOX",)
    settings = account.settings
    assert settings.status_path == str(tmp_path / ".offlineimap" / "Personal.sqlite")
    assert settings.options.maxage_days == 30
    assert settings.options.fsync is False
    assert settings.options.mass_delete_fraction == 0.5
    assert len(config.warnings) == 1  # only the SHA-1 pin's deprecation
    assert "SHA-1 fingerprints are deprecated" in config.warnings[0]


def test_realistic_local_repository(realistic: str, env: dict[str, str], tmp_path: Path) -> None:
    local = parse(realistic, env).accounts["Personal"].settings.local
    assert isinstance(local, MaildirSettings)
    assert local.root == str(tmp_path / "Mail" / "personal")
    assert local.sep == "/"
    assert local.fsync is False
    assert local.rules.nametrans("Sent") == "INBOX.Sent"
    assert local.rules.nametrans("Drafts") == "Drafts"
    assert local.rules.folderfilter("anything")


def test_realistic_remote_repository(realistic: str, env: dict[str, str]) -> None:
    remote = parse(realistic, env).accounts["Personal"].settings.remote
    assert isinstance(remote, ImapSettings)
    assert (remote.host, remote.port, remote.user) == ("imap.example.org", 993, "me@example.org")
    assert remote.password is not None and remote.password() == "s3cret"
    assert "s3cret" not in repr(remote)
    assert (remote.ssl, remote.starttls, remote.verify, remote.cafile) == (True, True, True, None)
    assert remote.cert_fingerprints == ("abcdef0123456789abcdef0123456789abcdef01",)
    assert remote.maxconnections == 3 and remote.compress
    assert remote.timeout == 30.0
    rules = remote.rules
    kept = [
        f for f in ["INBOX", "INBOX.Sent", "INBOX.Trash", "INBOX.Archive"] if rules.folderfilter(f)
    ]
    assert kept == ["INBOX", "INBOX.Sent", "INBOX.Archive"]
    assert rules.nametrans("INBOX.Sent") == "Sent"
    assert rules.nametrans("INBOX") == "INBOX"
    assert rules.includes == ("INBOX.Lists",)


def test_defaults_of_a_minimal_config(env: dict[str, str], tmp_path: Path) -> None:
    config = parse_config(MINIMAL, SOURCE, env=env, today=TODAY)
    account = config.accounts["A"]
    remote = account.settings.remote
    assert isinstance(remote, ImapSettings)
    assert (remote.port, remote.ssl, remote.starttls, remote.password) == (None, True, True, None)
    assert (remote.readonly, remote.createfolders, remote.sync_deletes) == (False, True, True)
    assert remote.tunnel is None and remote.maxconnections == 1 and not remote.compress
    assert account.settings.local.sep == "."
    assert account.autorefresh is None and account.maxage is None
    assert account.mass_delete_guard == 50
    assert config.general.ui is None
    assert config.general.metadata == tmp_path / ".local" / "state" / "blinken"
    assert account.settings.status_path == str(tmp_path / ".local/state/blinken/A.sqlite")


def test_metadata_defaults_to_xdg_state_home(env: dict[str, str], tmp_path: Path) -> None:
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    config = parse_config(MINIMAL, SOURCE, env=env)
    assert config.general.metadata == tmp_path / "state" / "blinken"


def test_repository_flags_and_tls_options(env: dict[str, str], tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text("not checked here")
    text = with_lines(
        MINIMAL,
        "Repository R",
        "readonly = yes",
        "createfolders = False",
        "sync_deletes = off",
        "ssl = no",
        "starttls = yes",
        "remoteport = 143",
        f"sslcacertfile = {cafile}",
        "allow_plaintext_login = true",
        "preauthtunnel = ssh -q host imapd",
    )
    text = with_lines(text, "Repository L", "readonly = 1", "maildir-windows-compatible = yes")
    settings = parse(text, env).accounts["A"].settings
    remote, local = settings.remote, settings.local
    assert (remote.readonly, remote.createfolders, remote.sync_deletes) == (True, False, False)
    assert (remote.ssl, remote.starttls, remote.port) == (False, True, 143)
    assert remote.cafile == str(cafile)
    assert remote.allow_plaintext_login is True
    assert remote.tunnel == "ssh -q host imapd"
    assert local.readonly is True and local.windows_compatible is True


def test_account_level_windows_compatibility(env: dict[str, str]) -> None:
    text = with_lines(MINIMAL, "Account A", "maildir-windows-compatible = yes")
    assert parse(text, env).accounts["A"].settings.local.windows_compatible


def test_preauthtunnel_needs_no_host(env: dict[str, str]) -> None:
    text = MINIMAL.replace("remotehost = imap.example.org", "preauthtunnel = ssh mail imapd")
    remote = parse(text, env).accounts["A"].settings.remote
    assert remote.tunnel == "ssh mail imapd" and remote.host == ""


def test_gmail_types_map_to_imap_and_maildir_with_warnings(env: dict[str, str]) -> None:
    text = MINIMAL.replace("type = IMAP\nremotehost = imap.example.org\n", "type = Gmail\n")
    text = text.replace("type = Maildir", "type = GmailMaildir")
    config = parse(text, env)
    remote = config.accounts["A"].settings.remote
    assert isinstance(remote, ImapSettings) and remote.host == "imap.gmail.com" and remote.ssl
    assert isinstance(config.accounts["A"].settings.local, MaildirSettings)
    assert sum("Gmail labels are not supported" in w for w in config.warnings) == 2


def test_several_fingerprints(env: dict[str, str]) -> None:
    sha256 = ":".join(["Ab"] * 32)
    text = with_lines(MINIMAL, "Repository R", f"cert_fingerprint = {sha256}, {'1' * 40}")
    remote = parse(text, env).accounts["A"].settings.remote
    assert remote.cert_fingerprints == ("ab" * 32, "1" * 40)
    sha512 = with_lines(MINIMAL, "Repository R", f"cert_fingerprint = {'f' * 128}")
    assert "has 128 hex digits; give the certificate's SHA-256" in error_of(sha512, env)


def test_unencrypted_connection_warns_except_on_loopback(env: dict[str, str]) -> None:
    text = with_lines(MINIMAL, "Repository R", "ssl = no", "starttls = no")
    assert any("unencrypted" in w for w in parse(text, env).warnings)
    local = text.replace("imap.example.org", "127.0.0.1")
    assert not any("unencrypted" in w for w in parse(local, env).warnings)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("Curses.Blinkenlights", "blinkenlights"),
        ("blinkenlights", "blinkenlights"),
        ("TTY.TTYUI", "ttyui"),
        ("ttyui", "ttyui"),
        ("Noninteractive.Basic", "basic"),
        ("Noninteractive.Quiet", "quiet"),
        ("Machine.MachineUI", "machineui"),
        ("MACHINEUI", "machineui"),
        ("Curses.Blinkenlights, TTY.TTYUI, Noninteractive.Basic", "blinkenlights"),
        ("syslog, Noninteractive.Quiet", "quiet"),
    ],
)
def test_ui_names(written: str, canonical: str, env: dict[str, str]) -> None:
    config = parse(with_lines(MINIMAL, "general", f"ui = {written}"), env)
    assert config.general.ui == canonical


def test_ui_unknown_entries_are_skipped_with_a_warning(env: dict[str, str]) -> None:
    config = parse(with_lines(MINIMAL, "general", "ui = syslog, basic"), env)
    assert config.warnings == ["[general] ui: unknown interface 'syslog' (skipped)"]


# --- folder rules ------------------------------------------------------------------


def test_declarative_folder_filter(env: dict[str, str]) -> None:
    text = with_lines(
        MINIMAL,
        "Repository R",
        "folders_include = inbox*, [Gmail]/Sent Mail,",
        "    Lists/?ython",
        "folders_exclude = INBOX.Spam, *Trash*",
    )
    keep = parse(text, env).accounts["A"].settings.remote.rules.folderfilter
    assert keep("INBOX") and keep("Inbox") and keep("INBOX.Work") and keep("inbox.Sub")
    assert keep("[Gmail]/Sent Mail") and keep("Lists/python") and keep("Lists/Python")
    assert not keep("INBOX.Spam") and not keep("inbox.Spam") and not keep("INBOX.Trash")
    assert not keep("[Gmail]/Drafts") and not keep("G/Sent Mail")  # brackets are literal
    assert not keep("Lists/cpython") and not keep("Archive")
    assert not keep("Inboxes")  # INBOX only as a whole word


def test_declarative_exclude_alone_keeps_the_rest(env: dict[str, str]) -> None:
    text = with_lines(MINIMAL, "Repository L", "folders_exclude = Trash\n    Junk")
    keep = parse(text, env).accounts["A"].settings.local.rules.folderfilter
    assert keep("INBOX") and keep("Trash.old") and not keep("Trash") and not keep("Junk")


def test_folder_matching_is_case_sensitive_except_inbox(env: dict[str, str]) -> None:
    text = with_lines(MINIMAL, "Repository R", "folders_include = Work")
    keep = parse(text, env).accounts["A"].settings.remote.rules.folderfilter
    assert keep("Work") and not keep("work")


def test_nametrans_regex_rules_apply_in_order(env: dict[str, str]) -> None:
    text = with_lines(
        MINIMAL,
        "Repository R",
        r"nametrans_regex = ^INBOX\.(.+)$ -> \1",
        r"    ^Sent Items$ -> Sent",
        r"    \s+ -> _",
    )
    trans = parse(text, env).accounts["A"].settings.remote.rules.nametrans
    assert trans("INBOX.Work") == "Work"
    assert trans("INBOX.Sent Items") == "Sent"
    assert trans("My Lists") == "My_Lists"
    assert trans("INBOX") == "INBOX"


def test_nametrans_regex_may_replace_with_nothing(env: dict[str, str]) -> None:
    text = with_lines(MINIMAL, "Repository R", r"nametrans_regex = ^INBOX\. ->")
    trans = parse(text, env).accounts["A"].settings.remote.rules.nametrans
    assert trans("INBOX.Work") == "Work"


def test_folder_rules_see_pythonfile_helpers(tmp_path: Path, env: dict[str, str]) -> None:
    helper = tmp_path / "helpers.py"
    helper.write_text(
        "import re\nMAP = {'Sent': 'Sent Items'}\ndef keep(f):\n    return f in MAP\n"
    )
    text = with_lines(MINIMAL, "general", f"pythonfile = {helper}")
    text = with_lines(
        text, "Repository R", "folderfilter = keep", "nametrans = lambda f: MAP.get(f, f)"
    )
    rules = parse(text, env).accounts["A"].settings.remote.rules
    assert rules.folderfilter("Sent") and not rules.folderfilter("Trash")
    assert rules.nametrans("Sent") == "Sent Items"


def test_folderfilter_raising_during_sync_is_an_account_error(env: dict[str, str]) -> None:
    text = with_lines(MINIMAL, "Repository R", "folderfilter = lambda f: {'INBOX': True}[f]")
    keep = parse(text, env).accounts["A"].settings.remote.rules.folderfilter
    assert keep("INBOX")
    with pytest.raises(ConfigCallError) as info:
        keep("Trash")
    assert isinstance(info.value, AccountError)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("config test.rc: [Repository R] folderfilter: raised KeyError")
    assert "'Trash'" in message


def test_nametrans_returning_a_non_string_is_reported(env: dict[str, str]) -> None:
    text = with_lines(MINIMAL, "Repository L", "nametrans = lambda f: None if f == 'x' else f")
    trans = parse(text, env).accounts["A"].settings.local.rules.nametrans
    assert trans("y") == "y"
    with pytest.raises(ConfigCallError, match=r"\[Repository L\] nametrans: returned NoneType"):
        trans("x")


# --- passwords ---------------------------------------------------------------------


def test_remotepassfile_is_read_lazily(env: dict[str, str], tmp_path: Path) -> None:
    text = with_lines(MINIMAL, "Repository R", "remotepassfile = ~/secrets/imap")
    password = parse(text, env).accounts["A"].settings.remote.password
    with pytest.raises(ConfigCallError) as info:
        password()
    assert isinstance(info.value, AccountError)
    assert "[Repository R] remotepassfile: cannot read" in str(info.value)
    assert str(tmp_path / "secrets" / "imap") in str(info.value)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "imap").write_text("  hunter2  \nsecond line\n")
    assert password() == "hunter2"
    assert "hunter2" not in repr(password)


def test_remotepassfile_with_an_empty_first_line(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("\nlater\n")
    text = with_lines(MINIMAL, "Repository R", "remotepassfile = $HOME/pw")
    password = parse(text, env).accounts["A"].settings.remote.password
    with pytest.raises(ConfigCallError, match=r"first line .* is empty"):
        password()


def test_remotepass_literal_with_escaped_percent(env: dict[str, str]) -> None:
    text = with_lines(MINIMAL, "Repository R", "remotepass = my%%pass")
    remote = parse(text, env).accounts["A"].settings.remote
    assert remote.password() == "my%pass"
    assert "my%pass" not in repr(remote)


def test_remotepasseval_is_lazy_and_kept_once_it_worked(
    tmp_path: Path, env: dict[str, str]
) -> None:
    helper = tmp_path / "pw.py"
    helper.write_text(
        "CALLS = []\n"
        "def get_pw():\n"
        "    CALLS.append(1)\n"
        "    if len(CALLS) == 1:\n"
        "        raise KeyError('keyring locked')\n"
        "    return 'pw%d' % len(CALLS)\n"
    )
    text = with_lines(MINIMAL, "general", f"pythonfile = {helper}")
    text = with_lines(text, "Repository R", "remotepasseval = get_pw()")
    password = parse(text, env).accounts["A"].settings.remote.password
    assert password is not None
    with pytest.raises(ConfigCallError) as info:
        password()
    assert isinstance(info.value, AccountError)
    assert str(info.value) == (
        "config test.rc: [Repository R] remotepasseval: raised KeyError: 'keyring locked'"
    )
    assert password() == "pw2"
    assert password() == "pw2"


def test_remoteusereval_and_port_eval(env: dict[str, str]) -> None:
    text = MINIMAL.replace("remoteuser = me", "remoteusereval = 'me' + '@example.org'")
    text = with_lines(text, "Repository R", "remoteporteval = 990 + 3")
    remote = parse(text, env).accounts["A"].settings.remote
    assert (remote.user, remote.port) == ("me@example.org", 993)


# --- errors: one line, naming file, section and option --------------------------------

ERRORS = [
    ("Repository R", "remoteport = abc", "[Repository R] remoteport: 'abc' is not a whole number"),
    ("Repository R", "remoteport = 70000", "[Repository R] remoteport: 70000 is out of range"),
    ("Repository R", "ssl = maybe", "[Repository R] ssl: 'maybe' is not yes/no"),
    ("Repository R", "maxconnections = 0", "[Repository R] maxconnections: 0 is out of range"),
    ("Repository R", "cert_fingerprint = xyz", "[Repository R] cert_fingerprint: 'xyz' is not"),
    ("Repository R", "cert_fingerprint = abcd", "[Repository R] cert_fingerprint: 'abcd' has 4"),
    ("Repository R", "sslcacertfile = /no/such/ca.pem", "[Repository R] sslcacertfile: no such"),
    ("Repository R", "folderfilter = lambda f: f in [", "[Repository R] folderfilter: is not a"),
    ("Repository R", "folderfilter = ['INBOX']", "[Repository R] folderfilter: is a list, not a"),
    ("Repository R", "nametrans = no_such_function", "[Repository R] nametrans: raised NameError"),
    ("Repository R", "folderincludes = 'INBOX'", "[Repository R] folderincludes: must be a Python"),
    ("Repository R", "idlefolders = [1, 2]", "[Repository R] idlefolders: must be a Python list"),
    ("Repository R", "remotepasseval = get(", "[Repository R] remotepasseval: is not a valid"),
    ("Repository R", "remoteusereval = 1/0", "[Repository R] remoteusereval: raised ZeroDivision"),
    ("Repository R", "remoteporteval = 'x'", "[Repository R] remoteporteval: 'x' is not a whole"),
    ("Repository R", "nametrans_regex = ([ -> x", "[Repository R] nametrans_regex: '([ -> x':"),
    ("Repository R", r"nametrans_regex = a -> \2", "[Repository R] nametrans_regex: 'a -> \\\\2':"),
    ("Repository R", "nametrans_regex = INBOX", "[Repository R] nametrans_regex: 'INBOX' is not"),
    (
        "Repository R",
        "folders_include = a\nfolderfilter = lambda f: 1",
        "[Repository R] folderfilter: cannot be combined with folders_include",
    ),
    (
        "Repository R",
        "nametrans_regex = a -> b\nnametrans = lambda f: f",
        "[Repository R] nametrans: cannot be combined with nametrans_regex",
    ),
    ("Repository R", "type = POP3", "[Repository R] type: 'POP3' is not Maildir, IMAP"),
    (
        "Repository L",
        "localfolders = %(nowhere)s/Mail",
        "[Repository L] localfolders: %(nowhere)s names no option",
    ),
    ("Repository L", "localfolders = 100%/Mail", "[Repository L] localfolders: bad %-interp"),
    ("Repository L", "sep = ab", "[Repository L] sep: 'ab' is not a single separator"),
    ("Repository L", "type = IMAP", "[Repository L] remotehost: missing"),
    ("Account A", "maxage = 2024-02-30", "[Account A] maxage: '2024-02-30' is not a real date"),
    ("Account A", "maxage = 2030-01-01", "[Account A] maxage: 2030-01-01 is not in the past"),
    ("Account A", "maxage = soon", "[Account A] maxage: 'soon' is neither a number"),
    ("Account A", "maxage = 0", "[Account A] maxage: 0 is out of range"),
    ("Account A", "autorefresh = 0", "[Account A] autorefresh: 0 must be more than 0 minutes"),
    ("Account A", "autorefresh = often", "[Account A] autorefresh: 'often' is not a number"),
    ("Account A", "quick = -2", "[Account A] quick: -2 is too small"),
    ("Account A", "status_backend = maildb", "[Account A] status_backend: 'maildb' is not"),
    ("Account A", "mass_delete_guard = 150", "[Account A] mass_delete_guard: 150 is out of"),
    ("Account A", "mass_delete_guard = half", "[Account A] mass_delete_guard: 'half' is neither"),
    ("Account A", "maxsize = big", "[Account A] maxsize: 'big' is not a size in bytes"),
    ("Account A", "maxsize = 0", "[Account A] maxsize: '0' must be at least 1 byte"),
    (
        "Account A",
        "remoterepository = Nowhere",
        "[Account A] remoterepository: no [Repository Nowhere]",
    ),
    ("Account A", "remoterepository = L", "[Account A] remoterepository: names the same"),
    (
        "Account A",
        "localrepository = R\nremoterepository = L",
        "[Account A] remoterepository: [Repository L] is a Maildir; the remote must be IMAP",
    ),
    ("general", "accounts = A, B", "[general] accounts: no [Account B] section"),
    ("general", "accounts = ../x", "[general] accounts: '../x' cannot be an account name"),
    ("general", "maxsyncaccounts = many", "[general] maxsyncaccounts: 'many' is not a whole"),
    ("general", "ui = curses", "[general] ui: no known interface in 'curses'"),
    ("general", "fsync = sometimes", "[general] fsync: 'sometimes' is not yes/no"),
    ("general", "pythonfile = /no/such/file.py", "[general] pythonfile: cannot read /no/such/file"),
    ("general", "socktimeout = 0", "[general] socktimeout: 0 is out of range"),
]


@pytest.mark.parametrize(("section", "lines", "expected"), ERRORS)
def test_errors_are_one_line_naming_section_and_option(
    section: str, lines: str, expected: str, env: dict[str, str]
) -> None:
    text = with_lines(MINIMAL, section, *lines.split("\n"))
    # The strict parser refuses an option set twice in a section: drop the base value.
    for line in lines.split("\n"):
        option = line.split("=")[0].strip()
        text = _drop_original(text, section, option, line)
    message = error_of(text, env)
    assert message.startswith(f"config {SOURCE}: ")
    assert expected in message


def _drop_original(text: str, section: str, option: str, keep: str) -> str:
    """Remove the base config's own value for ``option`` in ``section``, keeping ``keep``."""
    out, current = [], None
    for line in text.split("\n"):
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and line.split("=")[0].strip() == option and line != keep:
            continue
        out.append(line)
    return "\n".join(out)


def test_password_never_shows_in_interpolation_errors(env: dict[str, str]) -> None:
    text = with_lines(MINIMAL, "Repository R", "remotepass = hunter2%xyz")
    message = error_of(text, env)
    assert "[Repository R] remotepass: bad %-interpolation" in message
    assert "hunter2" not in message and "xyz" not in message


def test_interpolation_loop(env: dict[str, str]) -> None:
    text = with_lines(MINIMAL, "Repository L", "a = %(b)s", "b = %(a)s", "sep = %(a)s")
    assert "[Repository L] sep: %(...)s references nest too deeply" in error_of(text, env)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accounts = A\n", "config test.rc: line 1: an option comes before any [section]"),
        ("[general]\naccounts = A\njust words\n", "line 3: cannot parse the line starting 'just'"),
        ("[general]\naccounts = A\n[general]\n", "line 3: section [general] appears a second"),
        ("[general]\naccounts = A\naccounts = B\n", "line 3: [general] sets 'accounts' a second"),
        ("[other]\nx = 1\n", "config test.rc: no [general] section"),
        ("[general]\nui = basic\n", "[general] accounts: missing"),
        (
            "[general]\naccounts = A\n[Account A]\nremoterepository = R\n",
            "[Account A] localrepository: missing",
        ),
        (
            "[general]\naccounts = A\n[Account A]\nlocalrepository = L\nremoterepository = R\n"
            "[Repository L]\nlocalfolders = /m\n[Repository R]\ntype = IMAP\nremotehost = h\n",
            "[Repository L] type: missing",
        ),
        (
            "[general]\naccounts = A\n[Account A]\nlocalrepository = L\nremoterepository = R\n"
            "[Repository L]\ntype = Maildir\n[Repository R]\ntype = IMAP\nremotehost = h\n",
            "[Repository L] localfolders: missing",
        ),
    ],
)
def test_structural_errors(text: str, expected: str, env: dict[str, str]) -> None:
    assert expected in error_of(text, env)


def test_parse_error_does_not_echo_the_whole_line(env: dict[str, str]) -> None:
    message = error_of("[general]\naccounts = A\nremotepass hunter2\n", env)
    assert "hunter2" not in message


def test_pythonfile_errors(tmp_path: Path, env: dict[str, str]) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    text = with_lines(MINIMAL, "general", f"pythonfile = {broken}")
    assert f"[general] pythonfile: {broken} line 1:" in error_of(text, env)
    broken.write_text("import no_such_module_here\n")
    message = error_of(text, env)
    assert "[general] pythonfile:" in message and "ModuleNotFoundError" in message


def test_unlisted_broken_account_does_not_stop_loading(env: dict[str, str]) -> None:
    text = MINIMAL + "\n[Account Old]\nlocalrepository = Gone\nremoterepository = R\n"
    config = parse(text, env)
    assert list(config.accounts) == ["A"]
    with pytest.raises(ConfigError, match=r"\[Account Old\] localrepository: no \[Repository Gone"):
        select_accounts(config, ["Old"])


# --- select_accounts -----------------------------------------------------------------


def test_select_accounts(env: dict[str, str]) -> None:
    text = MINIMAL + "\n[Account B]\nlocalrepository = L\nremoterepository = R\nfoo = 1\n"
    config = parse(text, env)
    assert [a.name for a in select_accounts(config, None)] == ["A"]
    assert [a.name for a in select_accounts(config, ["B", " A", "B"])] == ["B", "A"]
    assert "[Account B] unknown option 'foo' (ignored)" in config.warnings
    with pytest.raises(
        ConfigError, match=r"-a C: config test.rc has no \[Account C\] \(defined: A, B\)"
    ):
        select_accounts(config, ["C"])
    with pytest.raises(ConfigError, match="no account named"):
        select_accounts(config, [" "])


# --- -k overrides ---------------------------------------------------------------------


def test_overrides(env: dict[str, str]) -> None:
    text = MINIMAL.replace("[Repository R]", "[Repository remote_box]")
    text = text.replace("remoterepository = R", "remoterepository = remote_box")
    config = parse(
        text,
        env,
        (
            "ui=quiet",
            "Account_A:autorefresh=30",
            "Repository_remote_box:remoteport = 1143",
            "general:maxsyncaccounts=4",
        ),
    )
    assert config.general.ui == "quiet"
    assert config.general.maxsyncaccounts == 4
    account = config.accounts["A"]
    assert account.autorefresh == 30.0
    assert account.settings.remote.port == 1143


def test_override_of_the_default_section(env: dict[str, str]) -> None:
    text = MINIMAL.replace("localfolders = ~/Mail", "localfolders = %(base)s")
    config = parse(text, env, ("DEFAULT:base=/srv/mail",))
    assert config.accounts["A"].settings.local.root == "/srv/mail"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("autorefresh", "-k 'autorefresh' is not [section:]option=value"),
        ("=5", "-k '=5' is not [section:]option=value"),
        (":x=5", "-k ':x=5' is not [section:]option=value"),
        (
            "Account_Nope:autorefresh=5",
            "-k Account_Nope:autorefresh=5: config test.rc has no section [Account Nope]",
        ),
        (
            "Account_A:autorefresh=soon",
            "-k Account_A:autorefresh=soon: [Account A] autorefresh: 'soon' is not a number",
        ),
        ("Repository_R:remotepass=50%off", "-k Repository_R:remotepass=***: bad %-interpolation"),
    ],
)
def test_override_errors(override: str, expected: str, env: dict[str, str]) -> None:
    message = error_of(MINIMAL, env, (override,))
    assert message.startswith(expected)
    assert "50%off" not in message


# --- warnings -------------------------------------------------------------------------


def test_warnings_for_unknown_and_unsupported_options(env: dict[str, str]) -> None:
    text = with_lines(
        MINIMAL,
        "Account A",
        "foo = 1",
        "synclabels = no",
        "labelsheader = X-Keywords",
        "status_backend = plain",
    )
    text = with_lines(
        text,
        "Repository R",
        "holdconnectionopen = yes",
        "expunge = yes",
        "keepalive = 60",
        "remotehots = typo",
    )
    text = with_lines(text, "general", "ignore-readonly = no")
    text += "\n[mbnames]\nenabled = yes\n\n[ui.Curses.Blinkenlights]\nstatuschar = .\n[Misc]\n"
    warnings = parse(text, env).warnings
    assert warnings == [
        "[mbnames] is not supported yet (ignored)",
        "[ui.Curses.Blinkenlights] interface settings are not supported yet (ignored)",
        "unknown section [Misc] (ignored)",
        "[Account A] unknown option 'foo' (ignored)",
        "[Account A] option 'labelsheader' is not supported yet (ignored)",
        "[Repository R] option 'holdconnectionopen' is not supported yet (ignored)",
        "[Repository R] option 'keepalive' is not supported yet (ignored)",
        "[Repository R] unknown option 'remotehots' (ignored)",
        "[Account A] status_backend = plain: blinken always keeps its status in SQLite",
    ]


def test_default_section_options_are_not_unknown(env: dict[str, str]) -> None:
    text = MINIMAL + "\n[DEFAULT]\nmailhost = imap.example.org\n"
    assert parse(text, env).warnings == []


def test_two_password_sources_warn(env: dict[str, str], tmp_path: Path) -> None:
    text = with_lines(MINIMAL, "Repository R", "remotepass = a", "remotepassfile = ~/pw")
    config = parse(text, env)
    assert config.warnings == [
        "[Repository R] several passwords given (remotepass, remotepassfile); using remotepass"
    ]
    assert config.accounts["A"].settings.remote.password() == "a"


# --- maxage and the mass-delete guard ---------------------------------------------------


@pytest.mark.parametrize(("written", "days"), [("7", 7), ("2024-06-01", 14), ("2023-06-15", 366)])
def test_maxage(written: str, days: int, env: dict[str, str]) -> None:
    account = parse(with_lines(MINIMAL, "Account A", f"maxage = {written}"), env).accounts["A"]
    assert account.maxage == days
    assert account.settings.options.maxage_days == days


@pytest.mark.parametrize(
    ("written", "guard", "fraction"),
    [("25", 25, 0.25), ("80%%", 80, 0.8), ("no", None, 1.0), ("off", None, 1.0)],
)
def test_mass_delete_guard(
    written: str, guard: int | None, fraction: float, env: dict[str, str]
) -> None:
    text = with_lines(MINIMAL, "Account A", f"mass_delete_guard = {written}")
    account = parse(text, env).accounts["A"]
    assert account.mass_delete_guard == guard
    assert account.settings.options.mass_delete_fraction == fraction


@pytest.mark.parametrize(
    ("written", "size"),
    [("2000000", 2000000), ("512k", 512 * 1024), ("20M", 20 << 20), ("1 GiB", 1 << 30)],
)
def test_maxsize(written: str, size: int, env: dict[str, str]) -> None:
    account = parse(with_lines(MINIMAL, "Account A", f"maxsize = {written}"), env).accounts["A"]
    assert account.maxsize == size
    assert account.settings.options.maxsize == size


IMAP_TO_IMAP = MINIMAL.replace(
    "type = Maildir\nlocalfolders = ~/Mail\n",
    "type = IMAP\nremotehost = mail.example.net\nremoteuser = me\nreadonly = yes\n",
)


def test_local_repository_may_be_imap(env: dict[str, str]) -> None:
    account = parse(IMAP_TO_IMAP, env).accounts["A"]
    local = account.settings.local
    assert isinstance(local, ImapSettings)
    assert (local.host, local.user, local.readonly) == ("mail.example.net", "me", True)
    assert isinstance(account.settings.remote, ImapSettings)


def test_idlefolders_of_a_local_imap_repository_are_ignored(env: dict[str, str]) -> None:
    text = with_lines(IMAP_TO_IMAP, "Repository L", "idlefolders = ['INBOX']")
    assert parse(text, env).warnings == [
        "[Repository L] idlefolders: only the remote repository is watched with IDLE (ignored)"
    ]


def test_imap_account_synced_with_itself_is_refused(env: dict[str, str]) -> None:
    text = IMAP_TO_IMAP.replace("mail.example.net", "IMAP.example.org")
    assert error_of(text, env).startswith(
        "config test.rc: [Account A] localrepository: [Repository L] and [Repository R] are"
        " the same IMAP account"
    )
    assert parse(text.replace("remoteuser = me\nreadonly", "remoteuser = you\nreadonly"), env)


# --- files and paths --------------------------------------------------------------------


def test_default_config_path(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert default_config_path(env) == tmp_path / ".offlineimaprc"
    offlineimap = tmp_path / ".config" / "offlineimap" / "config"
    offlineimap.parent.mkdir(parents=True)
    offlineimap.write_text("")
    assert default_config_path(env) == offlineimap
    xdg = tmp_path / "xdg"
    env["XDG_CONFIG_HOME"] = str(xdg)
    assert default_config_path(env) == tmp_path / ".offlineimaprc"
    ours = xdg / "blinken" / "config"
    ours.parent.mkdir(parents=True)
    ours.write_text("")
    assert default_config_path(env) == ours
    env["XDG_CONFIG_HOME"] = "relative/path"  # ignored, as the XDG spec says
    assert default_config_path(env) == offlineimap


def test_load_config_and_permissions(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / ".offlineimaprc"
    path.write_text(with_lines(MINIMAL, "Repository R", "remotepass = x"))
    path.chmod(0o600)
    assert load_config(path, env=env).warnings == []
    path.chmod(0o644)
    config = load_config(path, env=env)
    assert config.source == "~/.offlineimaprc"
    assert config.warnings == [
        "config ~/.offlineimaprc holds remotepass and is readable by other users;"
        " run: chmod 600 ~/.offlineimaprc"
    ]
    path.write_text(MINIMAL)
    assert load_config(path, env=env).warnings == []


def test_load_config_errors_name_the_file(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"^config ~/missing: no such file"):
        load_config(tmp_path / "missing", env=env)
    bad = tmp_path / "latin1"
    bad.write_bytes(b"[general]\naccounts = \xe9\n")
    with pytest.raises(ConfigError, match=r"^config ~/latin1: not UTF-8 text"):
        load_config(bad, env=env)
    rc = tmp_path / "rc"
    rc.write_text(MINIMAL.replace("remoteuser = me", "remoteport = x"))
    with pytest.raises(ConfigError, match=r"^config ~/rc: \[Repository R\] remoteport: 'x'"):
        load_config(rc, env=env)


def test_paths_expand_tilde_then_variables(env: dict[str, str], tmp_path: Path) -> None:
    text = MINIMAL.replace("localfolders = ~/Mail", "localfolders = $MAILDIR_ROOT/${USER_X}/x")
    root = parse(text, env).accounts["A"].settings.local.root
    assert root == str(tmp_path / "maildirs") + "/${USER_X}/x"


def test_interpolation_from_default_and_same_section(env: dict[str, str], tmp_path: Path) -> None:
    text = MINIMAL.replace("localfolders = ~/Mail", "localfolders = %(root)s/%(who)s")
    text = with_lines(text, "Repository L", "who = alice")
    text += "[DEFAULT]\nroot = ~/boxes\n"
    assert parse(text, env).accounts["A"].settings.local.root == str(tmp_path / "boxes/alice")


# --- value parsers (properties) ----------------------------------------------------------

BOOL_WORDS = {
    "yes": True,
    "true": True,
    "on": True,
    "1": True,
    "no": False,
    "false": False,
    "off": False,
    "0": False,
}


@given(st.sampled_from(sorted(BOOL_WORDS)), st.lists(st.booleans(), min_size=5, max_size=5))
def test_parse_bool_accepts_any_case(word: str, upper: list[bool]) -> None:
    written = "".join(c.upper() if up else c for c, up in zip(word, upper, strict=False))
    assert parse_bool(f" {written} ") is BOOL_WORDS[word]


@given(st.text(max_size=8))
def test_parse_bool_rejects_everything_else(text: str) -> None:
    if text.strip().lower() in BOOL_WORDS:
        return
    with pytest.raises(BadValue):
        parse_bool(text)


@given(st.integers(-(10**6), 10**6), st.integers(-100, 100), st.integers(0, 200))
def test_parse_int_range(value: int, lo: int, span: int) -> None:
    hi = lo + span
    if lo <= value <= hi:
        assert parse_int(str(value), lo, hi) == value
    else:
        with pytest.raises(BadValue, match="out of range"):
            parse_int(str(value), lo, hi)


@given(st.text(alphabet="abc1.,_ x-", max_size=6))
def test_parse_int_rejects_non_numbers(text: str) -> None:
    if re.fullmatch(r"\s*[+-]?\d+\s*", text):
        return
    with pytest.raises(BadValue, match="not a whole number"):
        parse_int(text)


_NAME = st.text(
    st.characters(codec="ascii", categories=("L", "N")) | st.sampled_from("_- ."),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and s)


@given(
    st.none() | _NAME,
    _NAME.filter(lambda s: " " not in s and not s.startswith("[")),
    st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=20),
)
def test_parse_override_round_trip(section: str | None, option: str, value: str) -> None:
    text = f"{section}:{option}={value}" if section is not None else f"{option}={value}"
    override = parse_override(text)
    assert override.section == section
    assert override.option == option.lower()
    assert override.value == value.strip()
    if section is None:
        assert override.section_candidates() == ["general"]
    else:
        assert override.section_candidates()[0] == section.replace("_", " ")
