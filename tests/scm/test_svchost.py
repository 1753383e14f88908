"""svchost command lines and the SOFTWARE group lists (scm-spec §7.1-7.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hivescan.scm.svchost import (
    SvchostGroup,
    check_membership,
    is_svchost,
    list_orphans,
    masquerade_note,
    parse_svchost_args,
)


@pytest.mark.parametrize(
    ("args", "group", "switches"),
    [
        ("-k netsvcs -p", "netsvcs", ("-p",)),
        ("/K netsvcs", "netsvcs", ()),
        ("-knetsvcs", "netsvcs", ()),
        ('-k "Local Service Group" -p', "Local Service Group", ("-p",)),
        ("-k\tLocalService", "LocalService", ()),
        ("-p -k UnistackSvcGroup", "UnistackSvcGroup", ("-p",)),
    ],
)
def test_group_syntax(args: str, group: str, switches: tuple[str, ...]) -> None:
    parsed = parse_svchost_args(args)
    assert (parsed.group, parsed.switches, parsed.diagnostics) == (group, switches, ())


def test_s_switch_and_unknown_tokens_are_kept_and_flagged() -> None:
    parsed = parse_svchost_args("-k netsvcs -s Schedule /z")
    assert parsed.group == "netsvcs"
    assert parsed.switches == ("-s Schedule", "/z")
    assert [d.code for d in parsed.diagnostics] == ["svchost_args_unusual"]


def test_no_group() -> None:
    assert [d.code for d in parse_svchost_args(None).diagnostics] == ["svchost_no_group"]
    assert [d.code for d in parse_svchost_args('-k ""').diagnostics] == ["svchost_no_group"]


def test_second_group_switch_is_flagged_first_wins() -> None:
    parsed = parse_svchost_args("-k one -k two")
    assert parsed.group == "one" and [d.code for d in parsed.diagnostics] == ["svchost_args_unusual"]


@given(st.text(alphabet=st.sampled_from(list('-/kKps "ab\t')), max_size=40))
def test_parsing_never_raises(args: str) -> None:
    parsed = parse_svchost_args(args)
    assert parsed.group is None or parsed.group in args
    assert all(s.split(" ")[0] in args for s in parsed.switches)


def test_recognition_and_masquerade() -> None:
    assert is_svchost("C:\\Windows\\System32\\SVCHOST.EXE")
    assert not is_svchost("C:\\Windows\\System32\\notsvchost.exe") and not is_svchost(None)
    assert masquerade_note("C:\\WINDOWS\\system32\\svchost.exe", "C:\\Windows") is None
    assert masquerade_note("C:\\Windows\\SysWOW64\\svchost.exe", "C:\\Windows") is None
    note = masquerade_note("C:\\Users\\Public\\svchost.exe", "C:\\Windows")
    assert note is not None and (note.code, note.level) == ("svchost_masquerade", "error")
    assert masquerade_note("C:\\Windows\\svchost.exe", "C:\\Windows") is not None


GROUPS = {
    "NETSVCS": SvchostGroup("netsvcs", ("Schedule", "BITS"), 7),
    "RPCSS": SvchostGroup("rpcss", ("RpcSs",), 7),
    "SETTINGSONLY": SvchostGroup("SettingsOnly", (), None),
}


def test_membership() -> None:
    assert check_membership("schedule", "NETSVCS", GROUPS).listed is True
    out = check_membership("Evil", "netsvcs", GROUPS)
    assert out.listed is False and [d.code for d in out.diagnostics] == ["svchost_not_in_group"]
    missing = check_membership("x", "diag", GROUPS)
    assert missing.listed is None and [d.code for d in missing.diagnostics] == ["svchost_group_missing"]
    only_subkey = check_membership("x", "SettingsOnly", GROUPS)
    assert [d.code for d in only_subkey.diagnostics] == ["svchost_group_missing"]
    unknown = check_membership("x", "netsvcs", None)
    assert unknown.listed is None and [(d.code, d.level) for d in unknown.diagnostics] == [
        ("svchost_group_unknown", "info")
    ]


def test_per_user_instances_are_checked_by_template_name() -> None:
    groups = {"UNISTACKSVCGROUP": SvchostGroup("UnistackSvcGroup", ("CDPUserSvc",), 7)}
    assert check_membership("CDPUserSvc_4a1f2", "UnistackSvcGroup", groups, as_name="CDPUserSvc").listed is True


def test_orphans() -> None:
    hosted = {"SCHEDULE": "netsvcs", "RPCSS": "DcomLaunch", "SPOOLER": None}
    groups = {
        **GROUPS,
        "X": SvchostGroup("x", ("Spooler",), 7),
    }
    found = [(upper, d.code, d.level) for upper, d in list_orphans(groups, hosted, list(hosted))]
    assert found == [
        (None, "svchost_list_orphan", "info"),  # BITS: no service
        ("RPCSS", "svchost_list_orphan", "warning"),  # listed in rpcss, claims DcomLaunch
        ("SPOOLER", "svchost_list_orphan", "warning"),  # listed, but not an svchost service
    ]
