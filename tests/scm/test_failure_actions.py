"""FailureActions decoding (scm-spec §4.1): the registry's 20-byte header and 8-byte actions."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from hivescan.scm.failure_actions import ACTION_NAMES, INFINITE, decode_failure_actions
from hivescan.testing.encoders import ACTION_CODES, encode_failure_actions


def codes(diags: list) -> set[str]:
    return {d.code for d in diags}


def test_wuauserv_example_from_the_spec() -> None:
    blob = bytes.fromhex(
        "80510100 00000000 00000000 03000000 14000000 01000000 60ea0000 00000000 00000000 00000000 00000000".replace(
            " ", ""
        )
    )
    value, diags = decode_failure_actions(blob)
    assert value is not None and not diags
    assert value.reset_period_s == 86400 and not value.reset_never
    assert [(a.action, a.delay_ms) for a in value.actions] == [("restart", 60000), ("none", 0), ("none", 0)]
    assert value.actions_placeholder == 0x14 and value.layout == "wow64"


def test_twelve_byte_and_0x10_layouts_are_not_used() -> None:
    # WerSvc: RESTART 120000, RESTART 300000, NONE. A 12-byte-per-action reader, or one that starts
    # the array at 0x10, would read the placeholder 0x14 as an action type.
    blob = encode_failure_actions(
        86400,
        [
            {"action": "restart", "delay_ms": 120000},
            {"action": "restart", "delay_ms": 300000},
            {"action": "none", "delay_ms": 0},
        ],
    )
    assert len(blob) == 20 + 3 * 8
    value, diags = decode_failure_actions(blob)
    assert value is not None and not diags
    assert [(a.type, a.delay_ms) for a in value.actions] == [(1, 120000), (1, 300000), (0, 0)]


def test_placeholders_are_not_offsets() -> None:
    # SNMP on Windows 10: command placeholder 1 because a FailureCommand value exists
    blob = encode_failure_actions(86400, [{"action": "restart", "delay_ms": 60000}], command=1)
    value, diags = decode_failure_actions(blob, command="")
    assert value is not None and value.command_placeholder == 1
    assert "failure_actions_placeholder_mismatch" not in codes(diags)
    # a placeholder saying "FailureCommand exists" while it does not: an edit outside the SCM
    value, diags = decode_failure_actions(blob)
    assert "failure_actions_placeholder_mismatch" in codes(diags)


def test_infinite_reset_reboot_message_and_own_restart() -> None:
    blob = encode_failure_actions(
        INFINITE, [{"action": "own_restart", "delay_ms": 0}, {"action": "reboot", "delay_ms": 1000}], reboot_msg=1
    )
    value, diags = decode_failure_actions(blob, reboot_message="going down")
    assert value is not None and not diags
    assert value.reset_never and value.reset_period_s == 0xFFFFFFFF
    assert [a.action for a in value.actions] == ["own_restart", "reboot"]
    assert value.to_dict()["reboot_message"] == "going down"


def test_run_command_and_failure_command_are_cross_checked() -> None:
    run = encode_failure_actions(0, [{"action": "run_command", "delay_ms": 1000}], command=1)
    value, diags = decode_failure_actions(run, command=r"C:\Windows\Temp\x.exe")
    assert value is not None and value.runs_command and value.command == r"C:\Windows\Temp\x.exe"
    assert not diags
    assert "run_command_without_command" in codes(decode_failure_actions(run)[1])
    dormant = encode_failure_actions(0, [{"action": "restart", "delay_ms": 1}], command=1)
    assert "failure_command_dormant" in codes(decode_failure_actions(dormant, command="evil.exe")[1])


def test_truncated_header_decodes_nothing() -> None:
    value, diags = decode_failure_actions(bytes(19))
    assert value is None and codes(diags) == {"failure_actions_truncated"}


def test_count_is_clamped_to_the_data_and_trailing_bytes_are_kept() -> None:
    blob = encode_failure_actions(60, [{"action": "restart", "delay_ms": 5}], declared_count=4, trailing="abcd")
    value, diags = decode_failure_actions(blob)
    assert value is not None
    assert len(value.actions) == 1 and value.declared_count == 4
    assert value.trailing_hex == "abcd"
    assert codes(diags) == {"failure_actions_clamped", "failure_actions_trailing"}


def test_odd_actions_offset_is_info_only_and_array_still_read_at_0x14() -> None:
    blob = encode_failure_actions(86400, [{"action": "restart", "delay_ms": 60000}], actions_offset=0x700F31F9)
    value, diags = decode_failure_actions(blob)
    assert value is not None and value.actions[0].action == "restart"
    assert [(d.code, d.level) for d in diags] == [("failure_actions_odd_offset", "info")]


def test_unknown_action_type_is_kept_raw() -> None:
    value, diags = decode_failure_actions(encode_failure_actions(0, [{"action": 7, "delay_ms": 9}]))
    assert value is not None and value.actions[0].type == 7 and value.actions[0].action is None
    assert codes(diags) == {"failure_action_unknown_type"}


def test_native_x64_layout_is_recognised() -> None:
    acts = [{"action": "restart", "delay_ms": 1000}, {"action": "reboot", "delay_ms": 2000}]
    blob = encode_failure_actions(3600, acts, layout="x64")
    assert len(blob) == 40 + 16
    value, diags = decode_failure_actions(blob)
    assert value is not None and value.layout == "x64" and value.reset_period_s == 3600
    assert [(a.action, a.delay_ms) for a in value.actions] == [("restart", 1000), ("reboot", 2000)]
    assert codes(diags) == {"failure_actions_x64_layout"}


def test_a_complete_wow64_blob_is_never_read_as_x64() -> None:
    # 20 + 8*3 = 44 bytes; its u32 at 24 (the first delay, 0) would also fit 40 + 8*0 if lengths were ignored
    blob = encode_failure_actions(1, [{"action": "restart", "delay_ms": 0}] * 3)
    value, _ = decode_failure_actions(blob)
    assert value is not None and value.layout == "wow64" and len(value.actions) == 3


_action = st.fixed_dictionaries(
    {"action": st.sampled_from(sorted(ACTION_CODES)), "delay_ms": st.integers(0, 0xFFFFFFFF)}
)


@given(
    reset=st.integers(0, 0xFFFFFFFF),
    actions=st.lists(_action, max_size=12),
    msg=st.integers(0, 1),
    cmd=st.integers(0, 1),
)
def test_round_trip_with_the_encoder(reset: int, actions: list, msg: int, cmd: int) -> None:
    blob = encode_failure_actions(reset, actions, reboot_msg=msg, command=cmd)
    value, diags = decode_failure_actions(blob, command="c.exe" if cmd else None, reboot_message="m" if msg else None)
    assert value is not None
    assert value.reset_period_s == reset
    assert [(a.action, a.delay_ms) for a in value.actions] == [(a["action"], a["delay_ms"]) for a in actions]
    assert all(ACTION_NAMES[a.type] == a.action for a in value.actions)
    allowed = {"failure_command_dormant", "run_command_without_command"}
    assert codes(diags) <= allowed


@given(st.binary(max_size=200))
def test_random_bytes_never_raise(blob: bytes) -> None:
    value, diags = decode_failure_actions(blob, command=None)
    if value is None:
        assert codes(diags) == {"failure_actions_truncated"}
    else:
        assert len(value.actions) <= (len(blob) - 20) // 8


@given(st.lists(_action, min_size=1, max_size=6), st.data())
def test_truncated_blobs_give_a_diagnostic(actions: list, data: st.DataObject) -> None:
    blob = encode_failure_actions(86400, actions)
    cut = data.draw(st.integers(0, len(blob) - 1))
    value, diags = decode_failure_actions(blob[:cut])
    assert diags, "a cut blob is always reported"
    if value is not None and value.layout == "wow64":  # a cut blob may also fit the x64 heuristic
        assert struct.unpack_from("<I", blob, 12)[0] == len(actions)
        assert len(value.actions) == (cut - 20) // 8
