"""The JSON text columns of the ``services`` table, built from the records.

Each column is the text ``record_row`` would give: ``ServiceRecord.to_dict``'s conversion of
the field, then the same encoder (sorted keys for the JSON columns, the default order for
the decoded values and diagnostics, ``ensure_ascii`` always). Within one table, equal
values are encoded once (:class:`_Memo`): keyed by the values themselves, and only when every
part is exactly ``str`` or ``int`` (``1``, ``1.0`` and ``True``, equal as keys, never share a
text); values shared by records (one facts object, one tuple of diagnostics) are encoded once
per object (:func:`by_identity`). Nothing is kept between tables.

Used by :mod:`hivescan.triage.service_table`; tested with it (tests/triage/test_service_table.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from itertools import chain
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from operator import attrgetter
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.files.columns import FILE_FLAT_PREFIX
from hivescan.scm.record import ServiceRecord, raw_value_map
from hivescan.timeutil import filetime_to_iso
from hivescan.triage.sparse_facts import SparseJson, sparse_path

Records = Sequence[ServiceRecord]
Column = Callable[[Records], list[Any]]


def _encoder(*, sort_keys: bool) -> Callable[[Any], str]:
    """``json.JSONEncoder(ensure_ascii=True, sort_keys=...).encode``, the same text without its
    per-call Python set-up (a closure and method lookups, an eighth of a cell's encoding): the
    C encoder it would build, built here per call with a fresh circular-reference guard."""
    reference = json.JSONEncoder(ensure_ascii=True, sort_keys=sort_keys)
    make = c_make_encoder
    if make is None:  # no C accelerator in this Python: the encoder itself
        return reference.encode
    separators = (reference.key_separator, reference.item_separator)

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return encode_basestring_ascii(value)
        chunks = make({}, None, encode_basestring_ascii, None, *separators, sort_keys, False, True)(value, 0)
        return "".join(chunks)

    return encode


# the encoders record_row uses: sorted keys for the JSON columns, the default order otherwise
_SORTED_JSON = _encoder(sort_keys=True)
_PLAIN_JSON = _encoder(sort_keys=False)
# (item, key) separators of both encoders: a list's text is its items' texts joined by the first
_JSON_SEPARATORS = (json.JSONEncoder().item_separator, json.JSONEncoder().key_separator)

# the parts a memo key may hold: equal keys of these types give equal JSON text
_KEY_PARTS = frozenset({str, int})


class _Memo:
    """JSON text by the value it encodes, for one table (see the module docstring)."""

    def __init__(self, encode: Callable[[Any], str]) -> None:
        self._encode = encode
        self._texts: dict[Hashable, str] = {}

    def text(self, key: tuple[Any, ...], make: Callable[[Any], Any], value: Any) -> str:
        """The text of ``make(value)``; ``key`` is flat (a tuple of parts, or of tuples of parts)
        and names everything the text depends on. A key with a part of another type than
        str or int is never looked up nor kept: that value is encoded on its own."""
        parts = chain.from_iterable(key) if key and type(key[0]) is tuple else key
        if not set(map(type, parts)) <= _KEY_PARTS:
            return self._encode(make(value))
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = self._encode(make(value))
        return text


def _mapping_json(name: str) -> Callable[[Records], list[Any]]:
    """A mapping field as sorted JSON text (``to_dict`` copies it into a dict)."""
    get = attrgetter(name)

    def column(records: Records) -> list[Any]:
        memo = _Memo(_SORTED_JSON)
        out = []
        for record in records:
            value = get(record)
            out.append("{}" if not value else memo.text(tuple(value.items()), dict, value))
        return out

    return column


_UNKEYED = object()  # what typed_key returns for a value it cannot key
_KEYED_SCALARS = frozenset({str, int, bytes, type(None)})  # exact types whose equality is identity of text
MAX_KEY_DEPTH = 16


def typed_key(value: Any, depth: int = 0) -> Any:
    """A hashable key equal only for values that ``to_dict`` and the encoders turn into the same
    text, or ``_UNKEYED``.

    Exact ``str``, ``int``, ``bytes`` and None are their own key; ``True``/``False`` are keyed
    with their type (``1`` and ``True`` are equal in Python, not in JSON); tuples, lists and
    dicts (exact types, string keys, in their order) and NamedTuples (their exact class, no
    state beyond their items) are keyed with their type and their items' keys. Anything else
    -- a float (``0.0 == -0.0``), a subclass, an object -- cannot be keyed, and neither can a
    value nested deeper than ``MAX_KEY_DEPTH``. A key never holds a class except as the first
    item of a container's key, where no keyed value can stand (a class is never keyed), so
    keys of different shapes never meet."""
    kind = type(value)
    if kind in _KEYED_SCALARS:
        return value
    if kind is bool:
        return (bool, value)
    if depth >= MAX_KEY_DEPTH:
        return _UNKEYED
    if kind is dict:
        items: list[Any] = [dict]
        for name, item in value.items():
            if type(name) is not str:
                return _UNKEYED
            key = typed_key(item, depth + 1)
            if key is _UNKEYED:
                return _UNKEYED
            items.append((name, key))
        return tuple(items)
    if kind is tuple or kind is list or (issubclass(kind, tuple) and hasattr(kind, "_fields")):
        if kind is not tuple and kind is not list and getattr(value, "__dict__", None):
            return _UNKEYED  # a NamedTuple subclass with state beyond its items
        parts: list[Any] = [kind]
        for item in value:
            key = typed_key(item, depth + 1)
            if key is _UNKEYED:
                return _UNKEYED
            parts.append(key)
        return tuple(parts)
    return _UNKEYED


def _list_json(
    name: str, to_item: Callable[[Any], Any] | None, encode: Callable[[Any], str], *, memo: bool = True
) -> Callable[[Records], list[Any]]:
    """A tuple field as JSON text of a list (``[]`` when empty), each item as ``to_dict`` has it.

    With ``memo``, equal lists (by :func:`typed_key`) are encoded once per table. Not for the
    triggers: a TriggerInfo subkey holds its own last write and GUIDs, so no two services of a
    hive had equal ones (v3.1 corpus hosts, the Windows 7 and 10 hives), and the key cost as
    much as the text (docs/performance.md, "Issue 13, session 19: the services table")."""
    get = attrgetter(name)

    def convert(items: Any) -> str:
        return encode(list(items) if to_item is None else [to_item(i) for i in items])

    def column(records: Records) -> list[Any]:
        out = []
        texts: dict[Any, str] = {}
        for record in records:
            items = get(record)
            if not items:
                out.append("[]")
                continue
            key = typed_key(items) if memo else _UNKEYED
            if key is _UNKEYED:
                out.append(convert(items))
                continue
            text = texts.get(key)
            if text is None:
                text = texts[key] = convert(items)
            out.append(text)
        return out

    return column


def _to_dict(item: Any) -> Any:
    return item.to_dict()


def _trigger_raw(item: Mapping[str, Any]) -> dict[str, Any]:
    """One ``triggers_raw`` entry as ``ServiceRecord.to_dict`` writes it."""
    return {
        **{k: v for k, v in item.items() if k != "values"},
        "last_write": filetime_to_iso(item.get("last_write_filetime")),
        "values": raw_value_map(item.get("values", ())),
    }


def _iso_times(times: Mapping[str, int]) -> dict[str, str | None]:
    return {k: filetime_to_iso(v) for k, v in times.items()}


def _subkey_times(records: Records) -> list[Any]:
    """``subkey_last_writes``: the FILETIMEs as ISO text, sorted JSON."""
    memo = _Memo(_SORTED_JSON)
    out = []
    for record in records:
        times = record.subkey_last_writes
        if not times:
            out.append("{}")
        else:
            out.append(memo.text(tuple(times.items()), _iso_times, times))
    return out


def _mapping_text(value: Any) -> str:
    return "{}" if not value else _SORTED_JSON(dict(value))


def _env_vars(records: Records) -> list[Any]:
    """``env_vars`` as sorted JSON, once per tuple object (records share the stock one)."""
    return by_identity(list(map(_GET_ENV_VARS, records)), _mapping_text)


def _location(records: Records) -> list[Any]:
    """``to_dict`` has ``location`` only when the hive came from an image; ``record_row`` then
    writes ``{}``. Once per mapping object: every record of a hive shares its hive's."""
    return by_identity(list(map(_GET_LOCATION, records)), _mapping_text)


_GET_ENV_VARS = attrgetter("env_vars")
_GET_LOCATION = attrgetter("origin.hive.location")


def _failure_actions(records: Records) -> list[Any]:
    """FailureActions as JSON text in ``to_dict``'s order; equal ones (by :func:`typed_key`)
    encoded once per table (most services share the stock restart settings)."""
    out: list[Any] = []
    texts: dict[Any, str] = {}
    for record in records:
        actions = record.failure_actions
        if actions is None:
            out.append(None)
            continue
        key = typed_key(actions)
        if key is _UNKEYED:
            out.append(_PLAIN_JSON(actions.to_dict()))
            continue
        text = texts.get(key)
        if text is None:
            text = texts[key] = _PLAIN_JSON(actions.to_dict())
        out.append(text)
    return out


_DIAGNOSTIC_KEY = attrgetter("code", "field", "message", "level")
_GET_DIAGNOSTICS = attrgetter("diagnostics")
_STR = frozenset({str})


def _diagnostics(records: Records) -> list[Any]:
    """Diagnostics as JSON text in their own order and key order (not sorted).

    A list's text is its items' texts joined by the encoder's item separator, so each
    diagnostic is encoded once per table (the same "SystemRoot assumed" note stands on most
    services of a hive) and each tuple of them joined once (records rebuilt from one
    remembered key share the tuple: :func:`by_identity`). A diagnostic is keyed by its four
    fields when they are exact ``str`` and it is exactly a :class:`Diagnostic`; any other is
    encoded on its own."""
    texts: dict[tuple[str, ...], str] = {}
    separator = _JSON_SEPARATORS[0]

    def item(diagnostic: Diagnostic) -> str:
        if type(diagnostic) is not Diagnostic:
            return _PLAIN_JSON(diagnostic.to_dict())
        key = _DIAGNOSTIC_KEY(diagnostic)
        if not set(map(type, key)) <= _STR:
            return _PLAIN_JSON(diagnostic.to_dict())
        text = texts.get(key)
        if text is None:
            text = texts[key] = _PLAIN_JSON(diagnostic.to_dict())
        return text

    def column_text(diagnostics: Sequence[Diagnostic]) -> str:
        if not diagnostics:
            return "[]"
        return "[" + separator.join(map(item, diagnostics)) + "]"

    return by_identity(list(map(_GET_DIAGNOSTICS, records)), column_text)


def by_identity(values: list[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """``[convert(v) for v in values]``, converting each distinct object once.

    Sound only within one call on values that live through it and that nothing changes
    meanwhile (the records of one table hold them; the table is built in one thread): then
    an ``id`` names one object and ``convert`` of it gives one answer. Nothing is kept after
    the call, so no object's id is ever reused for another while it is looked up."""
    done: dict[int, Any] = {}
    out = []
    for value in values:
        key = id(value)
        if key in done:
            out.append(done[key])
        else:
            done[key] = converted = convert(value)
            out.append(converted)
    return out


def _file_json(name: str) -> Callable[[Records], list[Any]]:
    """The file facts as sorted JSON text, once per facts object (services run by one binary
    share its facts: :func:`by_identity`); facts of a file not collected (a path and
    diagnostics) around their path (:class:`~hivescan.triage.sparse_facts.SparseJson`)."""
    get = attrgetter(name)

    def column(records: Records) -> list[Any]:
        sparse = SparseJson(_SORTED_JSON, *_JSON_SEPARATORS)

        def text(facts: Any) -> Any:
            if facts is None:
                return None
            path = sparse_path(facts)
            return _SORTED_JSON(dict(facts)) if path is None else sparse.text(facts, path)

        return by_identity(list(map(get, records)), text)

    return column


def json_columns() -> dict[str, Column]:
    """The builder of each JSON text column, by column name."""
    columns: dict[str, Column] = {
        "triggers_raw": _list_json("triggers_raw", _trigger_raw, _SORTED_JSON, memo=False),
        "subkey_last_writes": _subkey_times,
        "subkey_last_writes_filetime": _mapping_json("subkey_last_writes"),
        "sources": _mapping_json("sources"),
        "location": _location,
        "env_vars": _env_vars,
        "service_events": _list_json("service_events", None, _SORTED_JSON),
        "event_facts": _mapping_json("event_facts"),
        "failure_actions": _failure_actions,
        "triggers": _list_json("triggers", _to_dict, _PLAIN_JSON, memo=False),
        "security_access": _list_json("security_access", _to_dict, _PLAIN_JSON),
        "diagnostics": _diagnostics,
    }
    for field in FILE_FLAT_PREFIX:
        columns[field] = _file_json(field)
    return columns
