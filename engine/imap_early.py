"""Connections opened while Python is still importing the rest of blinken.

Most of a no-op sync is start-up, and the first thing a sync does after it is
wait for the server: TCP, the TLS handshake, the greeting.  None of that
needs the password or the sync code, so the command line starts it on a
thread as soon as the configuration is read (:func:`engine.imap_connect.open_early`),
and the account's first ``connect`` takes the opened connection instead of
opening its own.  Against a distant server that hides a few round trips
behind the imports; on loopback, the server's own start-up.

An opening is keyed by repository name and remembers its endpoint (host,
port, TLS settings): a ``connect`` for other settings does not take it.  A
failure is kept and raised by the ``connect`` that takes it, as it would
have raised it itself.  An opening nobody takes (the account's lock was
held) is closed by :func:`discard`; one that waited longer than
:data:`FRESH_FOR` seconds (another account synced first) is closed instead
of taken, since the server may have given up on it.

This module knows nothing of IMAP: it runs the opener it is given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
FRESH_FOR = 10.0  # seconds: start-up takes well under one


class Opening(Generic[T]):
    """An opener running on its own thread; :meth:`result` waits for it."""

    def __init__(self, endpoint: Hashable, open_: Callable[[], T], close: Callable[[T], None]):
        self.endpoint = endpoint
        self._close = close
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._discarded = False
        self._opened_at: float | None = None
        threading.Thread(target=self._run, args=(open_,), name="opening", daemon=True).start()

    def _run(self, open_: Callable[[], T]) -> None:
        try:
            value = open_()
        except BaseException as exc:  # kept for the connect that takes it
            self._error = exc
            self._done.set()
            return
        with self._lock:
            self._value = value
            self._opened_at = time.monotonic()
            self._done.set()
            late = self._discarded
        if late:
            self._close(value)

    def result(self) -> T:
        """The opened connection, or the opener's exception raised here."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value

    def stale(self) -> bool:
        """Open for longer than :data:`FRESH_FOR` seconds already."""
        with self._lock:
            opened_at = self._opened_at
        return opened_at is not None and time.monotonic() - opened_at > FRESH_FOR

    def discard(self) -> None:
        """Close it now if it is open, else as soon as it is (without waiting for it)."""
        with self._lock:
            self._discarded = True
            value = self._value if self._done.is_set() else None
        if value is not None:
            self._close(value)


_OPENINGS: dict[str, Opening[Any]] = {}
_LOCK = threading.Lock()


def start(key: str, endpoint: Hashable, open_: Callable[[], T], close: Callable[[T], None]) -> None:
    """Start opening for ``key`` unless an opening for it is already waiting."""
    with _LOCK:
        if key not in _OPENINGS:
            _OPENINGS[key] = Opening(endpoint, open_, close)


def take(key: str, endpoint: Hashable) -> Opening[Any] | None:
    """The waiting opening for ``key`` if it goes to ``endpoint``; it is the caller's now."""
    with _LOCK:
        opening = _OPENINGS.pop(key, None)
    if opening is not None and (opening.endpoint != endpoint or opening.stale()):
        opening.discard()
        return None
    return opening


def discard(keys: list[str] | None = None) -> None:
    """Close the openings for ``keys`` (all when None) that nobody took."""
    with _LOCK:
        chosen = list(_OPENINGS) if keys is None else [k for k in keys if k in _OPENINGS]
        openings = [_OPENINGS.pop(k) for k in chosen]
    for opening in openings:
        opening.discard()
