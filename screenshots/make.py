"""Make blinken's screenshots: real runs of blinken in tmux, captured and drawn as PNGs.

Run it from anywhere (Pillow needed: ``pip install -e '.[screenshots]'``)::

    /work/venv/bin/python screenshots/make.py

It starts one throwaway Dovecot filled with the demo corpus (3000 messages,
one in ten with a big attachment, so a first sync takes long enough to be
caught mid-copy), then runs blinken against it once per picture, each time
into a fresh Maildir, in a private tmux server (``tmux -L``).  Panes are read
with ``tmux capture-pane -e -p`` and drawn by ``screenshots/ansi_png.py``.
Everything it starts (tmux server, Dovecot) is stopped before it exits.

The pictures: ``dashboard-sync`` (a first sync, caught with the most LED
colours lit), ``dashboard-countdown`` (waiting for the next sync),
``dashboard-help`` (``?``: keys and the LED legend), ``dashboard-password``
(the masked prompt when the config has no password), ``ttyui`` and ``basic``
(the end of a first sync with the line UIs; a post-sync hook that is not
installed adds a warning, to show how problems look).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: the checkout's blinken and screenshots

from blinken.demo import ACCOUNT, Demo, config_text, prepare_demo  # noqa: E402
from screenshots.ansi_png import RGB, Cell, Grid, parse, plain_text  # noqa: E402

OUT_DIR = Path(__file__).resolve().parent
INSTALL_HINT = (
    "screenshots/make.py needs Pillow to draw the pictures; install it with\n"
    "    pip install -e '.[screenshots]'    (or: pip install Pillow)"
)
NBSP = "\u00a0"
DASH = (120, 34)  # wide enough for the help's two-column legend
PLAIN_SIZE = (120, 26)
FAILING_HOOK = "postsynchook = mail-indexer --quiet\n"  # no such program: a warning
TMUX_CONF = "set -g status off\nset -g history-limit 2000\n"


# -- tmux --------------------------------------------------------------------
class Pane:
    """One tmux session on our own server socket: start a command, read it, type into it."""

    def __init__(self, tmux: list[str], name: str) -> None:
        self.tmux = tmux
        self.name = name

    def capture(self, ansi: bool = True) -> str:
        flags = ["-e", "-N"] if ansi else []
        done = subprocess.run(
            [*self.tmux, "capture-pane", "-p", *flags, "-t", self.name],
            capture_output=True,
            text=True,
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, test: Callable[[str], bool], timeout: float = 120.0) -> str:
        """The first ANSI capture whose plain text passes ``test``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.capture()
            if test(plain_text(parse(text))):
                return text
            time.sleep(0.1)
        raise TimeoutError(f"pane {self.name}: timed out; it shows:\n{self.capture(ansi=False)}")

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-session", "-t", self.name], capture_output=True)


