"""The regf base block (the first 4 KiB of a hive): versions, sequence numbers, checksum.

Read here rather than through a parser library because the checksum and the dirty state
need the raw bytes, and the log replay needs the same fields.

References: msuhanov/regf specification, "Base block"; scm-spec.md §9.1.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

BASE_BLOCK_SIZE = 4096
REGF_SIGNATURE = b"regf"
PRIMARY_FILE_TYPE = 0
DIFFERENCING_HIVE = 0x2  # base block flags
KNOWN_FLAGS = 0x3  # the only bits the flags field defines (0x1 KTM locked, 0x2 layered keys)
LOG_FILE_TYPES = (1, 2, 6)  # base block file types of transaction logs (old formats 1/2, new format 6)


def base_block_checksum(block: bytes) -> int:
    """XOR-32 of the first 508 bytes, with Windows' adjustments for 0 and 0xFFFFFFFF."""
    acc = 0
    for (dw,) in struct.iter_unpack("<I", block[:508]):
        acc ^= dw
    if acc == 0xFFFFFFFF:
        return 0xFFFFFFFE
    if acc == 0:
        return 1
    return acc


@dataclass(frozen=True, slots=True)
class BaseBlock:
    primary_sequence: int
    secondary_sequence: int
    last_written: int  # FILETIME
    major_version: int
    minor_version: int
    file_type: int  # 0 primary, 1/2/6 logs
    file_format: int
    root_cell_offset: int
    hive_bins_data_size: int
    clustering_factor: int
    file_name: str
    stored_checksum: int
    computed_checksum: int
    boot_type: int
    boot_recover: int
    flags: int = 0  # offset 144 (Windows 10+): 0x1 pending transactions, 0x2 differencing hive

    @property
    def differencing(self) -> bool:
        """A differencing (delta) hive: a layer of changes over another hive (containers, Sandbox).

        The flags field (offset 144) came with Vista's CLFS fields: hives written before it
        (NT 4.0, XP) hold leftover bytes there (0x4D8D106A on the shared NT4 hive, 0x00FFFFFF
        on the XP one). A field with any bit set besides the two defined ones is such
        leftover, not flags, so it never makes an old hive a delta."""
        return not self.flags & ~KNOWN_FLAGS and bool(self.flags & DIFFERENCING_HIVE)

    @property
    def checksum_ok(self) -> bool:
        return self.stored_checksum == self.computed_checksum

    @property
    def dirty(self) -> bool:
        """What the kernel checks before loading: sequence numbers differ or checksum wrong."""
        return self.primary_sequence != self.secondary_sequence or not self.checksum_ok

    @property
    def version(self) -> str:
        return f"{self.major_version}.{self.minor_version}"


def log_file_type(head: bytes) -> int | None:
    """The base block's file type when it names a transaction log (read from the first 32
    bytes alone: a log's base block is one 512-byte sector), else None."""
    if len(head) < 32 or head[:4] != REGF_SIGNATURE:
        return None
    (file_type,) = struct.unpack_from("<I", head, 28)
    return file_type if file_type in LOG_FILE_TYPES else None


def parse_base_block(data: bytes) -> BaseBlock:
    """Parse a base block; the caller has already checked the signature and length."""
    (
        primary,
        secondary,
        last_written,
        major,
        minor,
        file_type,
        file_format,
        root,
        bins_size,
        clustering,
    ) = struct.unpack_from("<IIQIIIIIII", data, 4)
    raw_name = data[48:112]
    name = raw_name.decode("utf-16-le", "replace").split("\0", 1)[0]
    stored = struct.unpack_from("<I", data, 508)[0]
    boot_type, boot_recover = struct.unpack_from("<II", data, 0xFF8)  # after the Thaw GUIDs (0xFC8-0xFF7)
    (flags,) = struct.unpack_from("<I", data, 144)
    return BaseBlock(
        primary_sequence=primary,
        secondary_sequence=secondary,
        last_written=last_written,
        major_version=major,
        minor_version=minor,
        file_type=file_type,
        file_format=file_format,
        root_cell_offset=root,
        hive_bins_data_size=bins_size,
        clustering_factor=clustering,
        file_name=name,
        stored_checksum=stored,
        computed_checksum=base_block_checksum(data),
        boot_type=boot_type,
        boot_recover=boot_recover,
        flags=flags,
    )
