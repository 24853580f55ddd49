"""``python -m blinken``."""

from __future__ import annotations

import sys

from blinken.start import command

sys.exit(command())
