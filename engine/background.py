"""One piece of a worker's work on a helper thread, while the worker does another.

A folder's sync waits for the server and reads the Maildir; neither needs
the other, so the remote folder's SELECT goes to a helper thread while the
worker compares the Maildir with the status.  The worker takes the result,
or the exception, with :meth:`Background.result`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``run()`` on a daemon thread named ``name``; :meth:`result` waits for it."""

    def __init__(self, run: Callable[[], T], name: str) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(run,), name=name, daemon=True)
        self._thread.start()

    def _run(self, run: Callable[[], T]) -> None:
        try:
            self._value = run()
        except BaseException as e:  # handed to the worker by result()
            self._error = e

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value
