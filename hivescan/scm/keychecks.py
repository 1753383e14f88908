"""The SCM's own checks of a service key and of the names across a Services key.

Which keys become records (spec §2.3 steps A-E), the record-level anomalies an analyst is
told about (§9.3), and the name collisions only the whole set shows (§9.3). The record is
always kept; these only set its status and add diagnostics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import KeyView
from hivescan.hive.tree import upcase
from hivescan.scm.constants import (
    ACCEPTED_TYPES,
    DRIVER_TYPES,
    SERVICE_INTERACTIVE_PROCESS,
    SERVICE_PKG_SERVICE,
    USER_INSTANCE_TYPES,
    USER_TEMPLATE_TYPES,
)
from hivescan.scm.record import ServiceRecord, Source
from hivescan.textsafe import quoted

MAX_API_NAME = 256  # service and display names (CreateService)


def classify(
    name: str, type_: int | None, start: int | None, error_control: int | None, lenient: bool
) -> tuple[str, str | None]:
    """Status and reject reason per spec §2.3 steps A-E (DeleteFlag is applied by the caller)."""
    if name.startswith("{"):
        return "rejected", "brace_name"
    if type_ is None:
        return "rejected", "no_type"
    if (type_ & ~SERVICE_PKG_SERVICE) not in ACCEPTED_TYPES:
        return "rejected", "bad_type"
    if start is None:
        return "rejected", "no_start"
    if error_control is None and not lenient:
        return "rejected", "no_errorcontrol"
    return "database", None


def flag_anomalies(
    name: str,
    type_: int | None,
    base_type: int | None,
    start: int | None,
    error_control: int | None,
    object_name: str | None,
    display_name: str | None,
    sources: Mapping[str, Source],
    key: KeyView,
    diags: list[Diagnostic],
) -> None:
    """Record-level flags of spec §2.3 and §9.3 (the record is always kept)."""
    if start is not None and start > 4:
        diags.append(Diagnostic("start_out_of_range", "Start", f"Start={start} (valid 0-4); the SCM does not check"))
    if start in (0, 1) and base_type is not None and base_type not in DRIVER_TYPES and base_type in ACCEPTED_TYPES:
        diags.append(Diagnostic("start_invalid_for_win32", "Start", f"Start={start} is for drivers only"))
    if error_control is not None and error_control > 3:
        diags.append(
            Diagnostic("error_control_out_of_range", "ErrorControl", f"ErrorControl={error_control} (valid 0-3)")
        )
    if (
        type_ is not None
        and type_ & SERVICE_INTERACTIVE_PROCESS
        and sources.get("object_name") == "registry"
        and (object_name or "").strip().upper() not in ("LOCALSYSTEM", ".\\LOCALSYSTEM")
    ):
        diags.append(
            Diagnostic(
                "interactive_not_localsystem", "ObjectName", f"interactive service runs as {quoted(object_name)}"
            )
        )
    if "/" in name or "\\" in name:
        diags.append(Diagnostic("invalid_service_name", "name", "service names may not contain '/' or '\\'"))
    if len(name) > 255:
        diags.append(
            Diagnostic(
                "ros_enum_would_stop_here",
                "name",
                f"{len(name)}-character key name: RegEnumKeyEx with a 256-character buffer fails here",
                "error",
            )
        )
    if len(name) > MAX_API_NAME:
        diags.append(Diagnostic("exceeds_api_limit", "name", f"{len(name)} characters (API limit {MAX_API_NAME})"))
    if display_name is not None and len(display_name) > MAX_API_NAME:
        diags.append(
            Diagnostic("exceeds_api_limit", "DisplayName", f"{len(display_name)} characters (API limit {MAX_API_NAME})")
        )
    if not name.isascii() and key.name_raw is not None:
        diags.append(Diagnostic("non_ascii_name", "name", f"raw name bytes {key.name_raw.hex()}", "info"))
    if (
        base_type in USER_TEMPLATE_TYPES | USER_INSTANCE_TYPES
        and type_ is not None
        and type_ & SERVICE_INTERACTIVE_PROCESS
    ):
        diags.append(Diagnostic("interactive_user_service", "Type", "per-user type with the interactive bit"))


def flag_display_name_collisions(records: Sequence[ServiceRecord]) -> list[ServiceRecord]:
    """Two records sharing a display name, or a display name equal to another's name (§9.3)."""
    live = [r for r in records if r.status in ("database", "pending_delete")]
    by_display: dict[str, list[ServiceRecord]] = {}
    names = {(r.name.upper() if r.name.isascii() else upcase(r.name)): r for r in live}
    for rec in live:
        if rec.display_name and rec.sources.get("display_name") == "registry":
            by_display.setdefault(upcase(rec.display_name), []).append(rec)
    notes: dict[int, list[Diagnostic]] = {}
    for display, group in by_display.items():
        if len(group) > 1:
            others = ", ".join(r.name for r in group)
            for rec in group:
                notes.setdefault(id(rec), []).append(
                    Diagnostic("display_name_collision", "DisplayName", f"shared by {others}", "info")
                )
        other = names.get(display)
        if other is not None:
            for rec in group:
                if rec is not other:
                    notes.setdefault(id(rec), []).append(
                        Diagnostic(
                            "display_name_collision", "DisplayName", f"equals the name of service {other.name}", "info"
                        )
                    )
    if not notes:
        return list(records)
    return [replace(r, diagnostics=r.diagnostics + tuple(notes[id(r)])) if id(r) in notes else r for r in records]


def flag_duplicate_names(records: Sequence[ServiceRecord]) -> list[ServiceRecord]:
    seen: set[str] = set()
    out = []
    for rec in records:
        name = rec.name
        upper = name.upper() if name.isascii() else upcase(name)
        if upper in seen:
            note = Diagnostic("duplicate_ci_name", "name", "another service key has the same name (ci)", "error")
            rec = replace(rec, diagnostics=(*rec.diagnostics, note))
        seen.add(upper)
        out.append(rec)
    return out
