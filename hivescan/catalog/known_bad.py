"""Known-bad catalogs: LOLDrivers (driver file names, sample hashes and authentihashes),
LOLRMM (remote admin tools: a policy matter, not proof) and mthcht's suspicious service names.

Each lookup returns the matching row as a :class:`CatalogEntry` (or None); the tables and
their indexes are built once per process (``functools.cache``).

References: detections.md §1.6 #51-53, §1.10, §4.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from hivescan.catalog.globs import GlobIndex
from hivescan.catalog.normalise import driver_file_name, is_driver, normalise_for_expectation, strip_quotes
from hivescan.catalog.tables import CatalogEntry, Table, entry, load_table


@cache
def _loldrivers() -> tuple[Table, dict[str, int]]:
    table = load_table("loldrivers.csv")
    return table, {row["file_name"]: i for i, row in enumerate(table.rows)}


def lookup_loldrivers(record: Any, context: Mapping[str, Any] | None = None) -> CatalogEntry | None:
    """The LOLDrivers row for the driver file this record loads."""
    name = driver_file_name(record)
    if not name:
        return None
    table, index = _loldrivers()
    i = index.get(name)
    return None if i is None else entry("loldrivers", name, table, i)


@cache
def _loldriver_hashes() -> tuple[Table, dict[str, int]]:
    table = load_table("loldrivers_sha256.csv")
    return table, {row["sha256"]: i for i, row in enumerate(table.rows)}


def lookup_loldriver_hash(sha256: str) -> CatalogEntry | None:
    """The LOLDrivers sample with this SHA-256 (for callers that can hash the driver file)."""
    table, index = _loldriver_hashes()
    i = index.get(sha256.strip().lower())
    return None if i is None else entry("loldrivers-sha256", sha256.lower(), table, i)


@cache
def _loldriver_authentihashes() -> tuple[Table, dict[str, int]]:
    table = load_table("loldrivers_authentihash.csv")
    return table, {row["authentihash"]: i for i, row in enumerate(table.rows)}


def lookup_loldriver_file(record: Any, context: Mapping[str, Any] | None = None) -> CatalogEntry | None:
    """The LOLDrivers sample the record's image file *is*, by SHA-256 or authentihash (file facts).

    Wherever the file lies and whatever it is called: a renamed vulnerable driver still matches.
    """
    facts = getattr(record, "image_file", None)
    if not isinstance(facts, Mapping):
        return None
    for fact, hashes in (("sha256", _loldriver_hashes), ("authentihash", _loldriver_authentihashes)):
        digest = facts.get(fact)
        if isinstance(digest, str):
            table, index = hashes()
            i = index.get(digest.lower())
            if i is not None:
                return entry("loldrivers-file", digest.lower(), table, i, {"matched_on": fact})
    return None


@dataclass(frozen=True, slots=True)
class _GlobIndex:
    """The globs of one column of a table (the rows ``keep`` accepts), indexed (globs.GlobIndex)."""

    table: Table
    column: str
    index: GlobIndex

    @classmethod
    def build(cls, table: Table, column: str, keep: Callable[[Mapping[str, str]], bool]) -> _GlobIndex:
        rows = tuple(i for i, row in enumerate(table.rows) if row.get(column) and keep(row))
        return cls(table, column, GlobIndex.build(rows, [table.rows[i][column] for i in rows]))

    def first(self, text: str) -> int | None:
        return self.index.first(text)


@cache
def _rmm() -> tuple[_GlobIndex, _GlobIndex, _GlobIndex]:
    table = load_table("lolrmm.csv")
    names = _GlobIndex.build(table, "pattern", lambda r: r["kind"] == "service_name")
    images = _GlobIndex.build(table, "pattern", lambda r: r["kind"] == "image_path")
    installs = _GlobIndex.build(table, "pattern", lambda r: r["kind"] == "install_path")
    return names, images, installs


def lookup_lolrmm(record: Any, context: Mapping[str, Any] | None = None) -> CatalogEntry | None:
    """A remote monitoring/management tool, by service name, 7045 ImagePath or install path."""
    names, images, installs = _rmm()
    name = str(getattr(record, "name", ""))
    i = names.first(name)
    if i is not None:
        return entry("lolrmm", name, names.table, i, {"matched_on": "name"})
    image = str(getattr(record, "image_path", None) or "").strip()
    if not image:
        return None
    i = images.first(image)
    if i is not None:
        return entry("lolrmm", image, images.table, i, {"matched_on": "image_path"})
    module = normalise_for_expectation(strip_quotes(image), driver=is_driver(record))
    i = installs.first(module)
    if i is not None:
        return entry("lolrmm", module, installs.table, i, {"matched_on": "install_path"})
    return None


@cache
def _suspicious() -> _GlobIndex:
    return _GlobIndex.build(load_table("suspicious_services.csv"), "name_glob", lambda r: True)


def lookup_suspicious_service(record: Any, context: Mapping[str, Any] | None = None) -> CatalogEntry | None:
    """mthcht's suspicious service names (offensive tools and greyware), by name glob."""
    index = _suspicious()
    name = str(getattr(record, "name", ""))
    i = index.first(name)
    return None if i is None else entry("suspicious-services", name, index.table, i)


__all__ = [
    "lookup_loldriver_file",
    "lookup_loldriver_hash",
    "lookup_loldrivers",
    "lookup_lolrmm",
    "lookup_suspicious_service",
]
