"""Normalising parsed events: named and unnamed data, hostile and random structures."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.events.rows import normalise


def _event(event_id: Any, provider: str, data: Any, *, key: str = "EventData") -> dict[str, Any]:
    return {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": provider}},
                "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": event_id},
                "TimeCreated": {"#attributes": {"SystemTime": "2016-09-21T03:41:02.542968Z"}},
                "EventRecordID": 8623,
                "Channel": "System",
                "Computer": "HOST",
            },
            key: data,
        }
    }


def test_unnamed_7045_data_is_named_by_position() -> None:
    raw = ["Svc", "C:\\x.exe", "user mode service", "demand start", "LocalSystem"]
    row = normalise(_event(7045, "Service Control Manager", {"Data": raw}))
    assert row is not None
    assert (row.service_name, row.image_path, row.account) == ("Svc", "C:\\x.exe", "LocalSystem")
    assert row.data["Data"] == raw  # the raw list is kept


def test_other_providers_and_ids_are_not_service_events() -> None:
    assert normalise(_event(7045, "Some-Other-Provider", {"ServiceName": "x"})) is None
    assert normalise(_event(4624, "Microsoft-Windows-Security-Auditing", {})) is None
    sysmon_elsewhere = {"TargetObject": "HKLM\\Software\\Run\\x", "Details": "y"}
    assert normalise(_event(13, "Microsoft-Windows-Sysmon", sysmon_elsewhere)) is None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    event_id=st.sampled_from([7045, 4697, 7040, 7036, 7034, 7031, 7000, 7009, 12, 13, 14, 1102, 104, "x", None]),
    provider=st.sampled_from(
        [
            "Service Control Manager",
            "Microsoft-Windows-Security-Auditing",
            "Microsoft-Windows-Sysmon",
            "Microsoft-Windows-Eventlog",
            "",
        ]
    ),
    data=_json,
    key=st.sampled_from(["EventData", "UserData"]),
)
def test_any_structure_normalises_or_is_skipped_never_raises(event_id: Any, provider: str, data: Any, key: str) -> None:
    row = normalise(_event(event_id, provider, data, key=key))
    if row is not None:
        assert isinstance(row.event_id, int) and row.kind


@settings(max_examples=200, deadline=None)
@given(anything=_json)
def test_random_json_never_raises(anything: Any) -> None:
    normalise({"Event": anything} if not isinstance(anything, dict) else anything)
