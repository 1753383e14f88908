"""Equal lists of triggers and equal failure actions are encoded once per table
(triage/service_json.py ``typed_key``): keys are equal only for values of the same types all
the way down, so a value that changes -- in content or only in type -- gets its own text."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

from hypothesis import given
from hypothesis import strategies as st

from hivescan.scm.failure_actions import FailureAction, FailureActions
from hivescan.scm.triggers import Trigger, TriggerData
from hivescan.triage.service_json import _UNKEYED, typed_key
from hivescan.triage.service_table import services_table
from tests.triage.test_service_table import _assert_same, _base_records


class Pair(NamedTuple):
    a: Any
    b: Any


def _strictly_same(a: Any, b: Any) -> bool:
    """Same types all the way down, same items in the same order, equal scalars."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_strictly_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_strictly_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True),
    st.sampled_from(["", "1", "a"]),
    st.binary(max_size=2),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(["a", "b", "1"]) | st.integers(0, 1), inner, max_size=3),
        st.builds(Pair, inner, inner),
    ),
    max_leaves=8,
)


@given(_VALUES, _VALUES)
def test_equal_keys_only_for_strictly_equal_values(a: Any, b: Any) -> None:
    key_a, key_b = typed_key(a), typed_key(b)
    if key_a is not _UNKEYED and key_a == key_b:
        assert _strictly_same(a, b), (a, b)
    if key_a is not _UNKEYED:
        assert typed_key(a) == key_a and hash(key_a) == hash(typed_key(a))


def test_values_python_calls_equal_are_keyed_apart() -> None:
    assert typed_key(1) != typed_key(True)
    assert typed_key(1.0) is _UNKEYED and typed_key(-0.0) is _UNKEYED
    assert typed_key((1,)) != typed_key([1])
    assert typed_key(Pair(1, 2)) != typed_key((1, 2))
    assert typed_key({"a": 1, "b": 2}) != typed_key({"b": 2, "a": 1})  # order is part of the text
    assert typed_key({1: "a"}) is _UNKEYED
    assert typed_key(b"a") != typed_key("a")


def test_a_changed_trigger_or_failure_action_gets_its_own_text() -> None:
    base = _base_records()[0]
    trigger = Trigger("0", 0, 133498794998941043, 1, 1, None, (TriggerData(1, 4, 1, "01000000"),))
    stock = FailureActions(86400, (FailureAction(1, 60000),), 1, 0, 0, 20)
    records = [
        replace(base, triggers=(trigger,), failure_actions=stock),
        replace(base, triggers=(trigger._replace(action=2),), failure_actions=stock._replace(reset_period_s=0)),
        replace(base, triggers=(trigger,), failure_actions=stock),  # the first again: its text
        replace(base, triggers=(trigger._replace(action=True),), failure_actions=stock._replace(declared_count=True)),
    ]
    _assert_same(records, "HOST")
    table = services_table(records, "HOST")
    triggers = table.column("triggers").to_pylist()
    actions = table.column("failure_actions").to_pylist()
    assert triggers[0] == triggers[2] and len({triggers[0], triggers[1], triggers[3]}) == 3
    assert actions[0] == actions[2] and len({actions[0], actions[1], actions[3]}) == 3
