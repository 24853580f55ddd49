"""engine.frozen's records must behave exactly like the frozen dataclasses they replace."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, asdict, dataclass, field, fields, replace

import pytest

from engine.frozen import Frozen, record


@dataclass(frozen=True)
class Generated:
    name: str
    count: int = 0
    hidden: list[int] = field(default_factory=list, compare=False, repr=False, hash=False)
    seen: float = field(default=0.0, hash=False)


@record
class Shared(Frozen):
    name: str
    count: int = 0
    hidden: list[int] = field(default_factory=list, compare=False, repr=False, hash=False)
    seen: float = field(default=0.0, hash=False)


@record
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


@dataclass(frozen=True)
class GeneratedInit:
    name: str
    count: int = 0
    items: list[int] = field(default_factory=list)
    late: str = field(default="late", init=False)
    when: float = field(default=0.0, kw_only=True)


def declare(slots: bool = False) -> type:
    @record(slots=slots)
    class Made(Frozen):
        name: str
        count: int = 0
        items: list[int] = field(default_factory=list)
        late: str = field(default="late", init=False)
        when: float = field(default=0.0, kw_only=True)

    return Made


@pytest.mark.parametrize("slots", [False, True])
def test_a_record_compiles_nothing_until_its_first_instance(slots: bool) -> None:
    made = declare(slots)
    first = made.__dict__["__init__"]
    assert first is declare().__dict__["__init__"]  # one shared stand-in, nothing compiled
    assert "__setattr__" not in made.__dict__ and "__eq__" not in made.__dict__
    assert made.__doc__ == "Made(name, count, items, late, when)"  # not from inspect.signature
    made("a")
    assert made.__dict__["__init__"] is not first
    assert made.__init__.__qualname__.endswith("Made.__init__")


@pytest.mark.parametrize("slots", [False, True])
def test_a_record_is_built_like_the_dataclass_it_replaces(slots: bool) -> None:
    made = declare(slots)
    for args, kwargs in [(("a",), {}), (("a", 2, [1]), {"when": 1.5}), ((), {"name": "b"})]:
        ours, theirs = made(*args, **kwargs), GeneratedInit(*args, **kwargs)
        assert repr(ours) == repr(theirs).replace("GeneratedInit(", made.__qualname__ + "(")
    assert made("a").items is not made("a").items
    for bad_args, bad_kwargs in [((), {}), (("a", 1, [], 2.0), {}), (("a",), {"late": "x"})]:
        with pytest.raises(TypeError):
            made(*bad_args, **bad_kwargs)
        with pytest.raises(TypeError):
            GeneratedInit(*bad_args, **bad_kwargs)
    assert hasattr(made("a"), "__dict__") is not slots


@pytest.mark.parametrize("slots", [False, True])
def test_a_record_cannot_be_changed(slots: bool) -> None:
    made = declare(slots)("a")
    with pytest.raises(FrozenInstanceError):
        made.count = 1
    with pytest.raises(FrozenInstanceError):
        del made.name
    with pytest.raises(FrozenInstanceError):
        made.other = 1


def test_each_class_of_a_hierarchy_gets_its_own_init() -> None:
    assert Shared("a").name == "a"  # the parent's init is compiled first
    child = SharedChild("a", 1, extra="y")
    assert (child.count, child.extra) == (1, "y")
    assert Shared.__dict__["__init__"] is not SharedChild.__dict__["__init__"]


def test_only_frozen_classes_can_be_records() -> None:
    with pytest.raises(TypeError, match="derive from Frozen"):

        @record
        class Plain:
            name: str
