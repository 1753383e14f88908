"""Stacking: how many hosts have each service, ImagePath and ServiceDll, rarest first.

Across hundreds of hosts built from the same images, what only a few hosts have is where
persistence hides. Values are grouped by a *stacking key*, a normalised form used only for
grouping; the raw forms stay in the services dataset and each stack row shows the most
common raw form (``example``) and how many raw forms it groups (``forms``).

Stacking keys:

* services: the name upper-cased (service names are case-insensitive); a per-user
  service instance (Type has 0x80, name ``<template>_<hex LUID>``) stacks with its
  template, split at the last ``_`` as the SCM names it (scm-spec.md §8), so
  ``CDPUserSvc_3fa1e`` on one host and ``CDPUserSvc_41b07`` on another are one row;
* ImagePath and ServiceDll: lower-cased, surrounding blanks removed, the system-root
  prefixes ``\\SystemRoot\\``, ``%SystemRoot%\\``, ``%windir%\\``, ``\\??\\X:\\Windows\\`` and
  ``X:\\Windows\\`` (after an opening quote, too) written ``%systemroot%\\``, a leading
  ``\\??\\`` dropped, and a driver's relative path (``System32\\drivers\\x.sys``, which the
  kernel reads from the system root) prefixed with ``%systemroot%\\``. Quotes and arguments
  are kept: an unquoted path and a quoted one are different command lines.

A host is its ``ComputerName``; a hive without one counts as its own host
(``sha256:<first 12 hex digits>``). Every record of the dataset counts (every control set
scanned, every status), once per host.

References: scm-spec.md §5.2 (driver paths relative to the system root), §8 (per-user
service instances).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import pandas as pd

USER_INSTANCE = 0x80
DRIVER_TYPES = 0x1 | 0x2 | 0x8
_HEX_SUFFIX = re.compile(r"^(?P<template>.+)_(?P<luid>[0-9A-Fa-f]+)$")
_SYSTEM_ROOT = re.compile(r'^(?P<quote>"?)(?:\\systemroot\\|%systemroot%\\|%windir%\\|(?:\\\?\?\\)?[a-z]:\\windows\\)')
_NT_PREFIX = re.compile(r"^\\\?\?\\")
_RELATIVE = re.compile(r"^(?![a-z]:|\\|%|\")")
STACK_COLUMNS = ["value", "example", "forms", "hosts", "hives", "records", "host_names", "services"]
STACK_INPUT_COLUMNS = ["host", "hive_sha256", "name", "type", "image_path", "service_dll"]


def service_stack_name(name: str, type_: int | None) -> str:
    """The stacking key of a service name: upper case, instances folded into their template."""
    if type_ is not None and type_ & USER_INSTANCE:
        match = _HEX_SUFFIX.match(name)
        if match:
            name = match.group("template")
    return name.upper()


def path_stack_key(path: str, type_: int | None = None) -> str:
    """The stacking key of an ImagePath or ServiceDll (see the module docstring)."""
    text = path.strip().lower()
    text = _SYSTEM_ROOT.sub(r"\g<quote>%systemroot%\\", text, count=1)
    text = _NT_PREFIX.sub("", text, count=1)
    if type_ is not None and type_ & DRIVER_TYPES and not type_ & 0x30 and text and _RELATIVE.match(text):
        text = "%systemroot%\\" + text
    return text


KEY_OF: dict[str, Callable[[str, int | None], str]] = {
    "services": service_stack_name,
    "image_paths": path_stack_key,
    "service_dlls": path_stack_key,
}
RAW_COLUMN = {"services": "name", "image_paths": "image_path", "service_dlls": "service_dll"}


def host_keys(services: pd.DataFrame) -> pd.Series:
    """Host identity per row: the host name, or ``sha256:<12 hex>`` when the hive has none."""
    sha = services["hive_sha256"].astype("string").str.slice(0, 12)
    host = services["host"].astype("string")
    return host.where(host.notna() & (host != ""), "sha256:" + sha)


Codes = tuple[np.ndarray, list[Any]]  # per row, an index into the values (-1: missing); the values


def codes_of(column: pa.ChunkedArray | pa.Array) -> Codes:
    """Integer codes in order of first appearance (-1 for a missing value), and the values:
    Arrow's dictionary encoding, without a Python object per row."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.nulls(0, column.type)
    encoded = pc.dictionary_encode(column)
    return _indices(encoded.indices), encoded.dictionary.to_pylist()


