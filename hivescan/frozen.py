"""Building frozen dataclasses quickly, for the few made hundreds of times per hive.

Why: a frozen dataclass sets every field in ``__init__`` through ``object.__setattr__``,
a slot-wrapper call that allocates two argument tuples per field; ``ServiceRecord`` has
about 80 fields, so building one costs about 6 us, 4 ms per 650-service rebuild
(bench/services.py). A plain slotted dataclass with the same fields (its *draft*) sets
them with ordinary attribute stores, and once built the object is turned into the frozen
class by ``__class__`` assignment, which CPython allows between classes of identical
layout (same base, same slots) and refuses with TypeError otherwise. Nothing can tell
the result from ``cls(**fields)``: same type, same values, same defaults, still frozen.

Only for dataclasses whose ``__init__`` does nothing but assign: no ``__post_init__``,
no init-only variables (checked when the builder is made).

:func:`compiled_builder` goes one step further where a compiled ``build_slots`` is at hand
(``hivescan.scm._keywalk``, optional): it allocates the frozen class and stores every slot
from a plan (slot order, defaults, default factories) in C, about 1 us a record instead of
the draft's 3-4 us of Python stores. Same objects again; :func:`fast_builder` is its
reference and its fallback.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _assigning_fields(cls: type[Any]) -> tuple[dataclasses.Field[Any], ...]:
    """The fields of a frozen slotted dataclass whose ``__init__`` only assigns them (else TypeError)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__: its __init__ does more than assign")
    fields: tuple[dataclasses.Field[Any], ...] = dataclasses.fields(cls)
    for f in fields:
        if not f.init:
            raise TypeError(f"{cls.__name__}.{f.name} is not set by __init__")
    return fields


def fast_builder(cls: type[T]) -> Callable[..., T]:
    """A function that builds ``cls(*args, **kwargs)`` without the frozen ``__init__``."""
    spec: list[tuple[str, Any, dataclasses.Field[Any]]] = []
    for f in _assigning_fields(cls):
        spec.append(
            (f.name, f.type, dataclasses.field(default=f.default, default_factory=f.default_factory, kw_only=f.kw_only))
        )
    draft: Any = dataclasses.make_dataclass(f"{cls.__name__}Draft", spec, slots=True, eq=False, repr=False)

    def build(*args: Any, **kwargs: Any) -> T:
        obj = draft(*args, **kwargs)
        obj.__class__ = cls
        return obj

    build.__doc__ = f"``{cls.__name__}(...)``, built through a mutable draft (see hivescan.frozen)."
    return build


def slot_plan(cls: type[Any], slot_names: Callable[[type[Any]], tuple[str, ...]]) -> tuple[Any, ...]:
    """What the compiled ``build_slots`` of ``cls`` is given (see :func:`compiled_builder`)."""
    fields = _assigning_fields(cls)
    names = slot_names(cls)
    by_name = {f.name: f for f in fields}
    if sorted(names) != sorted(by_name):
        raise TypeError(f"{cls.__name__}: its slots are not its fields")
    missing = object()
    defaults: list[Any] = []
    factories: list[Callable[[], Any] | None] = []
    for name in names:
        f = by_name[name]
        has_factory = f.default_factory is not dataclasses.MISSING
        factories.append(f.default_factory if has_factory else None)  # type: ignore[arg-type]
        defaults.append(missing if f.default is dataclasses.MISSING else f.default)
    places = {name: place for place, name in enumerate(names)}
    positional = tuple(places[f.name] for f in fields if not f.kw_only)
    return (cls, tuple(defaults), places, tuple(factories), missing, positional)


def compiled_builder(
    cls: type[T], build_slots: Callable[..., Any], slot_names: Callable[[type[Any]], tuple[str, ...]]
) -> Callable[..., T]:
    """``cls(*args, **kwargs)`` stored slot by slot by the compiled ``build_slots`` (see the
    module's docstring): the plan it is given holds, per slot in ``slot_names(cls)`` order,
    the field's default (or a marker: required) and its default factory, the slot number of
    each field name and of each positional parameter. Wrong arguments raise TypeError, as
    the dataclass's ``__init__`` does (a test holds both to the same answers)."""
    return functools.partial(build_slots, slot_plan(cls, slot_names))
