"""One shared ``__eq__``, ``__hash__`` and ``__repr__`` for frozen dataclasses.

A ``@dataclass(frozen=True)`` writes those three methods as source text for
each class and compiles them when the module is imported: about 0.3 ms a
class, and a run imports dozens of them before it does anything (a tenth of
a no-op sync's wall time went to making classes).  A class declared
``@dataclass(frozen=True, eq=False, repr=False)`` on top of :class:`Frozen`
gets the same behaviour from here instead: equal to an instance of the very
same class with equal compared fields, hashed on those fields, shown as
``Name(field=value, ...)``, all honouring ``field(compare=False, repr=False)``.
It is still a dataclass: ``fields``, ``replace`` and ``asdict`` work as before.
"""

from __future__ import annotations

from dataclasses import Field, fields
from typing import Any


class Frozen:
    """Base of frozen dataclasses that share these methods instead of generating them."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = _compared(type(self))
        return _values(self, names) == _values(other, names)

    def __hash__(self) -> int:
        return hash(_values(self, _hashed(type(self))))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _shown(type(self)))
        return f"{self.__class__.__qualname__}({shown})"


_COMPARED: dict[type, tuple[str, ...]] = {}
_HASHED: dict[type, tuple[str, ...]] = {}
_SHOWN: dict[type, tuple[str, ...]] = {}


def _values(record: object, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in names)


def _names(cls: type, cache: dict[type, tuple[str, ...]], keep: Any) -> tuple[str, ...]:
    names = cache.get(cls)
    if names is None:
        names = cache[cls] = tuple(f.name for f in fields(cls) if keep(f))
    return names


def _compared(cls: type) -> tuple[str, ...]:
    return _names(cls, _COMPARED, _is_compared)


def _hashed(cls: type) -> tuple[str, ...]:
    """A field's ``hash`` decides where it is given, else its ``compare`` (as in dataclasses)."""
    return _names(cls, _HASHED, lambda f: _is_compared(f) if f.hash is None else f.hash)


def _shown(cls: type) -> tuple[str, ...]:
    return _names(cls, _SHOWN, lambda f: f.repr)


def _is_compared(f: Field[Any]) -> bool:
    return bool(f.compare)
