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
from typing import Any

import numpy as np
import pandas as pd

USER_INSTANCE = 0x80
DRIVER_TYPES = 0x1 | 0x2 | 0x8
_HEX_SUFFIX = re.compile(r"^(?P<template>.+)_(?P<luid>[0-9A-Fa-f]+)$")
_SYSTEM_ROOT = re.compile(r'^(?P<quote>"?)(?:\\systemroot\\|%systemroot%\\|%windir%\\|(?:\\\?\?\\)?[a-z]:\\windows\\)')
_NT_PREFIX = re.compile(r"^\\\?\?\\")
_RELATIVE = re.compile(r"^(?![a-z]:|\\|%|\")")
STACK_COLUMNS = ["value", "example", "forms", "hosts", "hives", "records", "host_names", "services"]


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


def host_keys(services: pd.DataFrame) -> pd.Series:
    """Host identity per row: the host name, or ``sha256:<12 hex>`` when the hive has none."""
    sha = services["hive_sha256"].astype("string").str.slice(0, 12)
    host = services["host"].astype("string")
    return host.where(host.notna() & (host != ""), "sha256:" + sha)


Codes = tuple[np.ndarray, list[Any]]  # per row, an index into the values (-1: missing); the values


def _row_codes(frame: pd.DataFrame) -> dict[str, Codes]:
    """Host, hive and service name codes of every row: the same for the three stacks, so
    :func:`stacks` computes them once."""
    columns = {
        "host": host_keys(frame),
        "hive": frame["hive_sha256"].astype("string"),
        "service": frame["name"].astype("string"),
    }
    out = {}
    for name, column in columns.items():
        codes, values = _codes(column)
        out[name] = (codes, values.tolist())
    return out


def _stack(
    frame: pd.DataFrame, key: pd.Series, raw: pd.Series, host_names_max: int, rows: dict[str, Codes] | None = None
) -> pd.DataFrame:
    value = key.astype("string")
    raw = raw.astype("string")
    keep = (value.notna() & raw.notna() & (value != "")).to_numpy(dtype=bool)
    if not keep.any():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in STACK_COLUMNS})
    rows = rows if rows is not None else _row_codes(frame)
    columns = {name: (codes[keep], values) for name, (codes, values) in rows.items()}
    for name, column in (("value", value[keep]), ("raw", raw[keep])):
        codes, values = _codes(column)
        columns[name] = (codes, values.tolist())
    out = pd.DataFrame(_group_rows(columns, host_names_max), columns=["value", *STACK_COLUMNS[1:]])
    out = out.sort_values(["hosts", "value"], kind="stable").reset_index(drop=True)
    return out[STACK_COLUMNS]


def _codes(column: pd.Series) -> tuple[np.ndarray, Any]:
    """Integer codes in order of first appearance (-1 for a missing value), and the values."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return codes.astype(np.int64), uniques


def _pairs(group: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """The distinct (group, code) pairs of the rows whose code is not missing, as one integer
    each (``group * size + code``), in order of first appearance."""
    present = codes >= 0
    joined = group[present] * size + codes[present]
    return pd.unique(joined)


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
    """The most common raw form of each group; ties broken as ``value_counts`` breaks them."""
    size = len(raw_list)
    pairs, counts = np.unique(keys * size + raws, return_counts=True)
    pair_group = pairs // size
    best = np.zeros(groups, dtype=np.int64)
    np.maximum.at(best, pair_group, counts)
    at_best = counts == best[pair_group]
    winners = np.bincount(pair_group[at_best], minlength=groups)
    examples: list[str] = [""] * groups
    for pair in pairs[at_best].tolist():
        examples[pair // size] = raw_list[pair % size]
    for g in np.flatnonzero(winners > 1).tolist():
        tied = raws[keys == g]
        examples[g] = pd.Series([raw_list[r] for r in tied.tolist()], dtype="string").value_counts().index[0]
    return examples


def stack_services(services: pd.DataFrame, host_names_max: int = 20) -> pd.DataFrame:
    """Services by how many hosts have them, rarest first.

    Columns: ``value`` (stacking key), ``example`` (the most common raw name), ``forms``,
    ``hosts``, ``hives``, ``records``, ``host_names`` (listed when at most
    ``host_names_max`` hosts have it, else empty: the count is in ``hosts``), ``services``
    (the raw names, instances included).
    """
    return _service_stack(services, host_names_max, None)


def _service_stack(services: pd.DataFrame, host_names_max: int, rows: dict[str, Codes] | None) -> pd.DataFrame:
    key = _keys(services["name"], services, service_stack_name)
    return _stack(services, key, services["name"], host_names_max, rows)


def _keys(raw: pd.Series, services: pd.DataFrame, key_of: Callable[[str, int | None], str]) -> pd.Series:
    """``key_of(raw, type)`` per row, computed once per distinct (raw, type) pair: hosts
    share most names and paths, so a fleet has a few thousand pairs for millions of rows.
    A missing raw value has no key (None)."""
    raw_codes, raw_values = _codes(raw.astype("string"))
    type_codes, type_values = _codes(services["type"].astype("Int64"))
    width = len(type_values) + 1
    pair_codes, pairs = pd.factorize((raw_codes + 1) * width + (type_codes + 1))
    raw_list, type_list = raw_values.tolist(), type_values.tolist()
    keys: list[str | None] = []
    for pair in pairs.tolist():
        r, t = divmod(pair, width)
        keys.append(None if r == 0 else key_of(str(raw_list[r - 1]), None if t == 0 else int(type_list[t - 1])))
    return pd.Series(pd.array(keys, dtype="string").take(pair_codes), index=services.index)


def _path_stack(
    services: pd.DataFrame, column: str, host_names_max: int, rows: dict[str, Codes] | None = None
) -> pd.DataFrame:
    raw = services[column].astype("string")
    return _stack(services, _keys(raw, services, path_stack_key), raw, host_names_max, rows)


def stack_image_paths(services: pd.DataFrame, host_names_max: int = 20) -> pd.DataFrame:
    """ImagePaths by how many hosts have them, rarest first (``services``: who uses each)."""
    return _path_stack(services, "image_path", host_names_max)


def stack_service_dlls(services: pd.DataFrame, host_names_max: int = 20) -> pd.DataFrame:
    """ServiceDlls by how many hosts have them, rarest first."""
    return _path_stack(services, "service_dll", host_names_max)


def stacks(services: pd.DataFrame, host_names_max: int = 20) -> dict[str, pd.DataFrame]:
    """All three stacks: ``services``, ``image_paths``, ``service_dlls``."""
    rows = _row_codes(services)
    return {
        "services": _service_stack(services, host_names_max, rows),
        "image_paths": _path_stack(services, "image_path", host_names_max, rows),
        "service_dlls": _path_stack(services, "service_dll", host_names_max, rows),
    }


def stack_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A stack as JSON-ready rows (for summary.json)."""
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


STACK_INPUT_COLUMNS = ["host", "hive_sha256", "name", "type", "image_path", "service_dll"]
