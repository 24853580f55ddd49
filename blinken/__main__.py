"""``python -m blinken``."""

from __future__ import annotations

import sys

from blinken.cli import main

sys.exit(main())
