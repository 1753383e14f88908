"""Deleted and orphaned service records: fixture spec, real hives, a key deleted by hivex."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.errors import HivescanError
from hivescan.hive.source import HiveSource
from hivescan.scm.record import ServiceRecord
from hivescan.testing.spec import build_from_spec, load_spec
from tests.conftest import FIXTURES, shared_hive, shared_hive_edited_by_hivex

SPEC = FIXTURES / "deleted-SYSTEM.yaml"


@pytest.fixture
def deleted_hive(tmp_path: Path) -> Path:
    path = tmp_path / "SYSTEM"
    path.write_bytes(build_from_spec(load_spec(SPEC)).data)
    return path


def _by(records: list[ServiceRecord]) -> dict[tuple[str, int | None, str], ServiceRecord]:
    return {(r.status, r.control_set, r.name): r for r in records}


def test_committed_fixture_matches_its_spec() -> None:
    assert (FIXTURES / "deleted-SYSTEM").read_bytes() == build_from_spec(load_spec(SPEC)).data


def test_transient_services_come_back_deleted_with_their_values(deleted_hive: Path) -> None:
    with hivescan.open_hive(deleted_hive) as hive:
        live = hive.services()
        recovered = hive.deleted_services()
    assert {r.status for r in live} == {"database"}  # the live rebuild never includes recovered keys
    got = _by(recovered)
    psexec = got[("deleted", 1, "PSEXESVC")]
    assert psexec.image_path == "%SystemRoot%\\PSEXESVC.exe"
    assert (psexec.type, psexec.start, psexec.error_control) == (16, 3, 0)
    assert psexec.key_path == "ControlSet001\\Services\\PSEXESVC"
    assert psexec.last_write == "2024-05-20T14:31:07.000000Z"
    assert psexec.recovered_status == "database"
    assert psexec.recovery_confidence == "high"
    assert psexec.origin.parser == "hivescan-recover"
    assert psexec.recovery_cell_offset is not None
    assert psexec.diagnostic_codes[0] == "recovered_deleted_key"
    smbexec = got[("deleted", 1, "BTOBTO")]
    assert smbexec.image_path is not None and smbexec.image_path.startswith("%COMSPEC% /Q /c echo whoami")
    remcom = got[("deleted", 1, "RmSvc")]
    assert [v.name for v in remcom.parameters_raw] == ["Application"]
    assert remcom.subkey_names == ("Parameters",)


def test_a_deleted_copy_is_reported_only_when_it_differs_from_the_live_key(deleted_hive: Path) -> None:
    with hivescan.open_hive(deleted_hive) as hive:
        recovered = hive.deleted_services(1)
        notes = hive.hive_diagnostics()
    names = [r.name for r in recovered]
    assert "Tcpip" not in names  # identical to the live key: counted only
    assert any(d.code == "deleted_copy_suppressed" for d in notes)
    (spooler,) = [r for r in recovered if r.name == "Spooler"]
    assert spooler.image_path == "C:\\ProgramData\\spool\\spoolsv.exe"
    assert spooler.differs_from_live == ("image_path",)
    (note,) = [d for d in spooler.diagnostics if d.code == "deleted_copy_of_live_key"]
    assert "%SystemRoot%\\System32\\spoolsv.exe" in note.message


def test_unreachable_service_keys_are_orphaned(deleted_hive: Path) -> None:
    """ControlSet002's Services subkey list is zeroed: its keys are allocated, unreachable."""
    with hivescan.open_hive(deleted_hive) as hive:
        assert hive.services(2) == []
        recovered = hive.deleted_services(2)
    orphaned = {r.name for r in recovered if r.status == "orphaned"}
    assert orphaned == {"Schedule", "Spooler", "Tcpip"}
    schedule = next(r for r in recovered if r.name == "Schedule" and r.status == "orphaned")
    assert schedule.service_dll == "%systemroot%\\system32\\schedsvc.dll"
    assert schedule.diagnostic_codes[0] == "recovered_orphaned_key"


def test_services_deleted_flag_and_info_count(deleted_hive: Path) -> None:
    with hivescan.open_hive(deleted_hive) as hive:
        both = hive.services("current", deleted=True)
        info = hive.info()
    assert {r.status for r in both} == {"database", "deleted"}
    assert all(r.control_set == 1 for r in both)
    assert info.recovered_services == {"deleted": 5, "orphaned": 3}
    assert info.to_dict()["recovered_services"] == {"deleted": 5, "orphaned": 3}


