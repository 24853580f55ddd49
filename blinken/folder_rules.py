"""Which folders a repository syncs and what they are called on the other side.

Two ways to say it.  OfflineIMAP's: ``folderfilter``, ``nametrans`` and
``folderincludes`` are Python expressions, run with ``re`` and the names from
the user's ``pythonfile`` in scope (the config is the user's own code, exactly
as in OfflineIMAP).  Ours, for people who want no code: ``folders_include`` /
``folders_exclude`` glob lists and ``nametrans_regex`` substitutions.

User code can fail long after the config loaded, in the middle of a sync; the
wrappers here turn that into a :class:`ConfigCallError` naming the repository
and option, which the engine treats as an account error.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from types import CodeType

from blinken.config_values import (
    BadValue,
    ConfigCallError,
    SectionReader,
    one_line,
    parse_list,
    show,
)
from engine.settings import FolderRules

FILTER_GLOBS = ("folders_include", "folders_exclude")
RULE_OPTIONS = ("folderfilter", "nametrans", "folderincludes", "nametrans_regex", *FILTER_GLOBS)

_INBOX = re.compile(r"inbox(?=$|\W)", re.IGNORECASE)
_ARROW = re.compile(r"(.*?)\s*->\s*(.*)")


def describe(exc: BaseException) -> str:
    text = str(exc)
    return one_line(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


class PythonEnv:
    """The namespace config expressions run in: ``re`` plus the ``pythonfile``.

    One shared namespace, so a lambda written in the config can call helpers
    the pythonfile defined, and helpers can see each other.
    """

    def __init__(self, namespace: dict[str, object] | None = None) -> None:
        self.namespace: dict[str, object] = {"__builtins__": builtins, "re": re}
        self.namespace.update(namespace or {})

    @classmethod
    def load(cls, path: str | None) -> PythonEnv:
        """Run the user's pythonfile; BadValue says what went wrong, in one line."""
        env = cls()
        if path is None:
            return env
        try:
            with open(path, encoding="utf-8") as handle:
                source = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else describe(exc)
            raise BadValue(f"cannot read {path}: {reason}") from None
        env.namespace["__file__"] = path
        try:
            code = compile(source, path, "exec")
        except SyntaxError as exc:
            raise BadValue(f"{path} line {exc.lineno}: {exc.msg}") from None
        try:
            exec(code, env.namespace)
        except (Exception, SystemExit) as exc:
            raise BadValue(f"{path} failed while loading: {describe(exc)}") from None
        return env

    def compile(self, text: str) -> CodeType:
        """Compile one expression; the message never repeats the text (it may hold a secret)."""
        try:
            return compile(text.strip(), "<config>", "eval")
        except SyntaxError as exc:
            line = f" (line {exc.lineno} of the value)" if "\n" in text.strip() else ""
            raise BadValue(f"is not a valid Python expression: {exc.msg}{line}") from None

    def run(self, code: CodeType) -> object:
        try:
            return eval(code, self.namespace)
        except (Exception, SystemExit) as exc:
            raise BadValue(f"raised {describe(exc)}") from None


def compile_option(reader: SectionReader, python: PythonEnv, option: str) -> CodeType | None:
    text = reader.text(option)
    if not text:
        return None
    try:
        return python.compile(text)
    except BadValue as exc:
        raise reader.fail(option, str(exc)) from None


def evaluate_option(reader: SectionReader, python: PythonEnv, option: str) -> object:
    """Evaluate an option now, for values needed before any sync starts."""
    code = compile_option(reader, python, option)
    if code is None:
        return None
    try:
        return python.run(code)
    except BadValue as exc:
        raise reader.fail(option, str(exc)) from None


def folder_list(reader: SectionReader, python: PythonEnv, option: str) -> tuple[str, ...]:
    """A Python list of folder names, as ``folderincludes`` and ``idlefolders`` are written.

    ``*`` (or ``all``) stands for every folder, for people who want no Python here.
    """
    raw = reader.string(option)
    if raw is not None and raw.strip().lower() in ("*", "all"):
        return ("*",)
    value = evaluate_option(reader, python, option)
    if value is None:
        return ()
    names = list(value) if isinstance(value, list | tuple) else None
    if names is None or not all(isinstance(name, str) for name in names):
        raise reader.fail(option, "must be a Python list of folder names, e.g. ['INBOX', 'Sent']")
    return tuple(names)


class _UserFilter:
    """The user's folderfilter, made safe to call from the engine."""

    def __init__(self, function: Callable[[str], object], where: str) -> None:
        self.function = function
        self.where = where

    def __call__(self, name: str) -> bool:
        try:
            return bool(self.function(name))
        except Exception as exc:
            raise ConfigCallError(
                f"{self.where}: raised {describe(exc)} for folder {show(name)}"
            ) from None

    def __repr__(self) -> str:
        return f"<folderfilter of {self.where}>"


