"""Which kind of input a path is: a hive file, a disk image, or neither, from its leading bytes.

Kept apart from reading images so that telling a hive from an image costs two small reads
(the first 4 KiB and the last 512 bytes) and needs none of the optional image libraries.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from hivescan.hive.header import REGF_SIGNATURE
from hivescan.hive.source import input_errors, open_input

# Leading bytes of the containers dfvfs reads (offset, signature, name).
_SIGNATURES = (
    (0, b"EVF\x09\x0d\x0a\xff\x00", "EWF (E01)"),
    (0, b"EVF2\x0d\x0a\x81\x00", "EWF2 (Ex01)"),
    (0, b"KDMV", "VMDK"),
    (0, b"# Disk DescriptorFile", "VMDK descriptor"),
    (0, b"vhdxfile", "VHDX"),
    (0, b"conectix", "VHD"),
    (0, b"QFI\xfb", "QCOW"),
    (512, b"EFI PART", "GPT disk"),
    (3, b"NTFS    ", "NTFS volume"),
)
_RAW_SUFFIXES = {".dd", ".raw", ".img", ".bin", ".001", ".000", ".aa"}


def input_kind(path: str | os.PathLike[str]) -> Literal["hive", "image", "other"]:
    """``hive`` (regf signature), ``image`` (a disk-image container or disk), or ``other``.

    Reads at most the first 4 KiB and the last 512 bytes, so it is cheap on a 1 TB image.
    """
    name, _ = sniff_input(Path(path))
    return "hive" if name == "hive" else "image" if name else "other"


def sniff_input(path: Path) -> tuple[str | None, int]:
    what = "a hive file or disk image"
    with open_input(path, what) as (fh, size), input_errors(path, what):
        head = fh.read(4096)
        tail = b""
        if size >= 512:
            fh.seek(size - 512)
            tail = fh.read(512)
    if head.startswith(REGF_SIGNATURE):
        return "hive", size
    for offset, signature, name in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return name, size
    if tail.startswith(b"conectix"):
        return "VHD (fixed)", size
    if len(head) >= 512 and head[510:512] == b"\x55\xaa" and size % 512 == 0:
        return "disk with an MBR", size
    if path.suffix.lower() in _RAW_SUFFIXES and size % 512 == 0 and size >= 1 << 20:
        return "raw image", size
    return None, size