class Tmux:
    """A private tmux server (``-L`` socket, our own config); ``stop()`` kills it."""

    def __init__(self, work: Path) -> None:
        conf = work / "tmux.conf"
        conf.write_text(TMUX_CONF, encoding="utf-8")
        self.base = ["tmux", "-L", f"blinken-shots-{os.getpid()}", "-f", str(conf)]

    def start(self, name: str, command: str, size: tuple[int, int]) -> Pane:
        width, height = size
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
             command],
            check=True,
        )  # fmt: skip
        return Pane(self.base, name)

    def stop(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


# -- runs of blinken ------------------------------------------------------------
@dataclass
class Scene:
    """One run of blinken in its own directory (config, fresh Maildir and state)."""

    directory: Path
    config: Path
    exit_file: Path

    def command(self, *args: str) -> str:
        """The shell command for tmux: blinken, then its exit status, then a long quiet wait.

        TERM says ``screen``: urwid then paints coloured bars cell by cell
        rather than erasing to the line end, which ``capture-pane`` would lose.
        """
        blinken = [sys.executable, "-m", "blinken", "-c", str(self.config), *args]
        return (
            f"cd {shlex.quote(str(ROOT))} && TERM=screen-256color {shlex.join(blinken)}; "
            f"echo $? > {shlex.quote(str(self.exit_file))}; sleep 3600"
        )

    def wait_exit(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.exit_file.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"blinken in {self.directory} did not finish")
            time.sleep(0.2)
        time.sleep(0.3)  # let tmux draw the last lines

    def status(self) -> str:
        return self.exit_file.read_text(encoding="utf-8").strip()

    def finish(self, pane: Pane, expect_ok: bool = True) -> None:
        """Close the pane and drop the Maildir (100+ MB); complain about a failed run."""
        pane.close()
        shutil.rmtree(self.directory / "Mail", ignore_errors=True)
        if expect_ok and self.status() != "0":
            print(f"  warning: blinken in {self.directory.name} exited with {self.status()}")


def new_scene(
    work: Path, name: str, demo: Demo, *, password: bool = True, account_extra: str = ""
) -> Scene:
    """A config for ``demo``'s server syncing into ``work/name``.

    ``password=False`` leaves out ``remotepass``; ``account_extra`` is added to
    the account's section.
    """
    directory = work / name
    directory.mkdir()
    text = config_text(directory, demo.port, demo.password)
    section = f"[Account {ACCOUNT}]\n"
    text = text.replace(section, section + account_extra)
    if not password:
        text = "".join(line for line in text.splitlines(True) if not line.startswith("remotepass"))
    config = directory / "config"
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Scene(directory, config, directory / "exit")


# -- picking frames -------------------------------------------------------------
Score = tuple[int, int, float]
GOOD_ENOUGH = 3  # lit LEDs: the main thread and both workers, in three colours


def led_states(grid: Grid) -> set[tuple[str, RGB]]:
    """(glyph, background) of every LED in the LED rows (between the title and the first rule)."""
    states: set[tuple[str, RGB]] = set()
    for row in grid[1:]:
        if row and row[0].char == "─":
            break
        for left, mid, right in zip(row, row[1:], row[2:], strict=False):
            if left.char == right.char == NBSP and _is_led(mid):
                assert mid.style.bg is not None
                states.add((mid.char, mid.style.bg))
    return states


def _is_led(cell: Cell) -> bool:
    """A glyph on a coloured background; the account hotkeys (digits) look alike but are not."""
    return cell.style.bg is not None and cell.char not in (NBSP, " ") and not cell.char.isdigit()


def top_states(text: str) -> set[tuple[str, RGB]]:
    """LED states of a capture, parsing only its top lines (a whole screen is slow to parse)."""
    return led_states(parse("\n".join(text.split("\n")[:4])))


def frame_score(text: str, messages: int) -> Score:
    """Distinct lit LED states, then a lit copy LED, then progress nearest three quarters.

    Late frames have more in the log; 3/4 still leaves plenty to copy.  The
    status bar's total only counts the folders started so far, so progress is
    measured against all ``messages`` instead.
    """
    lit = {state for state in top_states(text) if state[0] != "."}
    copying = int(any(glyph == ">" for glyph, _bg in lit))
    return len(lit), copying, -abs(_messages_done(text) / messages - 0.75)


def _messages_done(text: str) -> int:
    """The ``123`` of the status bar's ``123/456 msg``, or 0."""
    match = re.search(r"(\d+)/\d+ msg", text)
    return int(match[1]) if match else 0


def good_enough(score: Score) -> bool:
    lit, copying, progress = score
    return lit >= GOOD_ENOUGH and copying == 1 and progress > -0.4


def record_until_exit(pane: Pane, scene: Scene, timeout: float = 300.0) -> list[str]:
    """Every capture tmux gives while blinken runs, as fast as it answers."""
    frames: list[str] = []
    deadline = time.monotonic() + timeout
    while not scene.exit_file.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"blinken in {scene.directory} did not finish")
        text = pane.capture()
        if " syncing " in text:
            frames.append(text)
    return frames


def countdown_lit(text: str) -> bool:
    """The countdown LED (T) is in its lit (red) phase, not its dark one."""
    return any(glyph == "T" and _reddish(bg) for glyph, bg in top_states(text))


def _reddish(colour: RGB) -> bool:
    return colour[0] > colour[1] + 64 and colour[0] > colour[2] + 64


