"""The ``services`` Arrow table built column by column, straight from the records.

Why: the row path (:func:`hivescan.frames.record_row` per record, then one Arrow array per
column of those dicts) builds a 140-key dict per record, walks every nested value twice and
turns every raw value into a Python dict before Arrow reads it back; on a 700-service hive
that was about 65 ms of CPU, a fifth of a triage worker's time per hive. Here the plain
columns are read in one pass (one C-level getter call per record, then transposed), the raw
values go straight into Arrow list<struct> buffers, and the JSON text columns use the very
encoders the row path uses (same key order, separators and ``ensure_ascii``), so every cell
is the same value (:mod:`hivescan.triage.service_json`).

:func:`hivescan.triage.schema.service_rows` and ``record_row`` stay the reference: tests
compare both tables on the shared hives, the fixtures, hostile built hives and random records
(tests/triage/test_service_table.py). A schema column this module has no builder for (a
field another feature added to ``to_dict`` with its own conversion) is taken from
``record_row``: slower, never different.

References: style.md R11 (frames), R12 (triage).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import pyarrow as pa

from hivescan.files.columns import FILE_FLAT_COLUMNS, FILE_FLAT_FACTS, FILE_FLAT_PREFIX
from hivescan.frames import record_row
from hivescan.gcpause import gc_paused
from hivescan.hive.regtypes import reg_type_name
from hivescan.scm.record import LOOP_FIELDS, ServiceRecord
from hivescan.textsafe import deep_escape
from hivescan.timeutil import _MAX_TICKS
from hivescan.triage.schema import RAW_VALUE, UTC_TIME, array_of, json_text, services_schema
from hivescan.triage.service_json import by_identity, json_columns
from hivescan.triage.sparse_facts import sparse_flat, sparse_path

Records = Sequence[ServiceRecord]

# cell types a column passes on unchanged (to_dict converts only tuples and mappings, and
# Arrow reads a tuple as it reads the list to_dict would make)
_AS_IS = frozenset({str, int, bool, float, tuple, list, dict, type(None)})
_TEXT = frozenset({str, type(None)})
# microseconds from 1601-01-01 to 1970-01-01: FILETIME ticks (100 ns) -> Unix microseconds
_EPOCH_DELTA_US = 11_644_473_600_000_000


def _plain(value: Any) -> Any:
    """What ``ServiceRecord.to_dict`` makes of a field value: tuples -> lists, mappings -> dicts."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _as_text(value: Any) -> Any:
    """A non-text cell of a text column as :func:`~hivescan.triage.schema.array_of` encodes it
    (sorted JSON), the common ones without the encoder."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is tuple and not value:
        return "[]"
    return json_text(_plain(value))


def _last_write(records: Records) -> pa.Array:
    """The key's last write as a UTC timestamp: the FILETIME in microseconds, null where
    :func:`~hivescan.timeutil.filetime_to_iso` says it is not a possible date (the row path
    parses that ISO text back, to the same microsecond)."""
    out: list[int | None] = []
    for record in records:
        ticks = record.origin.last_write_filetime
        out.append(None if ticks is None or ticks < 0 or ticks > _MAX_TICKS else ticks // 10 - _EPOCH_DELTA_US)
    return pa.array(out, pa.int64()).cast(UTC_TIME)


def _diagnostic_codes(records: Records) -> list[Any]:
    return [[d.code for d in r.diagnostics] for r in records]


def _diagnostic_count(records: Records) -> list[Any]:
    return [len(r.diagnostics) for r in records]


def _file_flat(name: str) -> Callable[[Records], dict[str, Sequence[Any]]]:
    """The flat columns of one file's facts (:func:`hivescan.files.columns.flat_file_columns`),
    all of them in one pass over the records."""
    get = attrgetter(name)
    prefix = FILE_FLAT_PREFIX[name]
    names = [prefix + fact for fact in FILE_FLAT_FACTS]
    paths = list(FILE_FLAT_FACTS.values())
    absent = (None,) * len(names)
    path_only = sparse_flat(paths)

    def flat(facts: Any) -> tuple[Any, ...]:
        if facts is None:  # a bare hive: no binaries read, every flat column empty
            return absent
        if path_only is not None:  # a file not collected: its path, and nulls
            path = sparse_path(facts)
            if path is not None:
                return path_only(path)
        out = []
        for steps in paths:
            value = facts
            for step in steps:
                # a dict is a Mapping: the exact-type test first spares the ABC check; a
                # missing part (``"signature": null``) is None at once
                if type(value) is dict or (value is not None and isinstance(value, Mapping)):
                    value = value.get(step)
                else:
                    value = None
                    break
            out.append(value)
        return tuple(out)

    def columns(records: Records) -> dict[str, Sequence[Any]]:
        # one walk per facts object: services run by one binary (svchost.exe) share its facts
        # object; keyed by identity for this call only, while the records hold every object
        # alive and nothing changes them (see hivescan.triage.service_json.by_identity)
        rows = by_identity(list(map(get, records)), flat)
        if not rows:
            return {n: () for n in names}
        return dict(zip(names, zip(*rows, strict=True), strict=True))

    return columns


_NAME, _TYPE, _DATA, _READER, _EXACT, _NOTES = (itemgetter(i) for i in range(6))  # RawValue's fields


def _first_of_each_name(values: Sequence[Any]) -> list[Any]:
    """``raw_value_map`` keeps the first value of a name (exact, case-sensitive)."""
    seen: set[str] = set()
    out = []
    for value in values:
        if value.name not in seen:
            seen.add(value.name)
            out.append(value)
    return out


def _raw_values(name: str) -> Callable[[Records], pa.Array]:
    """``raw_values`` / ``parameters_raw`` as list<struct> (``frames._raw_list`` of the value map):
    a later value of the same name is left out as ``raw_value_map`` leaves it out; ``exact`` and
    ``reader`` are the value's own only when it was re-encoded (the map omits them otherwise)."""
    get = attrgetter(name)

    def column(records: Records) -> pa.Array:
        offsets = [0]
        flat: list[Any] = []
        for record in records:
            values = get(record)
            if len(set(map(_NAME, values))) != len(values):
                values = _first_of_each_name(values)
            flat.extend(values)
            offsets.append(len(flat))
        names = list(map(_NAME, flat))
        notes = list(map(_NOTES, flat))  # tuples: Arrow reads them as the lists frames makes
        try:
            return _raw_array(offsets, flat, names, notes, escape=False)
        except UnicodeEncodeError:  # lone surrogates from a damaged hive: escaped, as the row path does
            return _raw_array(offsets, flat, deep_escape(names), deep_escape(notes), escape=True)

    return column


