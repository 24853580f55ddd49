"""The refresh clock: what wakes an account and how much it then syncs."""

from __future__ import annotations

import threading

from blinken.schedule import AccountClock, Wakeup


def test_quick_n_makes_every_n_plus_first_sync_full() -> None:
    clock = AccountClock(quick=2)
    assert [clock.full_now() for _ in range(7)] == [True, False, False] * 2 + [True]


def test_without_quick_no_sync_is_forced_full() -> None:
    for quick in (0, -1):
        clock = AccountClock(quick=quick)
        assert not any(clock.full_now() for _ in range(5))


def test_timer_wakes_for_the_whole_account_and_ticks() -> None:
    ticks: list[int] = []
    wake = AccountClock().wait(0.05, threading.Event(), ticks.append)
    assert wake == Wakeup(None) and ticks == [1]


def test_idle_changes_wake_for_their_folders_only() -> None:
    clock = AccountClock()
    clock.folder_changed("INBOX")
    clock.folder_changed("Sent")
    clock.folder_changed("INBOX")
    assert clock.wait(None, threading.Event(), lambda _s: None) == Wakeup(("INBOX", "Sent"))


def test_a_request_beats_idle_folders() -> None:
    clock = AccountClock()
    clock.folder_changed("INBOX")
    clock.request()
    assert clock.wait(60, threading.Event(), lambda _s: None) == Wakeup(None)
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    assert clock.wait(None, stop, lambda _s: None) is None  # the folder went with the request


def test_stopping_ends_the_wait() -> None:
    stop = threading.Event()
    stop.set()
    assert AccountClock().wait(60, stop, lambda _s: None) is None
