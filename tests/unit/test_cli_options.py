"""Command-line switches on top of the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from blinken.cli import _load, parser
from blinken.config import parse_config

CONFIG = """
[general]
accounts = A
metadata = /tmp/blinken-test-state

[Account A]
localrepository = L
remoterepository = R
autorefresh = 5

[Repository L]
type = Maildir
localfolders = /tmp/blinken-test-mail

[Repository R]
type = IMAP
remotehost = 127.0.0.1
remoteuser = u
remotepass = p
ssl = no
starttls = no
idlefolders = *
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    path.write_text(CONFIG)
    path.chmod(0o600)
    return path


def test_full_quick_dry_run_and_folders(config_file: Path) -> None:
    ns = parser().parse_args(
        ["-c", str(config_file), "--full", "-q", "--dry-run", "-f", "INBOX, Sent"]
    )
    _, [account] = _load(ns)
    options = account.settings.options
    assert options.full and options.dry_run and options.folders == ("INBOX", "Sent")
    assert account.quick == -1


def test_idlefolders_star_means_all() -> None:
    config = parse_config(CONFIG, "test")
    assert config.accounts["A"].idlefolders == ("*",)


def test_single_forces_one_connection(config_file: Path) -> None:
    text = config_file.read_text().replace("idlefolders = *", "maxconnections = 4")
    config_file.write_text(text)
    _, [account] = _load(parser().parse_args(["-c", str(config_file), "-1"]))
    assert account.settings.remote.maxconnections == 1  # type: ignore[union-attr]
