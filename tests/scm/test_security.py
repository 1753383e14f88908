"""Security descriptors (scm-spec §4.3): SDDL as Windows prints it, per-principal access, invalid blobs."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hivescan.scm.conditions import decode_condition
from hivescan.scm.descriptor import parse_security_descriptor, rights_sddl, sdshow_part
from hivescan.scm.security import decode_key_security, decode_service_security
from hivescan.testing.encoders import encode_security_descriptor
from hivescan.testing.regf import ace_bytes, acl_bytes, security_descriptor
from hivescan.testing.sddl import SddlError, sddl_to_bytes

DEFAULT_SERVICE_SDSHOW = (
    "D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCLCSWLOCRRC;;;IU)"
    "(A;;CCLCSWLOCRRC;;;SU)S:(AU;FA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;WD)"
)


def codes(diags: list) -> set[str]:
    return {d.code for d in diags}


def by_alias(access: tuple) -> dict[str, Any]:
    return {p.alias or p.sid: p for p in access}


def test_default_service_descriptor_prints_as_sc_sdshow() -> None:
    blob = encode_security_descriptor(
        "S-1-5-18",
        "S-1-5-18",
        dacl=[
            {"mask": 0x201FD, "sid": "S-1-5-18"},
            {"mask": 0xF01FF, "sid": "S-1-5-32-544"},
            {"mask": 0x2018D, "sid": "S-1-5-4"},
            {"mask": 0x2018D, "sid": "S-1-5-6"},
        ],
        sacl=[{"type": "audit", "flags": 0x80, "mask": 0xF01FF, "sid": "S-1-1-0"}],
    )
    decoded, diags = decode_service_security(blob)
    assert not diags
    assert decoded.sddl == "O:SYG:SY" + DEFAULT_SERVICE_SDSHOW
    assert sdshow_part(decoded.sddl) == DEFAULT_SERVICE_SDSHOW
    access = by_alias(decoded.access)
    assert access["IU"].allowed == (
        "query_config",
        "query_status",
        "enumerate_dependents",
        "interrogate",
        "user_defined_control",
        "read_control",
    )
    assert "change_config" in access["BA"].allowed and "delete" in access["BA"].allowed
    assert access["SY"].owner and access["IU"].role == "low" and access["BA"].role == "admin"
    assert decoded.writable_by == () and not decoded.writable_by_low_privilege


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        (0xF003F, "KA"),  # a whole-mask name wins over bit names
        (0x20019, "KR"),  # KR and KX share a value; the converter's table lists KR first
        (0x20006, "KW"),
        (0x1F01FF, "FA"),
        (0x10000000, "GA"),
        (0xF01FF, "CCDCLCSWRPWPDTLOCRSDRCWDWO"),
        (0x2018D, "CCLCSWLOCRRC"),
        (0x100, "CR"),
        (0x1200A9, "0x1200a9"),  # SYNCHRONIZE has no bit name: the whole mask in hex
        (0x01000000, "0x1000000"),
        (0, ""),
    ],
)
def test_rights_render_like_the_converter(mask: int, expected: str) -> None:
    assert rights_sddl(mask) == expected


def test_flags_and_inheritance_order() -> None:
    sddl = "O:BAG:SYD:PAI(A;OICINPIOID;GA;;;CO)(A;CIID;KR;;;BU)S:ARAI(AU;SAFA;WDWO;;;BA)"
    decoded, _ = decode_key_security(sddl_to_bytes(sddl))
    assert decoded.sddl == sddl


def test_deny_before_allow_hides_the_service_and_after_allow_does_not() -> None:
    # UpdSvcHelper in the demo hive: deny DC LC WP DT SD to IU, SU, BA, then the usual allows
    sddl = (
        "D:(D;;DCLCWPDTSD;;;IU)(D;;DCLCWPDTSD;;;SU)(D;;DCLCWPDTSD;;;BA)(A;;CCLCSWLOCRRC;;;IU)"
        "(A;;CCLCSWLOCRRC;;;SU)(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)"
    )
    decoded, _ = decode_service_security(sddl_to_bytes(sddl))
    access = by_alias(decoded.access)
    assert access["BA"].deny_ace and access["IU"].deny_ace and not access["SY"].deny_ace
    for alias in ("BA", "IU", "SU"):
        assert {"query_status", "change_config", "stop", "delete"} <= set(access[alias].denied)
        assert "query_status" not in access[alias].allowed
    assert "query_status" in access["SY"].allowed
    # the same deny placed after the allow changes nothing: the right was granted first
    late, _ = decode_service_security(sddl_to_bytes("D:(A;;CCLCSWLOCRRC;;;IU)(D;;DCLCWPDTSD;;;IU)"))
    (iu,) = late.access
    assert "query_status" in iu.allowed and iu.denied == ("change_config", "stop", "pause_continue", "delete")


def test_everyone_may_reconfigure() -> None:
    sddl = "D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCDCLCSWRPWPDTLOCRRC;;;WD)"
    decoded, _ = decode_service_security(sddl_to_bytes(sddl))
    everyone = by_alias(decoded.access)["WD"]
    assert "change_config" in everyone.allowed and everyone.role == "low"
    assert decoded.writable_by == ("WD",) and decoded.writable_by_low_privilege


def test_generic_rights_are_mapped_per_object_kind() -> None:
    blob = sddl_to_bytes("D:(A;;GW;;;BU)(A;CIIO;GA;;;BU)")
    service, diags = decode_service_security(blob)
    (bu,) = service.access
    assert set(bu.allowed) == {"change_config", "read_control"} and "sd_generic_rights" in codes(diags)
    key, _ = decode_key_security(blob)
    (bu,) = key.access  # the inherit-only GA does not apply to the key itself
    assert set(bu.allowed) == {"set_value", "create_sub_key", "read_control"}
    assert key.writable_by == ("BU",) and key.writable_by_low_privilege


def test_owner_holds_read_control_and_write_dac_implicitly() -> None:
    decoded, _ = decode_key_security(sddl_to_bytes("O:BUD:(A;;KR;;;SY)"))
    owner = by_alias(decoded.access)["BU"]
    assert owner.owner and set(owner.allowed) == {"read_control", "write_dac"}
    assert decoded.writable_by == ("BU",)
    with_owner_rights, _ = decode_key_security(sddl_to_bytes("O:BUD:(A;;KR;;;OW)"))
    assert by_alias(with_owner_rights.access)["BU"].allowed == ()


def test_null_and_absent_dacl_grant_everyone_everything() -> None:
    for sddl in ("D:NO_ACCESS_CONTROL", "O:SY"):
        decoded, diags = decode_service_security(sddl_to_bytes(sddl))
        assert decoded.sddl == sddl and "sd_no_dacl" in codes(diags)
        (everyone,) = decoded.access
        assert everyone.alias == "WD" and "change_config" in everyone.allowed


def test_service_sids_stay_numeric_and_unknown_aliases_too() -> None:
    sid = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
    sddl = f"D:(A;;CCLCSWRPWPDTLOCRRC;;;{sid})(A;;LC;;;S-1-5-21-1-2-3-513)(A;;LC;;;S-1-5-21-1-2-3-1001)"
    decoded, _ = decode_service_security(sddl_to_bytes(sddl))
    assert decoded.sddl == sddl
    roles = {p.sid: (p.name, p.role) for p in decoded.access}
    assert roles[sid] == ("NT SERVICE\\TrustedInstaller", "admin")
    assert roles["S-1-5-21-1-2-3-513"] == ("Domain Users", "low")
    assert roles["S-1-5-21-1-2-3-1001"] == (None, "account")


@pytest.mark.parametrize(
    ("blob", "why"),
    [
        (bytes.fromhex("0100148014"), "5 bytes"),  # CryptSvc on a real Windows 7 hive
        (b"\x02" + bytes(19), "revision 2"),
        (struct.pack("<BBHIIII", 1, 0, 0x0004, 0, 0, 0, 20) + acl_bytes([]), "SE_SELF_RELATIVE"),
        (struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 200), "offset"),
        (struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 21) + bytes(12), "4-aligned"),
        (struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + struct.pack("<BBHHH", 2, 0, 200, 1, 0), "size"),
        (security_descriptor("S-1-5-18", None, None)[:-2], "runs past"),
    ],
)
def test_invalid_descriptors_are_treated_as_absent(blob: bytes, why: str) -> None:
    decoded, diags = decode_service_security(blob)
    assert decoded.sddl is None and not decoded.valid and decoded.access == ()
    (diag,) = [d for d in diags if d.code == "security_descriptor_invalid"]
    assert why in diag.message and diag.level == "error"


def test_nt4_ace_slack_is_ignored_and_reported() -> None:
    ace = ace_bytes(0, 0, 0x2019D, "S-1-1-0")
    padded = struct.pack("<BBH", 0, 0, len(ace) + 4) + ace[4:] + bytes.fromhex("25020000")
    blob = security_descriptor("S-1-5-18", "S-1-5-18", acl_bytes([padded]))
    decoded, diags = decode_service_security(blob)
    assert decoded.sddl == "O:SYG:SYD:(A;;CCLCSWRPLOCRRC;;;WD)"
    assert codes(diags) == {"sd_ace_slack"}


def test_conditional_aces_are_decoded_or_shown_as_hex() -> None:
    cond = b"artx\xf8" + struct.pack("<I", 46) + "WIN://ISMULTISESSIONSKU".encode("utf-16-le") + b"\xa2"
    assert decode_condition(cond) == "(!(WIN://ISMULTISESSIONSKU))"
    blob = sddl_to_bytes(f"D:(A;;LC;;;IU)(XA;;LCRPWP;;;IU;hex:{cond.hex()}00000000)")
    decoded, diags = decode_service_security(blob)
    assert decoded.sddl == "D:(A;;LC;;;IU)(XA;;LCRPWP;;;IU;(!(WIN://ISMULTISESSIONSKU)))"
    assert codes(diags) == {"sd_ace_not_evaluated"}
    (iu,) = decoded.access
    assert iu.allowed == ("query_status",)  # the conditional grant is not assumed
    bad, diags = decode_service_security(sddl_to_bytes("D:(XA;;LC;;;IU;hex:61727478ee)"))
    assert bad.sddl == "D:(XA;;LC;;;IU;hex:61727478ee)" and "sd_ace_data_not_decoded" in codes(diags)


def test_condition_operators() -> None:
    def attr(name: str) -> bytes:
        raw = name.encode("utf-16-le")
        return b"\xf9" + struct.pack("<I", len(raw)) + raw

    def integer(value: int) -> bytes:
        return b"\x04" + struct.pack("<qBB", value, 3, 2)

    sid = bytes.fromhex("01020000000000052000000020020000")
    cond = b"artx" + attr("clearance") + integer(5) + b"\x85" + b"\x51" + struct.pack("<I", len(sid)) + sid
    cond += b"\x89\xa0"
    assert decode_condition(cond) == "((@User.clearance >= 5) && (Member_of SID(BA)))"
    assert decode_condition(b"artx\x85") is None  # an operator without operands
    assert decode_condition(b"artx\x77") is None  # an unknown token


def test_unknown_ace_types_and_object_aces() -> None:
    sddl = "D:(OA;CI;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;WD)(0x16;;CC;;;;hex:0101000000000001000000)"
    blob = sddl_to_bytes(sddl)
    decoded, diags = decode_service_security(blob)
    assert decoded.sddl == sddl
    assert {"sd_ace_unknown_type", "sd_ace_not_evaluated"} <= codes(diags)
    assert decoded.access == ()


def test_sddl_encoder_rejects_what_it_cannot_write() -> None:
    for bad in ("X:BA", "D:(A;;QQ;;;BA)", "D:(A;;KA;;;ZZ)", "D:(A;;KA)", "D:(XA;;KA;;;WD;(Exists x))", "O:BAO:SY"):
        with pytest.raises(SddlError):
            sddl_to_bytes(bad)


# -------------------------------------------------------------------- properties

_SIDS = ["S-1-5-18", "S-1-5-32-544", "S-1-5-32-545", "S-1-1-0", "S-1-5-11", "S-1-5-4", "S-1-5-80-1-2-3-4-5"]
_ace = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["allow", "deny"]),
        "flags": st.sampled_from([0, 0x2, 0x3, 0xB, 0x12, 0x1A]),
        "mask": st.integers(0, 0xFFFFFFFF),
        "sid": st.sampled_from(_SIDS),
    }
)
_audit = st.fixed_dictionaries(
    {
        "type": st.just("audit"),
        "flags": st.sampled_from([0x40, 0x80, 0xC0]),
        "mask": st.integers(0, 0xFFFFFFFF),
        "sid": st.sampled_from(_SIDS),
    }
)
_descriptor = st.fixed_dictionaries(
    {
        "owner": st.none() | st.sampled_from(_SIDS),
        "group": st.none() | st.sampled_from(_SIDS),
        "dacl": st.none() | st.lists(_ace, max_size=8),
        "sacl": st.none() | st.lists(_audit, max_size=3),
    }
)


@given(_descriptor)
def test_round_trip_bytes_sddl_bytes(spec: dict[str, Any]) -> None:
    blob = encode_security_descriptor(**spec)
    decoded, _ = decode_service_security(blob)
    assert decoded.valid and decoded.sddl is not None
    assert sddl_to_bytes(decoded.sddl) == blob
    key, _ = decode_key_security(blob)
    assert sddl_to_bytes(key.sddl or "") == blob
    sd, _, _ = parse_security_descriptor(blob)
    assert sd is not None and sd.owner == spec["owner"] and sd.group == spec["group"]
    evaluated = [a for a in spec["dacl"] or () if not a["flags"] & 0x08]
    assert {p.sid for p in decoded.access} >= {a["sid"] for a in evaluated}


@given(_descriptor, st.data())
def test_truncated_descriptors_never_raise(spec: dict[str, Any], data: st.DataObject) -> None:
    blob = encode_security_descriptor(**spec)
    cut = data.draw(st.integers(0, len(blob) - 1))
    decoded, diags = decode_service_security(blob[:cut])
    if not decoded.valid:
        assert "security_descriptor_invalid" in codes(diags)


@given(st.binary(max_size=300))
def test_random_bytes_never_raise(blob: bytes) -> None:
    for decode in (decode_service_security, decode_key_security):
        decoded, diags = decode(blob)
        assert decoded.valid == (decoded.sddl is not None)
        if not decoded.valid:
            assert "security_descriptor_invalid" in codes(diags)


@given(st.text(alphabet="OGDS:()ACDKRWX;0x1-SYBUIP", max_size=60))
def test_sddl_encoder_fails_only_with_its_own_error(text: str) -> None:
    try:
        blob = sddl_to_bytes(text)
    except SddlError:
        return
    decoded, _ = decode_service_security(blob)
    assert decoded.valid


@given(st.binary(max_size=120))
def test_random_conditions_never_raise(blob: bytes) -> None:
    decode_condition(b"artx" + blob)
