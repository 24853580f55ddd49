"""engine.imap_early's bookkeeping, with stand-in openers (Dovecot: test_early_connect)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from engine import imap_early


class Opener:
    """Opens ``name`` once ``go`` is set; records what is closed."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.go = threading.Event()
        self.closed: list[str] = []
        self.fail = fail

    def open(self) -> str:
        self.go.wait(10)
        if self.fail is not None:
            raise self.fail
        return "connection"

    def close(self, value: str) -> None:
        self.closed.append(value)


def eventually(done: Callable[[], bool]) -> bool:
    for _ in range(500):
        if done():
            return True
        threading.Event().wait(0.01)
    return False


@pytest.fixture(autouse=True)
def no_leftovers() -> Iterator[None]:
    yield
    imap_early.discard()


def test_the_opening_goes_to_the_first_taker_for_the_same_endpoint() -> None:
    opener = Opener()
    opener.go.set()
    imap_early.start("remote", ("host", 993), opener.open, opener.close)
    imap_early.start("remote", ("host", 993), opener.open, opener.close)  # one is enough
    opening = imap_early.take("remote", ("host", 993))
    assert opening is not None and opening.result() == "connection"
    assert imap_early.take("remote", ("host", 993)) is None
    assert opener.closed == []


def test_another_endpoint_does_not_take_it_and_it_is_closed() -> None:
    opener = Opener()
    opener.go.set()
    imap_early.start("remote", ("host", 993), opener.open, opener.close)
    assert imap_early.take("remote", ("host", 143)) is None
    assert imap_early.take("remote", ("host", 993)) is None
    assert eventually(lambda: opener.closed == ["connection"])


def test_a_failure_is_raised_by_the_taker() -> None:
    opener = Opener(fail=OSError("refused"))
    opener.go.set()
    imap_early.start("remote", "endpoint", opener.open, opener.close)
    opening = imap_early.take("remote", "endpoint")
    assert opening is not None
    with pytest.raises(OSError, match="refused"):
        opening.result()


def test_discarding_closes_what_is_open_and_what_opens_later() -> None:
    ready, late = Opener(), Opener()
    ready.go.set()
    imap_early.start("a", "endpoint", ready.open, ready.close)
    imap_early.start("b", "endpoint", late.open, late.close)
    imap_early._OPENINGS["a"].result()
    imap_early.discard(["a", "c"])
    assert ready.closed == ["connection"]
    imap_early.discard()
    assert late.closed == []  # not waited for: closed by its own thread once open
    late.go.set()
    assert eventually(lambda: late.closed == ["connection"])
    assert imap_early.take("b", "endpoint") is None


def test_an_opening_that_waited_too_long_is_closed_not_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opener = Opener()
    opener.go.set()
    imap_early.start("remote", "endpoint", opener.open, opener.close)
    imap_early._OPENINGS["remote"].result()
    monkeypatch.setattr(imap_early, "FRESH_FOR", 0.0)
    assert imap_early.take("remote", "endpoint") is None
    assert opener.closed == ["connection"]
