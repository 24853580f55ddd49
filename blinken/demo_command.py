"""``blinken demo``: the whole program on a throwaway server, with nothing to configure.

It is an ordinary run of blinken (the same command line, config file and
engine) against a demo Dovecot that :mod:`blinken.demo` sets up; only the
server and its generated mail are special.  The Maildir is kept afterwards so
the user can open it in a mail reader.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

from blinken.dovecot import DovecotError
from blinken.run_options import EXIT_ERRORS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="blinken demo",
        description="Sync a generated mailbox from a throwaway local Dovecot into a Maildir.",
    )
    p.add_argument("--messages", type=int, default=400, help="messages to generate (400)")
    p.add_argument(
        "--attachments",
        type=float,
        default=0.1,
        metavar="SHARE",
        help="share of messages with a 50-500 KB attachment (0.1)",
    )
    p.add_argument("--dir", type=Path, help="where to put it (default: a new temp dir)")
    p.add_argument("-u", dest="ui", help="UI (default: the dashboard on a terminal)")
    p.add_argument("-o", dest="once", action="store_true", help="sync once and stop")
    p.add_argument("--dry-run", action="store_true", help="show the plan only")
    return p


def demo_main(argv: list[str]) -> int:
    from blinken.demo import DemoError, prepare_demo

    ns = _parser().parse_args(argv)
    base = ns.dir or Path(tempfile.mkdtemp(prefix="blinken-demo-"))
    print(f"blinken demo: starting a throwaway Dovecot with {ns.messages} messages in {base}")
    try:
        demo = prepare_demo(base, ns.messages, ns.attachments)
    except (DemoError, DovecotError, OSError) as e:
        print(f"blinken demo: {e}", file=sys.stderr)
        return EXIT_ERRORS
    stop = threading.Event()
    try:
        once = ns.once or (ns.ui or "").lower() in ("basic", "quiet", "machineui")
        if not once:
            demo.trickle(stop, interval=3.0)  # new mail keeps coming: press r to fetch it
        return _run(demo.config_path, ns, once)
    finally:
        stop.set()
        demo.stop()
        print(f"blinken demo: the server is gone; the Maildir stays in {demo.maildir}")


def _run(config: Path, ns: argparse.Namespace, once: bool) -> int:
    from blinken.cli import main

    args = ["-c", str(config)]
    if ns.ui:
        args += ["-u", ns.ui]
    if once:
        args.append("-o")
    if ns.dry_run:
        args.append("--dry-run")
    return main(args)
