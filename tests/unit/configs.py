"""The smallest valid OfflineIMAP-style config, which the config tests vary."""

from __future__ import annotations

MINIMAL_CONFIG = """\
[general]
accounts = A

[Account A]
localrepository = L
remoterepository = R

[Repository L]
type = Maildir
localfolders = ~/Mail

[Repository R]
type = IMAP
remotehost = imap.example.org
remoteuser = me
"""
