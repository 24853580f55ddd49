"""blinken's sync engine: IMAP, Maildir, the status database and the sync algorithm.

Nothing here imports ``ui`` or ``blinken``; the only output is the event stream
defined in :mod:`engine.events`.
"""
