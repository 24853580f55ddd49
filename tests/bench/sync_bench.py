"""blinken against mbsync and offlineimap3 on the same mailbox, in the same run.

Run it by hand (it is a benchmark, not a test)::

    python tests/bench/sync_bench.py [-n 10000] [--folders 8] [--latency-ms 25]
        [--tools blinken,mbsync,offlineimap] [--attachments 0.016] [--connections 2]

It starts one throwaway Dovecot, generates a deterministic corpus
(``blinken.corpus``: 1-10 KB text messages, and the ``--attachments`` share
with a 50-500 KB attachment; the default makes 10,000 messages 98 MB, the size
of the issue's reference run) and loads it once.  Each tool then gets a
server-side copy of that mailbox as a user of its own (the Maildir copied with
``cp -a`` while Dovecot runs: far faster than appending again) and an empty
local Maildir, and four phases are timed:

1. first sync (everything is downloaded);
2. no-op resync (nothing changed anywhere);
3. resync after 1% flag changes and 0.5% deletions made on the server by
   another IMAP connection;
4. resync after as many changes made in the local Maildir (files renamed to
   change flags, unlinked to delete).

Each phase is one run of the tool (its "once" mode, quiet UI, default
settings such as fsync) as a child process: wall time, and peak RSS (GNU
time's, else ``os.wait4``'s).  A resync starts ``--settle`` seconds after the
last write (see ``ToolRun.settle``).  After each phase the local Maildir is
compared with the server (read directly with imapclient): per folder, the
multiset of Message-IDs with their ``D F R S T`` flags.  The changes are
picked by Message-ID with a fixed seed, so every tool sees the same ones.
Tools that are not installed are skipped (Debian packages ``isync`` and
``offlineimap3``; ``time`` for the peak RSS).  ``--latency-ms`` puts
``latency_proxy.py`` between the tools and Dovecot; setup and checks talk to
Dovecot directly.  The exit status is 1 when any check failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import imapclient

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: import the checkout's blinken

from blinken import corpus  # noqa: E402
from blinken.dovecot import DovecotError, ThrowawayDovecot  # noqa: E402
from tests.bench.latency_proxy import LatencyProxy  # noqa: E402
from tests.bench.stopping import exit_on_signals  # noqa: E402

SEED = 20250501
FOLDER_NAMES = (
    "INBOX", "Archive", "Archive.2024", "Archive.2025", "Lists.python", "Lists.dev", "Sent",
    "Drafts", "Trash", "Projects", "Receipts", "Travel",
)  # fmt: skip
PHASES = ("first sync", "no-op resync", "server changes", "local changes")
FLAG_SHARE = 0.01
DELETE_SHARE = 0.005
ALL_TOOLS = ("blinken", "mbsync", "offlineimap")
MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen"}
IMAP_FLAGS = {v.lower(): k for k, v in {**MAILDIR_FLAGS, "T": "\\Deleted"}.items()}
FETCH_CHUNK = 2000  # UIDs per FETCH in the checks: Dovecot limits a command line to 64 KB
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None  # Debian: time
WARM_UP = """\
import compileall, importlib.util, sys
for name in sys.argv[1:]:
    spec = importlib.util.find_spec(name)
    for where in (spec and spec.submodule_search_locations) or ():
        compileall.compile_dir(where, quiet=2)
    if spec and not spec.submodule_search_locations and str(spec.origin).endswith(".py"):
        compileall.compile_file(spec.origin, quiet=2)