# -- the pictures ------------------------------------------------------------
class Shots:
    """Writes PNGs, noting what it wrote."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.written: list[Path] = []

    def save(self, name: str, text: str, size: tuple[int, int]) -> None:
        from screenshots.ansi_png import ansi_to_png

        path = self.out_dir / f"{name}.png"
        ansi_to_png(text, path, width=size[0], height=size[1])
        self.written.append(path)
        print(f"  wrote {path} ({path.stat().st_size // 1024} KiB)")


def mid_sync_picture(tmux: Tmux, work: Path, demo: Demo, shots: Shots, attempts: int = 4) -> None:
    """A first sync caught while copying, with as many LED colours lit as it ever has.

    Both workers copy most of the time; a frame with one of them between
    folders (cyan F, green L, blue S) is rarer, so the sync is repeated
    (into a fresh Maildir) until one is caught.
    """
    best, best_score = "", (-1, -1, -1.0)
    messages = max(1, sum(demo.counts.values()))
    for attempt in range(1, attempts + 1):
        scene = new_scene(work, f"sync-{attempt}", demo)
        pane = tmux.start(f"sync-{attempt}", scene.command("-u", "blinkenlights", "-o"), DASH)
        frames = record_until_exit(pane, scene)
        scene.finish(pane)
        for frame in frames:
            score = frame_score(frame, messages)
            if score > best_score:
                best, best_score = frame, score
        share = _messages_done(best) / messages
        print(f"  attempt {attempt}: {len(frames)} frames; best: {best_score[0]} lit, {share:.0%}")
        if good_enough(best_score):
            break
    if not best:
        raise RuntimeError("never saw the dashboard mid-sync: try more --messages")
    shots.save("dashboard-sync", best, DASH)


def dashboard_pictures(tmux: Tmux, work: Path, demo: Demo, shots: Shots) -> None:
    """The countdown after a first sync, then the help screen over it."""
    scene = new_scene(work, "dashboard", demo)
    pane = tmux.start("dashboard", scene.command("-u", "blinkenlights"), DASH)
    counting = pane.wait_for(lambda t: "next sync in 0:2" in t)
    shots.save("dashboard-countdown", _wait_ansi(pane, countdown_lit, 5.0) or counting, DASH)
    pane.keys("?")
    shots.save("dashboard-help", pane.wait_for(lambda t: "LED colours" in t), DASH)
    pane.keys("Escape")
    time.sleep(1.0)  # Esc then q at once would read as Alt-q
    pane.keys("q")
    scene.wait_exit(60)
    scene.finish(pane)


def _wait_ansi(pane: Pane, test: Callable[[str], bool], timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = pane.capture()
        if test(text):
            return text
        time.sleep(0.1)
    return None


def password_picture(tmux: Tmux, work: Path, demo: Demo, shots: Shots) -> None:
    """The masked prompt the dashboard opens when the config has no password."""
    scene = new_scene(work, "password", demo, password=False)
    pane = tmux.start("password", scene.command("-u", "blinkenlights", "-o"), DASH)
    pane.wait_for(lambda t: "Enter: send" in t)
    pane.keys("-l", demo.password[:9])
    text = pane.wait_for(lambda t: "*" * 9 in t, 10)
    shots.save("dashboard-password", text, DASH)
    pane.keys("Escape")  # cancelled: the run fails at once instead of syncing 3000 messages
    scene.wait_exit()
    scene.finish(pane, expect_ok=False)


def plain_picture(tmux: Tmux, work: Path, demo: Demo, shots: Shots, ui: str) -> None:
    """A whole first sync with a line-based UI; the picture is its last screenful.

    A post-sync hook that is not installed gives the run a warning at its end,
    so the picture shows how problems stand out (in colour, for the TTY UI).
    """
    scene = new_scene(work, ui, demo, account_extra=FAILING_HOOK)
    pane = tmux.start(ui, scene.command("-u", ui, "-o"), PLAIN_SIZE)
    scene.wait_exit()
    shots.save(ui, pane.capture(), PLAIN_SIZE)
    scene.finish(pane)


# -- main ----------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Make the PNG screenshots in screenshots/.")
    p.add_argument("--messages", type=int, default=3000, help="demo corpus size (3000)")
    p.add_argument("--out", type=Path, default=OUT_DIR, help="where the PNGs go (screenshots/)")
    return p


def _missing_tools() -> str | None:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    if shutil.which("tmux") is None:
        return "screenshots/make.py needs tmux (Debian: apt-get install tmux)"
    return None


@contextmanager
def _demo_server(work: Path, messages: int) -> Iterator[Demo]:
    print(f"starting a throwaway Dovecot with {messages} messages ...")
    demo = prepare_demo(work / "demo", messages)
    try:
        yield demo
    finally:
        demo.stop()


def make_all(out_dir: Path, messages: int) -> list[Path]:
    shots = Shots(out_dir)
    with tempfile.TemporaryDirectory(prefix="blinken-shots-") as tmp:
        work = Path(tmp)
        tmux = Tmux(work)
        try:
            with _demo_server(work, messages) as demo:
                print("dashboard: mid-sync")
                mid_sync_picture(tmux, work, demo, shots)
                print("dashboard: countdown, help")
                dashboard_pictures(tmux, work, demo, shots)
                print("dashboard: password prompt")
                password_picture(tmux, work, demo, shots)
                for ui in ("ttyui", "basic"):
                    print(f"{ui}: a first sync")
                    plain_picture(tmux, work, demo, shots, ui)
        finally:
            tmux.stop()
    return shots.written


def main(argv: list[str] | None = None) -> int:
    ns = _parser().parse_args(argv)
    problem = _missing_tools()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    ns.out.mkdir(parents=True, exist_ok=True)
    written = make_all(ns.out, ns.messages)
    print(f"done: {len(written)} pictures in {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
