"""The services DataFrame: typed columns, provenance under the JSONL names, nothing lost."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import hivescan
from hivescan.testing.regf import filetime
from tests.conftest import FIXTURES, system_root

DEMO = FIXTURES / "demo-SYSTEM"


def test_frame_dtypes_and_columns() -> None:
    with hivescan.open_hive(DEMO) as hive:
        records = hive.services("all")
        frame = hive.services_frame("all")
    assert len(frame) == len(records)
    assert str(frame["start"].dtype) == "Int64" and str(frame["tag"].dtype) == "Int64"
    assert isinstance(frame["name"].dtype, pd.CategoricalDtype)
    assert isinstance(frame["status"].dtype, pd.CategoricalDtype)
    assert str(frame["last_write"].dt.tz) == "UTC"
    assert list(frame.columns[:4]) == ["name", "status", "control_set", "type"]
    assert {"hive_sha256", "key_path", "last_write_filetime", "diagnostic_codes", "raw_values"} <= set(frame.columns)
    row = frame[(frame["name"] == "WinDiagHost")].iloc[0]
    assert "hidden_tail" in row["diagnostic_codes"]
    assert any(v["name"] == "DisplayName" for v in row["raw_values"])
    assert pd.isna(frame.loc[frame["name"] == "Beep", "tag"].iloc[0]) is False  # Beep has Tag 2


def test_impossible_filetime_is_nat_and_raw_kept(write_hive: Callable[..., Path]) -> None:
    root = system_root()
    key = root.key("ControlSet001\\Services\\Future")
    key.set_dword("Type", 16).set_dword("Start", 3).set_dword("ErrorControl", 1)
    key.last_write = 0x7FFF_FFFF_FFFF_FFFF
    old = root.key("ControlSet001\\Services\\Old")
    old.set_dword("Type", 16).set_dword("Start", 3).set_dword("ErrorControl", 1)
    old.last_write = filetime("1999-12-31T23:59:59Z")
    with hivescan.open_hive(write_hive(root)) as hive:
        frame = hive.services_frame().set_index("name")
        (future,) = [r for r in hive.services() if r.name == "Future"]
    assert future.last_write is None and future.origin.last_write_filetime == 0x7FFF_FFFF_FFFF_FFFF
    assert pd.isna(frame.loc["Future", "last_write"])
    assert frame.loc["Future", "last_write_filetime"] == 0x7FFF_FFFF_FFFF_FFFF
    assert frame.loc["Old", "last_write"] == pd.Timestamp("1999-12-31T23:59:59Z")


def test_records_pickle_with_their_provenance() -> None:
    with hivescan.open_hive(DEMO) as hive:
        records = hive.services()
    again = pickle.loads(pickle.dumps(records))
    assert again == records
    assert again[0].origin.hive_sha256 == records[0].origin.hive_sha256


def test_empty_frame_has_columns(write_hive: Callable[..., Path]) -> None:
    with hivescan.open_hive(write_hive(system_root())) as hive:
        frame = hive.services_frame()
    assert frame.empty and "name" in frame.columns


def test_parquet_round_trip_keeps_decoded_values(tmp_path: Path) -> None:
    from hivescan.frames import read_records_parquet

    with hivescan.open_hive(DEMO) as hive:
        records = hive.services("all")
        hive.services_frame("all").to_parquet(tmp_path / "s.parquet", index=False)
    again = read_records_parquet(tmp_path / "s.parquet")
    by_name = {(r.control_set, r.name): r for r in again}
    for rec in records:
        back = by_name[(rec.control_set, rec.name)]
        assert back.failure_actions == rec.failure_actions and back.triggers == rec.triggers
        assert back.raw_values == rec.raw_values and back.security_sddl == rec.security_sddl
