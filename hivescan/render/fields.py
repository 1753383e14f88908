"""A changed field's value as people read it in ``diff`` and ``history``: the decoded form
next to the raw one.

Why both: the raw value is the evidence (what the key holds, byte-exact for binary data),
the decoded one is what it means (``2 (auto)``, the failure actions by field, each trigger
by type, action and GUID). Showing only hex makes people decode it by hand; showing only the
names hides an undefined number or a stale byte. The decoded forms come from the records
(:data:`hivescan.diff.DECODED`), never decoded again here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hivescan.render.formats import dumps
from hivescan.textsafe import quoted

# fields whose decoded form is a name for the raw number: shown as "raw (name)"
NAMED = frozenset(
    {
        "type",
        "start",
        "error_control",
        "service_sid_type",
        "launch_protected",
        "user_service_flags",
        "delayed_auto_start",
    }
)


def plain(value: Any) -> str:
    """A value nested in a decoded field or a mapping, as every table and line says it: text as
    it is, numbers as digits, ``yes``/``no`` for a flag and ``-`` for no value (as explanations
    and the report word them, never Python's ``True``/``None``), and anything nested as JSON
    (never a Python repr such as ``{'a': 1}`` or a tuple)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    return dumps(value)


def failure_actions_lines(decoded: Mapping[str, Any]) -> list[str]:
    """SERVICE_FAILURE_ACTIONS by field name, every field (placeholders and trailing bytes too)."""
    out: list[str] = []
    for key, value in decoded.items():
        if key == "reset_never":
            continue  # said with reset_period_s
        if key == "reset_period_s":
            out.append(f"reset_period_s: {value}" + (" (never resets)" if decoded.get("reset_never") else ""))
        elif key == "actions":
            shown = [
                f"{a.get('action') or 'undefined'} (type {a.get('type')}) after {a.get('delay_ms')} ms" for a in value
            ]
            out.append("actions: " + ("; ".join(shown) if shown else "none"))
        elif key in ("command", "reboot_message"):
            out.append(f"{key}: {quoted(value) if value is not None else '-'}")
        else:
            out.append(f"{key}: {'-' if value == '' else plain(value)}")
    return out


def trigger_lines(decoded: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per trigger: subkey, type, action, GUID (named when known), every data item."""
    out: list[str] = []
    for t in decoded:
        guid = t.get("guid") or "-"
        if t.get("guid_name"):
            guid += f" ({t['guid_name']})"
        data = "; ".join(
            f"data{d.get('number')} {d.get('data_type_name') or d.get('data_type')}: {plain(d.get('value'))} "
            f"(hex {d.get('hex') or '-'})"
            for d in t.get("data") or ()
        )
        out.append(
            f"TriggerInfo\\{t.get('subkey')}: type {t.get('type')} ({t.get('type_name') or 'undefined'}), "
            f"action {t.get('action')} ({t.get('action_name') or 'undefined'}), guid {guid}"
            + (f", {data}" if data else "")
        )
    return out or ["no triggers"]


def _raw_trigger_lines(raw: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        f"raw TriggerInfo\\{t.get('subkey')}: "
        + ", ".join(f"{k}={plain(v)}" for k, v in (t.get("values") or {}).items())
        for t in raw
    ]


def change_lines(field: str, raw: Any, decoded: Any) -> list[str]:
    """A field's value on one side of a change: the decoded form with the raw value beside it
    (one line for a named number, several for failure actions and triggers); [] when absent."""
    if raw is None:
        return []
    if field in NAMED and decoded is not None:
        return [f"{plain(raw)} ({decoded})"]
    if field in ("failure_actions_hex",) and isinstance(raw, str):
        head = failure_actions_lines(decoded) if isinstance(decoded, Mapping) else ["(not decoded: see diagnostics)"]
        return [*head, f"hex: {raw}"]
    if field == "failure_actions" and isinstance(decoded, Mapping):
        return failure_actions_lines(decoded)
    if field == "triggers" and isinstance(decoded, list):
        return trigger_lines(decoded) + (_raw_trigger_lines(raw) if isinstance(raw, list) else [])
    return [plain(raw)]


__all__ = ["NAMED", "change_lines", "failure_actions_lines", "plain", "trigger_lines"]
