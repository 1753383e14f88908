"""Volume Shadow Copies: written here by hivescan.testing.vss (format as libvshadow documents
it), read back through dfvfs/libvshadow by hivescan's image reader."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from imaging import CONFIG, older_system, require_image_tools
from typer.testing import CliRunner

import hivescan
from hivescan.cli import app
from hivescan.hive.images import open_image
from hivescan.scm.record import DERIVED_FIELDS
from hivescan.testing.disk import MIB, NtfsVolume, Snapshot, build_disk, convert
from hivescan.testing.vss import BLOCK, VSS_IDENTIFIER


def test_shadow_copies_are_found_oldest_first_with_their_identity(vss_disk: Path) -> None:
    with open_image(vss_disk) as image:
        labels = [(v.label, v.status, v.shadow_copy, v.shadow_copy_created) for v in image.volumes]
        assert labels == [
            ("p1", "ok", None, None),
            ("p1/vss1", "ok", "vss1", "2024-02-01T10:00:00.000000Z"),
            ("p1/vss2", "ok", "vss2", "2024-02-20T10:00:00.000000Z"),
        ]
        shadows = [v for v in image.volumes if v.shadow_copy]
        assert all(v.partition == "p1" and v.offset == MIB and v.filesystem == "NTFS" for v in shadows)
        assert len({v.shadow_copy_id for v in shadows} | {v.shadow_copy_store_id for v in shadows}) == 4
        (inst,) = image.installations
        assert inst.snapshots == ("live", "regback", "vss1", "vss2")


def test_each_shadow_copy_gives_its_own_older_hive(vss_disk: Path, windows_files: dict[str, bytes]) -> None:
    system = windows_files[f"{CONFIG}/SYSTEM"]
    with open_image(vss_disk) as image:
        sources = image.snapshot_sources()
    assert [s.location["snapshot"] for s in sources] == ["live", "regback", "vss1", "vss2"]
    assert sources[0].data == system
    assert sources[2].data == older_system(system, "RTCore32.sys")
    assert sources[3].data == older_system(system, "RTCore48.sys")
    loc = sources[2].location
    assert loc["volume"] == "p1/vss1" and loc["shadow_copy"] == "vss1" and loc["partition"] == "p1"
    assert loc["shadow_copy_created"] == "2024-02-01T10:00:00.000000Z" and loc["shadow_copy_id"]
    assert sources[2].path == f"{vss_disk}:p1/vss1:\\Windows\\System32\\config\\SYSTEM"


@pytest.mark.parametrize("fmt", ["e01", "vhdx", "vmdk"])
def test_services_from_a_shadow_copy(vss_disk: Path, tmp_path: Path, fmt: str) -> None:
    image = convert(vss_disk, fmt, tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["services", str(image), "--snapshot", "vss1", "-f", "jsonl", "-c", "all"])
    assert result.exit_code == 0, result.stderr
    old = [json.loads(line) for line in result.stdout.splitlines()]
    live = [
        json.loads(line)
        for line in runner.invoke(app, ["services", str(image), "-f", "jsonl", "-c", "all"]).stdout.splitlines()
    ]
    assert len(old) == len(live)
    changed = []
    for before, now in zip(old, live, strict=True):
        assert before["location"]["snapshot"] == "vss1" and now["location"]["snapshot"] == "live"
        provenance = {"location", "hive_path", "hive_sha256"}
        differing = {k for k in now if before.get(k) != now.get(k)} - provenance - DERIVED_FIELDS
        if differing:
            changed.append((before["name"], differing))
            assert before["image_path"].endswith("RTCore32.sys") and now["image_path"].endswith("RTCore64.sys")
    assert changed and all(diff == {"image_path", "raw_values"} for _, diff in changed)


def test_a_damaged_store_is_reported_and_the_live_volume_still_read(vss_disk: Path, tmp_path: Path) -> None:
    data = bytearray(vss_disk.read_bytes())
    headers = [
        at
        for at in range(MIB, MIB + 16 * MIB, BLOCK)
        if data[at : at + 16] == VSS_IDENTIFIER and struct.unpack_from("<I", data, at + 20)[0] == 3
    ]
    assert len(headers) == 2  # one block list per store
    data[headers[1] : headers[1] + 16] = bytes(16)
    damaged = tmp_path / "damaged.raw"
    damaged.write_bytes(bytes(data))
    with open_image(damaged) as image:
        assert [v.status for v in image.volumes if v.shadow_copy] == ["unreadable", "unreadable"]
        assert [d.code for d in image.diagnostics].count("shadow_copy_unreadable") == 2
        assert image.installations[0].snapshots == ("live", "regback")
    with hivescan.open_hive(damaged) as hive:
        assert hive.services()


def test_a_damaged_catalogue_is_reported(vss_disk: Path, tmp_path: Path) -> None:
    data = bytearray(vss_disk.read_bytes())
    catalog = next(
        at
        for at in range(MIB, MIB + 16 * MIB, BLOCK)
        if data[at : at + 16] == VSS_IDENTIFIER and struct.unpack_from("<I", data, at + 20)[0] == 2
    )
    data[catalog : catalog + 16] = bytes(16)
    damaged = tmp_path / "damaged.raw"
    damaged.write_bytes(bytes(data))
    with open_image(damaged) as image:
        (diag,) = [d for d in image.diagnostics if d.code == "volume_system_unreadable"]
        assert diag.message.startswith("Volume Shadow Copy catalogue cannot be read")
        assert [v.label for v in image.volumes] == ["p1"]


def test_snapshot_content_must_keep_the_file_size(tmp_path: Path) -> None:
    require_image_tools()
    with pytest.raises(ValueError, match="must have the current size"):
        build_disk(
            tmp_path / "x.raw",
            [NtfsVolume(8, {"a.bin": b"x" * 8192}, snapshots=[Snapshot("2024-01-01T00:00:00Z", {"a.bin": b"y"})])],
        )


def test_builder_needs_room() -> None:
    from hivescan.testing.vss import ShadowCopy, write_shadow_copies

    with pytest.raises(ValueError, match="not enough free room"):
        write_shadow_copies(bytearray(64 * BLOCK), [ShadowCopy(0, {BLOCK * 70: b"x"})])