"""
MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*?)[ \t]*$", re.IGNORECASE | re.MULTILINE)

State = dict[str, Counter[tuple[str, str]]]  # folder -> {(Message-ID, flags): count}
ServerMessage = tuple[str, str, int, tuple[bytes, ...]]  # folder, Message-ID, UID, flags


class Endpoint(NamedTuple):
    """Where and as whom to log in."""

    host: str
    port: int
    user: str
    password: str


class Measured(NamedTuple):
    """One run of a tool: wall seconds, its peak RSS in MB, its exit status."""

    seconds: float
    peak_mb: float
    returncode: int


@dataclass
class PhaseResult:
    """One cell of the table: None where the tool could not even be run."""

    seconds: float | None = None
    peak_mb: float | None = None
    ok: bool = False
    note: str = ""


@dataclass
class Options:
    """The command line, and the load average when it was read."""

    messages: int
    folders: tuple[str, ...]
    latency_ms: float
    tools: tuple[str, ...]
    attachments: float
    connections: int
    timeout: float
    settle: float = 2.5
    keep: bool = False
    load_at_start: float = field(default_factory=lambda: os.getloadavg()[0])


# -- the server -------------------------------------------------------------------


class BenchServer:
    """The throwaway Dovecot with the corpus loaded once for a seed user, copied per tool."""

    SEED_USER = "corpus"

    def __init__(self, dovecot: ThrowawayDovecot, password: str) -> None:
        self.dovecot = dovecot
        self.password = password
        self.messages = 0
        self.bytes = 0

    def endpoint(self, user: str) -> Endpoint:
        return Endpoint(self.dovecot.host, self.dovecot.port, user, self.password)

    def load(self, options: Options) -> None:
        """Generate and APPEND the corpus for the seed user (MULTIAPPEND batches)."""
        self.dovecot.add_user(self.SEED_USER, self.password)
        sizes: list[int] = []

        def counted() -> Iterator[corpus.CorpusMessage]:
            for message in corpus.generate(
                SEED, options.messages, options.folders, attachment_share=options.attachments
            ):
                sizes.append(len(message.data))
                yield message

        seed = self.endpoint(self.SEED_USER)
        corpus.populate_via_imap(
            seed.host, seed.port, seed.user, seed.password, counted(), folders=options.folders
        )
        self.messages, self.bytes = len(sizes), sum(sizes)
        self._wait_logged_out(self.SEED_USER)

    def _wait_logged_out(self, user: str) -> None:
        """The copy must not catch Dovecot half-way through writing the seed's indexes."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                lines = self.dovecot.doveadm("who", user).splitlines()[1:]
            except DovecotError:
                time.sleep(0.5)  # no answer from anvil: give the logout a moment
                return
            if not any(line.split()[:1] == [user] for line in lines):
                return
            time.sleep(0.05)

    def fresh_user(self, user: str) -> Endpoint:
        """A new user whose Maildir (with Dovecot's indexes and uidlists) copies the seed's.

        ``cp -a`` keeps owners and modes: as root the files belong to the
        ``mail`` user, which Dovecot's mail processes run as.
        """
        self.dovecot.add_user(user, self.password)
        source = self.dovecot.maildir_path(self.SEED_USER)
        target = self.dovecot.maildir_path(user)
        subprocess.run(["cp", "-a", str(source), str(target)], check=True)
        return self.endpoint(user)


@contextlib.contextmanager
def running_server(options: Options) -> Iterator[BenchServer]:
    """Start Dovecot in a world-traversable temp dir (as root its auth runs as another user)."""
    base = Path(tempfile.mkdtemp(prefix="blinken-bench-dovecot-"))
    base.chmod(0o755)
    dovecot = ThrowawayDovecot(str(base / "server"))
    try:
        dovecot.start()
        yield BenchServer(dovecot, secrets.token_urlsafe(12))
    finally:
        dovecot.stop()
        shutil.rmtree(base, ignore_errors=True)


# -- the tools --------------------------------------------------------------------


