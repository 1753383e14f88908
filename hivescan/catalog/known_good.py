"""Known-good catalogs: stock Windows service names (``windows-services``) and what a stock
service's ImagePath / ServiceDll should look like (``windows-image-path`` /
``windows-service-dll``, Trawler's expectations, with ``agrees`` computed for the record).

A catalog that describes one Windows (its ``windows nt`` header) is applied only when the
hive's Windows is known and is that one (:func:`applies`); otherwise the row is returned with
``applies`` false and ``agrees`` None, so no rule compares an XP service with a Windows 10
expectation. The stock-name catalog is applied to every version: a stock name stays a stock
name, and rules use it to *exclude*.

References: detections.md §1.10, §4; style.md R7.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from hivescan.catalog.normalise import INSTANCE_SUFFIX, base_service_name, is_driver, normalise_for_expectation
from hivescan.catalog.pathpatterns import ExpectedPattern
from hivescan.catalog.tables import CatalogEntry, Table, entry, load_table
from hivescan.scm.winversion import within


@cache
def _windows_services() -> dict[str, tuple[Table, int]]:
    out: dict[str, tuple[Table, int]] = {}
    ws = load_table("ws2016_services.csv")
    for i, row in enumerate(ws.rows):
        out.setdefault(row["service_name"].lower(), (ws, i))
    expected = load_table("windows_expected.csv")
    for i, row in enumerate(expected.rows):
        if re.search(r"(?i)windows|system32", row["expected_regex"]):
            out.setdefault(INSTANCE_SUFFIX.sub("", row["service_name"]).lower(), (expected, i))
    return out


def lookup_windows_service(record: Any, context: Mapping[str, Any] | None = None) -> CatalogEntry | None:
    """Is this the name of a stock Windows service (Server 2016 table, or Trawler's Windows
    10/11 expectations of a path under Windows)? Per-user instances map to their template."""
    name = base_service_name(record)
    hit = _windows_services().get(name.lower())
    if hit is None:
        return None
    table, i = hit
    return entry("windows-services", name, table, i)


@cache
def _expected() -> tuple[Table, dict[tuple[str, str], list[tuple[int, ExpectedPattern]]]]:
    """The table, and (service name, value name) -> [(row, its pattern)] in table order.

    A pattern is searched without compiling it when it is a plain path (most are), and
    compiled on first use otherwise (hivescan/catalog/pathpatterns.py): compiling all of
    them took 85 ms of every run's start. One object per distinct pattern."""
    table = load_table("windows_expected.csv")
    index: dict[tuple[str, str], list[tuple[int, ExpectedPattern]]] = {}
    patterns: dict[str, ExpectedPattern] = {}
    for i, row in enumerate(table.rows):
        key = (INSTANCE_SUFFIX.sub("", row["service_name"]).lower(), row["value_name"].lower())
        regex = row["expected_regex"]
        pattern = patterns.get(regex)
        if pattern is None:
            pattern = patterns[regex] = ExpectedPattern.of(regex)
        index.setdefault(key, []).append((i, pattern))
    return table, index


_EXPANDED = {"image_path": "image_path_expanded", "service_dll": "service_dll_expanded"}
_SIMPLE_ESCAPES = frozenset("\\.-_ ()[]{}$^+?|*")


@cache  # a few hundred distinct patterns, asked once per stock service of every hive
def readable_pattern(regex: str) -> str | None:
    r"""A Trawler pattern as a path a person reads (``[A-Za-z]{1}:\\Windows\\x\.dll`` ->
    ``<drive>:\Windows\x.dll``, ``.*`` -> ``*``), or None when it uses more than escapes,
    a drive class and ``.*`` (then the regex itself is shown)."""
    text = regex.replace("[A-Za-z]{1}:", "<drive>:").replace("[A-Za-z]:", "<drive>:")
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt not in _SIMPLE_ESCAPES:
                return None
            out.append(nxt)
            i += 2
            continue
        if char == "." and text[i + 1 : i + 2] == "*":
            out.append("*")
            i += 2
            continue
        if char in ".[](){}+?^$|*":
            return None
        out.append(char)
        i += 1
    return "".join(out)


