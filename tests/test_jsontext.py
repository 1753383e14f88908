"""hivescan.jsontext.dumps_indented writes the same characters as json.dumps with an indent."""

from __future__ import annotations

import enum
import json
import math
from datetime import UTC, datetime
from pathlib import Path, PureWindowsPath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hivescan.jsontext import dumps_indented


class Level(enum.IntEnum):
    HIGH = 3


class Tag(str):
    """A str subclass (json writes it as a string)."""


class Opaque:
    """Only ``default`` turns it into text."""

    def __str__(self) -> str:
        return "opaque \u00e9\ud800"


def reference(obj: Any, indent: int = 1, default: Any = str) -> str:
    return json.dumps(obj, ensure_ascii=True, indent=indent, default=default)


ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | ANY_TEXT
    | st.sampled_from([Level.HIGH, Tag("tag"), Opaque(), datetime(2026, 12, 6, tzinfo=UTC), PureWindowsPath(r"C:\a")])
)
KEYS = ANY_TEXT | st.integers() | st.floats(allow_nan=True) | st.booleans() | st.none()
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.lists(inner, max_size=3).map(tuple) | st.dictionaries(KEYS, inner, max_size=5)
    ),
    max_leaves=40,
)


@given(VALUES, st.integers(min_value=0, max_value=3))
def test_the_same_text_as_json(value: Any, indent: int) -> None:
    assert dumps_indented(value, indent, str) == reference(value, indent)


@pytest.mark.parametrize("value", [float("nan"), math.inf, -math.inf, [], {}, [[]], {"a": {}}, "", 2**70, -0.0])
def test_edges(value: Any) -> None:
    assert dumps_indented(value, 1, str) == reference(value)
    assert dumps_indented({"k": value, 1.5: [value]}, 2, str) == reference({"k": value, 1.5: [value]}, 2)


def test_the_same_errors_as_json() -> None:
    loop: list[Any] = []
    loop.append(loop)
    for bad, error in (([loop], ValueError), ({(1, 2): 1}, TypeError)):
        with pytest.raises(error):
            reference(bad)
        with pytest.raises(error):
            dumps_indented(bad, 1, str)
    with pytest.raises(TypeError):
        dumps_indented([Opaque()], 1)  # no default: as json.dumps without one
    with pytest.raises(TypeError):
        reference([Opaque()], default=None)


def test_a_triage_summary(tmp_path: Path) -> None:
    """A real summary (a built fleet triaged in this process) and summary.json as written."""
    from hivescan.triage import ScanOptions, discover, run_triage, summarise, write_summary
    from hivescan.triage.seams import analyser
    from tests.triage.conftest import write_fleet

    write_fleet(tmp_path / "fleet", hosts=3)
    out = tmp_path / "out"
    run_triage(discover([tmp_path / "fleet"]).inputs, out, executor=None, options=ScanOptions(analyse=analyser()))
    summary = summarise(out)
    assert summary["stacking"]["services"]
    assert dumps_indented(summary, 1, str) == reference(summary)
    assert write_summary(out, summary).read_text(encoding="utf-8") == reference(summary) + "\n"