class Tool:
    """How to configure and run one sync program; subclasses fill in the details."""

    name = ""
    binary = ""
    package = ""  # Debian package to install it from
    python_modules: tuple[str, ...] = ()  # for a tool written in Python: what to precompile

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def version(self) -> str:
        done = subprocess.run(
            [self.binary, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
        return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"

    def prepare(self, work: Path, login: Endpoint, options: Options) -> list[str]:
        """Write the config under ``work`` (Maildir: ``work/Mail``); the command to run."""
        raise NotImplementedError

    def env(self, work: Path) -> dict[str, str]:
        """A private HOME and XDG dirs, so no tool reads or writes the real ones.

        PYTHONDONTWRITEBYTECODE goes: an installed program has its bytecode.
        """
        env = dict(os.environ, HOME=str(work), LANG="C.UTF-8", LC_ALL="C.UTF-8")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for name in ("CONFIG", "STATE", "CACHE", "DATA"):
            env[f"XDG_{name}_HOME"] = str(work / f".xdg-{name.lower()}")
        return env

    def interpreter(self) -> str:
        """The Python that runs the tool: its script's #! line."""
        with contextlib.suppress(OSError, TypeError):
            first = Path(shutil.which(self.binary) or "").read_bytes()[:200].split(b"\n")[0]
            if first.startswith(b"#!"):
                return first[2:].decode().split()[0]
        return ""

    def warm_up(self, work: Path) -> None:
        """Write the bytecode of a Python tool's modules, as a package install does.

        Without it every run compiles the sources again (where
        PYTHONDONTWRITEBYTECODE is set, or a package's postinst did not
        compile): a tenth of a second or more that no installed copy pays.
        """
        interpreter = self.interpreter()
        if self.python_modules and interpreter:
            subprocess.run(
                [interpreter, "-c", WARM_UP, *self.python_modules],
                env=self.env(work), capture_output=True, timeout=300, check=False,
            )  # fmt: skip


class Blinken(Tool):
    """This checkout, run as ``python -m blinken`` by the interpreter running the benchmark."""

    name = binary = "blinken"
    python_modules = ("blinken", "engine", "ui", "imapclient")

    def interpreter(self) -> str:
        return sys.executable

    def available(self) -> bool:
        return True

    def version(self) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "blinken", "--version"],
            capture_output=True, text=True, timeout=60, check=False,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )  # fmt: skip
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        return f"{done.stdout.strip() or '?'} (git {rev.stdout.strip() or '?'})"

    def prepare(self, work: Path, login: Endpoint, options: Options) -> list[str]:
        config = work / "blinkenrc"
        write_private(config, offlineimap_style_config(work, login, options))
        return [sys.executable, "-m", "blinken", "-c", str(config), "-o", "-u", "quiet"]

    def env(self, work: Path) -> dict[str, str]:
        return dict(super().env(work), PYTHONPATH=str(ROOT))


class Mbsync(Tool):
    """isync's mbsync: both ways, everything, expunges too (what blinken does by default)."""

    name = binary = "mbsync"
    package = "isync"

    def prepare(self, work: Path, login: Endpoint, options: Options) -> list[str]:
        """Flatten '.' gives the same flat layout (``Mail/Archive.2025``) as the others."""
        mail = work / "Mail"
        config = work / "mbsyncrc"
        write_private(
            config,
            f"""\
IMAPAccount bench
Host {login.host}
Port {login.port}
User {login.user}
Pass {login.password}
SSLType None
AuthMechs LOGIN

IMAPStore bench-remote
Account bench

MaildirStore bench-local
Path {mail}/
Inbox {mail}/INBOX
SubFolders Verbatim
Flatten .

Channel bench
Far :bench-remote:
Near :bench-local:
Patterns *
Sync All
Create Both
Expunge Both
SyncState *
""",
        )
        return [self.binary, "-c", str(config), "-q", "-a"]


class OfflineImap(Tool):
    """offlineimap3 with the same config as blinken's: blinken reads OfflineIMAP's format."""

    name = binary = "offlineimap"
    package = "offlineimap3"
    python_modules = ("offlineimap", "imaplib2")

    def prepare(self, work: Path, login: Endpoint, options: Options) -> list[str]:
        config = work / "offlineimaprc"
        write_private(config, offlineimap_style_config(work, login, options))
        return [self.binary, "-c", str(config), "-o", "-u", "quiet"]


TOOLS: dict[str, Tool] = {t.name: t for t in (Blinken(), Mbsync(), OfflineImap())}


