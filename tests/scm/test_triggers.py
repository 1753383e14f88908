"""TriggerInfo decoding (scm-spec §4.4): numeric order, ci names, paired data, GUID format, limits."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_BINARY, REG_DWORD, REG_SZ
from hivescan.scm import triggers as triggers_module
from hivescan.scm.triggers import (
    TRIGGER_TYPES,
    WELL_KNOWN_GUIDS,
    Trigger,
    decode_trigger_data,
    decode_triggers,
    format_guid,
)
from hivescan.testing.encoders import encode_trigger_data, trigger_values


def raw_trigger(subkey: str, values: list[tuple[str, int, bytes]], last_write: int = 1) -> dict[str, Any]:
    return {"subkey": subkey, "last_write_filetime": last_write, "values": tuple(RawValue(*v) for v in values)}


def codes(diags: list) -> set[str]:
    return {d.code for d in diags}


def test_guid_bytes_are_formatted_zero_padded() -> None:
    # LicenseManager's RPC_INTERFACE_EVENT_GUID as stored (scm-spec §4.4)
    raw = bytes.fromhex("67D190BC70943941A9BABE0BBBF5B74D")
    assert format_guid(raw) == "{BC90D167-9470-4139-A9BA-BE0BBBF5B74D}"
    assert format_guid(bytes(16)) == "{00000000-0000-0000-0000-000000000000}"
    assert format_guid(bytes.fromhex("01000000020003000405060708090a0b")) == ("{00000001-0002-0003-0405-060708090A0B}")


@given(st.binary(min_size=16, max_size=16))
def test_guid_text_is_the_standard_mixed_endian_form(raw: bytes) -> None:
    assert format_guid(raw) == "{" + str(uuid.UUID(bytes_le=raw)).upper() + "}"


def test_subkeys_sort_numerically_and_gaps_are_flagged() -> None:
    raw = [
        raw_trigger("10", trigger_values(20, guid="54fb46c8-f089-464c-b1fd-59d1b62c3b50")),
        raw_trigger("2", trigger_values(5, guid="659fcae6-5bdb-4da9-b1ff-ca2a178d46e0")),
    ]
    triggers, diags = decode_triggers(raw)
    assert [t.subkey for t in triggers] == ["2", "10"]
    assert [t.guid_name for t in triggers] == ["MACHINE_POLICY_PRESENT_GUID", "USER_POLICY_PRESENT_GUID"]
    assert codes(diags) == {"trigger_index_gap"}


def test_non_numeric_names_come_last_and_are_flagged() -> None:
    raw = [
        raw_trigger("x", trigger_values(3, guid="1ce20aba-9851-4421-9430-1ddeb766e809")),
        raw_trigger("01", trigger_values(3, guid="1ce20aba-9851-4421-9430-1ddeb766e809")),
        raw_trigger("0", trigger_values(3, guid="ddaf516e-58c2-4866-9574-c3b615d42ea1")),
    ]
    triggers, diags = decode_triggers(raw)
    assert [(t.subkey, t.number) for t in triggers] == [("0", 0), ("x", None), ("01", None)]
    assert "trigger_name_not_numeric" in codes(diags)


def test_value_names_match_case_insensitively() -> None:
    values = [("type", REG_DWORD, b"\x05\0\0\0"), ("ACTION", REG_DWORD, b"\x01\0\0\0")]
    values.append(("Guid", REG_BINARY, bytes.fromhex("e6ca9f65db5ba94db1ffca2a178d46e0")))
    (trigger,), diags = decode_triggers([raw_trigger("0", values)])
    assert not diags
    assert (trigger.type_name, trigger.action_name) == ("group_policy", "start")
    assert trigger.guid == "{659FCAE6-5BDB-4DA9-B1FF-CA2A178D46E0}"


def test_data_items_pair_by_number_and_decode_by_type() -> None:
    values = trigger_values(
        4,
        guid="b7569e07-8421-4ee0-ad10-86915afdad09",
        data=[
            {"data_type": "string", "value": ["139", "TCP", "System"]},
            {"data_type": "level", "value": 4, "number": 2},
            {"data_type": "keyword_all", "value": 0x8000000000000001, "number": 1},
            {"data_type": "binary", "value": "00ff"},
        ],
    )
    (trigger,), diags = decode_triggers([raw_trigger("0", values)])
    assert [(d.number, d.data_type_name, d.value) for d in trigger.data] == [
        (0, "string", ("139", "TCP", "System")),
        (1, "keyword_all", 0x8000000000000001),
        (2, "level", 4),
        (3, "binary", "00ff"),
    ]
    assert not diags


def test_unpaired_and_gapped_data_are_kept_and_flagged() -> None:
    values = trigger_values(1, guid="4d1e55b2-f16f-11cf-88cb-001111000030")
    values += [("Data0", REG_BINARY, b"\x01\x02"), ("DataType3", REG_DWORD, b"\x02\0\0\0")]
    (trigger,), diags = decode_triggers([raw_trigger("0", values)])
    assert [(d.number, d.data_type, d.value, d.hex) for d in trigger.data] == [
        (0, None, "0102", "0102"),
        (3, 2, None, ""),
    ]
    assert codes(diags) == {"trigger_data_unpaired", "trigger_data_index_gap"}


def test_missing_and_odd_fields_are_flagged() -> None:
    values = [("Type", REG_DWORD, b"\x63\0\0\0"), ("Action", REG_DWORD, b"\x07\0\0\0"), ("GUID", REG_BINARY, b"\1\2")]
    values.append(("Note", REG_SZ, "x\0".encode("utf-16-le")))
    (trigger,), diags = decode_triggers([raw_trigger("0", values)])
    assert trigger.type == 99 and trigger.type_name is None and trigger.guid is None
    assert codes(diags) == {
        "trigger_type_unknown",
        "trigger_action_unknown",
        "trigger_guid_invalid",
        "trigger_value_unexpected",
    }
    (empty,), diags = decode_triggers([raw_trigger("0", [])])
    assert (empty.type, empty.action, empty.guid) == (None, None, None)
    assert codes(diags) == {"trigger_value_missing"}


def test_data_limits_and_sizes() -> None:
    _, diags = decode_trigger_data(1, bytes(1025), "d")
    assert codes(diags) == {"trigger_data_too_large"}
    value, diags = decode_trigger_data(3, b"\1\2", "d")
    assert value is None and codes(diags) == {"trigger_data_size"}
    value, diags = decode_trigger_data(9, b"\1", "d")
    assert value == "01" and codes(diags) == {"trigger_data_type_unknown"}
    many = trigger_values(20, guid="2d7a2816-0c5e-45fc-9ce7-570e5ecde9c9", data=[{"value": b"\0"}] * 65)
    (trigger,), diags = decode_triggers([raw_trigger("0", many)])
    assert len(trigger.data) == 65 and "trigger_too_many_items" in codes(diags)


def test_strings_stop_at_the_empty_item() -> None:
    value, diags = decode_trigger_data(2, "a\0\0b\0\0".encode("utf-16-le"), "d")
    assert value == ("a",) and codes(diags) == {"multi_sz_hidden_items"}
    value, diags = decode_trigger_data(2, "winreg\0".encode("utf-16-le"), "d")
    assert value == ("winreg",) and not diags


def test_to_dict_round_trips() -> None:
    values = trigger_values(6, guid="1f81d131-3fac-4537-9e0c-7e7b0c2f4b55", data=[{"data_type": 2, "value": "pipe"}])
    (trigger,), _ = decode_triggers([raw_trigger("0", values, last_write=133444224000000000)])
    data = trigger.to_dict()
    assert data["guid_name"] == "NAMED_PIPE_EVENT_GUID" and data["last_write"].startswith("2023-11-14")
    assert Trigger.from_dict(data) == trigger


_data_item = st.one_of(
    st.fixed_dictionaries({"data_type": st.just("binary"), "value": st.binary(max_size=40)}),
    st.fixed_dictionaries(
        {
            "data_type": st.just("string"),
            "value": st.lists(st.text(st.characters(min_codepoint=1, max_codepoint=0xD7FF), min_size=1), min_size=1),
        }
    ),
    st.fixed_dictionaries({"data_type": st.just("level"), "value": st.integers(0, 255)}),
    st.fixed_dictionaries(
        {"data_type": st.sampled_from(["keyword_any", "keyword_all"]), "value": st.integers(0, 2**64 - 1)}
    ),
)
_trigger = st.fixed_dictionaries(
    {
        "type": st.sampled_from(sorted(TRIGGER_TYPES)),
        "action": st.sampled_from([1, 2]),
        "guid": st.uuids().map(str),
        "data": st.lists(_data_item, max_size=5),
        "guid_name": st.sampled_from(["GUID", "Guid", "guid"]),
    }
)


@given(st.lists(_trigger, max_size=12))
def test_round_trip_with_the_encoder(specs: list[dict[str, Any]]) -> None:
    raw = [raw_trigger(str(i), trigger_values(**spec)) for i, spec in reversed(list(enumerate(specs)))]
    triggers, diags = decode_triggers(raw)
    assert not diags
    assert [t.number for t in triggers] == list(range(len(specs)))
    for trigger, spec in zip(triggers, specs):
        assert (trigger.type, trigger.action) == (spec["type"], spec["action"])
        assert trigger.guid == "{" + spec["guid"].upper() + "}"
        assert trigger.guid_name == WELL_KNOWN_GUIDS.get(spec["guid"].upper())
        expected = []
        for item in spec["data"]:
            value = item["value"]
            if item["data_type"] == "binary":
                value = value.hex()
            elif item["data_type"] == "string":
                value = tuple(value)
            expected.append(value)
        assert [d.value for d in trigger.data] == expected
        assert [bytes.fromhex(d.hex) for d in trigger.data] == [
            encode_trigger_data(i["data_type"], i["value"]) for i in spec["data"]
        ]


_raw_value = st.tuples(
    st.sampled_from(["Type", "Action", "GUID", "Guid", "Data0", "DataType0", "Data7", "DataType12", "Other"]),
    st.sampled_from([REG_DWORD, REG_BINARY, REG_SZ, 0, 11, 0xFFFF]),
    st.binary(max_size=40),
)


@given(st.lists(st.tuples(st.text(max_size=4), st.lists(_raw_value, max_size=8)), max_size=6))
def test_random_values_never_raise(items: list[tuple[str, list[tuple[str, int, bytes]]]]) -> None:
    triggers, diags = decode_triggers([raw_trigger(name, values) for name, values in items])
    assert len(triggers) == len(items)
    assert all(d.field.startswith("TriggerInfo") for d in diags)
    for trigger in triggers:
        trigger.to_dict()


# -- one trigger subkey remembered by everything it reads but its time (triggers._decode_remembered)

VALUE_NAMES = st.sampled_from(["Type", "Action", "GUID", "Guid", "Data0", "DataType0", "Data1", "DataType1", "Other"])
TRIGGER_VALUES = st.lists(
    st.tuples(VALUE_NAMES, st.sampled_from([REG_DWORD, REG_BINARY, REG_SZ, 0]), st.binary(max_size=20)), max_size=7
)


def decoded_afresh(raw: list[dict[str, Any]], monkeypatch: Any) -> tuple[Any, list[str]]:
    """What decode_triggers gives with nothing remembered (the reference)."""
    with monkeypatch.context() as patch:
        patch.setattr(triggers_module, "MAX_REMEMBERED_BYTES", -1)
        found, diags = decode_triggers(raw)
    return found, [repr(d) for d in diags]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=st.lists(
        st.tuples(st.sampled_from(["0", "1", "2", "10", "x"]), TRIGGER_VALUES, st.integers(0, 2**64 - 1)), max_size=4
    )
)
def test_a_remembered_trigger_is_the_fresh_decoding_with_its_own_time(
    items: list[tuple[str, list[tuple[str, int, bytes]], int]], monkeypatch: Any
) -> None:
    raw = [raw_trigger(name, values, when) for name, values, when in items]
    want = decoded_afresh(raw, monkeypatch)
    for _ in range(2):  # the second time every subkey is remembered
        found, diags = decode_triggers(raw)
        assert (found, [repr(d) for d in diags]) == want
    later = [dict(item, last_write_filetime=item["last_write_filetime"] ^ 0x5A5A) for item in raw]
    found, _ = decode_triggers(later)  # the same values at other times: each trigger carries its own
    assert [t.last_write_filetime for t in found] == [
        t.last_write_filetime for t in decoded_afresh(later, monkeypatch)[0]
    ]


def test_a_changed_value_misses_what_was_remembered() -> None:
    base = [("Type", REG_DWORD, (1).to_bytes(4, "little")), ("Action", REG_DWORD, (1).to_bytes(4, "little"))]
    base.append(("GUID", REG_BINARY, bytes(range(16))))
    first, _ = decode_triggers([raw_trigger("0", base)])
    changed = [*base[:1], ("Action", REG_DWORD, (2).to_bytes(4, "little")), base[2]]
    second, _ = decode_triggers([raw_trigger("0", changed)])
    assert first[0].action == 1 and second[0].action == 2
    retyped = [*base[:2], ("GUID", REG_SZ, bytes(range(16)))]
    _, notes = decode_triggers([raw_trigger("0", retyped)])
    assert "type_mismatch" in codes(notes)
