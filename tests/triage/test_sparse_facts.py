"""Facts of files not collected (a path, diagnostics, nulls): their text and flat columns.

``SparseJson`` builds the sorted JSON of such facts around the path, once per shape;
``sparse_flat`` gives their flat columns without walking them. Both are compared with the
encoder and the walk on random facts (hypothesis: any keys, values of every JSON type, paths
with lone surrogates and non-ASCII, objects equal to None that are not None), and the whole
table with the row path on a hive triaged in a volume folder without binaries, where every
service's facts have that shape.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.files.columns import FILE_FLAT_FACTS
from hivescan.triage.inputs import HiveInput
from hivescan.triage.scan import ScanOptions, scan_one
from hivescan.triage.schema import service_rows, services_schema, table_from_rows
from hivescan.triage.service_table import services_table
from hivescan.triage.sparse_facts import SparseJson, sparse_flat, sparse_path
from tests.conftest import FIXTURES

ENCODE = json.JSONEncoder(ensure_ascii=True, sort_keys=True).encode
PATHS = list(FILE_FLAT_FACTS.values())


class EqualToEverything:
    """Compares equal to None (and to anything): never counted as a None."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


def _walk(facts: Mapping[str, Any]) -> tuple[Any, ...]:
    out = []
    for steps in PATHS:
        value: Any = facts
        for step in steps:
            value = value.get(step) if isinstance(value, Mapping) else None
        out.append(value)
    return tuple(out)


_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=10)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), _TEXT)
_DIAGNOSTIC = st.dictionaries(st.sampled_from(["code", "field", "message", "level", "é"]) | _TEXT, _SCALAR, max_size=4)
_KEYS = st.sampled_from(["exists", "size", "md5", "sha256", "signature", "pe", "version_info", "zone_identifier", "a"])


@st.composite
def _facts(draw: st.DrawFn) -> dict[str, Any]:
    facts: dict[str, Any] = dict.fromkeys(draw(st.lists(_KEYS | _TEXT, max_size=8)))
    for key in list(facts):
        if draw(st.integers(0, 9)) == 0:  # now and then a value that is not None
            facts[key] = draw(_SCALAR | st.just(EqualToEverything()) | st.lists(_SCALAR, max_size=2))
    facts["path"] = draw(_TEXT | st.none())
    facts["diagnostics"] = draw(st.lists(_DIAGNOSTIC, max_size=2) | st.none() | st.just(()))
    if draw(st.booleans()):  # another key order
        facts = dict(reversed(list(facts.items())))
    return facts


@settings(max_examples=400, deadline=None)
@given(st.lists(_facts(), min_size=1, max_size=6))
def test_sparse_text_and_flat_columns_are_the_encoders_and_the_walks(many: list[dict[str, Any]]) -> None:
    sparse = SparseJson(ENCODE, ", ", ": ")
    flat = sparse_flat(PATHS)
    assert flat is not None
    for facts in many:
        path = sparse_path(facts)
        others = [v for k, v in facts.items() if k not in ("path", "diagnostics")]
        is_sparse = type(facts["path"]) is str and type(facts["diagnostics"]) is list
        assert (path is not None) == (is_sparse and all(v is None for v in others))
        if path is None:
            continue
        assert sparse.text(facts, path) == ENCODE(facts)
        assert flat(path) == _walk(facts)


def test_one_shape_many_paths_and_diagnostics_of_other_types() -> None:
    """The text around the path is reused for the same keys and diagnostics only: 1, True and
    "1" in a diagnostic are three shapes."""
    sparse = SparseJson(ENCODE, ", ", ": ")
    base = dict.fromkeys(["exists", "size", "signature"])
    shapes = [
        {**base, "path": "\\Windows\\a.sys", "diagnostics": [{"code": "c", "n": "1"}]},
        {**base, "path": "\\Windows\\b \ud800 é.sys", "diagnostics": [{"code": "c", "n": "1"}]},
        {**base, "path": "\\Windows\\c.sys", "diagnostics": [{"code": "c", "n": 1}]},
        {**base, "path": "\\Windows\\d.sys", "diagnostics": [{"code": "c", "n": True}]},
        {**base, "path": "\\Windows\\e.sys", "diagnostics": []},
        {"path": "p", "diagnostics": [], **base},  # another key order
    ]
    for facts in shapes:
        path = sparse_path(facts)
        assert path == facts["path"]
        assert sparse.text(facts, path) == ENCODE(facts)


def test_facts_that_are_not_sparse() -> None:
    base = {"exists": None, "path": "p", "diagnostics": []}
    assert sparse_path(base) == "p"
    assert sparse_path({**base, "exists": False}) is None
    assert sparse_path({**base, "exists": EqualToEverything()}) is None
    assert sparse_path({**base, "path": None}) is None
    assert sparse_path({**base, "diagnostics": None}) is None
    assert sparse_path({**base, "diagnostics": ()}) is None
    assert sparse_path(tuple(base.items())) is None
    assert sparse_flat([("diagnostics", "code")]) is None  # a column that reads the diagnostics


def test_table_of_a_hive_in_a_folder_without_binaries(tmp_path: Path) -> None:
    """Triage of HOST/Windows/System32/config/SYSTEM with no binaries beside it: every facts
    object is a file not collected, and the table is the row path's."""
    config = tmp_path / "HOST" / "Windows" / "System32" / "config"
    config.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "demo-SYSTEM", config / "SYSTEM")
    result = scan_one(HiveInput(str(config / "SYSTEM")), ScanOptions(events=False))
    records = list(result.records)
    assert records and all(r.image_file is None or sparse_path(r.image_file) is not None for r in records)
    assert sum(r.image_file is not None for r in records) > len(records) // 2
    got = services_table(records, result.outcome.host)
    want = table_from_rows(list(service_rows(records, result.outcome.host)), services_schema())
    for name in want.schema.names:
        assert got.column(name).equals(want.column(name)), name
