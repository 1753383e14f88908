"""The binary rules' explanations read well on real files: the ServiceDll half appears only for
a service that has a ServiceDll, and then quotes its facts; nothing says "ServiceDll none"."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.detect.engine import NO_VALUE
from hivescan.testing.pe import build_pe
from tests.files.test_layouts_and_cli import PLANTED, _hive, _put, planted  # noqa: F401  (fixture)

runner = CliRunner()
BINARY_RULES = {
    "service-binary-missing",
    "service-binary-signature-invalid",
    "service-binary-unknown-publisher",
    "service-binary-downloaded",
    "unsigned-kernel-driver",
}


def test_servicedll_part_only_when_the_service_has_one(planted: Path) -> None:  # noqa: F811
    volume = planted / "C"
    _put(volume, "Windows\\System32\\svchost.exe", build_pe())
    hosted = {
        "values": {
            "Type": 0x20,
            "Start": 2,
            "ErrorControl": 1,
            "ImagePath": "C:\\Windows\\System32\\svchost.exe -k netsvcs",
        },
        "keys": {"Parameters": {"values": {"ServiceDll": "C:\\Windows\\System32\\gonedll.dll"}}},
    }
    (volume / "Windows" / "System32" / "config" / "SYSTEM").write_bytes(_hive({**PLANTED, "HostedSvc": hosted}))
    result = runner.invoke(app, ["scan", str(planted), "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    findings = [f for f in map(json.loads, result.stdout.splitlines()) if f["rule_id"] in BINARY_RULES]
    assert {f["service"] for f in findings} >= {"GoneSvc", "TamperSvc", "UnknownCaSvc", "DownloadedSvc", "HostedSvc"}
    for finding in findings:
        text = finding["explanation"]
        assert NO_VALUE not in text and "ServiceDll none" not in text, text
        if finding["service"] != "HostedSvc":
            assert "ServiceDll" not in text, text  # the service has none: no sentence about it
    (hosted_missing,) = [f for f in findings if f["service"] == "HostedSvc"]
    assert hosted_missing["rule_id"] == "service-binary-missing"
    assert hosted_missing["explanation"] == (
        "Service HostedSvc points at a file not found on the disk: image \\Windows\\System32\\svchost.exe "
        "(exists: yes); ServiceDll \\Windows\\System32\\gonedll.dll (exists: no)."
    )