def _indices(indices: pa.Array) -> np.ndarray:
    """Dictionary indices as int64, -1 where null, read from the Arrow buffers. Why not
    ``fill_null(-1)`` or ``to_numpy``: with nulls, both go through pyarrow's pandas shim,
    and importing pandas costs more than the whole summary."""
    if len(indices) == 0:
        return np.empty(0, dtype=np.int64)
    width = indices.type.bit_width // 8
    data = np.frombuffer(indices.buffers()[1], dtype=np.dtype(f"<i{width}"))
    values = data[indices.offset : indices.offset + len(indices)].astype(np.int64)
    if indices.null_count:
        bits = np.unpackbits(np.frombuffer(indices.buffers()[0], dtype=np.uint8), bitorder="little")
        values[~bits[indices.offset : indices.offset + len(indices)].astype(bool)] = -1
    return values


def _row_codes(table: pa.Table) -> dict[str, Codes]:
    """Host, hive and service name codes of every row: the same for the three stacks, so
    :func:`stack_table` computes them once."""
    hive = codes_of(table["hive_sha256"])
    return {"host": host_codes(codes_of(table["host"]), hive), "hive": hive, "service": codes_of(table["name"])}


def host_codes(host: Codes, sha: Codes) -> Codes:
    """:func:`host_keys` as codes (-1 when both the host and the sha256 are missing), computed
    once per distinct (host, sha256) pair. Why not Arrow compute: turning the ``sha256:``
    literal into an Arrow scalar imports pandas (pyarrow's shim), which costs more than the
    whole summary."""

    def key(name: Any, sha256: Any) -> str | None:
        if name is not None and name != "":
            return str(name)
        return None if sha256 is None else "sha256:" + str(sha256)[:12]

    return pair_codes(host, sha, key)


def key_codes(raw: Codes, types: Codes, key_of: Callable[[str, int | None], str]) -> Codes:
    """The stacking key of every row as codes (-1: no key: a missing raw value, or an empty
    key), with ``key_of(raw, type)`` computed once per distinct (raw, type) pair: hosts share
    most names and paths, so a fleet has a few thousand pairs for millions of rows."""

    def key(value: Any, reg_type: Any) -> str | None:
        if value is None:
            return None
        return key_of(str(value), None if reg_type is None else int(reg_type)) or None

    return pair_codes(raw, types, key)


def pair_codes(first: Codes, second: Codes, key: Callable[[Any, Any], str | None]) -> Codes:
    """Codes of ``key(a, b)`` for every row's pair of values (None for a missing one; a key of
    None: -1, no key), ``key`` called once per distinct pair, keys numbered as first met."""
    first_codes, first_list = first
    second_codes, second_list = second
    width = len(second_list) + 1
    pairs, inverse = np.unique((first_codes + 1) * width + (second_codes + 1), return_inverse=True)
    index: dict[str, int] = {}
    pair_key = np.full(len(pairs), -1, dtype=np.int64)
    for i, pair in enumerate(pairs.tolist()):
        f, s = divmod(pair, width)
        found = key(first_list[f - 1] if f else None, second_list[s - 1] if s else None)
        if found is not None:
            pair_key[i] = index.setdefault(found, len(index))
    return pair_key[inverse.reshape(-1)], list(index)


