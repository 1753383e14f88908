"""Deleted and orphaned service keys of a SYSTEM hive (hivescan/scm/deleted.py), on demand.

They cost a scan of every cell, so they are rebuilt only when asked for and then kept
per hive; their records get the same set-wide fields as live ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hivescan.errors import ControlSetError
from hivescan.hive.tree import upcase
from hivescan.scm.database import annotate_database, read_control_data
from hivescan.scm.record import ServiceRecord

if TYPE_CHECKING:
    from hivescan.hive.recover import KeyScan
    from hivescan.scm.deleted import Recovery
    from hivescan.system.hive import SystemHive


def key_scan(hive: SystemHive) -> KeyScan:
    """Every key record in the bins, live or not (built on first use, then kept)."""
    if hive._key_scan is None:
        from hivescan.hive.recover import KeyScan

        hive._key_scan = KeyScan(hive.source.data, hive.reader.base, hive.reader.cells)
    return hive._key_scan


def recovery(hive: SystemHive, *, unattributed: bool = False, lenient: bool = False) -> Recovery:
    """Service keys rebuilt from free cells (deleted) and unreachable cells (orphaned),
    every control set, plus hive-level notes. Runs only when asked: it scans the whole hive."""
    cache_key = (unattributed, lenient)
    if cache_key not in hive._recoveries:
        from hivescan.scm.deleted import LiveServices, recover_services

        live: dict[int, LiveServices] = {}
        for number in hive.existing.numbers:
            cs_key = hive.control_set_key(number)
            services = cs_key.subkey("Services") if cs_key is not None else None
            if services is None:
                live[number] = LiveServices(None, frozenset(), {})
                continue
            subkeys = services.subkeys()
            records = hive._live_services(number, lenient=lenient)
            live[number] = LiveServices(
                services.cell_offset,
                frozenset(k.cell_offset for k in subkeys if k.cell_offset is not None),
                {upcase(r.name): r for r in records},
                all(k.cell_offset is not None for k in subkeys),
            )
        recovery = recover_services(
            hive.key_scan(), hive=hive.hive_ref, live=live, unattributed=unattributed, lenient=lenient
        )
        _annotate_recovered(hive, recovery.records)
        hive._recoveries[cache_key] = recovery
    return hive._recoveries[cache_key]


def _annotate_recovered(hive: SystemHive, records: Sequence[ServiceRecord]) -> None:
    """Give recovered records the set-wide fields live ones get (resolved image paths,
    svchost group...), against their own control set; they never enter a boot plan."""
    by_set: dict[int, list[ServiceRecord]] = {}
    for record in records:
        if record.control_set is not None:
            by_set.setdefault(record.control_set, []).append(record)
    for number, recs in by_set.items():
        key = hive.control_set_key(number)
        control = read_control_data(key.subkey("Control") if key is not None else None)
        annotate_database(recs, control, hive.software, in_place=True)  # fresh, unpublished records


def deleted_services(
    hive: SystemHive, control_set: str | int = "all", *, unattributed: bool = False, lenient: bool = False
) -> list[ServiceRecord]:
    """Deleted and orphaned service records of the chosen control set(s) (default: all).

    ``unattributed``: also service-like deleted keys whose parent chain is lost
    (control_set None; they are only counted otherwise).
    """
    return hive.attach_files(deleted_records(hive, control_set, unattributed=unattributed, lenient=lenient))


def deleted_records(
    hive: SystemHive, control_set: str | int, *, unattributed: bool, lenient: bool
) -> list[ServiceRecord]:
    try:
        resolution = hive.resolve(control_set)
    except ValueError as exc:
        raise ControlSetError(str(exc)) from exc
    chosen = {c.number for c in resolution.chosen}
    recovery = hive.recovery(unattributed=unattributed, lenient=lenient)
    for diag in recovery.diagnostics:
        hive._note_once(diag.code, diag.message, diag.level)
    return [r for r in recovery.records if r.control_set in chosen or r.control_set is None]