def test_recovered_records_round_trip(deleted_hive: Path) -> None:
    with hivescan.open_hive(deleted_hive) as hive:
        for rec in hive.deleted_services():
            again = ServiceRecord.from_dict(rec.to_dict())
            assert again.to_dict() == rec.to_dict()
            assert again.recovery_reasons == rec.recovery_reasons


@pytest.mark.parametrize("name", ["win7-SYSTEM", "win10-dirty-SYSTEM", "nt4-SYSTEM"])
def test_clean_real_hives_give_no_deleted_rows(name: str) -> None:
    with hivescan.open_hive(shared_hive(name)) as hive:
        assert hive.deleted_services() == []
        assert hive.info().recovered_services == {"deleted": 0, "orphaned": 0}


def test_demo_hive_gives_no_deleted_rows(demo_hive: Path) -> None:
    with hivescan.open_hive(demo_hive) as hive:
        assert hive.deleted_services() == []


def test_nt4_setup_remnants_are_only_counted_unless_asked() -> None:
    """NT 4's hive holds deleted service keys of its setup hive whose parent chain leads into
    Enum, not to a control set's Services key: counted, listed only on request, low confidence."""
    with hivescan.open_hive(shared_hive("nt4-SYSTEM")) as hive:
        stray = hive.deleted_services(unattributed=True)
        notes = {d.code for d in hive.hive_diagnostics()}
    assert "deleted_keys_unattributed" in notes
    assert stray and all(r.control_set is None and r.recovery_confidence == "low" for r in stray)


def test_damaged_xp_hive_recovery_reports_what_it_could_not_walk() -> None:
    """ControlSet003's subkey list lies in a zeroed page and no key record in the file names
    ControlSet003 as its parent: its service keys are not in the file. The scan says which
    bins it could not walk and never raises."""
    with hivescan.open_hive(shared_hive("xp-corrupted-SYSTEM")) as hive:
        recovered = hive.deleted_services()
        notes = {d.code for d in hive.hive_diagnostics()}
        scan = hive.key_scan()
    assert "free_space_scan_incomplete" in notes
    assert not [r for r in recovered if r.control_set == 3]
    cs3 = [o for o in scan.children.get(scan.root_offset, ()) if scan.keys[o].nk.name == "ControlSet003"]
    assert cs3 and not scan.children.get(cs3[0])


HIVEX_SCRIPT = """cd \\ControlSet001\\Services
add EvilSvc
cd EvilSvc
setval 5
Type
dword:0x10
Start
dword:3
ErrorControl
dword:0
ImagePath
expandstring:%COMSPEC% /c echo 4f2a > \\\\.\\pipe\\4f2a
DisplayName
string:Evil Service
del
commit
"""


def test_a_key_deleted_by_hivex_comes_back(tmp_path: Path) -> None:
    """A real Windows 7 hive, edited by another registry library: hivexsh adds a service key
    with an ImagePath, deletes it again and commits. hivex clears the key's value count before
    freeing it, so the values are found by proximity (medium confidence)."""
    hive_path = shared_hive_edited_by_hivex("win7-SYSTEM", tmp_path, HIVEX_SCRIPT)
    with hivescan.open_hive(hive_path) as hive:
        assert hive.reader.key("ControlSet001\\Services\\EvilSvc") is None
        (evil,) = [r for r in hive.deleted_services() if r.name == "EvilSvc"]
        assert hive.services("current") == hive.services("current")  # the live rebuild is unaffected
    assert evil.status == "deleted"
    assert evil.control_set == 1
    assert evil.image_path == "%COMSPEC% /c echo 4f2a > \\\\.\\pipe\\4f2a"
    assert (evil.type, evil.start, evil.error_control) == (0x10, 3, 0)
    assert evil.display_name == "Evil Service"
    assert evil.recovery_confidence == "medium"
    assert "recovered_values_by_proximity" in evil.diagnostic_codes


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.integers(4096, 16_383), st.binary(min_size=1, max_size=12)), min_size=1, max_size=25))
def test_recovery_on_mutated_hives_never_raises(patches: list[tuple[int, bytes]]) -> None:
    """Damage anywhere in the bins: recovery gives records or diagnostics, never a traceback."""
    data = bytearray(build_from_spec(load_spec(SPEC)).data)
    for offset, blob in patches:
        data[offset : offset + len(blob)] = blob
    try:
        hive = hivescan.open_hive(HiveSource.from_bytes(bytes(data), "mutated"))
    except HivescanError:
        return  # too damaged to open: a clear error, not a crash
    with hive:
        for rec in hive.deleted_services(unattributed=True):
            rec.to_dict()
        hive.info()