def write_private(path: Path, text: str) -> None:
    """Readable by the owner only: the config holds the password (and blinken checks that)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


# -- running and timing -----------------------------------------------------------


def run_measured(argv: list[str], env: dict[str, str], log: Path, timeout: float) -> Measured:
    """Run ``argv`` to its end; wall time, peak RSS and exit status.

    The peak comes from GNU time (``%M``, its child's ru_maxrss) when it is
    installed: a direct child of this Python process would report at least
    our own RSS, because Linux carries the high-water mark of the memory a
    process had before exec() into its ru_maxrss.  Without GNU time that
    inflated number from wait4 is all there is, and the header says so.
    The child gets its own process group, so a timeout kills it and all it
    started.
    """
    rss_file = log.with_suffix(".rss")
    wrapper = [GNU_TIME, "-f", "%M", "-o", str(rss_file)] if GNU_TIME else []
    with log.open("ab") as out:
        out.write(f"\n=== {' '.join(argv)}\n".encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*wrapper, *argv], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=env, cwd=env["HOME"], start_new_session=True,
        )  # fmt: skip
        killer = threading.Timer(timeout, _kill_group, (proc.pid,))
        killer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    peak_kb = _time_peak_kb(rss_file) if GNU_TIME else usage.ru_maxrss
    return Measured(seconds, peak_kb / 1024, proc.returncode)


def _time_peak_kb(rss_file: Path) -> int:
    """The last line GNU time wrote (before it: 'Command exited with non-zero status')."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(rss_file.read_text().split()[-1])
    return 0


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def log_tail(log: Path, lines: int = 8) -> str:
    with contextlib.suppress(OSError):
        text = log.read_text(errors="replace").splitlines()
        return " | ".join([t for t in text if t.strip() and not t.startswith("===")][-lines:])
    return ""


# -- reading both sides -----------------------------------------------------------


def header_message_id(head: bytes) -> str:
    """The Message-ID from a message's header (folded lines joined), or '' if none."""
    head = re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0]
    head = re.sub(rb"\r?\n[ \t]+", b" ", head)
    found = MESSAGE_ID.search(head)
    return found.group(1).decode("ascii", "replace") if found else ""


def server_state(login: Endpoint) -> State:
    """Every selectable folder's (Message-ID, flag letters) multiset."""
    client = corpus.connect_plain(login.host, login.port, login.user, login.password)
    try:
        state: State = {}
        for name, mid, _uid, flags in server_messages(client):
            letters = {IMAP_FLAGS.get(f.decode().lower(), "") for f in flags} - {""}
            state.setdefault(name, Counter())[(mid, "".join(sorted(letters)))] += 1
        return state
    finally:
        corpus.close_quietly(client)


