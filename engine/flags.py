"""The flag vocabulary: Maildir letters are blinken's canonical form.

Only these six flags are synchronised, as OfflineIMAP and mbsync do; other IMAP
keywords stay untouched on the server because blinken only ever adds or removes
the flags it knows.
"""

from __future__ import annotations

from collections.abc import Iterable

LETTERS = "DFPRST"

_TO_IMAP = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "P": "$Forwarded",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}
_FROM_IMAP = {v.lower(): k for k, v in _TO_IMAP.items()}


def from_imap(flags: Iterable[str | bytes]) -> frozenset[str]:
    """Letters for the IMAP flags we know; unknown keywords and \\Recent are dropped."""
    out = set()
    for flag in flags:
        text = flag.decode("ascii", "replace") if isinstance(flag, bytes) else flag
        letter = _FROM_IMAP.get(text.lower())
        if letter:
            out.add(letter)
    return frozenset(out)


def to_imap(letters: Iterable[str]) -> list[str]:
    """IMAP flag names, in letter order, for a set of letters."""
    return [_TO_IMAP[c] for c in sorted(set(letters)) if c in _TO_IMAP]


def from_letters(text: str) -> frozenset[str]:
    """Letters of a Maildir info string (``"FS"``); unknown letters are dropped."""
    return frozenset(c for c in text if c in LETTERS)


def to_letters(letters: Iterable[str]) -> str:
    """The Maildir info string: known letters in ASCII order, as the spec asks."""
    return "".join(sorted(set(letters) & set(LETTERS)))
