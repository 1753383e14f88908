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
from typing import Any

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


def _stack(frame: pd.DataFrame, key: pd.Series, raw: pd.Series, host_names_max: int) -> pd.DataFrame:
    work = pd.DataFrame(
        {
            "value": key.astype("string"),
            "raw": raw.astype("string"),
            "host": host_keys(frame),
            "hive": frame["hive_sha256"].astype("string"),
            "service": frame["name"].astype("string"),
        }
    ).dropna(subset=["value", "raw"])
    work = work[work["value"] != ""]
    if work.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in STACK_COLUMNS})
    out = pd.DataFrame(_group_rows(work), columns=["value", *STACK_COLUMNS[1:]])
    out["host_names"] = [names if len(names) <= host_names_max else [] for names in out["host_names"]]
    out = out.sort_values(["hosts", "value"], kind="stable").reset_index(drop=True)
    return out[STACK_COLUMNS]


def _group_rows(work: pd.DataFrame) -> list[tuple[Any, ...]]:
    """One row per stacking key (sorted), in one pass over plain Python values.

    Why not ``groupby(...).agg(lambda ...)``: a pandas Series per group and per column cost
    about a second per thousand hives in ``summarise``. Same results: rows are seen in frame
    order, as groupby gives each group's rows; the most common raw form is taken directly when
    it is unique, and by the former ``value_counts().index[0]`` when forms tie (pandas' order
    among ties is kept); nulls are not counted as distinct values (``nunique``).
    """
    groups: dict[Any, tuple[dict[Any, int], set[Any], set[Any], list[Any], list[Any]]] = {}
    for value, raw, host, hive, service in zip(
        work["value"].tolist(), work["raw"].tolist(), work["host"].tolist(), work["hive"].tolist(),
        work["service"].tolist(),
    ):  # fmt: skip
        group = groups.get(value)
        if group is None:
            group = groups[value] = ({}, set(), set(), [], [])
        forms, hosts, hives, raws, services = group
        forms[raw] = forms.get(raw, 0) + 1
        hosts.add(host)
        hives.add(hive)
        raws.append(raw)
        services.append(service)
    rows = []
    for value in sorted(groups):
        forms, hosts, hives, raws, services = groups[value]
        top = max(forms.values())
        tied = [form for form, count in forms.items() if count == top]
        example = tied[0] if len(tied) == 1 else pd.Series(raws, dtype="string").value_counts().index[0]
        rows.append(
            (
                value,
                example,
                len(forms),
                sum(1 for h in hosts if not _missing(h)),
                sum(1 for h in hives if not _missing(h)),
                len(raws),
                sorted(set(hosts)),
                sorted(set(services), key=str.upper),
            )
        )
    return rows


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def stack_services(services: pd.DataFrame, host_names_max: int = 20) -> pd.DataFrame:
    """Services by how many hosts have them, rarest first.

    Columns: ``value`` (stacking key), ``example`` (the most common raw name), ``forms``,
    ``hosts``, ``hives``, ``records``, ``host_names`` (listed when at most
    ``host_names_max`` hosts have it, else empty: the count is in ``hosts``), ``services``
    (the raw names, instances included).
    """
    types = services["type"].astype("Int64")
    cache: dict[tuple[str, Any], str] = {}  # hosts share most names: each distinct pair computed once
    keys = []
    for n, t in zip(services["name"].astype(str), types):
        known = cache.get((n, t))
        if known is None:
            known = cache[(n, t)] = service_stack_name(n, None if pd.isna(t) else int(t))
        keys.append(known)
    key = pd.Series(keys, index=services.index, dtype="string")
    return _stack(services, key, services["name"], host_names_max)


def _path_stack(services: pd.DataFrame, column: str, host_names_max: int) -> pd.DataFrame:
    types = services["type"].astype("Int64")
    raw = services[column].astype("string")
    cache: dict[tuple[Any, Any], str | None] = {}  # hosts share most paths: each distinct pair computed once
    keys = []
    for p, t in zip(raw, types):
        if (p, t) not in cache:
            cache[(p, t)] = None if pd.isna(p) else path_stack_key(str(p), None if pd.isna(t) else int(t))
        keys.append(cache[(p, t)])
    key = pd.Series(keys, index=services.index, dtype="string")
    return _stack(services, key, raw, host_names_max)


def stack_image_paths(services: pd.DataFrame, host_names_max: int = 20) -> pd.DataFrame:
    """ImagePaths by how many hosts have them, rarest first (``services``: who uses each)."""
    return _path_stack(services, "image_path", host_names_max)


def stack_service_dlls(services: pd.DataFrame, host_names_max: int = 20) -> pd.DataFrame:
    """ServiceDlls by how many hosts have them, rarest first."""
    return _path_stack(services, "service_dll", host_names_max)


def stacks(services: pd.DataFrame, host_names_max: int = 20) -> dict[str, pd.DataFrame]:
    """All three stacks: ``services``, ``image_paths``, ``service_dlls``."""
    return {
        "services": stack_services(services, host_names_max),
        "image_paths": stack_image_paths(services, host_names_max),
        "service_dlls": stack_service_dlls(services, host_names_max),
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
