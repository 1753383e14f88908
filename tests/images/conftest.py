"""Disk images built at test time (no downloaded images, nothing binary committed).

A GPT and an MBR disk with an NTFS partition holding ``Windows\\System32\\config`` --
SYSTEM (the demo hive), SYSTEM.LOG1/.LOG2, SOFTWARE and RegBack\\SYSTEM (an older hive) --
converted to every container hivescan reads. Needs fdisk, ntfs-3g, ewf-tools, qemu-utils
(``.ci/run`` installs them) and dfvfs (``pip install -e '.[images]'``): tests skip saying
which is missing, except under CI (CI=true), where a missing tool is a failure.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from imaging import (
    CONFIG,
    FIXTURES,
    log_file,
    luks1_header,
    older_system,
    regback_system,
    require_image_tools,
    software_hive,
)

from hivescan.testing.disk import NtfsVolume, RawVolume, Snapshot, build_disk, convert


@pytest.fixture(scope="session")
def windows_files() -> dict[str, bytes]:
    """In-image path -> bytes of the files planted in the Windows partition."""
    system = (FIXTURES / "demo-SYSTEM").read_bytes()
    return {
        f"{CONFIG}/SYSTEM": system,
        f"{CONFIG}/SYSTEM.LOG1": log_file(1, system),
        f"{CONFIG}/SYSTEM.LOG2": log_file(2, system),
        f"{CONFIG}/SOFTWARE": software_hive(),
        f"{CONFIG}/RegBack/SYSTEM": regback_system(),
        # incompressible filler so an E01 split into 1 MiB segments really has several
        "pagefile.sys": random.Random(6).randbytes(3 << 20),
    }


@pytest.fixture(scope="session")
def disk_images(tmp_path_factory: pytest.TempPathFactory, windows_files: dict[str, bytes]) -> Callable[..., Path]:
    """``disk_images(fmt, scheme="gpt")`` -> path of the test disk in that container (built once)."""
    root = tmp_path_factory.mktemp("disks")
    built: dict[tuple[str, str], Path] = {}

    def get(fmt: str = "raw", scheme: str = "gpt") -> Path:
        require_image_tools((fmt,))
        if (fmt, scheme) not in built:
            raw = built.get(("raw", scheme))
            if raw is None:
                raw = build_disk(root / f"{scheme}.raw", [NtfsVolume(16, windows_files)], scheme)
                built[("raw", scheme)] = raw
            built[(fmt, scheme)] = convert(raw, fmt, root / f"{scheme}-{fmt}")
        return built[(fmt, scheme)]

    return get


@pytest.fixture(scope="session")
def messy_disk(tmp_path_factory: pytest.TempPathFactory, windows_files: dict[str, bytes]) -> Path:
    """GPT: p1 Windows, p2 data NTFS (no Windows), p3 random bytes, p4 a LUKS volume."""
    require_image_tools()
    return build_disk(
        tmp_path_factory.mktemp("messy") / "messy.raw",
        [
            NtfsVolume(16, windows_files),
            NtfsVolume(8, {"Users/Public/readme.txt": b"no Windows here"}, label="DATA"),
            RawVolume(4, random.Random(3).randbytes(1 << 20)),
            RawVolume(4, luks1_header()),
        ],
    )


@pytest.fixture(scope="session")
def two_windows_disk(tmp_path_factory: pytest.TempPathFactory, windows_files: dict[str, bytes]) -> Path:
    """MBR: p1 Windows (demo SYSTEM), p2 an older Windows under Windows.old (the RegBack hive)."""
    require_image_tools()
    other = {f"Windows.old/{CONFIG}/SYSTEM": regback_system()}
    return build_disk(
        tmp_path_factory.mktemp("two") / "two.raw",
        [NtfsVolume(16, windows_files), NtfsVolume(8, other, label="OLD")],
        "dos",
    )


@pytest.fixture(scope="session")
def vss_disk(tmp_path_factory: pytest.TempPathFactory, windows_files: dict[str, bytes]) -> Path:
    """GPT, NTFS with two Volume Shadow Copies in which SYSTEM is older (RTCore32.sys, then RTCore48.sys)."""
    require_image_tools()
    files = {k: v for k, v in windows_files.items() if k != "pagefile.sys"}
    system = files[f"{CONFIG}/SYSTEM"]
    snapshots = [
        Snapshot("2024-02-01T10:00:00Z", {f"{CONFIG}/SYSTEM": older_system(system, "RTCore32.sys")}),
        Snapshot("2024-02-20T10:00:00Z", {f"{CONFIG}/SYSTEM": older_system(system, "RTCore48.sys")}),
    ]
    return build_disk(tmp_path_factory.mktemp("vss") / "vss.raw", [NtfsVolume(16, files, snapshots=snapshots)])
