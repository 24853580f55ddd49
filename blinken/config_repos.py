"""``[Repository NAME]`` sections into the engine's Maildir and IMAP settings.

OfflineIMAP's options keep their meaning; options it has that blinken does
not implement yet load with a soft warning so an existing ``~/.offlineimaprc``
works unchanged.  Passwords are read lazily (a missing password file stops
one account at sync time instead of the whole program at start) and never
appear in a message or a repr.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import CodeType

from blinken.config_auth import (
    AUTH_OPTIONS,
    CommandSecret,
    parse_keyring_store,
    read_mechanisms,
    read_tunnel,
)
from blinken.config_tls import TLS_OPTIONS, read_tls
from blinken.config_values import (
    BadValue,
    ConfigCallError,
    Override,
    SectionReader,
    parse_int,
    show,
)
from blinken.folder_rules import (
    RULE_OPTIONS,
    PythonEnv,
    build_rules,
    compile_option,
    evaluate_option,
    folder_list,
)
from engine.settings import ImapSettings, MaildirSettings, PasswordSource, RepositorySettings

GMAIL_HOST = "imap.gmail.com"
_TYPES = {"maildir": "Maildir", "gmailmaildir": "Maildir", "imap": "IMAP", "gmail": "IMAP"}

_COMMON = ("type", "readonly", "createfolders", "sync_deletes", *RULE_OPTIONS)
_MAILDIR = ("localfolders", "sep", "maildir-windows-compatible")
_IMAP = (
    "remotehost", "remotehosteval", "remoteport", "remoteporteval", "remoteuser",
    "remoteusereval", "remotepass", "remotepassfile", "remotepasseval", *TLS_OPTIONS,
    "maxconnections", "idlefolders", "preauthtunnel", "usecompression", *AUTH_OPTIONS,
    "sep",  # OfflineIMAP ignores it for IMAP too: the server says what it is
)  # fmt: skip

# OfflineIMAP options we know but do not honour yet, with their default when
# that is a boolean (writing the default is then no reason to warn).
_SHARED_UNSUPPORTED: dict[str, bool | None] = {
    "foldersort": None, "dynamic_folderfilter": False, "startdate": None,
}  # fmt: skip
_MAILDIR_UNSUPPORTED: dict[str, bool | None] = {
    **_SHARED_UNSUPPORTED,
    "restoreatime": False, "utime_from_header": False, "filename_use_mail_timestamp": False,
    **{f"customflag_{letter}": None for letter in "abcdefghijklmnopqrstuvwxyz"},
}  # fmt: skip
_IMAP_UNSUPPORTED: dict[str, bool | None] = {
    **_SHARED_UNSUPPORTED,
    "ipv6": None, "sslclientcert": None, "sslclientkey": None,
    "remote_identity": None,
    "oauth2_client_id": None, "oauth2_client_secret": None, "oauth2_client_id_eval": None,
    "oauth2_client_secret_eval": None, "oauth2_refresh_token": None,
    "oauth2_refresh_token_eval": None, "oauth2_request_url": None,
    "reference": None, "decodefoldernames": False, "utf8foldernames": False,
    "singlethreadperfolder": False, "holdconnectionopen": False,
    "keepalive": None, "expunge": True, "subscribedonly": False, "newmail_hook": None,
    "retrycount": None, "copy_ignore_eval": None, "trashfolder": None, "spamfolder": None,
    "realdelete": None,
}  # fmt: skip


@dataclass
class Context:
    """What every section builder needs: the parsed file and where messages go."""

    parser: configparser.ConfigParser
    source: str
    env: Mapping[str, str]
    overridden: dict[tuple[str, str], Override] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    python: PythonEnv = field(default_factory=PythonEnv)
    fsync: bool = True
    timeout: float = 60.0

    def reader(self, section: str) -> SectionReader:
        return SectionReader(self.parser, section, self.source, self.env, self.overridden)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


class FixedPassword:
    """``remotepass``: the password written in the config file."""

    def __init__(self, secret: str, where: str) -> None:
        self._secret = secret
        self.where = where

    def __call__(self) -> str:
        return self._secret

    def __repr__(self) -> str:
        return f"<password from {self.where}>"


class FilePassword:
    """``remotepassfile``: the first line of a file, read each time it is needed."""

    def __init__(self, path: str, where: str) -> None:
        self.path = path
        self.where = where

    def __call__(self) -> str:
        try:
            with open(self.path, encoding="utf-8") as handle:
                line = handle.readline().strip()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigCallError(f"{self.where}: cannot read {self.path}: {reason}") from None
        except UnicodeDecodeError:
            raise ConfigCallError(f"{self.where}: {self.path} is not UTF-8 text") from None
        if not line:
            raise ConfigCallError(f"{self.where}: the first line of {self.path} is empty")
        return line

    def __repr__(self) -> str:
        return f"<password from file {self.path}>"


class EvalPassword:
    """``remotepasseval``: the user's Python, run once, when the password is first needed."""

    def __init__(self, code: CodeType, python: PythonEnv, where: str) -> None:
        self.code = code
        self.python = python
        self.where = where
        self._cached: str | None = None

    def __call__(self) -> str:
        if self._cached is None:
            try:
                value = self.python.run(self.code)
            except BadValue as exc:
                raise ConfigCallError(f"{self.where}: {exc}") from None
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if not isinstance(value, str):
                raise ConfigCallError(
                    f"{self.where}: returned {type(value).__name__}, not a string"
                )
            self._cached = value
        return self._cached

    def __repr__(self) -> str:
        return f"<password from {self.where}>"


