"""Read the catalog CSV files of ``hivescan/catalog/data`` (``#`` provenance header, then CSV).

A :class:`CatalogEntry` is one row, cited by a finding: catalog name, the key that was looked
up, the row's fields, and where the row is (file and line), plus facts the lookup computed
(e.g. whether an observed path agrees with an expectation).

References: style.md R7.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from hivescan.frozen import fast_builder


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # file name
    header: Mapping[str, str]  # source, commit, licence, built
    rows: tuple[Mapping[str, str], ...]
    lines: tuple[int, ...]  # 1-based line of each row in the file


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """The catalog row a lookup matched, with what was looked up."""

    catalog: str
    key: str
    row: Mapping[str, Any]
    file: str
    line: int
    source: str = ""  # upstream, from the file header
    facts: Mapping[str, Any] = field(default_factory=dict)  # computed by the lookup for this record

    def get(self, name: str) -> Any:
        """A computed fact, a column of the row, or the entry's own citation fields."""
        if name in ("catalog", "key", "file", "line", "source", "citation"):
            return getattr(self, name)
        if name in self.facts:
            return self.facts[name]
        return self.row.get(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "catalog": self.catalog,
            "key": self.key,
            "row": dict(self.row),
            "facts": dict(self.facts),
            "file": self.file,
            "line": self.line,
            "source": self.source,
        }

    @property
    def citation(self) -> str:
        return f"{self.file}:{self.line}" + (f" ({self.source})" if self.source else "")


def parse_table(name: str, text: str) -> Table:
    header: dict[str, str] = {}
    body_start = 0
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = number
            break
        key, _, value = line[1:].strip().partition(":")
        if value:
            header[key.strip()] = value.strip()
        else:
            header.setdefault("title", line[1:].strip())
    reader = csv.reader(lines[body_start:])
    columns = next(reader, [])
    rows = []
    numbers = []
    for offset, cells in enumerate(reader):
        if not cells:
            continue
        rows.append(dict(zip(columns, cells, strict=False)))
        numbers.append(body_start + 2 + offset)
    return Table(name, header, tuple(rows), tuple(numbers))


@cache
def load_table(name: str) -> Table:
    """A packaged catalog file (immutable, so loaded once per process)."""
    text = resources.files("hivescan.catalog").joinpath("data", name).read_text(encoding="utf-8")
    return parse_table(name, text)


# CatalogEntry(...) without its frozen __init__ (hivescan.frozen): a lookup makes one for most
# records of a hive (the stock-name and expected-path catalogs match every stock service), and
# the frozen __init__'s seven object.__setattr__ calls were half of a lookup's cost
_build_entry = fast_builder(CatalogEntry)


@cache  # one per table: the (source, commit) of its header
def _source(source: str, commit: str) -> str:
    return f"{source} @ {commit[:8]}".strip(" @")


def entry(catalog: str, key: str, table: Table, index: int, facts: Mapping[str, Any] | None = None) -> CatalogEntry:
    header = table.header
    return _build_entry(
        catalog,
        key,
        table.rows[index],
        f"hivescan/catalog/data/{table.name}",
        table.lines[index],
        _source(header.get("source", ""), header.get("commit", "")),
        dict(facts or {}),
    )