class _UserNametrans:
    """The user's nametrans; a non-string result is their bug, reported as such."""

    def __init__(self, function: Callable[[str], object], where: str) -> None:
        self.function = function
        self.where = where

    def __call__(self, name: str) -> str:
        try:
            result = self.function(name)
        except Exception as exc:
            raise ConfigCallError(
                f"{self.where}: raised {describe(exc)} for folder {show(name)}"
            ) from None
        if not isinstance(result, str):
            raise ConfigCallError(
                f"{self.where}: returned {type(result).__name__} for folder {show(name)},"
                " not a folder name"
            )
        return result

    def __repr__(self) -> str:
        return f"<nametrans of {self.where}>"


def canonical_inbox(name: str) -> str:
    """INBOX is case-insensitive in IMAP (RFC 3501), so patterns treat it so too."""
    return "INBOX" + name[5:] if _INBOX.match(name) else name


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """``*`` and ``?`` are the only wildcards: brackets stay literal for ``[Gmail]``."""
    parts = []
    for char in canonical_inbox(pattern):
        parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


class GlobFilter:
    """Keep a folder if it matches an include (or none are given) and no exclude."""

    def __init__(self, include: list[str], exclude: list[str]) -> None:
        self.include = [glob_pattern(pattern) for pattern in include]
        self.exclude = [glob_pattern(pattern) for pattern in exclude]

    def __call__(self, name: str) -> bool:
        canonical = canonical_inbox(name)
        if self.include and not any(p.fullmatch(canonical) for p in self.include):
            return False
        return not any(p.fullmatch(canonical) for p in self.exclude)

    def __repr__(self) -> str:
        include = [p.pattern for p in self.include]
        exclude = [p.pattern for p in self.exclude]
        return f"GlobFilter(include={include!r}, exclude={exclude!r})"


class RegexNametrans:
    """``PATTERN -> REPLACEMENT`` rules, one a line, applied in order with re.sub."""

    def __init__(self, rules: list[tuple[re.Pattern[str], str]]) -> None:
        self.rules = rules

    def __call__(self, name: str) -> str:
        for pattern, replacement in self.rules:
            name = pattern.sub(replacement, name)
        return name

    def __repr__(self) -> str:
        return f"RegexNametrans({[(p.pattern, r) for p, r in self.rules]!r})"


def parse_regex_rules(text: str) -> list[tuple[re.Pattern[str], str]]:
    rules = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for number, line in enumerate(lines, 1):
        label = f"rule {number} ({show(line)})" if len(lines) > 1 else show(line)
        match = _ARROW.fullmatch(line)
        if match is None or not match.group(1):
            raise BadValue(f"{label} is not PATTERN -> REPLACEMENT")
        try:
            pattern = re.compile(match.group(1))
        except re.error as exc:
            raise BadValue(f"{label}: bad regular expression: {exc}") from None
        try:
            pattern.sub(match.group(2), "")  # checks group references in the replacement
        except re.error as exc:
            raise BadValue(f"{label}: bad replacement: {exc}") from None
        rules.append((pattern, match.group(2)))
    if not rules:
        raise BadValue("no PATTERN -> REPLACEMENT rule given")
    return rules


def _user_callable(
    reader: SectionReader, python: PythonEnv, option: str
) -> Callable[[str], object]:
    value = evaluate_option(reader, python, option)
    if not callable(value):
        raise reader.fail(
            option, f"is a {type(value).__name__}, not a function (e.g. lambda folder: ...)"
        )
    return value


def _folderfilter(reader: SectionReader, python: PythonEnv) -> Callable[[str], bool] | None:
    globs: dict[str, list[str]] = {
        option: reader.convert(option, parse_list, []) for option in FILTER_GLOBS
    }
    if reader.has("folderfilter") and any(globs.values()):
        raise reader.fail(
            "folderfilter", "cannot be combined with folders_include/folders_exclude; pick one"
        )
    if reader.has("folderfilter"):
        return _UserFilter(
            _user_callable(reader, python, "folderfilter"), reader.where("folderfilter")
        )
    if any(globs.values()):
        return GlobFilter(globs["folders_include"], globs["folders_exclude"])
    return None


def _nametrans(reader: SectionReader, python: PythonEnv) -> Callable[[str], str] | None:
    if reader.has("nametrans") and reader.has("nametrans_regex"):
        raise reader.fail("nametrans", "cannot be combined with nametrans_regex; pick one")
    if reader.has("nametrans"):
        return _UserNametrans(
            _user_callable(reader, python, "nametrans"), reader.where("nametrans")
        )
    rules: list[tuple[re.Pattern[str], str]] = reader.convert(
        "nametrans_regex", parse_regex_rules, []
    )
    return RegexNametrans(rules) if rules else None


def build_rules(reader: SectionReader, python: PythonEnv) -> FolderRules:
    """FolderRules for one repository section; defaults where the user said nothing."""
    folderfilter = _folderfilter(reader, python)
    nametrans = _nametrans(reader, python)
    includes = folder_list(reader, python, "folderincludes")
    base = FolderRules()
    return FolderRules(
        folderfilter=folderfilter or base.folderfilter,
        nametrans=nametrans or base.nametrans,
        includes=includes,
    )
