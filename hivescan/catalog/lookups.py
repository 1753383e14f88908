"""Catalog lookups over a service record: each returns the matching row or None.

Lookups take any object with the record's attributes (a :class:`ServiceRecord`, or the
detection engine's view of one) and return a :class:`CatalogEntry` citing the row, so an
explanation can say *which* LOLDrivers entry or Trawler line it rests on.

Lookups get the record and, from the detection engine, the subject's context: a catalog that
describes one Windows (its ``windows nt`` header, e.g. Trawler's Windows 10/11 expectations)
is applied only when ``context["windows"]`` is known and is that Windows; otherwise the row is
returned with ``applies`` false and ``agrees`` None, so no rule compares an XP service with a
Windows 10 expectation. The stock-name catalog (``windows-services``) is applied to every
version: a stock name stays a stock name, and rules use it to *exclude* (a name missing from
an older Windows's list would only add findings, never hide one).

Known-bad: ``loldrivers`` (driver file names), ``lolrmm`` (remote admin tools: a policy
matter, not proof), ``suspicious-services`` (mthcht's names). Known-good: ``windows-services``
(stock Windows service names), ``windows-image-path`` / ``windows-service-dll`` (what a stock
service's ImagePath / ServiceDll should look like, with ``agrees`` computed for the record).

References: detections.md §1.6 #51-53, §1.10, §4; scm-spec.md §5.2 (driver default path),
§8 (per-user instance names); style.md R7.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from hivescan.catalog.globs import GlobIndex
from hivescan.catalog.tables import CatalogEntry, Table, entry, load_table
from hivescan.scm.winversion import within

DRIVER_TYPES = frozenset({0x1, 0x2, 0x8})
_INSTANCE_SUFFIX = re.compile(r"_[0-9a-fA-F]+\Z")


def _type(record: Any) -> int | None:
    value = getattr(record, "type", None)
    return value if isinstance(value, int) else None


def is_driver(record: Any) -> bool:
    type_ = _type(record)
    return type_ is not None and (type_ & 0xFF) in DRIVER_TYPES


def base_service_name(record: Any) -> str:
    """The name to look up: a per-user instance (Type & 0x80) maps to its template's name."""
    name = str(getattr(record, "name", ""))
    type_ = _type(record)
    if type_ is not None and type_ & 0x80:
        return _INSTANCE_SUFFIX.sub("", name)
    return name


def _strip_quotes(text: str) -> str:
    text = text.strip()
    if text.startswith('"'):
        end = text.find('"', 1)
        return text[1:end] if end > 0 else text[1:]
    return text


# what driver_file_name reads of a record (getattr): its answer is a function of these alone
DRIVER_FILE_READS = ("type", "name", "image_path_resolved", "image_path")


def driver_file_name(record: Any) -> str | None:
    """The file a driver record loads (lower case): the last component of its image path, or
    ``<name>.sys`` when ImagePath is absent or empty (the kernel's default, scm-spec §5.2).
    Uses ``image_path_resolved`` when the record has it. None for non-drivers."""
    if not is_driver(record):
        return None
    path = getattr(record, "image_path_resolved", None) or getattr(record, "image_path", None)
    if not path or not str(path).strip():
        return f"{getattr(record, 'name', '')}.sys".lower()
    last = re.split(r"[\\/]", _strip_quotes(str(path)))[-1]
    return last.strip().lower() or None


_EXPANSIONS = (
    (re.compile(r"(?i)%systemroot%|%windir%"), r"C:\\Windows"),
    (re.compile(r"(?i)%programfiles%"), r"C:\\Program Files"),
    (re.compile(r"(?i)%programfiles\(x86\)%"), r"C:\\Program Files (x86)"),
    (re.compile(r"(?i)%programdata%"), r"C:\\ProgramData"),
    (re.compile(r"(?i)%systemdrive%"), "C:"),
)


_SYSTEMROOT_PREFIX = re.compile(r"(?i)\\systemroot\\")
_DRIVE = re.compile(r"[A-Za-z]:")


def normalise_for_expectation(path: str, *, driver: bool) -> str:
    """The path as Trawler's patterns expect it: environment expanded, NT prefixes mapped.

    Only what comparing with the catalog needs (Trawler read expanded values through
    PowerShell): ``%SystemRoot%``/``%windir%`` and the program-files variables, a leading
    ``\\SystemRoot\\`` or ``\\??\\``, and system-root-relative driver paths. The system root is
    taken as ``C:\\Windows``; the patterns accept any drive letter.
    """
    text = path.strip()
    if "%" in text:  # every expansion names a %variable%
        for pattern, replacement in _EXPANSIONS:
            text = pattern.sub(replacement, text)
    if _SYSTEMROOT_PREFIX.match(text):
        text = "C:\\Windows\\" + text[len("\\SystemRoot\\") :]
    elif text.startswith("\\??\\"):
        text = text[4:]
    elif driver and not text.startswith("\\") and not _DRIVE.match(text):
        text = "C:\\Windows\\" + text
    return text


# -- known-bad


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
    sha256 = facts.get("sha256")
    if isinstance(sha256, str):
        table, index = _loldriver_hashes()
        i = index.get(sha256.lower())
        if i is not None:
            return entry("loldrivers-file", sha256.lower(), table, i, {"matched_on": "sha256"})
    authentihash = facts.get("authentihash")
    if isinstance(authentihash, str):
        table, index = _loldriver_authentihashes()
        i = index.get(authentihash.lower())
        if i is not None:
            return entry("loldrivers-file", authentihash.lower(), table, i, {"matched_on": "authentihash"})
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
    module = normalise_for_expectation(_strip_quotes(image), driver=is_driver(record))
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


