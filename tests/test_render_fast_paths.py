"""The JSON/JSONL/CSV writers' fast paths give the text the plain ones give.

``dumps`` reuses one encoder (``json.dumps`` with ``default=`` builds one per call), the
version stamp is looked up once per output, and CSV makes each distinct text cell safe once
(keyed by the exact ``str``) and collects the header without a list scan per key. The
references below are the plain implementations these replaced.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.render.formats import VERSION_FIELD, csv_text, dumps, write_jsonl
from hivescan.textsafe import csv_cell
from tests.conftest import FIXTURES


def _reference_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    rows = [{**r, VERSION_FIELD: r.get(VERSION_FIELD, hivescan.__version__)} for r in rows]
    header: list[str] = []
    for row in rows:
        for key in row:
            if key not in header:
                header.append(key)

    def cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, list | tuple | dict):
            return csv_cell(json.dumps(value, ensure_ascii=True, default=str))
        if isinstance(value, str):
            return csv_cell(value)
        return value

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(str(col)) for col in header])
    for row in rows:
        writer.writerow([cell(row.get(col)) for col in header])
    return out.getvalue()


class _Text(str):
    """A str subclass: never served from the exact-str memo."""


_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=8)
_CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    _TEXT,
    _TEXT.map(_Text),
    st.sampled_from(["=1+1", "-x", "@a", "\tt", "1", "True", "[]", "{}"]),
    st.lists(_TEXT, max_size=2),
    st.lists(_TEXT, max_size=2).map(tuple),
    st.dictionaries(_TEXT, st.none() | st.integers() | _TEXT, max_size=2),
)
_ROWS = st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", VERSION_FIELD, "=f"]), _CELL, max_size=5), max_size=6)


@settings(max_examples=300, deadline=None)
@given(_ROWS)
def test_csv_is_the_plain_csv(rows: list[dict[str, Any]]) -> None:
    assert csv_text(rows) == _reference_csv(rows)


@settings(max_examples=300, deadline=None)
@given(_ROWS)
def test_jsonl_is_the_plain_jsonl(rows: list[dict[str, Any]]) -> None:
    out = io.StringIO()
    write_jsonl(rows, out)
    want = "".join(
        json.dumps({**r, VERSION_FIELD: r.get(VERSION_FIELD, hivescan.__version__)}, ensure_ascii=True, default=str)
        + "\n"
        for r in rows
    )
    assert out.getvalue() == want
    for row in rows:
        assert dumps(row) == json.dumps(row, ensure_ascii=True, default=str)


def test_csv_of_a_hive_is_the_plain_csv() -> None:
    """A whole service table (the repeated texts the memo serves), flat file columns included."""
    from hivescan.files.columns import flat_file_columns

    with hivescan.open_hive(FIXTURES / "demo-SYSTEM") as hive:
        rows = [r.to_dict() for r in hive.services("all", deleted=True)]
    rows = [{**row, **flat_file_columns(row)} for row in rows]
    assert csv_text(rows) == _reference_csv(rows)
