"""Service Type/Start/ErrorControl numbers and their names (scm-spec.md §3.4-§3.6).

Records keep the raw integers; these names are for display and for the ``*_name`` columns.
Unknown values are shown as hex, never mapped to a guess.
"""

from __future__ import annotations

SERVICE_KERNEL_DRIVER = 0x001
SERVICE_FILE_SYSTEM_DRIVER = 0x002
SERVICE_ADAPTER = 0x004
SERVICE_RECOGNIZER_DRIVER = 0x008
SERVICE_WIN32_OWN_PROCESS = 0x010
SERVICE_WIN32_SHARE_PROCESS = 0x020
SERVICE_USER_SERVICE = 0x040
SERVICE_USERSERVICE_INSTANCE = 0x080
SERVICE_INTERACTIVE_PROCESS = 0x100
SERVICE_PKG_SERVICE = 0x200

DRIVER_TYPES = frozenset({0x1, 0x2, 0x8})
WIN32_TYPES = frozenset({0x10, 0x20, 0x110, 0x120})
USER_TEMPLATE_TYPES = frozenset({0x50, 0x60})
USER_INSTANCE_TYPES = frozenset({0xD0, 0xE0})
#: Types the SCM builds a record for (spec §2.3 C), tested after removing SERVICE_PKG_SERVICE.
ACCEPTED_TYPES = DRIVER_TYPES | WIN32_TYPES | USER_TEMPLATE_TYPES | USER_INSTANCE_TYPES

TYPE_NAMES = {
    0x1: "kernel_driver",
    0x2: "file_system_driver",
    0x4: "adapter",
    0x8: "recognizer_driver",
    0x10: "win32_own_process",
    0x20: "win32_share_process",
    0x110: "win32_own_process_interactive",
    0x120: "win32_share_process_interactive",
    0x50: "user_own_process",
    0x60: "user_share_process",
    0xD0: "user_own_process_instance",
    0xE0: "user_share_process_instance",
}
_TYPE_BITS = [
    (0x001, "KERNEL_DRIVER"),
    (0x002, "FILE_SYSTEM_DRIVER"),
    (0x004, "ADAPTER"),
    (0x008, "RECOGNIZER_DRIVER"),
    (0x010, "WIN32_OWN_PROCESS"),
    (0x020, "WIN32_SHARE_PROCESS"),
    (0x040, "USER_SERVICE"),
    (0x080, "USERSERVICE_INSTANCE"),
    (0x100, "INTERACTIVE_PROCESS"),
    (0x200, "PKG_SERVICE"),
]

START_NAMES = {0: "boot", 1: "system", 2: "auto", 3: "demand", 4: "disabled"}
ERROR_CONTROL_NAMES = {0: "ignore", 1: "normal", 2: "severe", 3: "critical"}


def type_name(value: int | None) -> str | None:
    """Exact name when the value is a known combination, else the set bits, else hex."""
    if value is None:
        return None
    if value in TYPE_NAMES:
        return TYPE_NAMES[value]
    base = value & ~SERVICE_PKG_SERVICE
    if value & SERVICE_PKG_SERVICE and base in TYPE_NAMES:
        return TYPE_NAMES[base] + "+packaged"
    bits = [label for bit, label in _TYPE_BITS if value & bit]
    rest = value & ~0x3FF
    if rest:
        bits.append(f"0x{rest:x}")
    return "|".join(bits) if bits else "0x0"


def start_name(value: int | None) -> str | None:
    if value is None:
        return None
    return START_NAMES.get(value, f"unknown_{value}")


def error_control_name(value: int | None) -> str | None:
    if value is None:
        return None
    return ERROR_CONTROL_NAMES.get(value, f"unknown_{value}")


def is_driver(value: int | None) -> bool:
    return value in DRIVER_TYPES


def is_win32(value: int | None) -> bool:
    return value is not None and (value & ~SERVICE_PKG_SERVICE) in WIN32_TYPES


def is_user_service(value: int | None) -> bool:
    return value is not None and (value & ~SERVICE_PKG_SERVICE) in (USER_TEMPLATE_TYPES | USER_INSTANCE_TYPES)
