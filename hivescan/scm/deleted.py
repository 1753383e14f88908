"""Service records rebuilt from deleted (free) and orphaned key cells.

A deleted service key keeps its parent field: a key record in free space whose parent is
the ``Services`` key of a control set (``ControlSetNNN`` directly under the root) was a
service. Its record is built by the same builder as a live key's
(:func:`hivescan.scm.services.build_service_record`), so its values are decoded by the same
rules; ``status`` says ``deleted`` (the cell is free) or ``orphaned`` (the cell is
allocated but no subkey list reaches it), and ``recovered_status`` keeps the status the key
would have had if it were live.

Decisions (documented in README "Deleted services"):

* a live key is never reported as deleted: only free or unreachable cells are read;
* a deleted copy of a key that also exists live in the same control set is reported only
  when some configuration field differs, with a ``deleted_copy_of_live_key`` diagnostic
  naming the fields; identical copies are counted in a hive diagnostic;
* keys whose parent chain does not reach a control set's ``Services`` key are only counted
  (``deleted_keys_unattributed``) unless asked for: they are often setup remnants.

Confidence: each check below passes or fails; ``high`` when all pass, ``medium`` with one
failure, ``low`` with more (or when no value at all could be read).

1. the parent is the live ``Services`` key of a control set (not itself deleted/orphaned);
2. the values are linked from the key record (not attached by proximity);
3. every declared value could be read from cells still in the key's state (free cells for a
   deleted key) and its data looks like its type;
4. the last-write time is plausible (after 1990, not after the hive was last written + 1 day);
5. the key record lies in a mapped bin (not a damaged one).

References: scm-spec.md §2.3 (status); detections.md §1 (transient services of PsExec,
impacket, Metasploit); docs/diagnostics.md "Deleted services".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from hivescan.diagnostics import Diagnostic
from hivescan.hive.recover import FoundKey, KeyScan, RecoveredKey
from hivescan.hive.tree import upcase
from hivescan.scm.compare import FieldChange, changed_fields
from hivescan.scm.controlsets import control_set_name
from hivescan.scm.record import HiveRef, ServiceRecord
from hivescan.scm.services import build_service_record
from hivescan.timeutil import filetime_to_iso

_CONTROL_SET = re.compile(r"^controlset(\d{3})$", re.IGNORECASE)
_EARLIEST = 125_911_584_000_000_000  # 1990-01-01 as FILETIME
_DAY = 864_000_000_000
_SERVICE_VALUES = frozenset({"TYPE", "START", "ERRORCONTROL", "IMAGEPATH"})


@dataclass(frozen=True, slots=True)
class LiveServices:
    """What the live tree holds for one control set: the Services key cell and its subkeys."""

    services_offset: int | None
    offsets: frozenset[int]  # cells of the live service keys
    records: Mapping[str, ServiceRecord]  # upper-cased name -> live record
    offsets_known: bool = True  # False when a parser hid some cell offsets


@dataclass(frozen=True, slots=True)
class Recovery:
    """Recovered service records plus hive-level notes about the scan."""

    records: tuple[ServiceRecord, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    identical_copies: int = 0
    unattributed: int = 0
    counts: Mapping[str, int] = field(default_factory=dict)  # status -> records


@dataclass(frozen=True, slots=True)
class _Candidate:
    found: FoundKey
    control_set: int | None
    path: str
    parent_live: bool
    parent_note: str


def _services_keys(scan: KeyScan) -> dict[int, tuple[int, str]]:
    """Services key cells (live or not) -> (control set number, path) from the parent fields."""
    sets: dict[int, tuple[int, str]] = {}
    for off in scan.children.get(scan.root_offset, ()):
        match = _CONTROL_SET.match(scan.keys[off].nk.name)
        if match:
            sets[off] = (int(match.group(1)), scan.keys[off].nk.name)
    out: dict[int, tuple[int, str]] = {}
    for cs_off, (number, cs_name) in sets.items():
        for off in scan.children.get(cs_off, ()):
            nk = scan.keys[off].nk
            if upcase(nk.name) == "SERVICES":
                out[off] = (number, f"{cs_name}\\{nk.name}")
    return out


def _candidates(scan: KeyScan, live: Mapping[int, LiveServices]) -> list[_Candidate]:
    live_services = {ls.services_offset: n for n, ls in live.items() if ls.services_offset is not None}
    out: list[_Candidate] = []
    for svc_off, (number, svc_path) in sorted(_services_keys(scan).items()):
        parent_live = live_services.get(svc_off) == number
        parent = scan.keys[svc_off]
        if parent_live:
            note = f"parent is the live Services key of {control_set_name(number)}"
        else:
            state = "deleted" if parent.free else "orphaned"
            note = f"parent Services key of {control_set_name(number)} is itself {state} (cell 0x{svc_off:x})"
        known = live.get(number)
        for off in scan.children.get(svc_off, ()):
            found = scan.keys[off]
            if not found.free and known is not None and off in known.offsets:
                continue  # a live key: never reported
            hidden = known is not None and not known.offsets_known and upcase(found.nk.name) in known.records
            if not found.free and hidden:
                continue  # a parser hid the live offsets: cannot tell it from its live twin
            out.append(_Candidate(found, number, f"{svc_path}\\{found.nk.name}", parent_live, note))
    return out


def _confidence(
    key: RecoveredKey, cand: _Candidate, hive_last_written: int
) -> tuple[str, tuple[str, ...], list[Diagnostic]]:
    reasons: list[str] = []
    failures = 0
    diags: list[Diagnostic] = []
    if cand.parent_live:
        reasons.append("ok: " + cand.parent_note)
    else:
        failures += 1
        reasons.append("weak: " + cand.parent_note)
    rec = key.recovery
    assert rec is not None  # values() ran in the builder
    read = len(rec.values)
    if rec.attached == "nearby_list":
        failures += 1
        reasons.append("weak: values attached by proximity; the key record no longer links them")
    elif rec.attached == "linked":
        reasons.append(f"ok: value list linked from the key record ({rec.declared} declared)")
    else:
        reasons.append("weak: no values linked from the key record and none found near it")
    if rec.unreadable or rec.implausible:
        failures += 1
        reasons.append(
            f"weak: {rec.unreadable} value(s) unreadable, {rec.implausible} implausible of {read + rec.unreadable}"
        )
    elif read:
        state = "unallocated" if key.state == "deleted" else "allocated"
        reasons.append(f"ok: all {read} value(s) read from cells still {state}, data plausible")
    last = key.last_write
    upper = hive_last_written + _DAY if hive_last_written > _EARLIEST else None
    when = filetime_to_iso(last) or f"FILETIME {last}"
    if last < _EARLIEST or (upper is not None and last > upper):
        failures += 1
        reasons.append(f"weak: last write {when} is implausible for this hive")
        diags.append(Diagnostic("recovered_time_implausible", "last_write", f"last write {when}"))
    else:
        reasons.append(f"ok: last write {when} is plausible")
    bad_parent = key.scan.parent_problem(key.nk)
    if bad_parent is not None:
        failures += 1
        reasons.append(f"weak: {bad_parent}; the key cannot be placed in the tree")
        diags.append(Diagnostic("recovered_parent_invalid", "", bad_parent))
    if key.found.where == "damaged":
        failures += 1
        reasons.append("weak: the key record lies in a damaged bin; its cell state is unverified")
    if read == 0:
        failures = max(failures, 2)
    level = "high" if failures == 0 else "medium" if failures == 1 else "low"
    return level, tuple(reasons), diags


def _record(
    key: RecoveredKey,
    cand: _Candidate,
    *,
    hive: HiveRef,
    hive_last_written: int,
    lenient: bool,
) -> ServiceRecord:
    rec = build_service_record(
        key, hive=hive, control_set=cand.control_set, control_set_source="recovered", lenient=lenient
    )
    level, reasons, more = _confidence(key, cand, hive_last_written)
    if key.state == "deleted":
        note = Diagnostic(
            "recovered_deleted_key", "", f"rebuilt from free cell 0x{key.cell_offset:x}; confidence {level}"
        )
    else:
        note = Diagnostic(
            "recovered_orphaned_key",
            "",
            f"rebuilt from allocated cell 0x{key.cell_offset:x} that no subkey list reaches; confidence {level}",
        )
    return replace(
        rec,
        status=key.state,
        recovered_status=rec.status,
        recovery_confidence=level,
        recovery_reasons=reasons,
        recovery_cell_offset=key.cell_offset,
        diagnostics=(note, *rec.diagnostics, *more),
    )


def _clip(value: object, width: int = 100) -> str:
    text = "(absent)" if value is None else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _describe(changes: Sequence[FieldChange]) -> str:
    parts = []
    for change in list(changes)[:6]:
        parts.append(f"{change.field}: live {_clip(change.after)} / deleted {_clip(change.before)}")
    more = f"; ... {len(changes) - 6} more" if len(changes) > 6 else ""
    return "; ".join(parts) + more


def recover_services(
    scan: KeyScan,
    *,
    hive: HiveRef,
    live: Mapping[int, LiveServices],
    unattributed: bool = False,
    lenient: bool = False,
) -> Recovery:
    """Records for every deleted or orphaned service key found in ``scan``."""
    hive_last = scan.base.last_written
    records: list[ServiceRecord] = []
    identical = 0
    seen: set[tuple[int | None, str, int, bytes]] = set()
    candidates = _candidates(scan, live)
    for cand in candidates:
        key = RecoveredKey(scan, cand.found, cand.path)
        rec = _record(key, cand, hive=hive, hive_last_written=hive_last, lenient=lenient)
        fingerprint = (
            cand.control_set,
            upcase(rec.name),
            rec.origin.last_write_filetime,
            b"".join(v.name.encode("utf-16-le", "surrogatepass") + v.data for v in rec.raw_values),
        )
        if fingerprint in seen:
            identical += 1  # the same key state twice in free space (a copy of a copy)
            continue
        seen.add(fingerprint)
        twin = live.get(cand.control_set or -1)
        twin_rec = twin.records.get(upcase(rec.name)) if twin is not None else None
        if twin_rec is not None:
            changes = changed_fields(rec, twin_rec, ignore=("status",))
            if not changes:
                identical += 1
                continue
            rec = replace(
                rec,
                differs_from_live=tuple(c.field for c in changes),
                diagnostics=(
                    *rec.diagnostics,
                    Diagnostic(
                        "deleted_copy_of_live_key",
                        "",
                        f"a live key {twin_rec.key_path} exists; {len(changes)} field(s) differ: {_describe(changes)}",
                    ),
                ),
            )
        records.append(rec)
    diags: list[Diagnostic] = []
    if identical:
        diags.append(
            Diagnostic(
                "deleted_copy_suppressed",
                "",
                f"{identical} deleted or orphaned cop(ies) of keys identical to a live key or to another copy "
                "were not reported",
                "info",
            )
        )
    stray = _unattributed(scan, {c.found.nk.offset for c in candidates})
    if stray:
        diags.append(
            Diagnostic(
                "deleted_keys_unattributed",
                "",
                f"{len(stray)} deleted service-like key(s) whose parent chain does not reach a control set's Services "
                "key (e.g. " + ", ".join(sorted({k.found.nk.name for k in stray})[:8]) + ")",
                "info",
            )
        )
        if unattributed:
            for key in stray:
                cand = _Candidate(key.found, None, key.path, False, "parent chain does not reach a Services key")
                records.append(
                    _record(
                        RecoveredKey(scan, key.found, key.path),
                        cand,
                        hive=hive,
                        hive_last_written=hive_last,
                        lenient=lenient,
                    )
                )
    if scan.map.problems:
        shown = "; ".join(scan.map.problems[:3])
        diags.append(
            Diagnostic(
                "free_space_scan_incomplete",
                "",
                f"{len(scan.map.problems)} hive bin(s) or cell chain(s) could not be walked ({shown}); "
                "key records there were found by signature only",
            )
        )
    counts: dict[str, int] = {}
    for rec in records:
        counts[rec.status] = counts.get(rec.status, 0) + 1
    return Recovery(tuple(records), tuple(diags), identical, len(stray), counts)


def _unattributed(scan: KeyScan, attributed: set[int]) -> list[RecoveredKey]:
    """Free key records that look like service keys but whose parent chain is lost or elsewhere.

    Only keys whose values include Type and one of Start, ErrorControl or ImagePath count,
    and never the subkeys of such a key (Parameters, Security, ...).
    """
    services_paths = set(_services_keys(scan))
    out: list[RecoveredKey] = []
    for off, found in scan.keys.items():
        if not found.free or off in attributed or found.nk.parent in services_paths:
            continue
        if found.nk.value_count == 0:
            continue
        key = RecoveredKey(scan, found, scan.lost_path(off))
        value_names = {upcase(v.name) for v in key.values()}
        if "TYPE" in value_names and value_names & (_SERVICE_VALUES - {"TYPE"}):
            out.append(key)
    return out


__all__ = ["LiveServices", "Recovery", "recover_services"]
