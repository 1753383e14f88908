"""File facts that hold nothing but a path and diagnostics, as the services table writes them.

Why: a collection of hives without the binaries (registry-only KAPE targets, the benchmark
corpus) gives nearly every service image and ServiceDll facts of one shape: the path, a
``file_not_collected`` diagnostic, every other fact null (:mod:`hivescan.files.facts`). Their
sorted JSON text differs only in the path, so the text on either side of it is built once
per table and shape (:class:`SparseJson`), and their flat columns are the path and nulls
(:func:`sparse_flat`): about 4 us of JSON encoding and 8 us of walking per record less.

Exact by construction: facts are recognised only when every value is None but the path (an
exact ``str``) and the diagnostics (a list); the text around the path is reused only for
diagnostics that are dicts of exact ``str`` keys and values, equal item by item; anything
else takes the encoder. Tested against the encoder with hypothesis (tests/triage/test_sparse_facts.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

_NONE = type(None)
_STR = frozenset({str})


def sparse_path(facts: Any) -> str | None:
    """The path of facts whose every value but ``path`` (an exact ``str``) and ``diagnostics``
    (a list) is None, or None for any other facts. The Nones are counted by their type, so no
    object that merely compares equal to None passes for one."""
    if type(facts) is not dict:
        return None
    path = facts.get("path")
    if type(path) is not str or type(facts.get("diagnostics")) is not list:
        return None
    if list(map(type, facts.values())).count(_NONE) != len(facts) - 2:
        return None
    return path


def _diagnostics_key(diagnostics: Any) -> tuple[tuple[tuple[str, str], ...], ...] | None:
    """The diagnostics as a hashable key when they are a list of dicts of exact ``str`` keys
    and values (equal keys then mean equal JSON text), else None."""
    if type(diagnostics) is not list:
        return None
    out = []
    for item in diagnostics:
        if type(item) is not dict or not set(map(type, item)) <= _STR or not set(map(type, item.values())) <= _STR:
            return None
        out.append(tuple(item.items()))
    return tuple(out)


class SparseJson:
    """Sorted JSON text (``encode``: ``ensure_ascii``, ``sort_keys``, the default separators)
    of sparse facts, the text around the path built once per shape: the keys in their order
    and the diagnostics. For one table; nothing is kept after it."""

    def __init__(self, encode: Callable[[Any], str], item_separator: str, key_separator: str) -> None:
        self._encode = encode
        self._item = item_separator
        self._key = key_separator
        self._around: dict[Any, tuple[str, str] | None] = {}

    def text(self, facts: dict[str, Any], path: str) -> str:
        """The text ``encode(facts)`` gives, for facts :func:`sparse_path` accepted."""
        diagnostics = _diagnostics_key(facts["diagnostics"])
        if diagnostics is None:
            return self._encode(facts)
        key = (tuple(facts), diagnostics)
        if key in self._around:
            around = self._around[key]
        else:
            around = self._around[key] = self._around_path(facts)
        if around is None:
            return self._encode(facts)
        return around[0] + encode_basestring_ascii(path) + around[1]

    def _around_path(self, facts: Mapping[str, Any]) -> tuple[str, str] | None:
        """The text before and after the path's value; None when a key is not an exact str."""
        if not set(map(type, facts)) <= _STR:
            return None
        before: list[str] = []
        after: list[str] = []
        side = before
        for name in sorted(facts):
            if name == "path":
                side = after
                continue
            value = facts[name]
            side.append(encode_basestring_ascii(name) + self._key + ("null" if value is None else self._encode(value)))
        head = self._item.join(before) + self._item if before else ""
        tail = self._item + self._item.join(after) if after else ""
        return "{" + head + encode_basestring_ascii("path") + self._key, tail + "}"


def sparse_flat(paths: Sequence[tuple[str, ...]]) -> Callable[[str], tuple[Any, ...]] | None:
    """The flat columns (facts read at each of ``paths``) of sparse facts with this path: the
    path where a column reads ``path`` itself, None elsewhere (every other value is None, and
    a str has no parts). None when a column reads into the diagnostics (not sparse there)."""
    if any(steps[0] == "diagnostics" for steps in paths):
        return None
    own = [i for i, steps in enumerate(paths) if steps == ("path",)]
    nulls: list[Any] = [None] * len(paths)

    def flat(path: str) -> tuple[Any, ...]:
        row = nulls.copy()
        for index in own:
            row[index] = path
        return tuple(row)

    return flat