def repository_type(reader: SectionReader, ctx: Context) -> str:
    """'Maildir' or 'IMAP'; OfflineIMAP's Gmail types become those with a warning."""
    text = reader.string("type")
    if text is None:
        raise reader.fail("type", "missing (write type = Maildir or type = IMAP)")
    kind = text.lower()
    if kind not in _TYPES:
        raise reader.fail("type", f"{show(text)} is not Maildir, IMAP, Gmail or GmailMaildir")
    if kind.startswith("gmail"):
        ctx.warn(
            f"[{reader.section}] type {text}: synced as plain {_TYPES[kind]}; "
            "Gmail labels are not supported"
        )
    return _TYPES[kind]


def build_repository(
    ctx: Context, name: str, windows_compatible: bool = False
) -> tuple[RepositorySettings, tuple[str, ...]]:
    """Settings for one repository, plus its idlefolders (kept for IDLE support)."""
    reader = ctx.reader(f"Repository {name}")
    kind = repository_type(reader, ctx)
    if kind == "Maildir":
        reader.warn_unknown((*_COMMON, *_MAILDIR), _MAILDIR_UNSUPPORTED, ctx.warn)
        return _maildir(reader, name, ctx, windows_compatible), ()
    reader.warn_unknown((*_COMMON, *_IMAP), _IMAP_UNSUPPORTED, ctx.warn)
    gmail = (reader.string("type") or "").lower() == "gmail"
    idle = folder_list(reader, ctx.python, "idlefolders")
    return _imap(reader, name, ctx, gmail), idle


def _parse_sep(text: str) -> str:
    if len(text) != 1 or text.isalnum():
        raise BadValue(f"{show(text)} is not a single separator character such as . or /")
    return text


def _maildir(
    reader: SectionReader, name: str, ctx: Context, windows_default: bool
) -> MaildirSettings:
    root = reader.path("localfolders")
    if not root:
        raise reader.fail("localfolders", "missing (the directory that holds the Maildirs)")
    return MaildirSettings(
        name=name,
        root=root,
        sep=reader.convert("sep", _parse_sep, "."),
        fsync=ctx.fsync,
        readonly=reader.boolean("readonly", False),
        createfolders=reader.boolean("createfolders", True),
        sync_deletes=reader.boolean("sync_deletes", True),
        windows_compatible=reader.boolean("maildir-windows-compatible", windows_default),
        rules=build_rules(reader, ctx.python),
    )


