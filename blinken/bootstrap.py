"""``python3 -m blinken.bootstrap demo|test``: install what is needed, then run.

This is the one module that must work with nothing installed but Python
itself (it runs before our dependencies exist), so it uses the standard
library only and imports nothing else from blinken.  It installs Debian's
Dovecot and tmux (through sudo when not root), makes ``.venv`` with the
project and its test extras, and then hands over to the real command.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".blinken-installed"
# Dovecot for the demo and the tests; tmux, gnome-keyring and dbus for the tests.
WANTED = {
    "dovecot-imapd": "/usr/sbin/dovecot",
    "tmux": "tmux",
    "gnome-keyring": "gnome-keyring-daemon",
    "dbus-daemon": "dbus-daemon",
}
USAGE = (
    "usage: python3 -m blinken.bootstrap demo [ARGS...] | test [PYTEST ARGS...]"
    " | bench [BENCH ARGS...]"
)
# The peers the benchmark compares with, and GNU time for their peak memory.
BENCH_WANTED = {"isync": "mbsync", "offlineimap3": "offlineimap", "time": "/usr/bin/time"}


def say(text: str) -> None:
    print(f"[bootstrap] {text}", flush=True)


def _missing_packages(wanted: dict[str, str]) -> list[str]:
    missing = [
        package
        for package, program in wanted.items()
        if not (Path(program).exists() if program.startswith("/") else shutil.which(program))
    ]
    if subprocess.run(
        [sys.executable, "-c", "import ensurepip, venv"], capture_output=True
    ).returncode:
        missing.append(f"python3.{sys.version_info.minor}-venv")
    return missing


def install_system_packages(wanted: dict[str, str]) -> None:
    missing = _missing_packages(wanted)
    if not missing:
        return
    if shutil.which("apt-get") is None:
        sys.exit(f"[bootstrap] please install {', '.join(missing)} (no apt-get here)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    say(f"installing {' '.join(missing)} with apt-get")
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    install = [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends"]
    if subprocess.run([*install, *missing], env=env).returncode != 0 and missing[-1].endswith(
        "-venv"
    ):
        subprocess.run([*install, *missing[:-1], "python3-venv"], check=True, env=env)


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def install_project() -> Path:
    """``.venv`` with blinken (editable) and its test tools; redone when pyproject changes.

    The editable install is the "compat" kind, a plain path in a ``.pth`` file:
    the default kind installs an import hook that every ``blinken`` run would
    load first, some 15 ms of a no-op sync's start-up.
    """
    python = VENV / "bin" / "python"
    if python.exists() and STAMP.exists() and STAMP.read_text() == _wanted_stamp():
        return python
    if not python.exists():
        say(f"creating {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    say("installing blinken and its dependencies into .venv")
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    compat = ["--config-settings", "editable_mode=compat"]
    subprocess.run([*pip, *compat, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(_wanted_stamp())
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "bench"):
        print(USAGE, file=sys.stderr)
        return 2
    install_system_packages(WANTED if argv[0] != "bench" else {**WANTED, **BENCH_WANTED})
    python = install_project()
    os.chdir(ROOT)
    if argv[0] == "demo":
        command = [str(VENV / "bin" / "blinken"), "demo", *argv[1:]]
    elif argv[0] == "bench":
        command = [str(python), "tests/bench/sync_bench.py", *argv[1:]]
    else:
        command = [str(python), "-m", "pytest", "-q", *argv[1:]]
    say(" ".join(command[:3] if argv[0] == "test" else command[:2]))
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
