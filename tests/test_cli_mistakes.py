"""Mistakes on the command line are refused in one line with a documented exit code, never
answered with an empty (clean-looking) result; ``--version`` names the build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hivescan
from hivescan.cli import app
from hivescan.errors import ExitCode
from tests.conftest import FIXTURES, ROOT

DEMO = FIXTURES / "demo-SYSTEM"
DELETED = FIXTURES / "deleted-SYSTEM"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _one_line_usage_error(code: int, out: str, err: str) -> str:
    assert code == ExitCode.USAGE, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hivescan: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("services", str(DEMO), "--parser", "bogus"), "'bogus' is not a parser"),
        (("scan", str(DEMO), "--parser", "bogus"), "'bogus' is not a parser"),
        (("services", str(DEMO), "--status", "bogus"), "'bogus' is not a record status"),
        (("services", str(DEMO), "-f", "xml"), "--format"),
        (("services",), "Missing argument"),
        (("no-such-command",), "No such command"),
        (("services", str(DEMO), "--no-such-option"), "No such option"),
        (("rules", "lint", "--bogus"), "No such option"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args: tuple[str, ...], said: str) -> None:
    line = _one_line_usage_error(*run(*args))
    assert said in line
    assert "--help" in line  # where to look next
    assert "╭" not in line and "│" not in line  # not Typer's box


def test_usage_error_of_the_installed_command_is_one_line() -> None:
    """The console script, not only CliRunner: what an analyst's shell shows."""
    done = subprocess.run(
        [sys.executable, "-m", "hivescan", "services", str(DEMO), "--parser", "bogus"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == ExitCode.USAGE
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("hivescan: error: ")


def test_status_deleted_implies_deleted_and_says_so() -> None:
    code, out, err = run("services", str(DELETED), "--status", "deleted", "-f", "jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and {r["status"] for r in rows} == {"deleted"}
    assert "--status deleted implies --deleted" in err
    code, explicit, _ = run("services", str(DELETED), "--deleted", "--status", "deleted", "-f", "jsonl")
    assert code == 0 and explicit == out


def test_missing_log_file_is_refused_not_ignored(tmp_path: Path) -> None:
    missing = tmp_path / "SYSTEM.LOG1"
    for command in ("services", "info", "scan"):
        code, out, err = run(command, str(FIXTURES / "dirty-SYSTEM"), "--log", str(missing))
        assert code == ExitCode.NOT_FOUND, (command, err)
        assert out == "" and err == f"hivescan: error: {missing}: no such transaction log file (--log)\n"


def test_a_rules_folder_holding_no_rule_is_a_usage_error(tmp_path: Path) -> None:
    empty = tmp_path / "rules"
    empty.mkdir()
    (empty / "README.txt").write_text("not a rule\n", encoding="utf-8")
    for args in (("scan", str(DEMO), "--rules", str(empty)), ("rules", "lint", "--rules", str(empty))):
        line = _one_line_usage_error(*run(*args))
        assert "holds no rule file" in line, args
    code, out, err = run("rules", "list", "--rules", str(tmp_path / "nowhere"))
    assert "no such rules folder" in _one_line_usage_error(code, out, err)


def test_version_option_prints_the_package_version() -> None:
    code, out, err = run("--version")
    assert code == 0 and err == ""
    assert out == f"hivescan {hivescan.__version__}\n"


@pytest.mark.parametrize(
    "args",
    [
        ("services", str(DEMO)),
        ("scan", str(DEMO), "-q"),
        ("boot-plan", str(DEMO), "-q"),
        ("diff", str(DEMO), "-c", "1", "--against-control-set", "2", "-q"),
    ],
)
def test_every_json_jsonl_csv_row_names_the_hivescan_version(args: tuple[str, ...]) -> None:
    import csv
    import io

    for fmt in ("json", "jsonl", "csv"):
        code, out, err = run(*args, "-f", fmt)
        assert code == 0, (fmt, err)
        if fmt == "json":
            rows = json.loads(out)
        elif fmt == "jsonl":
            rows = [json.loads(line) for line in out.splitlines()]
        else:
            rows = list(csv.DictReader(io.StringIO(out)))
        assert rows, (args, fmt)
        assert {r["hivescan_version"] for r in rows} == {hivescan.__version__}, (args, fmt)


def test_info_json_and_parquet_files_name_the_hivescan_version(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    code, out, _ = run("info", str(DEMO), "-f", "json")
    assert code == 0 and json.loads(out)["hivescan_version"] == hivescan.__version__
    for args in (
        ("services", str(DEMO), "-f", "parquet", "-o", str(tmp_path / "s.parquet")),
        ("baseline", "build", str(DEMO), "-o", str(tmp_path / "b.parquet"), "-q"),
    ):
        code, _, err = run(*args)
        assert code == 0, err
    for name in ("s.parquet", "b.parquet"):
        metadata = pq.read_schema(tmp_path / name).metadata
        assert metadata[b"hivescan_version"] == hivescan.__version__.encode()
        assert b"pandas" in metadata  # pandas' own metadata kept: read_parquet unchanged


def test_no_arguments_prints_the_help_once_with_exit_2() -> None:
    code, out, err = run()
    assert code == ExitCode.USAGE and err == ""
    assert out.count("Usage:") == 1 and "--version" in out and "scan" in out