def _raw_array(offsets: list[int], flat: list[Any], names: list[str], notes: list[Any], *, escape: bool) -> pa.Array:
    """The list<struct> of raw values: the text children built from whole buffers where one
    C-level pass shows every value is plain (bytes data, int types, exact, no notes), cell by
    cell otherwise."""
    count = len(flat)
    datas = list(map(_DATA, flat))
    hexes, sizes = _hex_and_sizes(datas)
    if all(map(_EXACT, flat)):
        # not pa.repeat: its Python scalar goes through pyarrow's pandas shim, which imports
        # pandas in a worker that settled it has none (triage/preload.py settle_pandas_absent)
        exact: pa.Array = pa.array(np.ones(count, np.bool_))
        readers: pa.Array = pa.array(["cells"] * count, pa.string())
    else:
        exact = pa.array([bool(v.exact) for v in flat], pa.bool_())
        reader_texts = ["cells" if v.exact else v.reader for v in flat]
        readers = pa.array(deep_escape(reader_texts) if escape else reader_texts, pa.string())
    struct = pa.StructArray.from_arrays(
        [
            pa.array(names, pa.string()),
            _type_names(flat, escape),
            hexes,
            sizes,
            exact,
            readers,
            _notes(notes),
        ],
        fields=list(RAW_VALUE),
    )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct, type=pa.list_(RAW_VALUE))


# a string array addresses at most 2**31 - 1 bytes: larger hex texts take the cell-by-cell path
_MAX_STRING_BYTES = 2**31 - 1


