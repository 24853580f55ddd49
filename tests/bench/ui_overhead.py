"""How much slower is a first sync with the dashboard than with ``-u quiet``?

Run it by hand (it is a benchmark, not a test)::

    /work/venv/bin/python tests/bench/ui_overhead.py [--messages 2000] [--runs 3]

It starts a throwaway Dovecot filled with the demo corpus (``blinken.corpus``,
one message in ten with a 50-500 KB attachment), then syncs it into a fresh
Maildir and state directory, alternating ``-u quiet`` and ``-u blinkenlights``
(``--runs`` times each, after one warm-up run of each that is not counted).
Every run is ``blinken -c CONFIG -u UI -o`` in its own tmux pane, so the
dashboard has a real terminal and both UIs are timed the same way: the pane's
shell writes ``date +%s.%N`` just before and after blinken, and ``times``
gives blinken's CPU seconds.  It prints both, their medians and the ratios
dashboard/quiet; the target is a wall-time ratio of at most 1.10, and the exit
status is 1 when it is over.  On a busy machine wall times are noisy (other
processes compete for the CPUs): the CPU ratio is the steadier figure, and
``--runs 7`` gives steadier medians.  ``--resync`` times runs that find nothing
to do instead (a Maildir synced once beforehand, reused by every run).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: import the checkout's blinken

from blinken import corpus  # noqa: E402
from blinken.demo import DEMO_SEED, DEMO_USER, config_text  # noqa: E402
from blinken.dovecot import ThrowawayDovecot  # noqa: E402
from tests.bench.stopping import exit_on_signals  # noqa: E402

UIS = ("quiet", "blinkenlights")
TARGET = 1.10
PANE_SIZE = ("120", "34")
RUN_TIMEOUT = 900.0


class Timing(NamedTuple):
    wall: float  # seconds from just before blinken started to just after it ended
    cpu: float  # user + system seconds of the blinken process


class Server:
    """The throwaway Dovecot with the corpus in it, and how to log in."""

    def __init__(self, dovecot: ThrowawayDovecot, password: str, messages: int) -> None:
        self.dovecot = dovecot
        self.password = password
        self.messages = messages


@contextmanager
def filled_server(messages: int) -> Iterator[Server]:
    dovecot = ThrowawayDovecot().start()
    try:
        password = secrets.token_urlsafe(12)
        dovecot.add_user(DEMO_USER, password)
        mail = corpus.generate(DEMO_SEED, messages, corpus.DEMO_FOLDERS)
        counts = corpus.populate_via_imap(
            dovecot.host, dovecot.port, DEMO_USER, password, mail, folders=corpus.DEMO_FOLDERS
        )
        yield Server(dovecot, password, sum(counts.values()))
    finally:
        dovecot.stop()


class Tmux:
    """A private tmux server (its own ``-L`` socket); ``stop()`` kills it and its panes."""

    def __init__(self) -> None:
        self.base = ["tmux", "-L", f"blinken-ui-overhead-{os.getpid()}", "-f", os.devnull]

    def run(self, name: str, command: str) -> None:
        width, height = PANE_SIZE
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", name, "-x", width, "-y", height, command],
            check=True,
        )

    def stop(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


def write_config(directory: Path, server: Server) -> Path:
    config = directory / "config"
    text = config_text(directory, server.dovecot.port, server.password)
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return config


def timed_command(directory: Path, config: Path, ui: str) -> str:
    """Shell for the pane: stamp, blinken, its status, stamp, then ``times``.

    ``times``' second line is the CPU time of the shell's children: blinken
    alone.  The end stamp is written last (renamed into place): the end marker.
    """
    blinken = shlex.join([sys.executable, "-m", "blinken", "-c", str(config), "-u", ui, "-o"])
    start, rc, end, cpu = (shlex.quote(str(directory / n)) for n in ("start", "rc", "end", "cpu"))
    return (
        f"cd {shlex.quote(str(ROOT))} && export TERM=xterm-256color && "
        f"date +%s.%N > {start} && {blinken}; echo $? > {rc}; date +%s.%N > {end}.tmp; "
        f"times > {cpu}; mv {end}.tmp {end}"
    )


def one_run(
    tmux: Tmux, work: Path, server: Server, ui: str, label: str, config: Path | None = None
) -> Timing:
    """Wall and CPU seconds of one blinken process: syncing everything into a fresh
    Maildir, or (``config`` of a synced one) a resync that finds nothing to do."""
    directory = work / label
    directory.mkdir()
    fresh = config is None
    config = config or write_config(directory, server)
    tmux.run(label, timed_command(directory, config, ui))
    _wait_for(directory / "end")
    status = (directory / "rc").read_text().strip()
    if status != "0":
        raise RuntimeError(f"{label}: blinken -u {ui} exited with status {status}")
    _check_synced(config.parent / "Mail", server.messages, label)
    start = float((directory / "start").read_text())
    wall = float((directory / "end").read_text()) - start
    if fresh and label != "synced":
        shutil.rmtree(directory / "Mail")  # ~100 MB a run: keep the disk tidy
    return Timing(wall, _children_cpu((directory / "cpu").read_text()))


def _children_cpu(times_output: str) -> float:
    """User + system seconds from the second line of bash's ``times`` (``0m5.120s 0m1.010s``)."""
    total = 0.0
    for field in times_output.splitlines()[1].split():
        minutes, _, seconds = field.rstrip("s").partition("m")
        total += 60 * float(minutes) + float(seconds)
    return total


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {path} after {RUN_TIMEOUT:.0f}s")
        time.sleep(0.05)


