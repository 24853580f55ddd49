"""blinken: IMAP <-> Maildir sync with a Blinkenlights dashboard (the application layer)."""

from __future__ import annotations

__version__ = "0.1.0"
