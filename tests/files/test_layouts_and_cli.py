"""--root folders (mounted, KAPE, Velociraptor), records carrying file facts, findings on planted files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import hivescan
from hivescan.cli import app
from hivescan.files.source import FolderSource
from hivescan.frames import record_row
from hivescan.scm.record import ServiceRecord
from hivescan.testing.pe import TestCA, build_catalog, build_pe
from hivescan.testing.spec import build_from_spec

runner = CliRunner()
ZONE = b"[ZoneTransfer]\r\nZoneId=3\r\nHostUrl=https://example.invalid/tool.exe\r\n"


def _hive(services: dict[str, Any]) -> bytes:
    spec = {
        "keys": {"Select": {"values": {"Current": 1, "Default": 1, "LastKnownGood": 1, "Failed": 0}}},
        "control_sets": [{"number": 1, "services": services}],
    }
    return build_from_spec(spec).data


def _svc(image_path: str, type_: int = 0x10) -> dict[str, Any]:
    return {"values": {"Type": type_, "Start": 2 if type_ == 0x10 else 1, "ErrorControl": 1, "ImagePath": image_path}}


def _put(volume: Path, relative: str, data: bytes) -> None:
    path = volume.joinpath(*relative.split("\\"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.mark.parametrize(
    ("layout", "encoded"),
    [((), False), (("C",), False), (("uploads", "auto", "C%3A"), True), (("uploads", "ntfs", "%5C%5C.%5CC%3A"), True)],
)
def test_folder_layouts_case_and_streams(tmp_path: Path, layout: tuple[str, ...], encoded: bool) -> None:
    volume = tmp_path.joinpath(*layout)
    _put(volume, "WINDOWS\\system32\\Tool (x).exe" if not encoded else "WINDOWS\\system32\\Tool %28x%29.exe", b"MZ")
    stream = "Tool (x).exe:Zone.Identifier" if not encoded else "Tool %28x%29.exe%3AZone.Identifier"
    _put(volume, f"WINDOWS\\system32\\{stream}", ZONE)
    source = FolderSource(tmp_path)
    found = source.stat("Windows\\System32\\tool (X).EXE")
    assert found is not None and found.path == "\\WINDOWS\\system32\\Tool (x).exe"
    assert found.streams == {"Zone.Identifier": ZONE}
    assert b"".join(source.chunks("windows\\system32\\tool (x).exe")) == b"MZ"
    assert source.stat("Windows\\..\\Windows\\System32\\tool (x).exe") is None  # never climbs out


def test_bare_hive_has_null_file_facts_and_round_trips(tmp_path: Path) -> None:
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(_hive({"Svc": _svc("C:\\Windows\\svc.exe")}))
    with hivescan.open_hive(hive) as opened:
        (record,) = opened.services()
    assert record.image_file is None and record.service_dll_file is None
    row = record_row(record)
    assert row["image_sha256"] is None and row["image_exists"] is None


PLANTED = {
    "GoneSvc": _svc("C:\\Windows\\System32\\gone.exe"),
    "TamperSvc": _svc("C:\\Windows\\System32\\tamper.exe"),
    "UnknownCaSvc": _svc('"C:\\Program Files\\Acme\\agent.exe" -service'),
    "UnsignedDrv": _svc("\\??\\C:\\Windows\\System32\\drivers\\kdx.sys", type_=1),
    "DownloadedSvc": _svc("C:\\Users\\Public\\tool.exe"),
}


@pytest.fixture
def planted(tmp_path: Path, test_ca: TestCA) -> Path:
    """A KAPE-style folder: SYSTEM hive plus one file per planted case."""
    volume = tmp_path / "kape" / "C"
    _put(volume, "Windows\\System32\\config\\SYSTEM", _hive(PLANTED))
    _put(volume, "Windows\\System32\\ntoskrnl.exe", build_pe(subsystem=1))  # binaries were collected
    catroot = "Windows\\System32\\CatRoot\\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}\\Other.cat"
    _put(volume, catroot, build_catalog([bytes(32)]))  # a catalog listing none of these: "unsigned" is knowable
    unsigned = tmp_path / "u.exe"
    unsigned.write_bytes(build_pe())
    signed = test_ca.sign(unsigned, tmp_path / "s.exe").read_bytes()
    tampered = bytearray(signed)
    tampered[0x200] ^= 0xFF
    _put(volume, "Windows\\System32\\tamper.exe", bytes(tampered))
    _put(volume, "Program Files\\Acme\\agent.exe", signed)
    _put(volume, "Windows\\System32\\drivers\\kdx.sys", build_pe(subsystem=1))
    _put(volume, "Users\\Public\\tool.exe", build_pe())
    _put(volume, "Users\\Public\\tool.exe:Zone.Identifier", ZONE)
    return tmp_path / "kape"


def test_scan_of_a_folder_raises_each_planted_case(planted: Path, wine_exe, shim_signed: Path) -> None:  # type: ignore[no-untyped-def]
    volume = planted / "C"
    conhost = wine_exe("conhost.exe").read_bytes()
    _put(volume, "Windows\\System32\\conhost.exe", conhost)  # unsigned, claims Microsoft
    _put(volume, "Windows\\updsvc.exe", conhost)  # the same, renamed
    _put(volume, "Windows\\System32\\shim.exe", shim_signed.read_bytes())  # really signed by Microsoft
    hive = volume / "Windows" / "System32" / "config" / "SYSTEM"
    hive.write_bytes(
        _hive(
            {
                **PLANTED,
                "FakeMsSvc": _svc("C:\\Windows\\System32\\conhost.exe"),
                "RenamedSvc": _svc("C:\\Windows\\updsvc.exe"),
                "MsSignedSvc": _svc("C:\\Windows\\System32\\shim.exe"),
            }
        )
    )
    result = runner.invoke(app, ["scan", str(planted), "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    fired = {(f["service"], f["rule_id"]) for f in map(json.loads, result.stdout.splitlines()) if f}
    expected = {
        ("GoneSvc", "service-binary-missing"),
        ("TamperSvc", "service-binary-signature-invalid"),
        ("UnknownCaSvc", "service-binary-unknown-publisher"),
        ("UnsignedDrv", "unsigned-kernel-driver"),
        ("DownloadedSvc", "service-binary-downloaded"),
        ("FakeMsSvc", "unsigned-binary-claims-microsoft"),
        ("RenamedSvc", "renamed-service-binary"),
    }
    assert expected <= fired, sorted(fired)
    assert ("UnknownCaSvc", "service-binary-signature-invalid") not in fired
    assert ("FakeMsSvc", "renamed-service-binary") not in fired
    assert not any(service == "MsSignedSvc" and "invalid" in rule for service, rule in fired)


def test_services_jsonl_carries_file_facts_and_no_files_turns_them_off(planted: Path) -> None:
    result = runner.invoke(app, ["services", str(planted), "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in map(json.loads, result.stdout.splitlines())}
    agent = rows["UnknownCaSvc"]["image_file"]
    assert agent["path"] == "\\Program Files\\Acme\\agent.exe" and agent["signature"]["signer"] == "CN=Test Publisher"
    assert rows["GoneSvc"]["image_file"]["exists"] is False
    assert ServiceRecord.from_dict(rows["UnknownCaSvc"]).image_file == agent
    off = runner.invoke(app, ["services", str(planted), "-f", "jsonl", "--no-files"])
    assert off.exit_code == 0 and all(json.loads(line)["image_file"] is None for line in off.stdout.splitlines())


def test_csv_has_flat_columns(planted: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    result = runner.invoke(app, ["services", str(planted), "-f", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    import pandas as pd

    frame = pd.read_csv(out)
    row = frame[frame["name"] == "TamperSvc"].iloc[0]
    assert row["image_signature_status"] == "invalid" and row["image_signer"] == "CN=Test Publisher"
    assert len(row["image_sha256"]) == 64


def test_root_option_for_a_separate_hive_and_bad_root(planted: Path, tmp_path: Path) -> None:
    hive = planted / "C" / "Windows" / "System32" / "config" / "SYSTEM"
    result = runner.invoke(app, ["services", str(hive), "-f", "jsonl", "--root", str(planted)])
    assert result.exit_code == 0, result.output
    assert any(json.loads(line)["image_file"] for line in result.stdout.splitlines())
    bad = runner.invoke(app, ["services", str(hive), "--root", str(tmp_path / "nowhere")])
    assert bad.exit_code == 3 and "not a folder" in bad.output
    both = runner.invoke(app, ["services", str(hive), "--root", str(planted), "--no-files"])
    assert both.exit_code == 2


def test_show_displays_the_file_facts_with_control_characters_escaped(planted: Path) -> None:
    stream = planted / "C" / "Users" / "Public" / "tool.exe:Zone.Identifier"
    stream.write_bytes(b"[ZoneTransfer]\r\nZoneId=3\x1b[31m [bold]x[/bold]\r\n")
    result = runner.invoke(app, ["show", str(planted), "TamperSvc"])
    assert result.exit_code == 0, result.output
    assert "signature.status" in result.stdout and "invalid" in result.stdout
    assert "CN=Test Publisher" in result.stdout
    shown = runner.invoke(app, ["show", str(planted), "DownloadedSvc"])
    assert shown.exit_code == 0, shown.output
    assert "\x1b" not in shown.stdout and "\\x1b[31m" in shown.stdout and "[bold]x[/bold]" in shown.stdout


def _zip(folder: Path, target: Path, prefix: str, encode: bool) -> Path:
    import zipfile
    from urllib.parse import quote

    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                parts = path.relative_to(folder).parts
                name = "/".join(quote(p, safe=" ") if encode else p for p in parts)
                archive.write(path, f"{prefix}/{name}")
    return target


@pytest.mark.parametrize(("prefix", "encode"), [("C", False), ("collection/uploads/auto/C%3A", True)])
def test_zip_collections_are_read_in_place(planted: Path, tmp_path: Path, prefix: str, encode: bool) -> None:
    archive = _zip(planted / "C", tmp_path / "collection.zip", prefix, encode)
    result = runner.invoke(app, ["scan", str(archive), "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    fired = {(f["service"], f["rule_id"]) for f in map(json.loads, result.stdout.splitlines())}
    assert {
        ("GoneSvc", "service-binary-missing"),
        ("TamperSvc", "service-binary-signature-invalid"),
        ("DownloadedSvc", "service-binary-downloaded"),
    } <= fired
    listed = runner.invoke(app, ["services", str(archive), "-f", "jsonl"])
    rows = {r["name"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert rows["DownloadedSvc"]["image_file"]["zone_identifier"] == ZONE.decode()
    assert rows["UnknownCaSvc"]["image_file"]["path"] == "\\Program Files\\Acme\\agent.exe"
    assert not list(tmp_path.glob("**/agent.exe"))[1:], "nothing unpacked next to the archive"


def test_zip_without_a_hive(tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("readme.txt", "nothing")
    result = runner.invoke(app, ["services", str(archive)])
    assert result.exit_code == 3 and "without Windows" in result.output


def test_triage_of_volume_folders_reads_their_binaries(planted: Path, tmp_path: Path) -> None:
    import pandas as pd

    out = tmp_path / "out"
    result = runner.invoke(app, ["triage", str(planted), "-o", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out / "services")
    row = frame[frame["name"] == "TamperSvc"].iloc[0]
    assert row["image_signature_status"] == "invalid" and len(row["image_sha256"]) == 64
    assert bool(frame[frame["name"] == "GoneSvc"].iloc[0]["image_exists"]) is False


def test_parquet_round_trip_keeps_the_file_facts(planted: Path, tmp_path: Path) -> None:
    from hivescan.frames import read_records_parquet, services_frame

    out = tmp_path / "s.parquet"
    with hivescan.open_hive(planted) as opened:
        records = {r.name: r for r in opened.services()}
    services_frame(records.values()).to_parquet(out, index=False)
    back = {r.name: r for r in read_records_parquet(out)}
    for name in ("TamperSvc", "GoneSvc", "DownloadedSvc"):
        assert back[name].image_file == json.loads(json.dumps(records[name].image_file)), name
    assert back["GoneSvc"].image_file["exists"] is False


def test_a_collection_of_hives_alone_calls_no_binary_missing(tmp_path: Path) -> None:
    """A KAPE registry-only collection holds no binaries: absent from it is not absent from the
    machine (every service was 'missing' before: 700 findings per host in triage)."""
    volume = tmp_path / "kape" / "C"
    _put(volume, "Windows\\System32\\config\\SYSTEM", _hive(PLANTED))
    with hivescan.open_hive(tmp_path / "kape") as opened:
        records = {r.name: r for r in opened.services()}
        codes = {d.code for d in opened.hive_diagnostics()}
    gone = records["GoneSvc"].image_file
    assert gone is not None and gone["exists"] is None
    assert [d["code"] for d in gone["diagnostics"]] == ["file_not_collected"]
    assert "files_not_collected" in codes
    result = runner.invoke(app, ["scan", str(tmp_path / "kape"), "-f", "jsonl", "-q"])
    assert result.exit_code == 0, result.stderr
    assert "service-binary-missing" not in result.stdout