def stack_table(table: pa.Table, host_names_max: int = 20) -> dict[str, list[tuple[Any, ...]]]:
    """The three stacks of a services table (Arrow, :data:`STACK_INPUT_COLUMNS`), each a list
    of rows in :data:`STACK_COLUMNS` order, rarest first (what ``summary.json`` holds)."""
    rows = _row_codes(table)
    types = codes_of(table["type"])
    out = {}
    for name, column in RAW_COLUMN.items():
        raw = codes_of(table[column])
        out[name] = _stack_rows(key_codes(raw, types, KEY_OF[name]), raw, rows, host_names_max)
    return out


def _stack_rows(value: Codes, raw: Codes, rows: dict[str, Codes], host_names_max: int) -> list[tuple[Any, ...]]:
    keep = value[0] >= 0  # a key implies a raw value
    if not keep.any():
        return []
    columns = {name: (codes[keep], values) for name, (codes, values) in rows.items()}
    columns["value"] = (value[0][keep], value[1])
    columns["raw"] = (raw[0][keep], raw[1])
    out = _group_rows(columns, host_names_max)  # sorted by value
    out.sort(key=lambda row: row[3])  # then by hosts (stable): rarest first
    return out


def _pairs(group: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """The distinct (group, code) pairs of the rows whose code is not missing, as one integer
    each (``group * size + code``), sorted."""
    joined = np.sort(group[codes >= 0] * size + codes[codes >= 0])  # every use is order-free
    if len(joined) < 2:
        return joined
    return joined[np.concatenate(([True], joined[1:] != joined[:-1]))]


def _group_rows(columns: dict[str, Codes], host_names_max: int) -> list[tuple[Any, ...]]:
    """One row per stacking key (sorted), computed on integer codes with numpy.

    Why: per-row Python (a loop, or ``groupby(...).agg(lambda ...)``) made ``summarise`` the
    slowest fixed cost of a triage run and grew with every host. Each column is factorised
    once (codes in order of first appearance); counts are ``bincount``s of the distinct
    (key, code) pairs; Python runs only per distinct pair that is shown (the raw names, the
    host names of rare keys). Same results as the groupby it replaces
    (tests/triage/test_stacking_fast.py): the most common raw form is taken directly when it
    is unique, and by ``value_counts().index[0]`` over the group's rows in frame order when
    forms tie (pandas' order among ties is kept); nulls are not counted as distinct values.
    """
    keys, key_list = columns["value"]
    raws, raw_list = columns["raw"]
    hosts, host_list = columns["host"]
    hives, hive_values = columns["hive"]
    services, service_list = columns["service"]
    groups = len(key_list)
    records = np.bincount(keys, minlength=groups)

    def distinct(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        pairs = _pairs(keys, codes, max(1, size))
        return pairs // max(1, size), pairs % max(1, size)

    form_group, _ = distinct(raws, len(raw_list))
    forms = np.bincount(form_group, minlength=groups)
    host_group, host_code = distinct(hosts, len(host_list))
    host_counts = np.bincount(host_group, minlength=groups)
    hive_group, _ = distinct(hives, len(hive_values))
    hive_counts = np.bincount(hive_group, minlength=groups)
    examples = _examples(keys, raws, raw_list, groups)

    named: dict[int, list[str]] = {g: [] for g in np.flatnonzero(host_counts <= host_names_max).tolist()}
    for g, h in zip(host_group.tolist(), host_code.tolist(), strict=True):
        names = named.get(g)
        if names is not None:
            names.append(host_list[h])
    service_group, service_code = distinct(services, len(service_list))
    raw_names: list[list[str]] = [[] for _ in range(groups)]
    for g, n in zip(service_group.tolist(), service_code.tolist(), strict=True):
        raw_names[g].append(service_list[n])
    rows = []
    for g in sorted(range(groups), key=key_list.__getitem__):
        rows.append(
            (
                key_list[g],
                examples[g],
                int(forms[g]),
                int(host_counts[g]),
                int(hive_counts[g]),
                int(records[g]),
                sorted(named[g]) if g in named else [],
                sorted(raw_names[g], key=_name_order),
            )
        )
    return rows


def _name_order(name: str) -> tuple[str, str]:
    """Raw service names case-insensitively, then case-sensitively: ``MpsSvc`` and ``mpssvc``
    on different hosts always in one order (by ``str.upper`` alone they tied, and the order of
    a ``set`` decided, which changed from run to run with Python's string hashing)."""
    return name.upper(), name


def _examples(keys: np.ndarray, raws: np.ndarray, raw_list: list[Any], groups: int) -> list[str]:
    """The most common raw form of each group; among tied forms, the one met first (in row
    order): what pandas' ``value_counts().index[0]`` gives (a stable sort by count), kept
    as the reference in tests/triage/test_stacking_fast.py."""
    size = len(raw_list)
    pairs, first, counts = np.unique(keys * size + raws, return_index=True, return_counts=True)
    pair_group = pairs // size
    best = np.zeros(groups, dtype=np.int64)
    np.maximum.at(best, pair_group, counts)
    winners = np.flatnonzero(counts == best[pair_group])
    examples: list[str] = [""] * groups
    for pair in winners[np.argsort(-first[winners], kind="stable")].tolist():  # the earliest written last
        examples[int(pair_group[pair])] = raw_list[int(pairs[pair]) % size]
    return examples


def stack_services(services: pd.DataFrame, host_names_max: int = 20) -> pd.DataFrame:
    """Services by how many hosts have them, rarest first.

    Columns: ``value`` (stacking key), ``example`` (the most common raw name), ``forms``,
    ``hosts``, ``hives``, ``records``, ``host_names`` (listed when at most
    ``host_names_max`` hosts have it, else empty: the count is in ``hosts``), ``services``
    (the raw names, instances included).
    """
    return stacks(services, host_names_max)["services"]


def stack_image_paths(services: pd.DataFrame, host_names_max: int = 20) -> pd.DataFrame:
    """ImagePaths by how many hosts have them, rarest first (``services``: who uses each)."""
    return stacks(services, host_names_max)["image_paths"]


def stack_service_dlls(services: pd.DataFrame, host_names_max: int = 20) -> pd.DataFrame:
    """ServiceDlls by how many hosts have them, rarest first."""
    return stacks(services, host_names_max)["service_dlls"]


def stacks(services: pd.DataFrame, host_names_max: int = 20) -> dict[str, pd.DataFrame]:
    """All three stacks: ``services``, ``image_paths``, ``service_dlls``, as DataFrames (for
    notebooks: :func:`stack_table` on the same columns)."""
    import pandas as pd

    columns = {}
    for name in STACK_INPUT_COLUMNS:
        series = services[name] if name in services else pd.Series([None] * len(services), dtype="object")
        if name == "type":
            columns[name] = pa.Array.from_pandas(series.astype("Int64")).cast(pa.int64())
        else:  # pandas gives large_string; the datasets are string
            columns[name] = pa.Array.from_pandas(series.astype("string")).cast(pa.string())
    out = {}
    for name, rows in stack_table(pa.table(columns), host_names_max).items():
        if rows:
            out[name] = pd.DataFrame(rows, columns=STACK_COLUMNS)
        else:
            out[name] = pd.DataFrame({c: pd.Series(dtype="object") for c in STACK_COLUMNS})
    return out


def stack_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A stack (DataFrame) as JSON-ready rows (what summary.json holds)."""
    return [
        {
            "value": row.value,
            "example": row.example,
            "forms": int(row.forms),
            "hosts": int(row.hosts),
            "hives": int(row.hives),
            "records": int(row.records),
            "host_names": list(row.host_names),
            "services": list(row.services),
        }
        for row in frame.itertuples(index=False)
    ]


def stack_dicts(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows of :func:`stack_table` as JSON-ready mappings (summary.json)."""
    return [dict(zip(STACK_COLUMNS, row, strict=True)) for row in rows]
