"""Running the user's pre-sync, post-sync and new-mail hooks.

A hook is the user's shell command; it learns what happened from
environment variables (documented in the README).  A failing hook is worth
a warning, never worth stopping a sync.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

from engine.events import SyncCounts
from engine.report import Reporter

HOOK_TIMEOUT = 300.0


def counts_env(counts: SyncCounts) -> dict[str, str]:
    return {
        "BLINKEN_COPIED_TO_LOCAL": str(counts.copied_to_local),
        "BLINKEN_COPIED_TO_REMOTE": str(counts.copied_to_remote),
        "BLINKEN_DELETED_LOCAL": str(counts.deleted_local),
        "BLINKEN_DELETED_REMOTE": str(counts.deleted_remote),
        "BLINKEN_FLAGS_CHANGED": str(counts.flags_local + counts.flags_remote),
    }


def run_hook(
    kind: str, command: str | None, account: str, report: Reporter, extra: Mapping[str, str] = {}
) -> bool:
    """Run ``command`` through the shell; True when it exited 0 (or there is none)."""
    if not command:
        return True
    env = dict(os.environ, BLINKEN_ACCOUNT=account, BLINKEN_HOOK=kind, **extra)
    report.debug(f"running {kind}: {command}")
    try:
        done = subprocess.run(
            command, shell=True, env=env, timeout=HOOK_TIMEOUT, capture_output=True, text=True
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        report.warn(f"{kind} {command!r} failed: {e}")
        return False
    for line in (done.stdout + done.stderr).splitlines():
        report.info(f"{kind}: {line}")
    if done.returncode != 0:
        report.warn(f"{kind} {command!r} exited with status {done.returncode}")
    return done.returncode == 0
