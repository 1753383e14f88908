"""Indented JSON text, the same characters as ``json.dumps(obj, indent=N, ensure_ascii=True, default=...)``.

Why (issue 13): with ``indent`` set, the standard library does not use its C encoder; its
pure-Python one is a chain of generators, one per nesting level, and spent about 25 ms of a
triage run's serial end on ``summary.json`` (400 kB for 2 hosts: the stacking tables). This
is one recursive function over the same types in the same order of checks, with the C
string escaper (``encode_basestring_ascii``): the same text in a third of the time.
``tests/test_jsontext.py`` checks it against ``json.dumps`` on the shared summaries and on
hypothesis' JSON-like values (nested empties, NaN and infinities, non-string keys, lone
surrogates, subclasses, objects only ``default`` can turn into text).

Only what ``json.dumps`` accepts is accepted, with its errors: a circular container is a
``ValueError``, a key that is not str, int, float, bool or None a ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any

_INFINITY = float("inf")


def _number(value: float) -> str:
    """A float as ``json`` writes it (``allow_nan``: NaN and the infinities by their names)."""
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def dumps_indented(obj: Any, indent: int = 1, default: Callable[[Any], Any] | None = None) -> str:
    """``json.dumps(obj, ensure_ascii=True, indent=indent, default=default)``, the same text."""
    chunks: list[str] = []
    out = chunks.append
    markers: set[int] = set()
    string = encode_basestring_ascii
    pad = " " * indent

    def scalar(value: Any) -> str | None:
        """The text of a str, None, bool, int or float (subclasses too), else None."""
        if isinstance(value, str):
            return string(value)
        if value is None:
            return "null"
        if value is True:
            return "true"
        if value is False:
            return "false"
        if isinstance(value, int):
            return int.__repr__(value)
        if isinstance(value, float):
            return _number(value)
        return None

    def key_text(key: Any) -> str:
        if isinstance(key, str):
            return string(key)
        if isinstance(key, float):
            return string(_number(key))
        if key is True:
            return '"true"'
        if key is False:
            return '"false"'
        if key is None:
            return '"null"'
        if isinstance(key, int):
            return string(int.__repr__(key))
        raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")

    def value(item: Any, newline: str) -> None:
        """Write ``item``; ``newline`` is the line break and indentation of its own level."""
        text = scalar(item)
        if text is not None:
            out(text)
        elif isinstance(item, (list, tuple)):
            sequence(item, newline)
        elif isinstance(item, dict):
            mapping(item, newline)
        else:
            other(item, newline)

    def sequence(items: list[Any] | tuple[Any, ...], newline: str) -> None:
        if not items:
            out("[]")
            return
        marker = id(items)
        if marker in markers:
            raise ValueError("Circular reference detected")
        markers.add(marker)
        inner = newline + pad
        separator = "," + inner
        out("[" + inner)
        first = True
        for item in items:
            if first:
                first = False
            else:
                out(separator)
            kind = type(item)
            if kind is str:
                out(string(item))
            elif kind is int:
                out(int.__repr__(item))
            else:
                value(item, inner)
        out(newline + "]")
        markers.discard(marker)

    def mapping(items: dict[Any, Any], newline: str) -> None:
        if not items:
            out("{}")
            return
        marker = id(items)
        if marker in markers:
            raise ValueError("Circular reference detected")
        markers.add(marker)
        inner = newline + pad
        separator = "," + inner
        out("{" + inner)
        first = True
        for key, item in items.items():
            if first:
                first = False
            else:
                out(separator)
            kind = type(item)
            if kind is str:
                out((string(key) if type(key) is str else key_text(key)) + ": " + string(item))
            elif kind is int:
                out((string(key) if type(key) is str else key_text(key)) + ": " + int.__repr__(item))
            else:
                out((string(key) if type(key) is str else key_text(key)) + ": ")
                value(item, inner)
        out(newline + "}")
        markers.discard(marker)

    def other(item: Any, newline: str) -> None:
        if default is None:
            raise TypeError(f"Object of type {item.__class__.__name__} is not JSON serializable")
        marker = id(item)
        if marker in markers:
            raise ValueError("Circular reference detected")
        markers.add(marker)
        value(default(item), newline)
        markers.discard(marker)

    value(obj, "\n")
    return "".join(chunks)