def server_messages(client: imapclient.IMAPClient) -> Iterator[ServerMessage]:
    """(folder, Message-ID, UID, flags) of every message, each folder SELECTed read-only."""
    for flags, _sep, name in client.list_folders():
        if b"\\Noselect" in flags or b"\\NonExistent" in flags:
            continue
        client.select_folder(name, readonly=True)
        uids = client.search("ALL")
        for start in range(0, len(uids), FETCH_CHUNK):  # short command lines
            chunk = uids[start : start + FETCH_CHUNK]
            fetched = client.fetch(chunk, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            for uid, data in fetched.items():
                head = next((v for k, v in data.items() if k.startswith(b"BODY[")), b"")
                yield name, header_message_id(head or b""), uid, tuple(data[b"FLAGS"])


def maildir_folders(root: Path) -> Iterator[tuple[str, Path]]:
    """(folder name, path) of every Maildir under ``root``: nesting maps to '.'."""
    for dirpath, dirnames, _files in os.walk(root):
        if {"cur", "new", "tmp"} <= set(dirnames):
            rel = os.path.relpath(dirpath, root)
            yield ("" if rel == "." else rel.replace(os.sep, ".")), Path(dirpath)
        dirnames[:] = [d for d in dirnames if d not in ("cur", "new", "tmp")]


def maildir_messages(folder: Path) -> Iterator[Path]:
    for sub in ("cur", "new"):
        with os.scandir(folder / sub) as entries:
            for entry in entries:
                if not entry.name.startswith(".") and entry.is_file():
                    yield Path(entry.path)


def file_flags(path: Path) -> str:
    """The flag letters of a Maildir file name (``...:2,FS``); none in new/."""
    info = path.name.rpartition(":2,")
    letters = set(info[2]) if info[1] else set()
    return "".join(sorted(letters & {*MAILDIR_FLAGS, "T"}))


def local_state(root: Path) -> State:
    state: State = {}
    for name, folder in maildir_folders(root):
        items = state.setdefault(name, Counter())
        for path in maildir_messages(folder):
            with path.open("rb") as handle:
                items[(header_message_id(handle.read(16384)), file_flags(path))] += 1
    return state


def compare(server: State, local: State) -> tuple[bool, str]:
    """Equal content per folder (empty folders aside); else a short count of what differs."""
    problems = []
    for folder in sorted({*server, *local}):
        want, have = server.get(folder, Counter()), local.get(folder, Counter())
        if want == have:
            continue
        missing, extra = want - have, have - want
        ids_missing = Counter(i for i, _f in missing.elements()) - Counter(
            i for i, _f in extra.elements()
        )
        flags_differ = missing.total() - ids_missing.total()
        problems.append(
            f"{folder}: {ids_missing.total()} missing, "
            f"{extra.total() - flags_differ} extra, {flags_differ} flags differ"
        )
    return not problems, "; ".join(problems[:4]) + (" ..." if len(problems) > 4 else "")


# -- making changes ---------------------------------------------------------------


def change_counts(total: int) -> tuple[int, int]:
    """How many flag changes and deletions: 1% and 0.5% of the mailbox, at least one each."""
    flags = min(total, max(1, round(total * FLAG_SHARE)))
    return flags, min(total - flags, max(1, round(total * DELETE_SHARE)))


def change_server(login: Endpoint, seed: int) -> str:
    """Toggle \\Seen or \\Flagged on 1% and expunge 0.5%, as another client would."""
    client = corpus.connect_plain(login.host, login.port, login.user, login.password)
    try:
        messages = sorted(server_messages(client))
        flag_count, delete_count = change_counts(len(messages))
        rng = random.Random(seed)
        picked = rng.sample(messages, flag_count + delete_count)
        for folder, _mid, uid, flags in picked[:flag_count]:
            client.select_folder(folder)
            flag = rng.choice(("\\Seen", "\\Flagged"))
            has = flag.encode() in flags
            (client.remove_flags if has else client.add_flags)([uid], [flag])
        for folder in sorted({p[0] for p in picked[flag_count:]}):
            uids = [p[2] for p in picked[flag_count:] if p[0] == folder]
            client.select_folder(folder)
            client.delete_messages(uids)
            client.uid_expunge(uids)
        return f"{flag_count} flags, {delete_count} deletions"
    finally:
        corpus.close_quietly(client)


def change_local(root: Path, seed: int) -> str:
    """Rename 1% of the files to toggle S or F, unlink 0.5%, as a mail reader would."""
    files = sorted(
        (name, header_message_id(path.read_bytes()[:16384]), str(path))
        for name, folder in maildir_folders(root)
        for path in maildir_messages(folder)
    )
    flag_count, delete_count = change_counts(len(files))
    rng = random.Random(seed)
    picked = rng.sample(files, flag_count + delete_count)
    for _name, _mid, path in picked[:flag_count]:
        toggle_file_flag(Path(path), rng.choice("SF"))
    for _name, _mid, path in picked[flag_count:]:
        os.unlink(path)
    return f"{flag_count} flags, {delete_count} deletions"


def toggle_file_flag(path: Path, letter: str) -> None:
    """Move the file to cur/ with ``letter`` added or removed from its info."""
    base, sep, letters = path.name.rpartition(":2,")
    if not sep:
        base, letters = path.name, ""
    flags = set(letters) ^ {letter}
    target = path.parent.parent / "cur" / f"{base}:2,{''.join(sorted(flags))}"
    os.rename(path, target)


# -- one tool through the phases --------------------------------------------------


def offlineimap_style_config(work: Path, login: Endpoint, options: Options) -> str:
    """One config for blinken and offlineimap3 alike: blinken reads OfflineIMAP's format."""
    return f"""\
[general]
accounts = bench
metadata = {work / "state"}
ui = quiet

[Account bench]
localrepository = bench-local
remoterepository = bench-remote

[Repository bench-local]
type = Maildir
localfolders = {work / "Mail"}
sep = .

[Repository bench-remote]
type = IMAP
remotehost = {login.host}
remoteport = {login.port}
remoteuser = {login.user}
remotepass = {login.password}
ssl = no
starttls = no
maxconnections = {options.connections}
"""


@dataclass
class ToolRun:
    """One tool's fixed setup for its phases, and when its Maildir was last written."""

    tool: Tool
    argv: list[str]
    login: Endpoint  # straight to Dovecot: for the changes and the checks
    work: Path
    options: Options
    last_write: float = field(default_factory=time.monotonic)

    def settle(self) -> None:
        """Let ``--settle`` seconds pass since the last write to the Maildir or the server.

        A real resync comes minutes after the last change, not milliseconds,
        and tools rightly distrust directory mtimes from the last moments:
        mbsync sleeps a second when it sees one from the current second,
        blinken trusts its folder stamps only after 2 s.  Waiting here keeps
        that artefact out of every tool's timing, the same for all.
        """
        time.sleep(max(0.0, self.last_write + self.options.settle - time.monotonic()))


def bench_tool(tool: Tool, server: BenchServer, options: Options, work: Path) -> list[PhaseResult]:
    """All four phases on the tool's own server user and empty Maildir."""
    login = server.fresh_user(f"bench-{tool.name}")
    (work / "Mail").mkdir(mode=0o700, parents=True)  # mbsync wants the store's root to exist
    tool.warm_up(work)
    proxy = LatencyProxy(login.host, login.port, options.latency_ms) if options.latency_ms else None
    with proxy or contextlib.nullcontext():
        port = proxy.port if proxy else login.port
        run = ToolRun(
            tool, tool.prepare(work, login._replace(port=port), options), login, work, options
        )
        changes: list[Callable[[], str]] = [
            lambda: "",
            lambda: "",
            lambda: change_server(login, SEED + 3),
            lambda: change_local(work / "Mail", SEED + 4),
        ]
        return [phase(run, number, change) for number, change in enumerate(changes, 1)]


def phase(run: ToolRun, number: int, change: Callable[[], str]) -> PhaseResult:
    """Make the phase's changes, let them settle, run the tool once, compare both sides."""
    log = run.work / f"phase{number}.log"
    result = PhaseResult()
    try:
        made = change()
        if made:
            run.last_write = time.monotonic()
        run.settle()
        measured = run_measured(run.argv, run.tool.env(run.work), log, run.options.timeout)
        run.last_write = time.monotonic()
        result.seconds, result.peak_mb = measured.seconds, measured.peak_mb
        result.ok, result.note = compare(server_state(run.login), local_state(run.work / "Mail"))
        if measured.returncode != 0:
            result.ok = False
            result.note = f"exit {measured.returncode}: {log_tail(log)}; {result.note}"
        result.note = "; ".join(filter(None, (made and f"made {made}", result.note)))
    except Exception as exc:  # one broken tool must not hide the others' numbers
        result.ok, result.note = False, f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    return result


# -- output -----------------------------------------------------------------------


def environment(options: Options, server: BenchServer, tools: list[Tool]) -> str:
    """What the numbers depend on, printed above the table."""
    network = f"{options.latency_ms:g} ms added round trip" if options.latency_ms else "loopback"
    rss = "GNU time" if GNU_TIME else "wait4, so at least this script's own RSS (install 'time')"
    load = f"{options.load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    rows = [
        ("machine", f"{os.cpu_count()} CPUs ({_cpu_model()}), {platform.platform()}"),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("dovecot", _dovecot_version()),
        *((tool.name, tool.version()) for tool in tools),
        ("corpus", f"{server.messages} messages, {server.bytes / 1e6:.1f} MB "
                   f"({server.bytes / max(1, server.messages) / 1024:.1f} KiB average), "
                   f"{len(options.folders)} folders, attachments {options.attachments:g}, "
                   f"seed {SEED}"),
        ("network", network),
        ("settings", f"maxconnections {options.connections} (blinken, offlineimap); resyncs "
                     f"{options.settle:g} s after the last write; Python bytecode precompiled"),
        ("peak RSS", f"from {rss}"),
        ("load", f"1-minute load average {load} (other work on this machine)"),
    ]  # fmt: skip
    return "\n".join(f"{name:<11}: {text}" for name, text in rows)


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _dovecot_version() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(["dovecot", "--version"], capture_output=True, text=True, timeout=30)
        return done.stdout.strip()
    return "?"


