"""Frozen records that cost almost nothing to declare: :func:`record` and :class:`Frozen`.

A ``@dataclass(frozen=True)`` writes ``__init__``, ``__setattr__``,
``__delattr__``, ``__eq__``, ``__hash__`` and ``__repr__`` as source text for
each class and compiles them when the module is imported: about 0.4 ms a
class on a slow machine, and a no-op sync imports some fifty classes before
it does anything, most of which it never instantiates (errors, prompts,
settings it does not use).  A class declared ``@record`` on top of
:class:`Frozen` compiles nothing at import:

* equality, hashing and ``repr`` are shared methods of :class:`Frozen`:
  equal to an instance of the very same class with equal compared fields,
  hashed on those fields, shown as ``Name(field=value, ...)``, all honouring
  ``field(compare=False, repr=False, hash=...)``;
* assigning or deleting an attribute raises ``FrozenInstanceError``;
* ``__init__`` is the one ``dataclasses`` would write, compiled when the
  class is first instantiated and then installed on it.

It is still a dataclass to the standard library and to mypy: ``fields``,
``replace`` and ``asdict`` work as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, dataclass, field, fields
from typing import Any, TypeVar, dataclass_transform, overload

_C = TypeVar("_C", bound=type)


class Frozen:
    """Base of frozen dataclasses that share these methods instead of generating them."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

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


@overload
@dataclass_transform(frozen_default=True, eq_default=False, field_specifiers=(field, Field))
def record(cls: _C, /) -> _C: ...


@overload
def record(*, slots: bool = False) -> Callable[[_C], _C]: ...


def record(cls: Any = None, /, *, slots: bool = False) -> Any:
    """``@record`` or ``@record(slots=True)`` on a subclass of :class:`Frozen`."""

    def wrap(cls: type) -> type:
        if not issubclass(cls, Frozen):
            raise TypeError(f"@record needs {cls.__qualname__} to derive from Frozen")
        if not cls.__doc__:  # else dataclass writes one from inspect.signature: 1 ms a class
            cls.__doc__ = f"{cls.__name__}({', '.join(cls.__annotations__)})"
        made: type = dataclass(init=False, repr=False, eq=False, slots=slots)(cls)
        setattr(made, "__init__", _first_init)  # noqa: B010  (mypy forbids the plain form)
        return made

    return wrap if cls is None else wrap(cls)


def _first_init(self: Frozen, *args: Any, **kwargs: Any) -> None:
    """Compile the class's real ``__init__``, put it in place of this one, and run it."""
    cls = type(self)
    init = _compiled_init(cls)
    setattr(cls, "__init__", init)  # noqa: B010
    init(self, *args, **kwargs)


def _compiled_init(cls: type) -> Callable[..., None]:
    """The ``__init__`` that ``@dataclass(frozen=True)`` would write for the class.

    The same parameters (defaults, factories, keyword-only fields last),
    ``init=False`` fields set from their default or factory, then
    ``__post_init__`` if there is one; like a frozen dataclass's, it sets
    attributes with ``object.__setattr__``.  One small function compiled,
    where a dataclass compiles three.
    """
    env: dict[str, Any] = {"_set": object.__setattr__, "_FACTORY": _FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in fields(cls):
        param, value = _parameter(f, env)
        if param is not None:
            (keyword if f.kw_only else positional).append(param)
        if value is not None:
            body.append(f"_set(self, {f.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({signature}):\n    " + "\n    ".join(body or ["pass"])
    exec(source, env)  # field names are identifiers from the class body
    init: Callable[..., None] = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


_FACTORY = object()  # the default of a parameter whose field has a default factory


def _parameter(f: Field[Any], env: dict[str, Any]) -> tuple[str | None, str | None]:
    """The field's parameter (None: not one) and the value its attribute gets."""
    name = f.name
    if f.default_factory is not MISSING:
        env[f"_factory_{name}"] = f.default_factory
        made = f"_factory_{name}()"
        if not f.init:
            return None, made
        return f"{name}=_FACTORY", f"{made} if {name} is _FACTORY else {name}"
    if f.default is not MISSING:
        env[f"_default_{name}"] = f.default
        return (f"{name}=_default_{name}", name) if f.init else (None, f"_default_{name}")
    return (name, name) if f.init else (None, None)
