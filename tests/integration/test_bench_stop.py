"""A benchmark killed with SIGTERM leaves no throwaway Dovecot or temp dir behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.dovecot

ROOT = Path(__file__).resolve().parents[2]


def test_a_terminated_benchmark_stops_its_server(tmp_path: Path) -> None:
    log = tmp_path / "bench.log"
    with tempfile.TemporaryDirectory(prefix="blinken-stop-") as tmp:  # Dovecot's auth must
        work = Path(tmp)  # traverse it, which pytest's own temp dirs do not allow
        work.chmod(0o755)
        try:
            _terminate_midway(work, log)
        finally:  # when the test fails, the server it found must not outlive it either
            subprocess.run(["pkill", "-f", f"dovecot -F -c {work}"], check=False)


def _terminate_midway(work: Path, log: Path) -> None:
    with log.open("wb") as out:
        bench = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/bench/sync_bench.py"), "-n", "200",
             "--tools", "blinken"],
            stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, TMPDIR=str(work)),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while b"running blinken" not in log.read_bytes() and bench.poll() is None:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert any(work.iterdir()), log.read_text()
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=30) == 128 + signal.SIGTERM, log.read_text()
    finally:
        bench.kill()
    assert list(work.iterdir()) == []
    servers = subprocess.run(["pgrep", "-f", f"dovecot -F -c {work}"], capture_output=True)
    assert servers.stdout == b""
