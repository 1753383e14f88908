"""The one-pass key decoder (scm/keyfields.py ``decode_key``) gives what the decoder it
replaced gave (tests/scm/decode_key_reference.py): the same fields in the same order and the
same diagnostics (code, field, message, severity, order), on generated keys and on every
service key of the real and fixture hives, read the Python way (damaged keys included).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import (
    REG_BINARY,
    REG_DWORD,
    REG_DWORD_BIG_ENDIAN,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_QWORD,
    REG_SZ,
)
from hivescan.scm import keyfields, services
from hivescan.scm.keywalk import WalkedKey
from tests.conftest import FIXTURES, shared_hive
from tests.scm.decode_key_reference import reference_decode_key

TYPES = st.sampled_from(
    [REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_BINARY, REG_MULTI_SZ, REG_QWORD, 0]
)
TEXTS = st.one_of(
    st.sampled_from(["", "LocalSystem", ".\\localsystem", "NT AUTHORITY\\LocalService", "+grp", "x" * 300]),
    st.text(alphabet=st.characters(codec="utf-16", exclude_categories=()), max_size=8),
)


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


# value data: DWORDs of the interesting numbers, clean and odd strings and multi-strings, random bytes
DATA = st.one_of(
    st.sampled_from([0, 1, 2, 3, 4, 5, 0x10, 0x20, 0x30, 0x50, 0x60, 0x110, 0x210, 0xFFFFFFFF]).map(
        lambda n: n.to_bytes(4, "little")
    ),
    TEXTS.map(lambda t: _utf16(t) + b"\0\0"),
    st.lists(TEXTS, max_size=3).map(lambda items: b"".join(_utf16(i) + b"\0\0" for i in items) + b"\0\0"),
    st.tuples(TEXTS, TEXTS).map(lambda p: _utf16(p[0] + "\0" + p[1])),
    st.binary(max_size=24),
)
KEY_NAMES = [
    "Type",
    "TYPE",
    "Start",
    "ErrorControl",
    "Tag",
    "ImagePath",
    "ObjectName",
    "DisplayName",
    "Description",
    "Group",
    "DependOnService",
    "DependOnGroup",
    "RequiredPrivileges",
    "FailureActions",
    "FailureCommand",
    "RebootMessage",
    "FailureActionsOnNonCrashFailures",
    "DelayedAutoStart",
    "ServiceSidType",
    "PreshutdownTimeout",
    "LaunchProtected",
    "UserServiceFlags",
    "SvcHostSplitDisable",
    "DeleteFlag",
    "deleteflag",
    "ServiceDll",
    "ServiceMain",
    "ServiceDllUnloadOnStop",
    "ServiceManifest",
    "Other",
]
PARAM_NAMES = ["ServiceDll", "SERVICEDLL", "ServiceMain", "ServiceDllUnloadOnStop", "ServiceManifest", "Other"]
TRIGGER_NAMES = ["Type", "Action", "GUID", "Data0", "DataType0", "Other"]
# a valid service descriptor (O:SYG:SYD:(A;;GA;;;SY)), a short one and garbage
DESCRIPTORS = [
    bytes.fromhex("0100048014000000200000000000000000000000010100000000000512000000010100000000000512000000"),
    bytes.fromhex(
        "010004801400000024000000000000003000000001010000000000051200000001010000000000051200000002001c"
        "000100000000001400000000100101000000000005120000000000"
    ),
    b"\x01\x00",
    b"",
]


def raw_values(names: list[str], most: int = 12) -> st.SearchStrategy[list[RawValue]]:
    value = st.builds(
        RawValue,
        st.sampled_from(names),
        st.one_of(TYPES, st.just(REG_DWORD)),
        DATA,
        st.just("cells"),
        st.sampled_from([True, True, True, False]),
    )
    return st.lists(value, max_size=most)


def _dword(name: str, numbers: list[int]) -> st.SearchStrategy[RawValue | None]:
    """The DWORD ``name`` holding one of ``numbers``, missing one time in four."""
    return st.tuples(st.integers(0, 3), st.sampled_from(numbers)).map(
        lambda p: RawValue(name, REG_DWORD, p[1].to_bytes(4, "little")) if p[0] else None
    )


def _string(name: str) -> st.SearchStrategy[RawValue | None]:
    return st.one_of(st.none(), TEXTS.map(lambda t: RawValue(name, REG_SZ, _utf16(t) + b"\0\0")))


# the values that decide a record's status and checks, each present more often than not
CORE = st.tuples(
    _dword("Type", [0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x50, 0x60, 0x110, 0x120, 0x210, 0x250, 0x100, 0x3]),
    _dword("Start", [0, 1, 2, 3, 4, 5]),
    _dword("ErrorControl", [0, 1, 2, 3, 4]),
    _string("DisplayName"),
    _string("ObjectName"),
    st.one_of(st.none(), st.binary(max_size=6).map(lambda b: RawValue("DeleteFlag", REG_BINARY, b))),
)

NOTES = st.lists(
    st.builds(Diagnostic, st.sampled_from(["cell_note", "list_note"]), st.just("key"), st.text(max_size=4)),
    max_size=1,
)


@st.composite
def service_keys(draw: Any) -> tuple[Any, ...]:
    """A service key with (maybe) Parameters, Security and TriggerInfo subkeys, as read."""
    name = draw(st.sampled_from(["Svc", "Svc", "Svc", "Svc", "{Brace}", "a/b", "Ünïcode", "n" * 256, "n" * 257]))
    values = [v for v in draw(CORE) if v is not None] + draw(raw_values(KEY_NAMES, 6))
    if draw(st.booleans()):
        values = draw(st.permutations(values))
    key = WalkedKey(name, f"ControlSet001\\Services\\{name}", 1, "regipy-rs", values, _utf16(name))
    key.diagnostics.extend(draw(NOTES))
    subkeys: list[WalkedKey] = []
    trigger_subs: list[WalkedKey] = []
    for sub_name in draw(st.lists(st.sampled_from(["Parameters", "parameters", "Security", "TriggerInfo", "Enum"]))):
        if sub_name in (s.name for s in subkeys):
            continue
        held: list[RawValue] | None = []
        if sub_name.upper() == "PARAMETERS":
            held = draw(raw_values(PARAM_NAMES))
        elif sub_name == "Security":
            held = [RawValue("Security", draw(TYPES), draw(st.sampled_from(DESCRIPTORS)), "cells", draw(st.booleans()))]
            held = held[: draw(st.integers(0, 1))]
        sub = WalkedKey(sub_name, f"{key.path}\\{sub_name}", 2, "regipy-rs", held)
        sub.diagnostics.extend(draw(NOTES))
        subkeys.append(sub)
        if sub_name == "TriggerInfo":
            for number in draw(st.lists(st.sampled_from(["0", "1", "3", "x"]), unique=True, max_size=3)):
                trigger = WalkedKey(number, f"{sub.path}\\{number}", 3, "regipy-rs", draw(raw_values(TRIGGER_NAMES)))
                trigger.diagnostics.extend(draw(NOTES))
                trigger_subs.append(trigger)
    key_hex = draw(st.sampled_from([None, DESCRIPTORS[0].hex(), "0100"]))
    lenient = draw(st.booleans())
    status_override = draw(st.sampled_from([None, None, "deleted"]))
    special = services._special_subkeys(subkeys)
    return key, subkeys, values, special, trigger_subs, key_hex, lenient, status_override


def assert_same_fields(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert list(got) == list(want)  # the order the record is built in
    for field in want:
        assert got[field] == want[field], field
        assert type(got[field]) is type(want[field]), field
    assert got["diagnostics"] == want["diagnostics"]  # dataclass equality: code, field, message, level


@settings(max_examples=600)
@given(service_keys())
def test_the_one_pass_decoder_equals_the_reference_on_generated_keys(args: tuple[Any, ...]) -> None:
    assert_same_fields(keyfields.decode_key(*args), reference_decode_key(*args))


def _python_read(path: Path, logs: str) -> list[tuple[Any, ...]]:
    """Every service key of every control set read as build_service_record reads it without a memo."""
    out = []
    with hivescan.open_hive(path, logs=logs) as hive:  # type: ignore[arg-type]
        for number in hive.existing.numbers:
            control_set = hive.control_set_key(number)
            top = control_set.subkey("Services") if control_set is not None else None
            for key in top.subkeys() if top is not None else ():
                subkeys = key.subkeys()
                values = key.values()
                special = services._special_subkeys(subkeys)
                for upper in ("PARAMETERS", "SECURITY"):
                    if upper in special:
                        special[upper].values()
                trigger = special.get("TRIGGERINFO")
                trigger_subs = trigger.subkeys() if trigger is not None else ()
                for sub in trigger_subs:
                    sub.values()
                for lenient in (False, True):
                    out.append((key, subkeys, values, special, trigger_subs, key.security_hex(), lenient, None))
    return out


HIVES = [
    ("nt4-SYSTEM", "none"),
    ("xp-corrupted-SYSTEM", "none"),
    ("win7-SYSTEM", "none"),
    ("win10-dirty-SYSTEM", "auto"),
]


@pytest.mark.parametrize(("name", "logs"), HIVES)
def test_the_one_pass_decoder_equals_the_reference_on_shared_hives(name: str, logs: str) -> None:
    keys = _python_read(shared_hive(name), logs)
    assert len(keys) > 100
    for args in keys:
        assert_same_fields(keyfields.decode_key(*args), reference_decode_key(*args))


FIXTURE_HIVES = sorted(p for p in FIXTURES.glob("*SYSTEM") if p.is_file())


@pytest.mark.parametrize("path", FIXTURE_HIVES, ids=[p.name for p in FIXTURE_HIVES])
def test_the_one_pass_decoder_equals_the_reference_on_fixtures(path: Path) -> None:
    logs = "auto" if path.with_name(path.name + ".LOG1").exists() else "none"
    for args in _python_read(path, logs):
        assert_same_fields(keyfields.decode_key(*args), reference_decode_key(*args))