def table(results: dict[str, list[PhaseResult]]) -> str:
    """Phase rows; per tool seconds, peak MB and check; then blinken's time ratios."""
    tools = list(results)
    peers = [t for t in tools if t != "blinken"] if "blinken" in tools else []
    head = f"{'phase':<16}" + "".join(f"| {t:<24}" for t in tools)
    head += "".join(f"| {'blinken/' + p:<20}" for p in peers)
    sub = f"{'':<16}" + f"| {'s':>8} {'MB':>7} {'check':<7}" * len(tools)
    sub += f"| {'time':>7} {'memory':>8}   " * len(peers)
    lines = [head, sub, "-" * len(sub)]
    for index, name in enumerate(PHASES):
        row = f"{name:<16}"
        for tool in tools:
            row += "| " + _cell(results[tool][index])
        for peer in peers:
            row += "| " + _ratios(results["blinken"][index], results[peer][index])
        lines.append(row)
    return "\n".join(lines)


def _cell(result: PhaseResult) -> str:
    seconds = f"{result.seconds:8.2f}" if result.seconds is not None else f"{'-':>8}"
    peak = f"{result.peak_mb:7.1f}" if result.peak_mb is not None else f"{'-':>7}"
    return f"{seconds} {peak} {'ok' if result.ok else 'FAIL':<7}"


