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

The lookups live by what they hold: :mod:`hivescan.catalog.normalise` (the names and paths a
record is looked up by), :mod:`hivescan.catalog.known_bad` and :mod:`hivescan.catalog.known_good`;
this module is the registry the detection engine reads (``CATALOGS``, ``LOOKUP_READS``,
``CATALOG_ATTRIBUTES``) and re-exports the lookups under their old names.

References: detections.md §1.6 #51-53, §1.10, §4; scm-spec.md §5.2 (driver default path),
§8 (per-user instance names); style.md R7.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hivescan.catalog.known_bad import (
    _loldriver_authentihashes,
    _loldriver_hashes,
    _loldrivers,
    _rmm,
    _suspicious,
    lookup_loldriver_file,
    lookup_loldriver_hash,
    lookup_loldrivers,
    lookup_lolrmm,
    lookup_suspicious_service,
)
from hivescan.catalog.known_good import (
    _expected,
    _windows_services,
    applies,
    lookup_expected_image_path,
    lookup_expected_service_dll,
    lookup_windows_service,
    readable_pattern,
    version_scoped,
)
from hivescan.catalog.normalise import (
    DRIVER_FILE_READS,
    DRIVER_TYPES,
    base_service_name,
    driver_file_name,
    is_driver,
    normalise_for_expectation,
)
from hivescan.catalog.tables import CatalogEntry

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

# What a lookup costs on a record, roughly (microseconds of CPU, measured on a worker's first
# v3.1 host, where no glob answer is remembered yet): the rule-set generator tests the cheaper
# conditions of an ``all`` first (hivescan/detect/codegen.py), e.g. "not a stock service" (a
# dictionary look-up) before LOLRMM's globs, which most stock services never need then.
LOOKUP_COST: Mapping[str, int] = {
    "loldrivers": 1,
    "loldrivers-file": 1,
    "lolrmm": 12,
    "suspicious-services": 3,
    "windows-services": 2,
    "windows-image-path": 6,
    "windows-service-dll": 2,
}

# Fields of context objects that no lookup reads (``LOOKUP_READS`` names the whole object):
# ``WindowsVersion.basis`` is the human account of how the version was found ("... 664
# services ..."), different on almost every host; the lookups read the version's numbers,
# product and label only. The verdict cache leaves these out of a fingerprint unless a rule
# names them itself (``tests/detect/test_verdict_version_basis.py`` checks the lookups).
CONTEXT_FIELDS_UNREAD: Mapping[str, tuple[str, ...]] = {"windows": ("basis",)}

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


__all__ = [
    "CATALOGS",
    "CATALOG_ATTRIBUTES",
    "DRIVER_FILE_READS",
    "DRIVER_TYPES",
    "LOOKUP_COST",
    "LOOKUP_READS",
    "applies",
    "base_service_name",
    "driver_file_name",
    "is_driver",
    "load_all",
    "lookup_expected_image_path",
    "lookup_expected_service_dll",
    "lookup_loldriver_file",
    "lookup_loldriver_hash",
    "lookup_loldrivers",
    "lookup_lolrmm",
    "lookup_suspicious_service",
    "lookup_windows_service",
    "normalise_for_expectation",
    "readable_pattern",
    "version_scoped",
]