def applies(table: Table, context: Mapping[str, Any] | None) -> bool:
    """Whether a catalog describes the hive's Windows: no ``windows nt`` header = any Windows;
    with one, only a detected version listed there (an unknown version: not applied)."""
    wanted = table.header.get("windows nt")
    if not wanted:
        return True
    windows = context.get("windows") if context is not None else None
    return within(windows, _nt_versions(wanted))


@cache  # the header of a table: asked for every stock service of every hive
def _nt_versions(header: str) -> frozenset[str]:
    return frozenset(v.strip() for v in header.split(","))


def version_scoped() -> tuple[tuple[tuple[str, ...], Table], ...]:
    """The catalogs that describe one Windows, with the table saying which (``windows nt``)."""
    return ((("windows-image-path", "windows-service-dll"), _expected()[0]),)


def _lookup_expected(
    record: Any, value_name: str, field_name: str, catalog: str, context: Mapping[str, Any] | None
) -> CatalogEntry | None:
    """``value_name`` in lower case (as the index keys it); ``field_name`` the record attribute
    holding the value, ``field_name + "_expanded"`` its expansion."""
    table, index = _expected()
    name = base_service_name(record)
    rows = index.get((name.lower(), value_name))
    if not rows:
        return None
    observed = getattr(record, field_name, None)
    expanded = getattr(record, _EXPANDED[field_name], None)
    normalised = None
    in_scope = applies(table, context)
    # an empty value is no path to compare (never "differs"); on a Windows the catalog does not
    # describe, ``agrees`` stays None (no claim either way) and only ``matches`` says whether the
    # path has the catalog's shape -- for rules that use it to *exclude* (a stock driver where
    # Windows 10 puts it was there on Windows 7 too), never to report a difference
    matches: bool | None = None
    if observed is not None and str(observed).strip():
        # the expanded form when the record has one; normalised either way, because a REG_SZ
        # value keeps its %SystemRoot% after expansion (the SCM does not expand REG_SZ) while
        # Trawler's patterns were written against PowerShell's expanded reads
        normalised = normalise_for_expectation(str(expanded or observed), driver=is_driver(record))
    chosen = rows[0][0]
    if normalised is not None:
        matches = False
        for i, pattern in rows:
            if pattern.search(normalised):
                chosen, matches = i, True
                break
    agrees = matches if in_scope else None
    windows = context.get("windows") if context is not None else None
    facts = {
        "observed": observed,
        "compared": normalised,
        "agrees": agrees,
        "matches": matches,
        "expected": readable_pattern(table.rows[chosen]["expected_regex"]),
        "applies": in_scope,
        "applies_to": table.header.get("applies to", ""),
        "windows": windows.label if windows is not None and hasattr(windows, "label") else None,
    }
    return entry(catalog, name, table, chosen, facts)


def lookup_expected_image_path(record: Any, context: Mapping[str, Any] | None = None) -> CatalogEntry | None:
    """Trawler's expected ImagePath for this stock service; ``agrees`` says if the record's does
    (None when the record has no ImagePath)."""
    return _lookup_expected(record, "imagepath", "image_path", "windows-image-path", context)


def lookup_expected_service_dll(record: Any, context: Mapping[str, Any] | None = None) -> CatalogEntry | None:
    """Trawler's expected ServiceDll for this stock service, with ``agrees`` for the record."""
    return _lookup_expected(record, "servicedll", "service_dll", "windows-service-dll", context)


__all__ = [
    "applies",
    "lookup_expected_image_path",
    "lookup_expected_service_dll",
    "lookup_windows_service",
    "readable_pattern",
    "version_scoped",
]