def _hex_and_sizes(datas: list[Any]) -> tuple[pa.Array, pa.Array]:
    """Each value's data as lower-case hex text (``bytes.hex``) and its size: the hex of all
    the data in one call (the hex of a concatenation is the concatenation of the hexes), the
    text offsets twice the data offsets."""
    if not set(map(type, datas)) <= {bytes}:
        hexes = [d.hex() for d in datas]
        return pa.array(hexes, pa.string()), pa.array(list(map(len, datas)), pa.int64())
    sizes = np.fromiter(map(len, datas), np.int64, len(datas))
    ends = np.cumsum(sizes) * 2
    if len(datas) and ends[-1] > _MAX_STRING_BYTES:
        return pa.array([d.hex() for d in datas], pa.string()), pa.array(sizes)
    offsets = np.zeros(len(datas) + 1, np.int32)
    offsets[1:] = ends
    text = b"".join(datas).hex().encode("ascii")
    hexes = pa.StringArray.from_buffers(len(datas), pa.py_buffer(offsets), pa.py_buffer(text))
    return hexes, pa.array(sizes)


def _type_names(flat: list[Any], escape: bool) -> pa.Array:
    """``reg_type_name`` of each value's type, computed once per distinct type."""
    types = list(map(_TYPE, flat))
    if set(map(type, types)) <= {int}:
        names_of = {t: reg_type_name(t) for t in set(types)}
        texts = [names_of[t] for t in types]
    else:
        texts = [reg_type_name(t) for t in types]
    return pa.array(deep_escape(texts) if escape else texts, pa.string())


def _notes(notes: list[Any]) -> pa.Array:
    """The notes as list<string>, as ``RawValue.to_dict`` and the row path have them: a value
    without notes (an empty tuple, nearly always) has an empty list; when no value has any,
    the empty lists straight from their offsets."""
    if not any(notes):
        return pa.ListArray.from_arrays(pa.array(np.zeros(len(notes) + 1, np.int32)), pa.array([], pa.string()))
    return pa.array([list(n) if n else [] for n in notes], pa.list_(pa.string()))


def _plain_paths() -> dict[str, str]:
    """Columns that are one attribute of the record (dotted: of its origin), as ``to_dict`` has them."""
    paths = {name: name for name in ("name", "status", "reject_reason", "control_set_source", "type", "start")}
    paths["error_control"] = "error_control"
    paths.update({name: name for name in LOOP_FIELDS})
    paths.update({name: "origin." + name for name in ("control_set", "key_path", "last_write_filetime", "parser")})
    paths["changed_by_log_replay"] = "origin.from_log"
    paths["hive_path"] = "origin.hive.path"
    paths["hive_sha256"] = "origin.hive.sha256"
    paths["default_sd_applies"] = "default_sd_applies"
    return paths


#: derived properties of the record and the one field each is a function of: computed once
#: per distinct value of that field in the table (labels of numbers, decoded descriptors)
_DERIVED_FROM = {
    "type_name": "type",
    "start_name": "start",
    "error_control_name": "error_control",
    "service_sid_type_name": "service_sid_type",
    "launch_protected_name": "launch_protected",
    "user_service_flags_name": "user_service_flags",
    "delayed_auto_start_name": "delayed_auto_start",
    "security_sddl": "security_hex",
    "security_sdshow": "security_hex",
    "key_security_sddl": "key_security_hex",
    "key_writable_by": "key_security_hex",
    "key_writable_by_low_privilege": "key_security_hex",
}
_MEMO_KEYS = frozenset({str, int, type(None)})


def _derived(name: str, source: str) -> Callable[[Records], list[Any]]:
    """The property ``name`` of every record, evaluated on the first record of each distinct
    ``source`` value (keys only of exact type str/int/None, so ``1`` and ``True`` never share
    a result; any other key makes every record evaluate its own)."""
    get = attrgetter(name)
    get_source = attrgetter(source)

    def column(records: Records) -> list[Any]:
        keys = list(map(get_source, records))
        if not set(map(type, keys)) <= _MEMO_KEYS:
            return list(map(get, records))
        found: dict[Any, Any] = {}
        out = []
        for key, record in zip(keys, records, strict=True):
            if key in found:
                out.append(found[key])
            else:
                found[key] = value = get(record)
                out.append(value)
        return out

    return column


def _special_columns() -> dict[str, Callable[[Records], Any]]:
    """Columns ``to_dict`` or ``record_row`` convert on their own, each with its builder."""
    columns: dict[str, Callable[[Records], Any]] = {
        "last_write": _last_write,
        "raw_values": _raw_values("raw_values"),
        "parameters_raw": _raw_values("parameters_raw"),
        "diagnostic_codes": _diagnostic_codes,
        "diagnostic_count": _diagnostic_count,
        **json_columns(),
    }
    for name, source in _DERIVED_FROM.items():
        columns[name] = _derived(name, source)
    return columns


