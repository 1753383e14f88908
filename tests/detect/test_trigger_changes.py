"""A trigger added to a service in one control set is a change the rules see: the set-wide
context compares the TriggerInfo subkeys byte-exact (detect/context.py), and
service-changed-between-control-sets reports it like an ImagePath change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import hivescan
from hivescan.detect.context import build_subjects, differences
from hivescan.detect.rules import load_rules
from hivescan.detect.scan import scan_hive
from hivescan.testing.encoders import trigger_values
from hivescan.testing.regf import WKey
from tests.conftest import system_root

NETWORK_UP = "{4f27f2de-14e2-430b-a549-7cd48cbc8245}"


def _two_sets(*, trigger_in_current: bool) -> WKey:
    root = system_root(current=1, sets=(1, 2))
    for number in (1, 2):
        svc = root.key(f"ControlSet{number:03d}\\Services\\Updater")
        svc.set_dword("Type", 16).set_dword("Start", 3).set_dword("ErrorControl", 1)
        svc.set_expand_sz("ImagePath", "C:\\Program Files\\Updater\\updater.exe")
        if number == 1 and trigger_in_current:
            for name, reg_type, data in trigger_values(2, 1, NETWORK_UP):
                svc.key("TriggerInfo\\0").set(name, reg_type, data)
    return root


def test_a_trigger_added_in_one_set_is_a_change_between_the_sets(write_hive: Callable[..., Path]) -> None:
    with hivescan.open_hive(write_hive(_two_sets(trigger_in_current=True))) as hive:
        records = {r.origin.control_set: r for r in hive.services("all") if r.name == "Updater"}
        result = scan_hive(hive, rules=load_rules())
    (change,) = differences(records[2], records[1])
    assert change.field == "triggers" and change.before == [] and change.after[0]["subkey"] == "0"
    subjects = build_subjects(list(records.values()), primary_set=1).subjects
    context = next(s.context for s in subjects if s.record.origin.control_set == 1)
    assert context["control_set_changed_fields"] == ("triggers",)
    (note,) = context["control_set_changes"]
    assert note.startswith("triggers: ControlSet002 [] -> here [{subkey: '0', values: {Type: 'REG_DWORD:02000000'")
    fired = [f for f in result.findings if f.rule_id == "service-changed-between-control-sets"]
    assert {f.service for f in fired} == {"Updater"}
    assert "None" not in fired[0].explanation and "True" not in fired[0].explanation


def test_the_same_triggers_in_both_sets_are_no_change(write_hive: Callable[..., Path]) -> None:
    with hivescan.open_hive(write_hive(_two_sets(trigger_in_current=False))) as hive:
        result = scan_hive(hive, rules=load_rules())
    assert not [f for f in result.findings if f.rule_id == "service-changed-between-control-sets"]
    assert result.identical_skipped >= 1  # ControlSet002's Updater is the same service: evaluated once


def test_a_trigger_missing_from_the_baseline_is_a_baseline_difference(write_hive: Callable[..., Path]) -> None:
    with hivescan.open_hive(write_hive(_two_sets(trigger_in_current=True))) as hive:
        records = {r.origin.control_set: r for r in hive.services("all") if r.name == "Updater"}
    (subject,) = build_subjects([records[1]], baseline=[records[2]]).subjects
    assert subject.context["baseline_status"] == "differs"
    assert subject.context["baseline_changed_fields"] == ("triggers",)