def _evaluated(reader: SectionReader, ctx: Context, option: str) -> str | None:
    """``<option>eval`` wins over ``<option>``, as in OfflineIMAP."""
    plain = reader.string(option)
    if not reader.has(option + "eval"):
        return plain
    if plain is not None:
        ctx.warn(f"[{reader.section}] both {option} and {option}eval are set; using {option}eval")
    value = evaluate_option(reader, ctx.python, option + "eval")
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise reader.fail(option + "eval", f"returned {type(value).__name__}, not a string")
    return value


def _port(reader: SectionReader, ctx: Context) -> int | None:
    text = _evaluated(reader, ctx, "remoteport")
    if text is None:
        return None
    option = "remoteporteval" if reader.has("remoteporteval") else "remoteport"
    try:
        return parse_int(text, 1, 65535)
    except BadValue as exc:
        raise reader.fail(option, str(exc)) from None


# The first one written wins, OfflineIMAP's options before blinken's.
_PASSWORD_OPTIONS = ("remotepasseval", "remotepass", "remotepassfile", "remotepasscmd")
_TOKEN_OPTIONS = ("oauth2_access_token_eval", "oauth2_access_token", "oauth2_access_token_cmd")


def _secret(
    reader: SectionReader, ctx: Context, options: tuple[str, ...], what: str
) -> PasswordSource | None:
    """The source of a password (or token): Python, the config itself, a file or a command."""
    given = [opt for opt in options if reader.has(opt)]
    if len(given) > 1:
        ctx.warn(f"[{reader.section}] several {what}s given ({', '.join(given)}); using {given[0]}")
    if not given:
        return None
    option = given[0]
    where = reader.where(option)
    if option.endswith("eval"):
        code = compile_option(reader, ctx.python, option)
        return EvalPassword(code, ctx.python, where) if code else None
    if option.endswith("file"):
        path = reader.path(option)
        return FilePassword(path, where) if path else None
    text = reader.text(option)
    if not text:
        return None
    if option.endswith("cmd"):
        return CommandSecret(text, where, what)
    return FixedPassword(text, where)


def _imap(reader: SectionReader, name: str, ctx: Context, gmail: bool) -> ImapSettings:
    tunnel, preauth = read_tunnel(reader)
    host = _evaluated(reader, ctx, "remotehost") or (GMAIL_HOST if gmail else None)
    if not host and not tunnel:
        raise reader.fail("remotehost", "missing (the IMAP server's host name)")
    tls = read_tls(reader, ctx.warn, host or "", tunnel)
    return ImapSettings(
        name=name,
        host=host or "",
        port=_port(reader, ctx),
        user=_evaluated(reader, ctx, "remoteuser") or "",
        password=_secret(reader, ctx, _PASSWORD_OPTIONS, "password"),
        ssl=tls.ssl,
        starttls=tls.starttls,
        cafile=tls.cafile,
        cert_fingerprints=tls.cert_fingerprints,
        verify=tls.verify,
        tls_min_version=tls.tls_min_version,
        allow_plaintext_login=tls.allow_plaintext_login,
        timeout=ctx.timeout,
        maxconnections=reader.integer("maxconnections", 1, 1, 64),
        readonly=reader.boolean("readonly", False),
        createfolders=reader.boolean("createfolders", True),
        sync_deletes=reader.boolean("sync_deletes", True),
        tunnel=tunnel,
        tunnel_preauth=preauth,
        oauth2_token=_secret(reader, ctx, _TOKEN_OPTIONS, "OAuth2 access token"),
        auth_mechanisms=read_mechanisms(reader, ctx.warn),
        compress=reader.boolean("usecompression", False),
        keyring_store=reader.convert("keyring_store", parse_keyring_store, "ask"),
        rules=build_rules(reader, ctx.python),
    )
