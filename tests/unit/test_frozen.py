"""engine.frozen's shared methods must behave exactly like the ones dataclasses generates."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, asdict, dataclass, field, fields, replace

import pytest

from engine.frozen import Frozen


@dataclass(frozen=True)
class Generated:
    name: str
    count: int = 0
    hidden: list[int] = field(default_factory=list, compare=False, repr=False, hash=False)
    seen: float = field(default=0.0, hash=False)


@dataclass(frozen=True, eq=False, repr=False)
class Shared(Frozen):
    name: str
    count: int = 0
    hidden: list[int] = field(default_factory=list, compare=False, repr=False, hash=False)
    seen: float = field(default=0.0, hash=False)


@dataclass(frozen=True, eq=False, repr=False)
class SharedChild(Shared):
    extra: str = "x"


def pairs() -> list[tuple[Generated, Shared]]:
    return [
        (Generated("a"), Shared("a")),
        (Generated("a", 2, [1], 1.5), Shared("a", 2, [1], 1.5)),
        (Generated("b", 2, [7], 0.5), Shared("b", 2, [7], 0.5)),
    ]


def test_repr_reads_like_a_generated_one() -> None:
    for generated, shared in pairs():
        assert repr(shared) == repr(generated).replace("Generated(", "Shared(")


def test_equality_and_hash_follow_the_same_fields() -> None:
    for g1, s1 in pairs():
        for g2, s2 in pairs():
            assert (s1 == s2) == (g1 == g2)
            assert (s1 != s2) == (g1 != g2)
        assert hash(s1) == hash(Shared(s1.name, s1.count, [99], s1.seen))
    assert Shared("a", hidden=[1]) == Shared("a", hidden=[2])
    assert Shared("a", seen=1.0) != Shared("a", seen=2.0)
    assert hash(Shared("a", seen=1.0)) == hash(Shared("a", seen=2.0))


def test_an_instance_equals_only_its_own_class() -> None:
    assert Shared("a") != SharedChild("a")
    assert SharedChild("a") == SharedChild("a") != SharedChild("a", extra="y")
    assert Shared("a").__eq__(("a", 0)) is NotImplemented
    assert repr(SharedChild("a")) == "SharedChild(name='a', count=0, seen=0.0, extra='x')"


def test_still_a_frozen_dataclass() -> None:
    shared = Shared("a", 1)
    with pytest.raises(FrozenInstanceError):
        shared.count = 2  # type: ignore[misc]
    assert replace(shared, count=3) == Shared("a", 3)
    assert [f.name for f in fields(shared)] == ["name", "count", "hidden", "seen"]
    assert asdict(shared) == {"name": "a", "count": 1, "hidden": [], "seen": 0.0}
    assert {shared, Shared("a", 1)} == {shared}
