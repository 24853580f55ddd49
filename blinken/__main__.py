"""``python -m blinken``."""

from __future__ import annotations

import sys

from blinken.cli import command

sys.exit(command())
