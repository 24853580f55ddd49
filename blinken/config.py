"""The user's configuration, in OfflineIMAP's format, as engine settings.

An existing ``~/.offlineimaprc`` should load unchanged: same sections, same
options, ConfigParser ``%(x)s`` interpolation, ``-k`` overrides, Python
expressions for folder rules.  What blinken does not implement yet earns a
warning rather than a refusal; what cannot work earns a :class:`ConfigError`
whose text is one line naming the file, section and option.

Repository sections are handled in :mod:`blinken.config_repos`, value
parsing in :mod:`blinken.config_values`, folder rules in
:mod:`blinken.folder_rules`.
"""

from __future__ import annotations

import configparser
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from blinken.config_repos import Context, build_repository
from blinken.config_values import (
    BadValue,
    ConfigCallError,
    ConfigError,
    parse_float,
    parse_guard,
    parse_list,
    parse_maxage,
    parse_override,
    parse_ui,
    show,
)
from blinken.folder_rules import PythonEnv
from engine.frozen import Frozen, record
from engine.settings import AccountSettings, ImapSettings, RepositorySettings, SyncOptions

__all__ = [
    "Account",
    "Config",
    "ConfigCallError",
    "ConfigError",
    "General",
    "default_config_path",
    "load_config",
    "parse_config",
    "select_accounts",
]

_GENERAL = ("accounts", "maxsyncaccounts", "ui", "fsync", "metadata", "pythonfile",
            "socktimeout", "dry-run")  # fmt: skip
_GENERAL_UNSUPPORTED: dict[str, bool | None] = {"ignore-readonly": False}
_ACCOUNT = (
    "localrepository", "remoterepository", "autorefresh", "quick", "presynchook",
    "postsynchook", "newmailhook", "maxage", "status_backend", "mass_delete_guard",
    "maildir-windows-compatible", "maxsize",
)  # fmt: skip
_ACCOUNT_UNSUPPORTED: dict[str, bool | None] = {
    "synclabels": False, "labelsheader": None, "ignorelabels": None,
    "filterheaders": None, "proxy": None, "authproxy": None, "utf8foldernames": False,
}  # fmt: skip
_DEFAULT_GUARD: int | None = 50  # percent of a folder
_HOLDS_PASSWORD = re.compile(r"^\s*(remotepass|oauth2_access_token)\s*[=:]", re.MULTILINE)


@record
class General(Frozen):
    """The ``[general]`` section."""

    accounts: list[str]
    metadata: Path
    maxsyncaccounts: int = 1
    ui: str | None = None  # canonical: blinkenlights, ttyui, basic, quiet, machineui
    fsync: bool = True
    pythonfile: Path | None = None
    socktimeout: float | None = None  # seconds; None keeps the engine's default
    dry_run: bool = False


@record
class Account(Frozen):
    """One ``[Account NAME]``: the engine's settings plus what the app layer runs."""

    name: str
    settings: AccountSettings
    local_repository: str
    remote_repository: str
    autorefresh: float | None = None  # minutes between syncs; None syncs once
    quick: int = 0  # OfflineIMAP's quick syncs between full ones (-1: always quick)
    presynchook: str | None = None
    postsynchook: str | None = None
    newmailhook: str | None = None  # shell command run when new mail arrived
    maxage: int | None = None  # days
    maxsize: int | None = None  # bytes
    status_backend: str = "sqlite"
    mass_delete_guard: int | None = 50  # percent; None: guard off
    idlefolders: tuple[str, ...] = ()  # the remote repository's, for IDLE


@dataclass
class Config:
    """Everything read from one config file; ``warnings`` are for the user to see.

    Accounts not listed in ``[general] accounts`` are built only when
    :func:`select_accounts` asks for them (``-a``), as OfflineIMAP does, so a
    stale unused section cannot stop a sync.
    """

    general: General
    accounts: dict[str, Account]
    warnings: list[str]
    source: str = ""
    build_account: Callable[[str], Account] | None = field(default=None, repr=False, compare=False)
    defined_accounts: tuple[str, ...] = ()


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home())


def _xdg_dir(env: Mapping[str, str], variable: str, fallback: str) -> Path:
    """An XDG base directory; relative or empty values are ignored, as the spec says."""
    value = env.get(variable, "")
    return Path(value) if value and os.path.isabs(value) else _home(env) / fallback