def _ratios(ours: PhaseResult, theirs: PhaseResult) -> str:
    """blinken's time and memory over the peer's; '-' unless both runs passed their check."""

    def ratio(a: float | None, b: float | None) -> str:
        both_ok = ours.ok and theirs.ok
        return f"{a / b:.2f}x" if both_ok and a is not None and b else "-"

    return f"{ratio(ours.seconds, theirs.seconds):>7} {ratio(ours.peak_mb, theirs.peak_mb):>8}   "


def notes(results: dict[str, list[PhaseResult]]) -> str:
    lines = []
    for tool, phases in results.items():
        for name, result in zip(PHASES, phases, strict=True):
            if result.note:
                lines.append(f"{tool} / {name}: {result.note}")
    return "\n".join(lines)


# -- command line -----------------------------------------------------------------


def parse_options(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--messages", type=int, default=10_000)
    parser.add_argument("--folders", type=int, default=8, help="how many folders (INBOX first)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added round trip")
    parser.add_argument("--tools", default=",".join(ALL_TOOLS), help="comma-separated")
    parser.add_argument(
        "--attachments", type=float, default=0.016, help="share of messages with an attachment"
    )
    parser.add_argument("--connections", type=int, default=2, help="maxconnections")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    parser.add_argument(
        "--settle", type=float, default=2.5, help="seconds from the last write to a resync"
    )
    parser.add_argument("--keep", action="store_true", help="keep the local Maildirs and logs")
    args = parser.parse_args(argv)
    tools = tuple(t.strip() for t in args.tools.split(",") if t.strip())
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        parser.error(f"unknown tools {unknown}; known: {', '.join(ALL_TOOLS)}")
    return Options(
        args.messages, folder_names(args.folders), args.latency_ms, tools,
        args.attachments, args.connections, args.timeout, args.settle, args.keep,
    )  # fmt: skip


def folder_names(count: int) -> tuple[str, ...]:
    extra = tuple(f"Folder{i:03d}" for i in range(max(0, count - len(FOLDER_NAMES))))
    return (FOLDER_NAMES + extra)[: max(1, count)]


def installed_tools(options: Options) -> list[Tool]:
    tools = []
    for name in options.tools:
        tool = TOOLS[name]
        if tool.available():
            tools.append(tool)
        else:
            print(f"{name}: not installed (apt-get install {tool.package}), skipped", flush=True)
    return tools


def main(argv: list[str] | None = None) -> int:
    """Load once, run every installed tool through the phases, print; 1 if a check failed."""
    exit_on_signals()
    options = parse_options(argv)
    tools = installed_tools(options)
    work = Path(tempfile.mkdtemp(prefix="blinken-bench-"))
    results: dict[str, list[PhaseResult]] = {}
    try:
        with running_server(options) as server:
            started = time.monotonic()
            server.load(options)
            print(f"corpus loaded in {time.monotonic() - started:.1f}s", flush=True)
            for tool in tools:
                print(f"running {tool.name} ...", flush=True)
                results[tool.name] = bench_tool_safely(tool, server, options, work / tool.name)
            print(f"\n{environment(options, server, tools)}\n\n{table(results)}\n")
            print(notes(results))
    finally:
        if options.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r.ok for phases in results.values() for r in phases) else 1


def bench_tool_safely(
    tool: Tool, server: BenchServer, options: Options, work: Path
) -> list[PhaseResult]:
    """A tool whose setup fails gets FAIL rows with the reason, and the others still run."""
    try:
        return bench_tool(tool, server, options, work)
    except Exception as exc:
        traceback.print_exc()
        return [PhaseResult(note=f"setup failed: {type(exc).__name__}: {exc}") for _ in PHASES]


if __name__ == "__main__":
    raise SystemExit(main())
