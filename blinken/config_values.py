"""Turning the text of one config option into a checked value.

Every parser here raises :class:`BadValue` with a short phrase about the
value alone; :class:`SectionReader` adds the file, section and option so the
user gets one line that points at exactly what to edit.  Nothing in this
module knows which options exist: that lives in ``config`` and
``config_repos``.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from engine.errors import AccountError
from engine.frozen import Frozen, record

T = TypeVar("T")

# Options whose values must never appear in a message, not even in part.
SECRET_OPTIONS = frozenset(
    {"remotepass", "remotepasseval", "oauth2_access_token", "oauth2_access_token_eval"}
)

_TRUE = frozenset({"1", "yes", "true", "on"})
_FALSE = frozenset({"0", "no", "false", "off"})
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_VAR = re.compile(r"\$(?:(\w+)|\{([^}]*)\})")
_LIST_SEP = re.compile(r"[,\n]")
_FINGERPRINT_LENGTHS = (40, 64)  # SHA-1 and SHA-256: what the engine checks

UI_NAMES = ("blinkenlights", "ttyui", "basic", "quiet", "machineui")


class ConfigError(Exception):
    """Something in the user's configuration is wrong; the text is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class ConfigCallError(ConfigError, AccountError):
    """Code or a file named in the config failed while an account was syncing.

    It is also an ``AccountError`` so that the engine stops just that account
    and reports the line, instead of treating it as a bug.
    """


class BadValue(ValueError):
    """A value that cannot mean anything; the text describes the value only."""


def one_line(text: str, limit: int = 400) -> str:
    """Collapse a message to one line so a frontend never shows a fragment."""
    flat = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def show(value: str, limit: int = 60) -> str:
    """Quote a user's value for a message, shortened so one line stays one line."""
    text = value if len(value) <= limit else value[: limit - 3] + "..."
    return repr(text)


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise BadValue(f"{show(text)} is not yes/no (also true/false, on/off, 1/0)")


def _check_range(value: T, lo: T | None, hi: T | None, text: str) -> T:
    if (lo is not None and value < lo) or (hi is not None and value > hi):  # type: ignore[operator]
        if hi is None:
            raise BadValue(f"{text.strip()} is too small (at least {lo})")
        if lo is None:
            raise BadValue(f"{text.strip()} is too large (at most {hi})")
        raise BadValue(f"{text.strip()} is out of range ({lo} to {hi})")
    return value


def parse_int(text: str, lo: int | None = None, hi: int | None = None) -> int:
    if not _INT.fullmatch(text.strip()):
        raise BadValue(f"{show(text)} is not a whole number")
    return _check_range(int(text), lo, hi, text)


def parse_float(text: str, lo: float | None = None, hi: float | None = None) -> float:
    if not _FLOAT.fullmatch(text.strip()):
        raise BadValue(f"{show(text)} is not a number")
    return _check_range(float(text), lo, hi, text)


def parse_list(text: str) -> list[str]:
    """Split on commas and line breaks, the two ways people write lists in INI."""
    return [item.strip() for item in _LIST_SEP.split(text) if item.strip()]


def expand_path(text: str, env: Mapping[str, str]) -> str:
    """``~`` first, then ``$VAR``/``${VAR}``, as a shell (and OfflineIMAP) would.

    Unknown variables stay as written so the later "file not found" shows them.
    """
    path = text.strip()
    if path == "~" or path.startswith("~/"):
        home = env.get("HOME") or os.path.expanduser("~")
        path = home + path[1:]
    elif path.startswith("~"):
        path = os.path.expanduser(path)

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return env.get(name, match.group(0))

    return _VAR.sub(lookup, path)


def parse_maxage(text: str, today: date) -> int:
    """Days to look back: OfflineIMAP takes a count of days or a YYYY-MM-DD date."""
    value = text.strip()
    if _DATE.fullmatch(value):
        try:
            since = date.fromisoformat(value)
        except ValueError as exc:
            raise BadValue(f"{show(value)} is not a real date ({exc})") from None
        days = (today - since).days
        if days < 1:
            raise BadValue(f"{value} is not in the past")
        return days
    if _INT.fullmatch(value):
        return parse_int(value, 1, 100 * 366)
    raise BadValue(f"{show(value)} is neither a number of days nor a date YYYY-MM-DD")


def parse_fingerprints(text: str) -> tuple[str, ...]:
    """Hex digests, comma-separated, colons and case as the user copied them."""
    prints = []
    for item in parse_list(text):
        digest = item.replace(":", "").replace(" ", "").lower()
        if not re.fullmatch(r"[0-9a-f]+", digest):
            raise BadValue(f"{show(item)} is not a hexadecimal fingerprint")
        if len(digest) not in _FINGERPRINT_LENGTHS:
            raise BadValue(
                f"{show(item)} has {len(digest)} hex digits; give the certificate's SHA-256"
                " (64 digits) or SHA-1 (40 digits) fingerprint"
            )
        prints.append(digest)
    if not prints:
        raise BadValue("no fingerprint given")
    return tuple(prints)


def parse_ui(text: str) -> tuple[str, list[str]]:
    """The first interface we know, plus the names we skipped.

    OfflineIMAP accepts a list and tries each in turn; old configs spell the
    names with a module prefix (``Curses.Blinkenlights``).
    """
    skipped: list[str] = []
    for item in parse_list(text):
        name = item.rsplit(".", 1)[-1].lower()
        if name in UI_NAMES:
            return name, skipped
        skipped.append(item)
    raise BadValue(f"no known interface in {show(text)} (choose from {', '.join(UI_NAMES)})")