def default_config_path(env: Mapping[str, str] = os.environ) -> Path:
    """blinken's own file if present, then OfflineIMAP's two usual places."""
    config_home = _xdg_dir(env, "XDG_CONFIG_HOME", ".config")
    for candidate in (config_home / "blinken" / "config", config_home / "offlineimap" / "config"):
        if candidate.is_file():
            return candidate
    return _home(env) / ".offlineimaprc"


def default_metadata_dir(env: Mapping[str, str] = os.environ) -> Path:
    return _xdg_dir(env, "XDG_STATE_HOME", ".local/state") / "blinken"


def _display_path(path: Path, env: Mapping[str, str]) -> str:
    home = str(_home(env))
    text = str(path)
    if home != "/" and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home) :]
    return text


def load_config(
    path: Path,
    overrides: Sequence[str] = (),
    env: Mapping[str, str] = os.environ,
    today: date | None = None,
) -> Config:
    source = _display_path(Path(path), env)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config {source}: no such file (blinken reads $XDG_CONFIG_HOME/blinken/config "
            "or ~/.offlineimaprc; -c names another)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"config {source}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config {source}: not UTF-8 text (byte {exc.start})") from None
    config = parse_config(text, source, overrides, env, today)
    mode = Path(path).stat().st_mode
    secret = _HOLDS_PASSWORD.search(text)
    if secret and mode & (stat.S_IRGRP | stat.S_IROTH):
        config.warnings.append(
            f"config {source} holds {secret.group(1)} and is readable by other users;"
            f" run: chmod 600 {source}"
        )
    return config


def parse_config(
    text: str,
    source: str,
    overrides: Sequence[str] = (),
    env: Mapping[str, str] = os.environ,
    today: date | None = None,
) -> Config:
    ctx = Context(_read(text, source), source, env)
    _apply_overrides(ctx, overrides)
    general = _general(ctx)
    _check_sections(ctx)
    defined = tuple(s[len("Account ") :] for s in ctx.parser.sections() if s.startswith("Account "))

    def build(name: str) -> Account:
        return _account(ctx, general, name, today)

    accounts = {}
    for name in general.accounts:
        if name not in defined:
            reader = ctx.reader("general")
            raise reader.fail("accounts", f"no [Account {name}] section")
        accounts[name] = build(name)
    return Config(general, accounts, ctx.warnings, source, build, defined)


def _new_parser(strict: bool) -> configparser.ConfigParser:
    return configparser.ConfigParser(strict=strict, interpolation=configparser.BasicInterpolation())


def _read(text: str, source: str) -> configparser.ConfigParser:
    parser = _new_parser(strict=True)
    try:
        parser.read_string(text, source)
        return parser
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigError(
            f"config {source}: line {exc.lineno}: an option comes before any [section] header"
        ) from None
    except configparser.ParsingError as exc:
        lineno = exc.errors[0][0]
        lines = text.splitlines()
        line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
        first = (line.split() or [""])[0][:40]  # not the whole line: it may hold a secret
        raise ConfigError(
            f"config {source}: line {lineno}: cannot parse the line starting {show(first)}"
            " (expected option = value)"
        ) from None
    except (configparser.DuplicateSectionError, configparser.DuplicateOptionError) as exc:
        raise ConfigError(f"config {source}: line {exc.lineno}: {_duplicate(exc)}") from None


def _duplicate(
    exc: configparser.DuplicateSectionError | configparser.DuplicateOptionError,
) -> str:
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"[{exc.section}] sets '{exc.option}' a second time; keep one"
    return f"section [{exc.section}] appears a second time; merge the two"


def _apply_overrides(ctx: Context, overrides: Sequence[str]) -> None:
    """``-k [section:]option=value``, applied before anything is read."""
    for text in overrides:
        try:
            override = parse_override(text)
        except BadValue as exc:
            raise ConfigError(f"-k {exc}") from None
        candidates = override.section_candidates()
        section = next((s for s in candidates if _has_section(ctx.parser, s)), None)
        if section is None and override.section is None:
            ctx.parser.add_section("general")
            section = "general"
        if section is None:
            raise ConfigError(
                f"-k {override.display()}: config {ctx.source} has no section [{candidates[0]}]"
            )
        try:
            ctx.parser.set(section, override.option, override.value)
        except ValueError:
            raise ConfigError(
                f"-k {override.display()}: bad %-interpolation (write a literal % as %%)"
            ) from None
        ctx.overridden[(section, override.option)] = override


def _has_section(parser: configparser.ConfigParser, name: str) -> bool:
    return parser.has_section(name) or name == parser.default_section


def _general(ctx: Context) -> General:
    if not ctx.parser.has_section("general"):
        raise ConfigError(f"config {ctx.source}: no [general] section (it lists the accounts)")
    reader = ctx.reader("general")
    reader.warn_unknown(_GENERAL, _GENERAL_UNSUPPORTED, ctx.warn)
    names: list[str] = reader.convert("accounts", parse_list, [])
    accounts = list(dict.fromkeys(names))
    if not accounts:
        raise reader.fail("accounts", "missing (name the accounts to sync: accounts = Personal)")
    for name in accounts:
        if "/" in name or name in (".", ".."):
            raise reader.fail("accounts", f"{show(name)} cannot be an account name")
    pythonfile = reader.path("pythonfile")
    try:
        ctx.python = PythonEnv.load(pythonfile)
    except BadValue as exc:
        raise reader.fail("pythonfile", str(exc)) from None
    ctx.fsync = reader.boolean("fsync", True)
    socktimeout = reader.convert("socktimeout", lambda t: parse_float(t, 1, 3600), None)
    if socktimeout is not None:
        ctx.timeout = socktimeout
    return General(
        accounts=accounts,
        metadata=Path(reader.path("metadata") or default_metadata_dir(ctx.env)),
        maxsyncaccounts=reader.integer("maxsyncaccounts", 1, 1, 64),
        ui=_ui(ctx),
        fsync=ctx.fsync,
        pythonfile=Path(pythonfile) if pythonfile else None,
        socktimeout=socktimeout,
        dry_run=reader.boolean("dry-run", False),
    )


def _ui(ctx: Context) -> str | None:
    reader = ctx.reader("general")
    result = reader.convert("ui", parse_ui, None)
    if result is None:
        return None
    name, skipped = result
    for item in skipped:
        ctx.warn(f"[general] ui: unknown interface {show(item)} (skipped)")
    return name


def _check_sections(ctx: Context) -> None:
    """Warn about sections blinken will not read, so a typo does not go unnoticed."""
    for section in ctx.parser.sections():
        if section == "general" or section.startswith(("Account ", "Repository ")):
            continue
        if section == "mbnames":
            if ctx.reader(section).boolean("enabled", False):
                ctx.warn("[mbnames] is not supported yet (ignored)")
        elif section.lower().startswith("ui."):
            ctx.warn(f"[{section}] interface settings are not supported yet (ignored)")
        else:
            ctx.warn(f"unknown section [{section}] (ignored)")


def _positive_minutes(text: str) -> float:
    minutes = parse_float(text, 0)
    if minutes <= 0:
        raise BadValue(f"{text} must be more than 0 minutes")
    return minutes


def _status_backend(ctx: Context, section: str) -> str:
    reader = ctx.reader(section)
    backend = (reader.string("status_backend") or "sqlite").lower()
    if backend == "plain":
        ctx.warn(f"[{section}] status_backend = plain: blinken always keeps its status in SQLite")
    elif backend != "sqlite":
        raise reader.fail("status_backend", f"{show(backend)} is not sqlite (or plain)")
    return "sqlite"


def _repository(
    ctx: Context, section: str, option: str, windows: bool = False
) -> tuple[str, RepositorySettings, tuple[str, ...]]:
    reader = ctx.reader(section)
    name = reader.string(option)
    if not name:
        raise reader.fail(option, "missing (the name of a [Repository NAME] section)")
    if not ctx.parser.has_section(f"Repository {name}"):
        raise reader.fail(option, f"no [Repository {name}] section")
    settings, idle = build_repository(ctx, name, windows)
    return name, settings, idle


_SIZE = re.compile(r"(\d+)\s*(?:([kmg])i?)?b?", re.IGNORECASE)


def _parse_size(text: str) -> int:
    """``maxsize``: bytes, as OfflineIMAP takes it, or with a k, M or G suffix (KiB, MiB, GiB)."""
    found = _SIZE.fullmatch(text.strip())
    if not found:
        raise BadValue(f"{show(text)} is not a size in bytes (such as 20000000 or 20M)")
    unit: int = 1024 ** " kmg".index((found.group(2) or " ").lower())
    value = int(found.group(1)) * unit
    if value < 1:
        raise BadValue(f"{show(text)} must be at least 1 byte")
    return value


def _same_mailbox(a: ImapSettings, b: ImapSettings) -> bool:
    """Two repositories that log in to one account on one server."""

    def where(s: ImapSettings) -> tuple[str, int, str, str | None]:
        port = s.port if s.port is not None else (993 if s.ssl else 143)
        return (s.host.lower(), port, s.user, s.tunnel)

    return where(a) == where(b)


def _account(ctx: Context, general: General, name: str, today: date | None) -> Account:
    section = f"Account {name}"
    reader = ctx.reader(section)
    reader.warn_unknown(_ACCOUNT, _ACCOUNT_UNSUPPORTED, ctx.warn)
    windows = reader.boolean("maildir-windows-compatible", False)
    local_name, local, local_idle = _repository(ctx, section, "localrepository", windows)
    if local_idle:
        ctx.warn(
            f"[Repository {local_name}] idlefolders: only the remote repository is watched"
            " with IDLE (ignored)"
        )
    remote_name, remote, idle = _repository(ctx, section, "remoterepository")
    if local_name == remote_name:
        raise reader.fail("remoterepository", "names the same repository as localrepository")
    if not isinstance(remote, ImapSettings):
        raise reader.fail(
            "remoterepository", f"[Repository {remote_name}] is a Maildir; the remote must be IMAP"
        )
    if isinstance(local, ImapSettings) and _same_mailbox(local, remote):
        raise reader.fail(
            "localrepository",
            f"[Repository {local_name}] and [Repository {remote_name}] are the same IMAP "
            "account; syncing it with itself would copy every message onto itself",
        )
    # today only when asked for: the first date.today() reads the time zone (3 ms)
    maxage = reader.convert("maxage", lambda text: parse_maxage(text, today or date.today()), None)
    maxsize = reader.convert("maxsize", _parse_size, None)
    guard = reader.convert("mass_delete_guard", parse_guard, _DEFAULT_GUARD)
    options = SyncOptions(
        dry_run=general.dry_run,
        fsync=general.fsync,
        maxage_days=maxage,
        maxsize=maxsize,
        mass_delete_fraction=guard / 100 if guard is not None else 1.0,
    )
    status_path = str(general.metadata / f"{name}.sqlite")
    return Account(
        name=name,
        settings=AccountSettings(name, local, remote, status_path, options),
        local_repository=local_name,
        remote_repository=remote_name,
        autorefresh=reader.convert("autorefresh", _positive_minutes, None),
        quick=reader.integer("quick", 0, -1),
        presynchook=reader.string("presynchook"),
        postsynchook=reader.string("postsynchook"),
        newmailhook=reader.string("newmailhook"),
        maxage=maxage,
        maxsize=maxsize,
        status_backend=_status_backend(ctx, section),
        mass_delete_guard=guard,
        idlefolders=idle,
    )


def select_accounts(config: Config, names: list[str] | None) -> list[Account]:
    """The accounts to sync: ``-a a,b`` if given, else ``[general] accounts``.

    ``-a`` may name an account the config defines but does not list; it is
    built now, and its warnings join ``config.warnings``.
    """
    wanted = config.general.accounts if names is None else names
    chosen = list(dict.fromkeys(name.strip() for name in wanted if name.strip()))
    if not chosen:
        raise ConfigError("-a: no account named")
    result = []
    for name in chosen:
        if name not in config.accounts:
            if name not in config.defined_accounts or config.build_account is None:
                known = ", ".join(config.defined_accounts) or "none"
                raise ConfigError(
                    f"-a {name}: config {config.source} has no [Account {name}] (defined: {known})"
                )
            config.accounts[name] = config.build_account(name)
        result.append(config.accounts[name])
    return result
