"""The one-pass stacking (``stacking._group_rows``) gives what the pandas groupby gave.

The oracle below is the former implementation (``groupby(...).agg`` with a lambda per group),
kept here only to compare (raw names ordered case-insensitively, then case-sensitively: by
``str.upper`` alone the order of case variants was a set's, random from run to run); it is
run on a built fleet, on the shared real hives' records, and on random frames with ties,
case variants, instances and missing values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.triage import discover, scan_batch
from hivescan.triage.stacking import STACK_COLUMNS, host_keys, stacks
from tests.conftest import SHARED_HIVES
from tests.triage.conftest import write_fleet


def _oracle_stack(
    frame: pd.DataFrame, key: pd.Series, raw: pd.Series, host_names_max: int, rows: object = None
) -> pd.DataFrame:
    work = pd.DataFrame(
        {
            "value": key.astype("string"),
            "raw": raw.astype("string"),
            "host": host_keys(frame),
            "hive": frame["hive_sha256"].astype("string"),
            "service": frame["name"].astype("string"),
        }
    ).dropna(subset=["value", "raw"])
    work = work[work["value"] != ""]
    if work.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in STACK_COLUMNS})
    groups = work.groupby("value", sort=True)
    out = pd.DataFrame(
        {
            "example": groups["raw"].agg(lambda s: s.value_counts().index[0]),
            "forms": groups["raw"].nunique(),
            "hosts": groups["host"].nunique(),
            "hives": groups["hive"].nunique(),
            "records": groups.size(),
            "host_names": groups["host"].agg(lambda s: sorted(set(s))),
            "services": groups["service"].agg(lambda s: sorted(set(s), key=lambda n: (n.upper(), n))),
        }
    ).reset_index()
    out["host_names"] = [names if len(names) <= host_names_max else [] for names in out["host_names"]]
    out = out.sort_values(["hosts", "value"], kind="stable").reset_index(drop=True)
    return out[STACK_COLUMNS]


def _oracle(services: pd.DataFrame, host_names_max: int = 20) -> dict[str, pd.DataFrame]:
    """Each stack by the groupby above, with every row's key computed on its own."""
    from hivescan.triage.stacking import path_stack_key, service_stack_name

    types = services["type"].astype("Int64")
    out = {}
    for name, column, key_of in (
        ("services", "name", service_stack_name),
        ("image_paths", "image_path", path_stack_key),
        ("service_dlls", "service_dll", path_stack_key),
    ):
        raw = services[column].astype("string")
        keys = [
            None if pd.isna(v) else key_of(str(v), None if pd.isna(t) else int(t))
            for v, t in zip(raw, types, strict=True)
        ]
        out[name] = _oracle_stack(services, pd.Series(keys, index=services.index, dtype="string"), raw, host_names_max)
    return out


def _plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (list(v) if isinstance(v, list) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def _assert_same(services: pd.DataFrame, host_names_max: int = 20) -> None:
    expected, got = _oracle(services, host_names_max), stacks(services, host_names_max)
    for name in expected:
        assert _plain(got[name]) == _plain(expected[name]), name
        assert list(got[name].columns) == list(expected[name].columns)


def test_fast_stacks_equal_groupby_on_a_fleet(tmp_path: Path) -> None:
    write_fleet(tmp_path, hosts=6)
    services = scan_batch(discover([tmp_path]).inputs).services
    _assert_same(services)
    _assert_same(services, host_names_max=2)


def test_fast_stacks_equal_groupby_on_real_hives() -> None:
    if not SHARED_HIVES.is_dir():
        pytest.skip(f"real test hives not available ({SHARED_HIVES} missing)")
    services = scan_batch(discover([SHARED_HIVES]).inputs).services
    assert len(services) > 500
    _assert_same(services)


_names = st.sampled_from(["Svc", "SVC", "svc", "Other", "CDPUserSvc_3fa1e", "CDPUserSvc_41b07", "x_1", ""])
_paths = st.one_of(
    st.none(),
    st.sampled_from(["C:\\Windows\\a.exe", "c:\\windows\\A.exe", "%SystemRoot%\\a.exe", "\\??\\C:\\b.sys", "b.sys"]),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            _names,
            st.one_of(st.none(), st.sampled_from([0x10, 0x20, 0x1, 0xE0])),
            _paths,
            _paths,
            st.sampled_from(["H1", "H2", "", None]),
            st.sampled_from(["a" * 64, "b" * 64, "c" * 64]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_fast_stacks_equal_groupby_on_random_frames(rows: list[tuple[Any, ...]]) -> None:
    services = pd.DataFrame(rows, columns=["name", "type", "image_path", "service_dll", "host", "hive_sha256"])
    services["type"] = services["type"].astype("Int64")
    _assert_same(services, host_names_max=1)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), _names), st.one_of(st.none(), st.sampled_from([0x10, 0x20, 0x1, 0xE0, 0x2])), _paths
        ),
        min_size=1,
        max_size=40,
    )
)
def test_keys_once_per_distinct_pair_equal_keys_per_row(rows: list[tuple[Any, ...]]) -> None:
    """``key_codes`` computes each distinct (value, type) pair once; per row, as before, is the oracle."""
    import pyarrow as pa

    from hivescan.triage.stacking import codes_of, key_codes, path_stack_key, service_stack_name

    services = pd.DataFrame(rows, columns=["name", "type", "image_path"])
    services["type"] = services["type"].astype("Int64")
    types = codes_of(pa.array(services["type"].tolist(), pa.int64(), from_pandas=True))
    for column, key_of in (("name", service_stack_name), ("image_path", path_stack_key)):
        raw = services[column].astype("string")
        expected = [
            None if pd.isna(v) else key_of(str(v), None if pd.isna(t) else int(t))
            for v, t in zip(raw, services["type"], strict=True)
        ]
        codes, keys = key_codes(codes_of(pa.array(raw.tolist(), pa.string(), from_pandas=True)), types, key_of)
        got = [keys[c] if c >= 0 else None for c in codes.tolist()]
        assert got == [None if k == "" else k for k in expected]  # an empty key is no key


CASE_VARIANTS = """
import pandas as pd
from hivescan.triage.stacking import stacks
rows = [("mpssvc", 0x20, "h1", "a" * 64), ("MpsSvc", 0x20, "h2", "b" * 64), ("MPSSVC", 0x20, "h3", "c" * 64)]
services = pd.DataFrame(rows, columns=["name", "type", "host", "hive_sha256"]).assign(image_path=None, service_dll=None)
print(stacks(services)["services"]["services"][0])
"""


def test_case_variants_of_a_name_come_in_one_order_whatever_the_hash_seed() -> None:
    """summary.json listed ``MpsSvc`` and ``mpssvc`` in a set's order: it changed between runs."""
    import os
    import subprocess
    import sys

    seen = set()
    for seed in ("0", "1", "2", "3", "4", "5"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        command = [sys.executable, "-c", CASE_VARIANTS]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        seen.add(done.stdout.strip())
    assert seen == {"['MPSSVC', 'MpsSvc', 'mpssvc']"}
