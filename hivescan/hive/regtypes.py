"""Registry value type numbers and names.

Shared by the readers and by the test-hive writer so both speak the same numbers.
The numbers are the on-disk ``vk`` data types; names follow winnt.h.
"""

from __future__ import annotations

REG_NONE = 0
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_DWORD_BIG_ENDIAN = 5
REG_LINK = 6
REG_MULTI_SZ = 7
REG_RESOURCE_LIST = 8
REG_FULL_RESOURCE_DESCRIPTOR = 9
REG_RESOURCE_REQUIREMENTS_LIST = 10
REG_QWORD = 11

REG_TYPE_NAMES: dict[int, str] = {
    REG_NONE: "REG_NONE",
    REG_SZ: "REG_SZ",
    REG_EXPAND_SZ: "REG_EXPAND_SZ",
    REG_BINARY: "REG_BINARY",
    REG_DWORD: "REG_DWORD",
    REG_DWORD_BIG_ENDIAN: "REG_DWORD_BIG_ENDIAN",
    REG_LINK: "REG_LINK",
    REG_MULTI_SZ: "REG_MULTI_SZ",
    REG_RESOURCE_LIST: "REG_RESOURCE_LIST",
    REG_FULL_RESOURCE_DESCRIPTOR: "REG_FULL_RESOURCE_DESCRIPTOR",
    REG_RESOURCE_REQUIREMENTS_LIST: "REG_RESOURCE_REQUIREMENTS_LIST",
    REG_QWORD: "REG_QWORD",
}
REG_TYPE_NUMBERS: dict[str, int] = {v: k for k, v in REG_TYPE_NAMES.items()}


def reg_type_name(reg_type: int) -> str:
    """Name of a registry type; unknown numbers stay visible as hex, never as a guess."""
    name = REG_TYPE_NAMES.get(reg_type)
    return name if name is not None else f"REG_UNKNOWN_0x{reg_type:x}"