def parse_guard(text: str) -> int | None:
    """Mass-delete guard: a percentage, or ``no`` to turn the guard off."""
    value = text.strip().removesuffix("%").strip()
    if value.lower() in _FALSE - {"0"}:
        return None
    if not _INT.fullmatch(value):
        raise BadValue(f"{show(text)} is neither a percentage (1 to 100) nor 'no'")
    return parse_int(value, 1, 100)


@record
class Override(Frozen):
    """One ``-k [section:]option=value`` from the command line."""

    section: str | None  # as typed, underscores and all; None means [general]
    option: str
    value: str

    def display(self) -> str:
        """The override as typed, with a secret value masked."""
        value = "***" if self.option in SECRET_OPTIONS else self.value
        prefix = f"{self.section}:" if self.section is not None else ""
        return f"{prefix}{self.option}={value}"

    def section_candidates(self) -> list[str]:
        """Names the section may mean, most likely first.

        OfflineIMAP turns every underscore into a space, which makes a
        repository called ``gmail_local`` unreachable; trying "only the first
        underscore" as well keeps those usable.
        """
        if self.section is None:
            return ["general"]
        names = [self.section.replace("_", " "), self.section.replace("_", " ", 1), self.section]
        return list(dict.fromkeys(names))


def parse_override(text: str) -> Override:
    key, eq, value = text.partition("=")
    section, colon, option = key.rpartition(":")
    option = option.strip().lower()
    if not eq or not option or (colon and not section.strip()) or option.startswith("["):
        raise BadValue(f"{show(text)} is not [section:]option=value")
    return Override(section.strip() if colon else None, option, value.strip())


@dataclass
class SectionReader:
    """Typed access to one section that words every failure the same way.

    ``overridden`` maps (section, option) to the ``-k`` that set it, so an
    error about a command-line value points at the command line.
    """

    parser: configparser.ConfigParser
    section: str
    source: str
    env: Mapping[str, str]
    overridden: Mapping[tuple[str, str], Override] = field(default_factory=dict)

    def where(self, option: str) -> str:
        override = self.overridden.get((self.section, option))
        origin = f"-k {override.display()}" if override else f"config {self.source}"
        return f"{origin}: [{self.section}] {option}"

    def fail(self, option: str, detail: str) -> ConfigError:
        return ConfigError(f"{self.where(option)}: {detail}")

    def has(self, option: str) -> bool:
        return self.parser.has_option(self.section, option)

    def own_options(self) -> list[str]:
        """Options written in this section itself, not inherited from [DEFAULT].

        ConfigParser offers no public view of that, so this reads its table.
        """
        own: Mapping[str, object] = self.parser._sections.get(  # type: ignore[attr-defined]
            self.section, {}
        )
        return list(own)

    def text(self, option: str) -> str | None:
        """The interpolated, stripped value, or None if the option is absent."""
        if not self.has(option):
            return None
        try:
            return self.parser.get(self.section, option).strip()
        except configparser.InterpolationError as exc:
            raise self.fail(option, self._interpolation_problem(option, exc)) from None

    def _interpolation_problem(self, option: str, exc: configparser.InterpolationError) -> str:
        if isinstance(exc, configparser.InterpolationMissingOptionError):
            return (
                f"%({exc.reference})s names no option of [{self.section}] or [DEFAULT]"
                " (write a literal % as %%)"
            )
        if isinstance(exc, configparser.InterpolationDepthError):
            return "%(...)s references nest too deeply (do two options refer to each other?)"
        if option in SECRET_OPTIONS:
            return "bad %-interpolation (write a literal % as %%)"
        return f"bad %-interpolation: {exc.message} (write a literal % as %%)"

    def convert(self, option: str, parse: Callable[[str], T], default: T) -> T:
        text = self.text(option)
        if text is None:
            return default
        try:
            return parse(text)
        except BadValue as exc:
            raise self.fail(option, str(exc)) from None

    def string(self, option: str, default: str | None = None) -> str | None:
        text = self.text(option)
        return text if text else default

    def boolean(self, option: str, default: bool) -> bool:
        return self.convert(option, parse_bool, default)

    def integer(
        self, option: str, default: int, lo: int | None = None, hi: int | None = None
    ) -> int:
        return self.convert(option, lambda text: parse_int(text, lo, hi), default)

    def path(self, option: str) -> str | None:
        text = self.text(option)
        if not text:
            return None
        return expand_path(text, self.env)

    def warn_unknown(
        self,
        known: Iterable[str],
        unsupported: Mapping[str, bool | None],
        warn: Callable[[str], None],
    ) -> None:
        """Flag options we ignore, softly for OfflineIMAP's and loudly for typos.

        ``unsupported`` maps an OfflineIMAP option to its default when that is a
        boolean: writing the default changes nothing, so it earns no warning.
        """
        known_set = set(known)
        for option in self.own_options():
            if option in known_set:
                continue
            if option not in unsupported:
                warn(f"[{self.section}] unknown option '{option}' (ignored)")
                continue
            default = unsupported[option]
            if default is not None and self._equals_bool(option, default):
                continue
            warn(f"[{self.section}] option '{option}' is not supported yet (ignored)")

    def _equals_bool(self, option: str, default: bool) -> bool:
        try:
            text = self.text(option)
            return text is not None and parse_bool(text) == default
        except (ConfigError, BadValue):
            return False
