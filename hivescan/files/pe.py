"""PE facts from a file's first bytes: layout for the Authenticode hash, headers, version info.

:func:`read_layout` is a bounds-checked reader of the few header fields the Authenticode hash
needs (where the checksum, the certificate-table entry and the table are); it never trusts an
offset. :func:`describe_pe` asks ``pefile`` for the machine, timestamp, subsystem, DLL/driver
flags and the version resource, over at most :data:`MAX_PE_BYTES` (a hostile or huge file is
never handed to pefile whole). Both are pure and return ``(value, diagnostics)``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from hivescan.diagnostics import Diagnostic, info, warning

MAX_PE_BYTES = 32 << 20  # pefile's input: headers and resources of any real driver/service fit
MAX_CERT_TABLE = 16 << 20  # a certificate table larger than this is not read
IMAGE_FILE_DLL = 0x2000
IMAGE_SUBSYSTEM_NATIVE = 1

MACHINES = {0x14C: "i386", 0x8664: "amd64", 0x1C0: "arm", 0x1C4: "armnt", 0xAA64: "arm64", 0x200: "ia64", 0xEBC: "ebc"}
SUBSYSTEMS = {
    1: "native",
    2: "windows_gui",
    3: "windows_cui",
    9: "windows_ce_gui",
    10: "efi_application",
    11: "efi_boot_service_driver",
    12: "efi_runtime_driver",
    13: "efi_rom",
    14: "xbox",
    16: "windows_boot_application",
}
VERSION_KEYS = {
    "CompanyName": "company_name",
    "ProductName": "product_name",
    "FileDescription": "file_description",
    "OriginalFilename": "original_filename",
    "InternalName": "internal_name",
    "FileVersion": "file_version",
}


@dataclass(frozen=True, slots=True)
class PeLayout:
    """Offsets the Authenticode hash skips (file offsets), from the headers."""

    checksum_offset: int
    cert_entry_offset: int  # the IMAGE_DIRECTORY_ENTRY_SECURITY entry (8 bytes)
    cert_table_offset: int  # 0 when unsigned
    cert_table_size: int
    machine: int
    timestamp: int
    characteristics: int
    subsystem: int


def read_layout(head: bytes, file_size: int) -> tuple[PeLayout | None, list[Diagnostic]]:
    """The PE layout from the file's first bytes, or None when it is not a PE (with why)."""
    if len(head) < 0x40 or head[:2] != b"MZ":
        return None, [info("file_not_pe", "pe", "no MZ header")]
    (e_lfanew,) = struct.unpack_from("<I", head, 0x3C)
    if e_lfanew + 24 + 2 > len(head):
        return None, [warning("pe_header_out_of_bounds", "pe", f"e_lfanew 0x{e_lfanew:x} points past the headers read")]
    if head[e_lfanew : e_lfanew + 4] != b"PE\0\0":
        return None, [warning("pe_header_out_of_bounds", "pe", f"no PE signature at e_lfanew 0x{e_lfanew:x}")]
    machine, _sections, timestamp = struct.unpack_from("<HHI", head, e_lfanew + 4)
    (optional_size,) = struct.unpack_from("<H", head, e_lfanew + 20)
    (characteristics,) = struct.unpack_from("<H", head, e_lfanew + 22)
    optional = e_lfanew + 24
    (magic,) = struct.unpack_from("<H", head, optional)
    if magic not in (0x10B, 0x20B):
        return None, [
            warning("pe_header_out_of_bounds", "pe", f"optional header magic 0x{magic:x} is neither PE32 nor PE32+")
        ]
    directories = optional + (96 if magic == 0x10B else 112)
    cert_entry = directories + 4 * 8
    if cert_entry + 8 > len(head) or optional_size < cert_entry + 8 - optional:
        return None, [warning("pe_header_out_of_bounds", "pe", "the optional header has no certificate-table entry")]
    (subsystem,) = struct.unpack_from("<H", head, optional + 68)
    table_offset, table_size = struct.unpack_from("<II", head, cert_entry)
    diags: list[Diagnostic] = []
    if table_offset == 0 or table_size == 0:
        table_offset, table_size = 0, 0
    elif table_offset + table_size > file_size or table_offset < cert_entry + 8:
        diags.append(
            warning(
                "pe_cert_table_out_of_bounds",
                "signature",
                f"certificate table at 0x{table_offset:x} ({table_size:,} bytes) lies outside the file "
                f"({file_size:,} bytes)",
            )
        )
        table_offset, table_size = -1, table_size
    layout = PeLayout(
        checksum_offset=optional + 64,
        cert_entry_offset=cert_entry,
        cert_table_offset=table_offset,
        cert_table_size=table_size,
        machine=machine,
        timestamp=timestamp,
        characteristics=characteristics,
        subsystem=subsystem,
    )
    return layout, diags


def pe_summary(layout: PeLayout) -> dict[str, Any]:
    """``pe`` of the file facts: names beside the raw numbers."""
    return {
        "machine": MACHINES.get(layout.machine, f"unknown_0x{layout.machine:x}"),
        "machine_raw": layout.machine,
        "timestamp": layout.timestamp,
        "subsystem": SUBSYSTEMS.get(layout.subsystem, f"unknown_{layout.subsystem}"),
        "dll": bool(layout.characteristics & IMAGE_FILE_DLL),
        "driver": layout.subsystem == IMAGE_SUBSYSTEM_NATIVE,
    }


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def version_info(head: bytes, file_size: int) -> tuple[dict[str, str | None] | None, list[Diagnostic]]:
    """The version resource's strings (first string table), or None when there is none.

    pefile reads at most :data:`MAX_PE_BYTES`; resources past that are reported as unread.
    Any pefile failure on hostile input is a diagnostic.
    """
    import pefile

    diags: list[Diagnostic] = []
    data = head[:MAX_PE_BYTES]
    if file_size > len(data):
        diags.append(
            info("pe_parse_capped", "version_info", f"PE parsed from the first {len(data):,} bytes of {file_size:,}")
        )
    try:
        # built from bytes: no file or mmap to release, so no pe.close() (it runs gc.collect(),
        # measured at 27 ms a file, minutes over an image's service binaries)
        pe = pefile.PE(data=data, fast_load=True)
        pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
        tables = [
            table
            for file_info in getattr(pe, "FileInfo", None) or []
            for entry in file_info
            if getattr(entry, "Key", b"") == b"StringFileInfo"
            for table in getattr(entry, "StringTable", [])
        ]
    except Exception as exc:
        return None, [
            *diags,
            warning("pe_unparseable", "version_info", f"pefile: {type(exc).__name__}: {str(exc)[:200]}"),
        ]
    if not tables:
        return None, diags
    entries = {_text(k): _text(v) for k, v in tables[0].entries.items()}
    out: dict[str, str | None] = {name: entries.get(key) for key, name in VERSION_KEYS.items()}
    return out, diags
