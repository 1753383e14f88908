"""Helpers for the disk-image tests: tool checks and the hives planted in test images."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from hivescan.testing.disk import missing_tools
from hivescan.testing.regf import HiveWriter, WKey

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CONFIG = "Windows/System32/config"


def require_image_tools(formats: tuple[str, ...] = ("raw",)) -> None:
    """Skip (locally) or fail (CI) when the Debian tools or dfvfs are absent."""
    missing = missing_tools(formats)
    try:
        import dfvfs  # noqa: F401
    except ImportError:
        missing.append("dfvfs (pip install -e '.[images]')")
    if missing:
        message = f"disk-image tests need: {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI must install them: see .ci/run)")
        pytest.skip(message)


def log_file(kind: int, base: bytes) -> bytes:
    """A base-block-only transaction log (what Windows leaves after a clean flush): type 1 or 2."""
    block = bytearray(base[:512])
    struct.pack_into("<I", block, 0x1C, kind)
    return bytes(block) + b"\0" * (4096 - 512)


def software_hive() -> bytes:
    root = WKey("ROOT")
    cv = root.key("Microsoft\\Windows NT\\CurrentVersion")
    cv.set_sz("ProductName", "Windows 10 Pro").set_sz("CurrentBuild", "19045").set_sz("EditionID", "Professional")
    svchost = cv.key("Svchost")
    svchost.set_multi_sz("netsvcs", ["BITS", "Schedule", "gpsvc"]).set_multi_sz("LocalService", ["nsi"])
    return HiveWriter(root).build().data


def regback_system() -> bytes:
    """An older SYSTEM: one control set, two services -- clearly not the live hive."""
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1).set_dword(
        "Failed", 0
    )
    services = root.key("ControlSet001\\Services")
    services.key("Tcpip").set_dword("Type", 1).set_dword("Start", 0).set_dword("ErrorControl", 1).set_expand_sz(
        "ImagePath", "System32\\drivers\\tcpip.sys"
    )
    services.key("OldUpdater").set_dword("Type", 0x10).set_dword("Start", 2).set_dword("ErrorControl", 1).set_expand_sz(
        "ImagePath", "C:\\ProgramData\\upd\\upd.exe"
    )
    return HiveWriter(root).build().data


def luks1_header() -> bytes:
    """A LUKS1 header (592 bytes, one key slot in use): an encrypted volume nobody can open here."""
    header = b"LUKS\xba\xbe" + struct.pack(">H", 1)
    header += b"aes".ljust(32, b"\0") + b"xts-plain64".ljust(32, b"\0") + b"sha256".ljust(32, b"\0")
    header += struct.pack(">II", 4096, 64) + bytes(20) + bytes(32) + struct.pack(">I", 1000)
    header += b"6f1c2b3a-0000-4000-8000-00000000c0de".ljust(40, b"\0")
    for slot in range(8):
        state = 0x00AC71F3 if slot == 0 else 0x0000DEAD
        header += struct.pack(">II", state, 1000) + bytes(32) + struct.pack(">II", 8 + slot * 512, 4000)
    return header


def shared_hive(name: str) -> Path:
    """``shared_hive`` of tests/conftest.py (loaded by path: two conftest modules share one name)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "hivescan_tests_root_conftest", Path(__file__).parents[1] / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.shared_hive(name)  # type: ignore[no-any-return]


def older_system(system: bytes, driver: str) -> bytes:
    """The demo SYSTEM as it was before: the planted RTCore64 driver had another file name."""
    now = "RTCore64.sys".encode("utf-16-le")
    assert system.count(now) >= 1 and len(driver) == len("RTCore64.sys")
    return system.replace(now, driver.encode("utf-16-le"))
