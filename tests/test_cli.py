"""The ``hivescan`` command: formats read back through the library, errors are one line + exit code."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import hivescan
from hivescan.cli import app
from hivescan.errors import ExitCode
from hivescan.scm.record import ServiceRecord
from hivescan.testing.regf import HiveWriter, WKey
from tests.conftest import FIXTURES, shared_hive

DEMO = FIXTURES / "demo-SYSTEM"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_jsonl_reads_back_into_the_same_records() -> None:
    code, out, _ = run("services", str(DEMO), "-c", "all", "-f", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    with hivescan.open_hive(DEMO) as hive:
        want = hive.services("all")
    assert [ServiceRecord.from_dict(r) for r in rows] == want
    required = {
        "name", "status", "control_set", "key_path", "last_write", "hive_sha256", "type", "start", "error_control",
        "image_path", "object_name", "display_name", "service_dll", "diagnostics",
    }  # fmt: skip
    assert required <= set(rows[0])


def test_json_csv_parquet_and_table(tmp_path: Path) -> None:
    code, out, _ = run("services", str(DEMO), "-f", "json")
    assert code == 0 and len(json.loads(out)) == len(hivescan.open_hive(DEMO).services())
    code, out, _ = run("services", str(DEMO), "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {"name", "hive_sha256", "image_path"} <= set(rows[0])
    long_row = next(r for r in rows if r["name"] == "MsUpdateCheck")
    assert len(long_row["image_path"]) > 700  # never truncated
    target = tmp_path / "s.parquet"
    code, _, _ = run("services", str(DEMO), "-c", "all", "-f", "parquet", "-o", str(target))
    frame = pd.read_parquet(target)
    assert code == 0 and len(frame) == len(hivescan.open_hive(DEMO).services("all"))
    code, out, _ = run("services", str(DEMO))
    assert code == 0 and "PSEXESVC" in out and "service records" in out


def test_parquet_needs_an_output_file() -> None:
    code, _, err = run("services", str(DEMO), "-f", "parquet")
    assert code == ExitCode.USAGE and "-o FILE" in err


def test_status_filter_and_output_file(tmp_path: Path) -> None:
    out_file = tmp_path / "x.jsonl"
    code, _, _ = run("services", str(DEMO), "--status", "rejected", "-f", "jsonl", "-o", str(out_file))
    statuses = {json.loads(line)["status"] for line in out_file.read_text().splitlines()}
    assert code == 0 and statuses == {"rejected"}


def test_info_json() -> None:
    code, out, _ = run("info", str(DEMO), "-f", "json")
    info = json.loads(out)
    assert code == 0
    assert info["select"] == {"Current": 2, "Default": 2, "LastKnownGood": 1, "Failed": 0}
    assert [c["name"] for c in info["control_sets"]] == ["ControlSet001", "ControlSet002"]
    assert info["dirty"] is False and info["checksum_ok"] is True


def _user_hive(tmp_path: Path) -> Path:
    root = WKey("ROOT")
    for name in ("Software\\Microsoft", "Environment", "Console", "Control Panel"):
        root.key(name)
    path = tmp_path / "NTUSER.DAT"
    path.write_bytes(HiveWriter(root, file_name="\\??\\C:\\Users\\bob\\ntuser.dat").build().data)
    return path


def test_bad_inputs_get_one_line_and_the_documented_exit_code(tmp_path: Path) -> None:
    (tmp_path / "text.txt").write_text("hello")
    truncated = tmp_path / "cut"
    truncated.write_bytes(DEMO.read_bytes()[:4096])
    cases = [
        (str(tmp_path / "missing"), ExitCode.NOT_FOUND, "no such file"),
        (str(tmp_path), ExitCode.NOT_FOUND, "directory"),
        (str(tmp_path / "text.txt"), ExitCode.NOT_A_HIVE, "not a registry hive"),
        (str(_user_hive(tmp_path)), ExitCode.WRONG_HIVE, "user hive"),
        (str(truncated), ExitCode.DAMAGED, "truncated"),
    ]
    for path, exit_code, text in cases:
        code, out, err = run("services", path)
        assert code == exit_code, (path, err)
        assert text in err and err.count("\n") == 1 and "Traceback" not in err + out


def test_control_set_errors() -> None:
    code, _, err = run("services", str(DEMO), "-c", "7")
    assert code == ExitCode.NO_CONTROL_SET and "ControlSet007 does not exist" in err
    code, _, _ = run("services", str(DEMO), "-c", "bogus")
    assert code == ExitCode.USAGE


def test_damaged_hive_warns_on_stderr_and_still_outputs() -> None:
    code, out, err = run("services", str(shared_hive("xp-corrupted-SYSTEM")), "-f", "jsonl")
    assert code == 0
    assert len(out.splitlines()) == 198
    assert "warning: subkey_list_incomplete" in err
    code, out, err = run("services", str(shared_hive("xp-corrupted-SYSTEM")), "-f", "jsonl", "-q")
    assert err == "" and len(out.splitlines()) == 198


def test_python_dash_m_and_no_pandas_on_import() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hivescan", "services", str(DEMO), "-f", "jsonl"], capture_output=True, text=True
    )
    assert done.returncode == 0 and len(done.stdout.splitlines()) > 30
    probe = "import sys, hivescan, hivescan.cli; print('pandas' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"


def test_machine_formats_load_neither_rich_nor_pandas() -> None:
    """JSON Lines for tools: the table renderer (rich) and frames (pandas) stay unloaded (start-up time)."""
    probe = (
        "import contextlib, io, sys\n"
        "import hivescan.cli\n"
        f"sys.argv = ['hivescan', 'services', {str(DEMO)!r}, '-f', 'jsonl', '-q']\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "    hivescan.cli.main()\n"
        "loaded = [m for m in ('rich.console', 'rich.table', 'pandas') if m in sys.modules]\n"
        "print(len(out.getvalue().splitlines()), loaded)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    rows, loaded = done.stdout.split(" ", 1)
    assert int(rows) > 30 and loaded.strip() == "[]", done.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json", "table", "parquet"])
def test_lone_surrogates_survive_every_format(tmp_path: Path, fmt: str) -> None:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1)
    svc = root.key("ControlSet001\\Services\\Odd")
    svc.set_dword("Type", 16).set_dword("Start", 3).set_dword("ErrorControl", 1)
    svc.set("ImagePath", 1, b"\x00\xd8a\x00\x00\x00")
    path = tmp_path / "SYSTEM"
    path.write_bytes(HiveWriter(root).build().data)
    if fmt == "parquet":
        target = tmp_path / "out.parquet"
        code, _, _ = run("services", str(path), "-f", fmt, "-o", str(target))
        assert code == 0 and pd.read_parquet(target)["image_path"].tolist() == ["\\ud800a"]
        return
    code, out, _ = run("services", str(path), "-f", fmt)
    assert code == 0 and "\\ud800" in out