_SPECIAL = _special_columns()
_GROUPS = [_file_flat(field) for field in FILE_FLAT_PREFIX]
_GROUPED = frozenset(FILE_FLAT_COLUMNS)
# the plain columns, minus those with their own builder (a field whose to_dict form is special)
_PLAIN = {name: path for name, path in _plain_paths().items() if name not in _SPECIAL and name not in _GROUPED}
_BUILT = frozenset(_PLAIN) | frozenset(_SPECIAL) | _GROUPED


def unbuilt_columns(schema: pa.Schema) -> list[str]:
    """Columns of ``schema`` this module has no builder for (taken from ``record_row``)."""
    return [name for name in schema.names if name != "host" and name not in _BUILT]


@lru_cache(maxsize=1)
def _plan() -> tuple[tuple[str, ...], tuple[tuple[str, pa.DataType, bool], ...], bool]:
    """Once per process: the plain columns' getter paths, each column's name, type and whether
    it is text (Arrow's schema objects are slow to walk in the hot loop), and whether a column
    needs the row path. Without arguments: a schema as a cache key is hashed field by field
    (65 us a table)."""
    schema = services_schema()
    plain = tuple(name for name in schema.names if name in _PLAIN)
    columns = tuple((f.name, f.type, pa.types.is_string(f.type)) for f in schema)
    return plain, columns, bool(unbuilt_columns(schema))


def _passed_on(values: Sequence[Any], text: bool) -> Sequence[Any]:
    """Cells as ``to_dict`` and :func:`~hivescan.triage.schema.array_of` pass them to Arrow,
    converted only when one C-level pass over their types finds a cell that needs it."""
    types = set(map(type, values))
    if text:
        return values if types <= _TEXT else [v if v is None or type(v) is str else _as_text(v) for v in values]
    return values if types <= _AS_IS else [v if type(v) in _AS_IS else _plain(v) for v in values]


def _arrow(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, kind)
    except UnicodeEncodeError:  # lone surrogates from a damaged hive: escaped, as the row path does
        return pa.array([deep_escape(v) for v in values], kind)


def services_table(records: Records, host: str | None) -> pa.Table:
    """The ``services`` table of one hive's records: the same table as
    ``table_from_rows(list(service_rows(records, host)), services_schema())``.

    Built with the cyclic collector paused (:func:`hivescan.gcpause.gc_paused`): the build
    makes tens of thousands of short-lived lists, tuples and dicts, none of them in a cycle
    (reference counting frees them), and the young collections they set off cost about a
    twentieth of the build."""
    with gc_paused():
        return _services_table(records, host)


def _services_table(records: Records, host: str | None) -> pa.Table:
    schema = services_schema()
    plain, columns, fallback = _plan()
    cells: dict[str, Sequence[Any]] = {}
    if plain:  # every plain column in one pass: one C-level getter call per record, transposed
        getter = attrgetter(*(_PLAIN[name] for name in plain))
        rows = list(map(getter, records)) if len(plain) > 1 else [(v,) for v in map(getter, records)]
        cells.update(zip(plain, zip(*rows, strict=True) if rows else [()] * len(plain), strict=True))
    for group in _GROUPS:
        cells.update(group(records))
    frame_rows = [record_row(r, escape=False) for r in records] if fallback else []
    arrays = []
    for name, kind, text in columns:
        if name == "host":
            arrays.append(_arrow([host] * len(records), kind))
        elif name in cells:
            values = cells[name]
            if values.count(None) == len(values):  # a field no record has (identity tests, in C)
                arrays.append(pa.nulls(len(values), kind))
            else:
                arrays.append(_arrow(_passed_on(values, text), kind))
        elif name in _SPECIAL:
            built = _SPECIAL[name](records)
            arrays.append(built if isinstance(built, pa.Array) else _arrow(_passed_on(built, text), kind))
        else:
            arrays.append(array_of([row.get(name) for row in frame_rows], kind))
    return pa.Table.from_arrays(arrays, schema=schema)
