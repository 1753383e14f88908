"""Reading EVTX: the real logs in full, and damaged copies that keep every readable event
with a diagnostic (never a traceback)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hivescan.events.logs import read_log
from hivescan.events.reader import NotEvtxError, check_evtx, read_evtx
from hivescan.testing import evtx as T
from tests.events.conftest import private_copy, shared_evtx

TCHOPPER = "mitre-tchopper-7045-x244.evtx"


def _codes(log: object) -> set[str]:
    return {d.code for d in log.diagnostics}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "installs"),
    [
        (TCHOPPER, {7045: 244}),
        ("mitre-smbexec-7045-4697.evtx", {7045: 1, 4697: 1}),
        ("mitre-mimikatz-4697.evtx", {4697: 1}),
        ("deepbluecli-metasploit-psexec-native-system.evtx", {7045: 2}),
        ("deepbluecli-metasploit-psexec-powershell-system.evtx", {7045: 2}),
        ("mitre-psexec-7045-7036.evtx", {7045: 1}),
        ("yamato-rdp-hijacking-4697.evtx", {4697: 1}),
    ],
)
def test_every_install_of_the_real_logs_is_listed(name: str, installs: dict[int, int]) -> None:
    log = read_log(shared_evtx(name))
    got = Counter(e.event_id for e in log.events if e.kind == "installed")
    assert dict(got) == installs
    assert not _codes(log)
    for event in log.events:
        assert event.evtx_sha256 == log.sha256 and event.time.endswith("Z") and event.record_id


def test_smbexec_install_rows_follow_the_contract() -> None:
    log = read_log(shared_evtx("mitre-smbexec-7045-4697.evtx"))
    system, security = sorted((e for e in log.events), key=lambda e: e.event_id, reverse=True)
    assert (system.event_id, security.event_id) == (7045, 4697)
    assert system.service_name == security.service_name == "BTOBTO"
    assert system.image_path == security.image_path and system.image_path.startswith("%COMSPEC% /Q /c echo cd")
    assert system.record_id == 1467331 and system.channel == "System" and system.computer == "rootdc1.offsec.lan"
    assert security.subject_user == "OFFSEC\\admmig" and security.subject_logon_id
    assert security.service_type == "0x10"  # as logged, never reinterpreted
    assert system.data["ServiceType"] == "user mode service"


def test_state_events_name_the_key_through_their_binary_data() -> None:
    log = read_log(shared_evtx("deepbluecli-metasploit-psexec-native-system.evtx"))
    states = [e for e in log.events if e.event_id == 7036 and e.display_name == "KgXItsbKgTJzdzwl"]
    assert states and {e.service_name for e in states} == {"TVRSmXcD"}  # Binary "TVRSmXcD/4"


def test_start_type_change_and_cleared_log() -> None:
    log = read_log(shared_evtx("deepbluecli-disablestop-eventlog-7040.evtx"))
    change = next(e for e in log.events if e.event_id == 7040)
    assert change.service_name == "EventLog" and change.display_name == "Windows Event Log"
    assert change.state == "auto start -> disabled" and change.start_type == "disabled"
    cleared = next(e for e in log.events if e.event_id == 104)
    assert cleared.kind == "log_cleared" and cleared.subject_user == "DESKTOP-JR78RLP\\jwrig"


def test_sysmon_registry_writes_under_services() -> None:
    log = read_log(shared_evtx("mitre-mimikatz-sysmon13.evtx"))
    assert {e.service_name for e in log.events} == {"mimidrv"}
    image = next(e for e in log.events if e.registry_value == "ImagePath")
    assert image.image_path.endswith("mimidrv.sys") and image.process.lower().endswith("services.exe")


def _damaged(tmp_path: Path, data: bytes) -> Path:
    return private_copy("damaged.evtx", tmp_path, data)


def test_truncated_log_keeps_the_events_before_the_cut(tmp_path: Path) -> None:
    source = shared_evtx(TCHOPPER).read_bytes()
    whole = read_log(shared_evtx(TCHOPPER))
    cut = read_log(_damaged(tmp_path, T.truncate(source, 4096 + 65536 * 3 + 30000)))
    assert {"evtx_truncated", "evtx_records_missing"} <= _codes(cut)
    # the three whole chunks give 289 records, the padded fourth more (the parsers alone stop at 289)
    assert 289 < cut.events_read < whole.events_read
    assert [e.record_id for e in cut.events] == [e.record_id for e in whole.events][: len(cut.events)]
    assert any(e.chunk_state == "truncated" for e in cut.events)


def test_zeroed_chunk_keeps_the_chunks_around_it(tmp_path: Path) -> None:
    source = shared_evtx(TCHOPPER).read_bytes()
    log = read_log(_damaged(tmp_path, T.zero_chunk(source, 2)))
    assert "evtx_chunk_unreadable" in _codes(log)
    whole = {e.file_record_id for e in read_log(shared_evtx(TCHOPPER)).events}
    got = {e.file_record_id for e in log.events}
    lost = whole - got
    assert lost and min(lost) > 1 and max(lost) < max(whole)  # before and after the damage are read


@pytest.mark.parametrize("damage", ["record", "checksums"])
def test_checksum_mismatch_is_reported_and_events_kept(tmp_path: Path, damage: str) -> None:
    source = shared_evtx(TCHOPPER).read_bytes()
    data = T.corrupt_record_data(source, 1, 5) if damage == "record" else T.bad_checksums(source, 1)
    log = read_log(_damaged(tmp_path, data))
    assert "evtx_chunk_checksum_mismatch" in _codes(log)
    assert log.events_read == 733
    assert {e.chunk_state for e in log.events} == {"ok", "checksum_mismatch"}


def test_damaged_file_header_still_reads_the_chunks(tmp_path: Path) -> None:
    source = shared_evtx(TCHOPPER).read_bytes()
    log = read_log(_damaged(tmp_path, bytes(4096) + source[4096:]))
    assert "evtx_header_damaged" in _codes(log)
    assert log.events_read == 733


@pytest.mark.parametrize("data", [b"", b"regf" + bytes(5000), b"ElfFile\0" + bytes(100)])
def test_not_an_event_log_is_refused_with_a_clear_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.evtx"
    path.write_bytes(data)
    if data.startswith(b"ElfFile"):  # a header cut short: no chunk, nothing to read
        with pytest.raises(NotEvtxError):
            read_evtx(path)
        return
    with pytest.raises(NotEvtxError, match="not an EVTX event log"):
        read_evtx(path)


def test_evidence_file_is_not_written(tmp_path: Path) -> None:
    source = shared_evtx(TCHOPPER).read_bytes()
    path = _damaged(tmp_path, T.truncate(source, 100_000))
    before = path.read_bytes()
    read_log(path)
    assert path.read_bytes() == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.integers(min_value=0, max_value=8 * 65536 + 4096),
    flips=st.lists(st.integers(0, 8 * 65536 + 4095), max_size=8),
)
def test_random_damage_never_raises_but_not_evtx(cut: int, flips: list[int]) -> None:
    source = bytearray(shared_evtx(TCHOPPER).read_bytes()[: 8 * 65536 + 4096])
    for where in flips:
        source[where] ^= 0x5A
    data = bytes(source[:cut])
    try:
        log = check_evtx(data, "fuzz.evtx")
    except NotEvtxError:
        return
    events = list(log.events())
    assert len(events) <= 733
