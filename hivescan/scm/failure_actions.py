"""The ``FailureActions`` value (recovery actions) decoded the way Windows stores it.

Windows keeps the 32-bit wire form of SERVICE_FAILURE_ACTIONS: a 20-byte header (reset
period, two placeholder "pointers", the action count, a placeholder for the array) and then
8 bytes per SC_ACTION (type, delay in ms). The reboot message and the command live in their
own values (``RebootMessage``, ``FailureCommand``); the header fields in their place are
placeholders, never offsets. Public scripts get this wrong in two ways -- 12-byte actions,
or an array starting at 0x10 -- and both are rejected here by construction.

What is kept besides the actions: the INFINITE reset period, the three placeholders, a
declared count larger than the data (clamped, as ROS does), trailing bytes, unknown action
types (raw), and the 40-byte native x64 header a non-Windows writer may leave.

References: scm-spec.md §4.1, §3.2, §9.4; detections.md §1.5.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any, NamedTuple

from hivescan.diagnostics import Diagnostic

HEADER = 20  # SERVICE_FAILURE_ACTIONS_WOW64
HEADER_X64 = 40  # native x64 layout (heuristic; never written by Windows)
ACTION_SIZE = 8
INFINITE = 0xFFFFFFFF
ACTION_NAMES = {0: "none", 1: "restart", 2: "reboot", 3: "run_command", 4: "own_restart"}
RUN_COMMAND = 3
FIELD = "FailureActions"


class FailureAction(NamedTuple):
    type: int  # SC_ACTION_TYPE, raw
    delay_ms: int

    @property
    def action(self) -> str | None:
        """none, restart, reboot, run_command, own_restart; None for a type Windows does not define."""
        return ACTION_NAMES.get(self.type)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "type": self.type, "delay_ms": self.delay_ms}


class FailureActions(NamedTuple):
    """SERVICE_FAILURE_ACTIONS as the registry holds it, plus the values stored beside it.

    NamedTuples (like RawValue) rather than dataclasses: built per record, so cheap to make."""

    reset_period_s: int  # raw; 0xFFFFFFFF = INFINITE (the failure count never resets)
    actions: tuple[FailureAction, ...]
    declared_count: int  # cActions as stored (may exceed the actions present)
    reboot_msg_placeholder: int  # lpRebootMsg slot: 1 when RebootMessage exists, else 0 (never an offset)
    command_placeholder: int  # lpCommand slot: same rule for FailureCommand
    actions_placeholder: int  # lpsaActions slot: usually 0x14 (or 0), stale values common
    layout: str = "wow64"  # wow64 (what Windows writes) | x64 (40-byte native header, heuristic)
    trailing_hex: str = ""  # bytes after the last whole action
    command: str | None = None  # FailureCommand (run by run_command actions)
    reboot_message: str | None = None  # RebootMessage
    on_non_crash_failures: int | None = None  # FailureActionsOnNonCrashFailures (nonzero = TRUE)

    @property
    def reset_never(self) -> bool:
        return self.reset_period_s == INFINITE

    @property
    def runs_command(self) -> bool:
        return any(a.type == RUN_COMMAND for a in self.actions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reset_period_s": self.reset_period_s,
            "reset_never": self.reset_never,
            "actions": [a.to_dict() for a in self.actions],
            "declared_count": self.declared_count,
            "reboot_msg_placeholder": self.reboot_msg_placeholder,
            "command_placeholder": self.command_placeholder,
            "actions_placeholder": self.actions_placeholder,
            "layout": self.layout,
            "trailing_hex": self.trailing_hex,
            "command": self.command,
            "reboot_message": self.reboot_message,
            "on_non_crash_failures": self.on_non_crash_failures,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FailureActions:
        return cls(
            reset_period_s=int(data["reset_period_s"]),
            actions=tuple(FailureAction(int(a["type"]), int(a["delay_ms"])) for a in data.get("actions") or ()),
            declared_count=int(data.get("declared_count", len(data.get("actions") or ()))),
            reboot_msg_placeholder=int(data.get("reboot_msg_placeholder", 0)),
            command_placeholder=int(data.get("command_placeholder", 0)),
            actions_placeholder=int(data.get("actions_placeholder", 0)),
            layout=str(data.get("layout", "wow64")),
            trailing_hex=str(data.get("trailing_hex", "")),
            command=data.get("command"),
            reboot_message=data.get("reboot_message"),
            on_non_crash_failures=data.get("on_non_crash_failures"),
        )


def _header(data: bytes) -> tuple[str, int, int, int, int, int, int]:
    """(layout, reset, msg, cmd, count, actions placeholder, array offset)."""
    reset, msg, cmd, count, arr = struct.unpack_from("<5I", data, 0)
    if (
        len(data) >= HEADER_X64
        and len(data) != HEADER + ACTION_SIZE * count
        and (len(data) - HEADER_X64) % ACTION_SIZE == 0
    ):
        x_reset, x_msg, x_cmd, x_count, x_arr = struct.unpack_from("<I4xQQI4xQ", data, 0)
        if len(data) == HEADER_X64 + ACTION_SIZE * x_count:
            return "x64", x_reset, x_msg, x_cmd, x_count, x_arr, HEADER_X64
    return "wow64", reset, msg, cmd, count, arr, HEADER


@lru_cache(maxsize=2048)
def _decode(data: bytes) -> tuple[FailureActions | None, tuple[Diagnostic, ...]]:
    if len(data) < HEADER:
        return None, (
            Diagnostic(
                "failure_actions_truncated",
                FIELD,
                f"{len(data)} bytes, shorter than the 20-byte header; nothing decoded (raw hex kept)",
                "error",
            ),
        )
    diags: list[Diagnostic] = []
    layout, reset, msg, cmd, count, arr, start = _header(data)
    if layout == "x64":
        diags.append(
            Diagnostic(
                "failure_actions_x64_layout",
                FIELD,
                f"{len(data)} bytes fit the 40-byte native x64 header, not Windows' 20-byte form; "
                "decoded as x64 (written by a non-Windows tool, heuristic)",
            )
        )
    available = (len(data) - start) // ACTION_SIZE
    if count > available:
        diags.append(
            Diagnostic(
                "failure_actions_clamped",
                FIELD,
                f"declares {count} actions but holds {available}; {available} decoded (the SCM clamps the same way)",
            )
        )
    used = min(count, available)
    actions = tuple(FailureAction(*struct.unpack_from("<II", data, start + ACTION_SIZE * i)) for i in range(used))
    end = start + ACTION_SIZE * used
    trailing = data[end:]
    if trailing:
        diags.append(
            Diagnostic(
                "failure_actions_trailing",
                FIELD,
                f"{len(trailing)} byte(s) after the {used} action(s): {trailing[:32].hex()}",
            )
        )
    if layout == "wow64" and arr not in (0, HEADER):
        diags.append(
            Diagnostic(
                "failure_actions_odd_offset",
                FIELD,
                f"actions placeholder at 0x10 holds 0x{arr:x} (usually 0x14 or 0; stale values are common); "
                "actions read at 0x14",
                "info",
            )
        )
    for index, act in enumerate(actions):
        if act.action is None:
            diags.append(
                Diagnostic(
                    "failure_action_unknown_type",
                    FIELD,
                    f"action {index} has type {act.type}, not a defined SC_ACTION_TYPE; kept raw",
                )
            )
    value = FailureActions(reset, actions, count, msg, cmd, arr, layout, trailing.hex())
    return value, tuple(diags)


def decode_failure_actions(
    data: bytes,
    *,
    command: str | None = None,
    reboot_message: str | None = None,
    on_non_crash_failures: int | None = None,
) -> tuple[FailureActions | None, list[Diagnostic]]:
    """Decode a FailureActions blob; the values stored beside it are joined in and checked.

    Memoized by the bytes: stock services share a handful of blobs.
    """
    value, cached = _decode(bytes(data))
    diags = list(cached)
    if value is None:
        return None, diags
    value = FailureActions(*value[:8], command, reboot_message, on_non_crash_failures)  # the blob's part is shared
    runs_command = value.runs_command
    if runs_command and not command:
        diags.append(
            Diagnostic(
                "run_command_without_command",
                FIELD,
                "a run_command action but no (or an empty) FailureCommand: the action has nothing to run",
                "info",
            )
        )
    if command and not runs_command:
        diags.append(
            Diagnostic(
                "failure_command_dormant",
                "FailureCommand",
                "FailureCommand is set but no action runs it (dormant until an action is added)",
                "info",
            )
        )
    for slot, name, present in (
        (value.command_placeholder, "FailureCommand", command is not None),
        (value.reboot_msg_placeholder, "RebootMessage", reboot_message is not None),
    ):
        if slot != present:  # 0 absent, 1 present; anything else is a mismatch too
            diags.append(
                Diagnostic(
                    "failure_actions_placeholder_mismatch",
                    FIELD,
                    f"the {name} placeholder is {slot} but {name} is {'present' if present else 'absent'} "
                    "(the SCM writes 1 exactly when the value exists; an edit outside the SCM?)",
                    "info",
                )
            )
    return value, diags


__all__ = ["ACTION_NAMES", "INFINITE", "FailureAction", "FailureActions", "decode_failure_actions"]
