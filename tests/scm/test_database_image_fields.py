"""The ImagePath fields the database pass sets, written out field by field (scm/database.py),
against the general rule they replace: a value is set unless it is None, () or False."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import hivescan
from hivescan.scm.database import IMAGE_FIELDS, _put_image_fields
from hivescan.scm.imagepath import ImageResolution
from hivescan.scm.record import ServiceRecord

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _template() -> ServiceRecord:
    with hivescan.open_hive(FIXTURES / "demo-SYSTEM") as hive:
        record = hive.services()[0]
    defaults: dict[str, Any] = {name: ServiceRecord.__dataclass_fields__[name].default for name in IMAGE_FIELDS}
    return replace(record, **defaults)


TEMPLATE = _template()
text = st.one_of(st.none(), st.text(max_size=4))  # "" is a value: it is set
anything = st.one_of(st.none(), st.just(()), st.just(False), st.just(True), st.text(max_size=3), st.tuples(st.text()))


@given(
    st.tuples(text, text, text, text, st.one_of(st.just(()), st.none(), st.tuples(st.text(max_size=3))), anything, text)
)
def test_fields_set_as_the_general_rule(values: tuple[object, ...]) -> None:
    fresh = replace(TEMPLATE)
    _put_image_fields(fresh, ImageResolution(*values))  # type: ignore[arg-type]
    expected = replace(TEMPLATE)
    for name, value in zip(IMAGE_FIELDS, values, strict=True):
        if value is not None and value != () and value is not False:
            object.__setattr__(expected, name, value)
    assert [getattr(fresh, n) for n in IMAGE_FIELDS] == [getattr(expected, n) for n in IMAGE_FIELDS]
    assert fresh == expected  # nothing else touched


def test_defaults_are_what_the_rule_assumes() -> None:
    defaults = [ServiceRecord.__dataclass_fields__[name].default for name in IMAGE_FIELDS]
    assert all(value is None or value == () or value is False for value in defaults)
