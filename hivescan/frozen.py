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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def fast_builder(cls: type[T]) -> Callable[..., T]:
    """A function that builds ``cls(*args, **kwargs)`` without the frozen ``__init__``."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__: its __init__ does more than assign")
    spec: list[tuple[str, Any, dataclasses.Field[Any]]] = []
    fields: tuple[dataclasses.Field[Any], ...] = dataclasses.fields(cls)  # type: ignore[arg-type]
    for f in fields:
        if not f.init:
            raise TypeError(f"{cls.__name__}.{f.name} is not set by __init__")
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
