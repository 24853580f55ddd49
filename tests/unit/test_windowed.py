"""engine.windowed's plans, window by window, against one plan of both whole listings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.planner import ALL_ALLOWED, Copy, Link, Plan, Side, plan
from engine.repository import MessageInfo
from engine.settings import SyncOptions
from engine.windowed import window_plans


class Server:
    """A listing handed out in UID order, ``size`` messages at a time."""

    def __init__(self, listing: list[MessageInfo]) -> None:
        self.listing = sorted(listing, key=lambda m: int(m.id))

    def list_windows(self, size: int) -> Iterator[list[MessageInfo]]:
        for start in range(0, len(self.listing), size):
            yield self.listing[start : start + size]


def outline(plans: list[Plan]) -> Counter[tuple[Any, ...]]:
    """What the plans do, whatever their order: copies (where, what) and links."""
    out: Counter[tuple[Any, ...]] = Counter()
    for p in plans:
        for a in p.actions:
            if isinstance(a, Copy):
                out["copy", a.to, a.src] += 1
            else:
                assert isinstance(a, Link)
                out["link", a.local, a.remote, a.local_new, a.remote_new] += 1
    return out


flags = st.frozensets(st.sampled_from("DFRS"), max_size=2)


@st.composite
def folders(draw: st.DrawFn) -> tuple[list[MessageInfo], list[MessageInfo]]:
    uids = draw(st.lists(st.integers(1, 60), unique=True, max_size=25))
    remote = [MessageInfo(str(u), draw(flags), 10) for u in uids]
    hints = st.one_of(st.none(), st.sampled_from(uids) if uids else st.none(), st.integers(1, 70))
    local = [
        MessageInfo(f"file{n}", draw(flags), 10, draw(hints))
        for n in range(draw(st.integers(0, 25)))
    ]
    return local, remote


@settings(max_examples=300, deadline=None)
@given(folders(), st.integers(1, 7))
def test_window_by_window_does_what_one_plan_would(
    folder: tuple[list[MessageInfo], list[MessageInfo]], window: int
) -> None:
    local, remote = folder
    options = SyncOptions(listing_window=window)
    folders_ = {Side.LOCAL: object()}  # a store that keeps no record of what it wrote
    pieces = window_plans(Server(remote), folders_, ALL_ALLOWED, options, None, local)  # type: ignore[arg-type]
    assert outline([p for p, _ in pieces]) == outline([plan(local, remote, [])])