# -- known-good


@cache
def _windows_services() -> dict[str, tuple[Table, int]]:
    out: dict[str, tuple[Table, int]] = {}
    ws = load_table("ws2016_services.csv")
    for i, row in enumerate(ws.rows):
        out.setdefault(row["service_name"].lower(), (ws, i))
    expected = load_table("windows_expected.csv")
    for i, row in enumerate(expected.rows):
        if re.search(r"(?i)windows|system32", row["expected_regex"]):
            out.setdefault(_INSTANCE_SUFFIX.sub("", row["service_name"]).lower(), (expected, i))
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
def _expected() -> tuple[Table, dict[tuple[str, str], list[tuple[int, re.Pattern[str] | None]]]]:
    table = load_table("windows_expected.csv")
    index: dict[tuple[str, str], list[tuple[int, re.Pattern[str] | None]]] = {}
    for i, row in enumerate(table.rows):
        key = (_INSTANCE_SUFFIX.sub("", row["service_name"]).lower(), row["value_name"].lower())
        try:
            pattern: re.Pattern[str] | None = re.compile(row["expected_regex"], re.IGNORECASE)
        except re.error:
            pattern = None  # kept: the entry still says the service is known; agrees stays None
        index.setdefault(key, []).append((i, pattern))
    return table, index


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
    return within(windows, {v.strip() for v in wanted.split(",")})


def version_scoped() -> tuple[tuple[tuple[str, ...], Table], ...]:
    """The catalogs that describe one Windows, with the table saying which (``windows nt``)."""
    return ((("windows-image-path", "windows-service-dll"), _expected()[0]),)


def _lookup_expected(
    record: Any, value_name: str, field_name: str, catalog: str, context: Mapping[str, Any] | None
) -> CatalogEntry | None:
    table, index = _expected()
    name = base_service_name(record)
    rows = index.get((name.lower(), value_name.lower()))
    if not rows:
        return None
    observed = getattr(record, field_name, None)
    expanded = getattr(record, f"{field_name}_expanded", None)
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
            if pattern is not None and pattern.search(normalised):
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
    return _lookup_expected(record, "ImagePath", "image_path", "windows-image-path", context)


def lookup_expected_service_dll(record: Any, context: Mapping[str, Any] | None = None) -> CatalogEntry | None:
    """Trawler's expected ServiceDll for this stock service, with ``agrees`` for the record."""
    return _lookup_expected(record, "ServiceDll", "service_dll", "windows-service-dll", context)


CATALOGS: Mapping[str, Callable[[Any, Mapping[str, Any] | None], CatalogEntry | None]] = {
    "loldrivers": lookup_loldrivers,
    "loldrivers-file": lookup_loldriver_file,
    "lolrmm": lookup_lolrmm,
    "suspicious-services": lookup_suspicious_service,
    "windows-services": lookup_windows_service,
    "windows-image-path": lookup_expected_image_path,
    "windows-service-dll": lookup_expected_service_dll,
}


def load_all() -> None:
    """Load every catalog table and build every index now (each is built once per process):
    a worker pool's parent does this before forking its workers, so none pays for it."""
    _loldrivers()
    _loldriver_hashes()
    _loldriver_authentihashes()
    _rmm()
    _suspicious()
    _windows_services()
    _expected()


# What each lookup reads, as (where, attribute): ``record`` attributes (read with ``getattr``)
# and ``context`` keys. A lookup's answer is a function of these alone, so the detection
# engine's verdict cache (hivescan/detect/verdicts.py) keys on them; a lookup added to
# CATALOGS must say here what it reads (a test checks every catalog is declared).
LOOKUP_READS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "loldrivers": tuple(("record", name) for name in DRIVER_FILE_READS),
    "loldrivers-file": (("record", "image_file"),),
    "lolrmm": (("record", "name"), ("record", "image_path"), ("record", "type")),
    "suspicious-services": (("record", "name"),),
    "windows-services": (("record", "name"), ("record", "type")),
    "windows-image-path": (
        ("record", "name"),
        ("record", "type"),
        ("record", "image_path"),
        ("record", "image_path_expanded"),
        ("context", "windows"),
    ),
    "windows-service-dll": (
        ("record", "name"),
        ("record", "type"),
        ("record", "service_dll"),
        ("record", "service_dll_expanded"),
        ("context", "windows"),
    ),
}

_EXPECTED_FACTS = frozenset(
    {
        "service_name",
        "value_name",
        "expected_regex",
        "observed",
        "compared",
        "agrees",
        "matches",
        "expected",
        "applies",
        "applies_to",
        "windows",
    }
)

# the columns and computed facts a rule's ``where:`` may test, per catalog (checked by the lint)
CATALOG_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "loldrivers": frozenset({"file_name", "category", "entries", "entry_ids", "mitre", "verified"}),
    "loldrivers-file": frozenset({"sha256", "authentihash", "category", "entry_id", "matched_on"}),
    "lolrmm": frozenset({"tool", "kind", "pattern", "origin", "matched_on"}),
    "suspicious-services": frozenset({"name_glob", "path_glob", "tool", "category", "tool_type", "upstream_severity"}),
    "windows-services": frozenset({"service_name", "display_name", "installation", "startup_type"}),
    "windows-image-path": _EXPECTED_FACTS,
    "windows-service-dll": _EXPECTED_FACTS,
}