def _check_synced(maildir: Path, expected: int, label: str) -> None:
    found = sum(1 for path in maildir.rglob("*") if path.parent.name in ("cur", "new"))
    if found != expected:
        raise RuntimeError(f"{label}: {found} messages in the Maildir, expected {expected}")


def benchmark(server: Server, runs: int, warmup: int, resync: bool) -> dict[str, list[Timing]]:
    times: dict[str, list[Timing]] = {ui: [] for ui in UIS}
    tmux = Tmux()
    try:
        with tempfile.TemporaryDirectory(prefix="blinken-ui-overhead-") as tmp:
            synced = None
            if resync:  # one first sync (and one more to record every folder's stamps)
                one_run(tmux, Path(tmp), server, "quiet", "synced")
                synced = Path(tmp) / "synced" / "config"
                one_run(tmux, Path(tmp), server, "quiet", "stamped", synced)
            for n in range(warmup + runs):
                for ui in UIS:  # alternating, so drift hits both alike
                    label = f"{'warmup' if n < warmup else 'run'}-{n}-{ui}"
                    timing = one_run(tmux, Path(tmp), server, ui, label, synced)
                    print(f"  {label}: {timing.wall:.2f} s, CPU {timing.cpu:.2f} s", flush=True)
                    if n >= warmup:
                        times[ui].append(timing)
    finally:
        tmux.stop()
    return times


def table(times: dict[str, list[Timing]], kind: str) -> str:
    """One row per UI: each run's ``kind`` ("wall" or "cpu") seconds, then their median."""
    runs = len(times[UIS[0]])
    head = f"{kind + ' s':<20}" + "".join(f"{f'run {i + 1}':>9}" for i in range(runs))
    lines = [head + f"{'median':>9}"]
    for ui in UIS:
        values = [getattr(t, kind) for t in times[ui]]
        cells = "".join(f"{v:>9.2f}" for v in values)
        lines.append(f"{ui:<20}{cells}{statistics.median(values):>9.2f}")
    return "\n".join(lines)


def ratio(times: dict[str, list[Timing]], kind: str) -> float:
    """Median dashboard time over median quiet time."""

    def median(ui: str) -> float:
        return statistics.median(getattr(t, kind) for t in times[ui])

    return median("blinkenlights") / median("quiet")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Time a first sync (or a no-op resync): dashboard against -u quiet."
    )
    p.add_argument("--messages", type=int, default=2000, help="corpus size (2000)")
    p.add_argument("--runs", type=int, default=3, help="timed runs per UI (3)")
    p.add_argument("--warmup", type=int, default=1, help="uncounted runs per UI first (1)")
    p.add_argument(
        "--resync", action="store_true", help="time no-op resyncs of a synced Maildir instead"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    exit_on_signals()
    ns = _parser().parse_args(argv)
    if shutil.which("tmux") is None:
        print("ui_overhead: needs tmux (Debian: apt-get install tmux)", file=sys.stderr)
        return 2
    print(f"filling a throwaway Dovecot with {ns.messages} messages ...", flush=True)
    with filled_server(ns.messages) as server:
        times = benchmark(server, ns.runs, ns.warmup, ns.resync)
    wall, cpu = ratio(times, "wall"), ratio(times, "cpu")
    verdict = "ok" if wall <= TARGET else "OVER TARGET"
    what = (
        f"no-op resync of {ns.messages} messages already in the Maildir"
        if ns.resync
        else f"first sync of {ns.messages} messages into a fresh Maildir"
    )
    print(f"\n{what}, the blinken process:\n")
    print(table(times, "wall"))
    print(table(times, "cpu"))
    print(f"\nratio dashboard/quiet, wall medians: {wall:.3f}  (target <= {TARGET:.2f}: {verdict})")
    print(f"ratio dashboard/quiet, CPU medians:  {cpu:.3f}")
    return 0 if wall <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
