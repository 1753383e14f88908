"""Service binaries read out of a disk image: same volume as the hive, NTFS times and streams."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import hivescan
from hivescan.cli import app
from hivescan.testing.disk import NtfsVolume, build_disk, missing_tools
from hivescan.testing.pe import build_pe
from hivescan.testing.spec import build_from_spec
from hivescan.timeutil import filetime_to_iso

runner = CliRunner()
CONFIG = "Windows/System32/config"
ZONE = b"[ZoneTransfer]\r\nZoneId=3\r\n"
OLD = 131_000_000_000_000_000  # 2016-02-15, long before the volume was made


def _hive() -> bytes:
    def svc(path: str, type_: int = 0x10) -> dict[str, Any]:
        return {"values": {"Type": type_, "Start": 2, "ErrorControl": 1, "ImagePath": path}}

    spec = {
        "keys": {"Select": {"values": {"Current": 1, "Default": 1, "LastKnownGood": 1, "Failed": 0}}},
        "control_sets": [
            {
                "number": 1,
                "services": {
                    "Stomped": svc("C:\\Windows\\System32\\wuhelper.exe"),
                    "Downloaded": svc("C:\\Users\\Public\\tool.exe"),
                    "Gone": svc("C:\\Windows\\System32\\gone.exe"),
                },
            }
        ],
    }
    return build_from_spec(spec).data


def backdate_si_created(disk: Path, name: str, filetime: int) -> None:
    """Set $STANDARD_INFORMATION's creation time of the MFT record named ``name`` (a
    timestomping tool's edit; $FILE_NAME keeps the real time). Our own test image only."""
    data = bytearray(disk.read_bytes())
    wanted = name.encode("utf-16-le")
    pos = 0
    while (pos := data.find(b"FILE", pos)) != -1:
        if pos % 512 == 0:
            attribute = pos + struct.unpack_from("<H", data, pos + 0x14)[0]
            si, hit = None, False
            while attribute < pos + 1024 - 8:
                kind, length = struct.unpack_from("<II", data, attribute)
                if kind == 0xFFFFFFFF or length == 0:
                    break
                content = attribute + struct.unpack_from("<H", data, attribute + 0x14)[0]
                if kind == 0x10:
                    si = content
                elif kind == 0x30 and bytes(data[content + 0x42 : content + 0x42 + 2 * data[content + 0x40]]) == wanted:
                    hit = True
                attribute += length
            if hit and si is not None:
                struct.pack_into("<Q", data, si, filetime)
                disk.write_bytes(data)
                return
        pos += 4
    raise AssertionError(f"no MFT record for {name}")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = missing_tools(("raw",))
    if missing:
        pytest.skip(f"disk-image tools not available: {', '.join(missing)}")
    pytest.importorskip("dfvfs", reason="disk images need the [images] extra")
    files = {
        f"{CONFIG}/SYSTEM": _hive(),
        "Windows/System32/wuhelper.exe": build_pe(),
        "Users/Public/tool.exe": build_pe(code=b"\x90\xc3"),
        "Users/Public/tool.exe:Zone.Identifier": ZONE,
    }
    disk = build_disk(tmp_path_factory.mktemp("disk") / "disk.raw", [NtfsVolume(16, files)])
    backdate_si_created(disk, "wuhelper.exe", OLD)
    return disk


def test_image_files_have_ntfs_times_and_streams(image: Path) -> None:
    with hivescan.open_hive(image) as opened:
        records = {r.name: r for r in opened.services()}
    stomped = records["Stomped"].image_file
    assert stomped is not None and stomped["exists"] is True and stomped["sha256"] is not None
    assert stomped["timestamps"]["si_created"] == filetime_to_iso(OLD)
    assert stomped["timestamps"]["fn_created"] > stomped["timestamps"]["si_created"]
    assert stomped["si_created_before_fn"] is True
    downloaded = records["Downloaded"].image_file
    assert downloaded is not None and downloaded["zone_identifier"] == ZONE.decode()
    assert downloaded["si_created_before_fn"] is False
    assert records["Gone"].image_file is not None and records["Gone"].image_file["exists"] is False


def test_scan_of_an_image_raises_the_file_findings(image: Path) -> None:
    result = runner.invoke(app, ["scan", str(image), "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    fired = {(f["service"], f["rule_id"]) for f in map(json.loads, result.stdout.splitlines())}
    assert {
        ("Stomped", "service-binary-timestomped"),
        ("Downloaded", "service-binary-downloaded"),
        ("Gone", "service-binary-missing"),
    } <= fired
    off = runner.invoke(app, ["scan", str(image), "-f", "jsonl", "--no-files"])
    assert off.exit_code == 0 and "service-binary" not in off.stdout


NOT_A_DATE = 0x7FFF_FFFF_FFFF_FFFF  # a FILETIME past year 9999 (a wiping tool's or a damaged $SI)


def test_an_ntfs_time_past_year_9999_keeps_its_raw_value_and_a_diagnostic(tmp_path: Path) -> None:
    missing = missing_tools(("raw",))
    if missing:
        pytest.skip(f"disk-image tools not available: {', '.join(missing)}")
    pytest.importorskip("dfvfs", reason="disk images need the [images] extra")
    files = {f"{CONFIG}/SYSTEM": _hive(), "Windows/System32/wuhelper.exe": build_pe()}
    disk = build_disk(tmp_path / "disk.raw", [NtfsVolume(16, files)])
    backdate_si_created(disk, "wuhelper.exe", NOT_A_DATE)
    with hivescan.open_hive(disk) as opened:
        facts = next(r for r in opened.services() if r.name == "Stomped").image_file
    assert facts is not None and facts["exists"] is True
    assert facts["timestamps"]["si_created"] == f"not a date (FILETIME {NOT_A_DATE})"
    assert facts["timestamps"]["fn_created"] is not None  # the real time, untouched
    assert facts["si_created_before_fn"] is None  # no order between a date and no date
    codes = [d["code"] for d in facts["diagnostics"]]
    assert codes.count("ntfs_time_not_a_date") == 1
    shown = runner.invoke(app, ["show", str(disk), "Stomped", "-q"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert f"not a date (FILETIME {NOT_A_DATE})" in shown.stdout
