"""The Services of one host of a realistic fleet (corpus v3 of the triage benchmark).

Why: the first corpus (v2, :func:`hivescan.testing.win10._services`) gave every host of a
variant the same services byte for byte, named its stock services' DLLs after the service
(``bits.dll`` where Windows has ``qmgr.dll``: about 30 findings per host that no real host
raises) and filled the rest with drivers ``drv0000..``. A cache or a rule measured on that
is measured on a fleet that does not exist. Here the services are the ones a Windows 10
host has and a fleet varies the way a real one does:

* **stock services**: Windows' own, as the catalog of expectations describes them
  (:mod:`hivescan.testing.win10_stock`); the *update level* (a Windows build) decides which
  of them a host has (about 94%), about 5% of their Start values, Windows Defender's
  platform version and the browsers', so hosts of one level share them;
* **per host** (the host's own seed), 13-15% of the services differ between two hosts of
  the same level (measured with :func:`hivescan.testing.shape.differing`; each host about
  7% from the level's own): Start changed on about 2% of the stock services (automatic <->
  on demand: an administrator, a policy), an extra value on about 3% (DelayedAutostart,
  memory limits, ...), 10-30
  drivers of the host's hardware from a pool, each at one of three driver versions (the
  DriverStore folder differs), installed software (each vendor service with
  ``vendor_share``), browsers at one of several versions, Defender one platform behind on
  some hosts, per-user service instances with the host's own logon ids;
* the planted services of :class:`~hivescan.testing.win10.HostSpec`, as for v2.

Values and subkeys follow Windows' layout (measured on the real Windows 10 hive with
:mod:`hivescan.testing.shape`): drivers with Group/Tag/Owners on some, svchost services
with ObjectName by svchost group, RequiredPrivileges, FailureActions, ``Parameters``
(ServiceDll), a ``Security`` key on about a quarter and ``TriggerInfo`` on about 15%; drivers with
``Parameters`` (and its ``Wdf``) on about 45%.
Everything is deterministic: the same spec gives the same bytes.
"""

from __future__ import annotations

import random
import struct
import zlib
from typing import TYPE_CHECKING

from hivescan.testing.regf import WKey
from hivescan.testing.win10_stock import STOCK, StockService

if TYPE_CHECKING:
    from hivescan.testing.win10 import HostSpec, PlantedService

STOCK_SHARE = 0.94  # of the catalog's Windows services, the share one update level has
LEVEL_START_CHANGED = 0.05  # per update level: stock services whose Start differs from Windows' default
START_CHANGED = 0.02  # per host: stock services whose Start differs from the level's (2 <-> 3)
EXTRA_VALUE = 0.03  # per host: services with one more value than the level's
DEFENDER = ("4.18.2110.6-0", "4.18.2201.10-0", "4.18.2203.5-0", "4.18.2205.7-0", "4.18.23110.3-0")
BROWSER = ("118.0.5993.118", "119.0.6045.160", "120.0.6099.110", "121.0.6167.140", "122.0.6261.95")
# installed software: (name, ImagePath with {browser} for a browser version); the catalog's
# own paths where it describes the service (no finding), plausible ones where it does not
VENDOR: tuple[tuple[str, str], ...] = (
    ("AdobeARMservice", r'"C:\Program Files (x86)\Common Files\Adobe\ARM\1.0\armsvc.exe"'),
    ("ClickToRunSvc", r'"C:\Program Files\Common Files\Microsoft Shared\ClickToRun\OfficeClickToRun.exe" /service'),
    ("CSFalconService", r'"C:\Program Files\CrowdStrike\CSFalconService.exe"'),
    ("DellClientManagementService", r'"C:\Program Files (x86)\Dell\UpdateService\ServiceShell.exe"'),
    ("edgeupdate", r'"C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe" /svc'),
    ("edgeupdatem", r'"C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe" /medsvc'),
    ("GoogleChromeElevationService",
     r'"C:\Program Files\Google\Chrome\Application\{browser}\elevation_service.exe"'),
    ("gupdate", r'"C:\Program Files (x86)\Google\Update\GoogleUpdate.exe" /svc'),
    ("gupdatem", r'"C:\Program Files (x86)\Google\Update\GoogleUpdate.exe" /medsvc'),
    ("LMS", r'"C:\Program Files (x86)\Intel\Intel(R) Management Engine Components\LMS\LMS.exe"'),
    ("MicrosoftEdgeElevationService",
     r'"C:\Program Files (x86)\Microsoft\Edge\Application\{browser}\elevation_service.exe"'),
    ("MozillaMaintenance", r'"C:\Program Files (x86)\Mozilla Maintenance Service\maintenanceservice.exe"'),
    ("Sense", r'"C:\Program Files\Windows Defender Advanced Threat Protection\MsSense.exe"'),
    ("SplunkForwarder", r'"C:\Program Files\SplunkUniversalForwarder\bin\splunkd.exe" service'),
    ("uhssvc", r'"C:\Program Files\Microsoft Update Health Tools\uhssvc.exe"'),
    ("VGAuthService", r'"C:\Program Files\VMware\VMware Tools\VMware VGAuth\VGAuthService.exe"'),
    ("VMTools", r'"C:\Program Files\VMware\VMware Tools\vmtoolsd.exe"'),
    ("VSStandardCollectorService150",
     r'"C:\Program Files (x86)\Microsoft Visual Studio\Shared\Common\DiagnosticsHub.Collection.Service'
     r'\StandardCollector.Service.exe"'),
    ("ZoomCptService",
     r'"C:\Program Files\Common Files\Zoom\Support\CptService.exe" -user_path "C:\Users\user\AppData\Roaming\Zoom"'),
)  # fmt: skip
# drivers of a host's hardware: (service, inf, driver file); the DriverStore folder's hash
# depends on the driver version a host has. None is in the catalog of expectations, the
# known vulnerable drivers or the remote-access tools (a test checks): on a real host they
# raise nothing, so here neither (remote-access tools are planted where wanted)
HARDWARE: tuple[tuple[str, str, str], ...] = tuple(
    (name, inf, f"{name}.sys")
    for name, inf in (
        ("iaStorAC", "iastorac"), ("iaStorAfs", "iastorafs"), ("RTKVHD64", "hdxrt"), ("rt640x64", "rt640x64"),
        ("Netwtw14", "netwtw14"), ("Netwtw08", "netwtw08"), ("igfxn", "igdlh64"), ("amdkmdag", "u0373740"),
        ("amdfendr", "amdfendr"), ("SynTP", "syntp"), ("ETD", "etd"), ("btfilter", "btfilter"),
        ("IntcAzAudAdd", "intcaudiobus"), ("IntcDAud", "intcdaud"), ("iaLPSS2_I2C_ADL", "ialpss2_i2c_adl"),
        ("iaLPSS2_GPIO2_ADL", "ialpss2_gpio2_adl"), ("RtsPStor", "rtspstor"), ("rtux64w10", "rtux64w10"),
        ("e1dexpress", "e1d68x64"), ("b57nd60a", "b57nd60a"), ("bcmwl63a", "bcmwl63a"),
        ("Qcamain10x64", "qcamain10x64"), ("TeeDriverW10x64", "heci"), ("ipf_acpi", "ipf_acpi"),
        ("dptf_cpu", "dptf_cpu"), ("esif_lf", "esif_lf"),
        ("cxdriver", "cxdriver"), ("WavesDSP", "wavesdsp"), ("DellProf", "dellprof"), ("HpqKbFiltr", "hpqkbfiltr"),
        ("LenovoVhid", "lenovovhid"), ("NvHDAudio", "nvhdaudio"), ("NvModuleTracker2", "nvmoduletracker2"),
        ("ROOTMODEM2", "mdmcpq2"), ("usbaudio2x", "usbaudio2x"), ("ucmcx0030", "ucmcx0030"), ("iwdbus", "iwdbus"),
        ("igccservice", "igcc_dch"), ("AcpiVpc", "acpivpc"), ("SmbDrv", "smbdrv"),
    )
)  # fmt: skip
_PRIVILEGES = ("SeChangeNotifyPrivilege", "SeCreateGlobalPrivilege", "SeImpersonatePrivilege",
               "SeAuditPrivilege", "SeTcbPrivilege", "SeAssignPrimaryTokenPrivilege", "SeIncreaseQuotaPrivilege",
               "SeSecurityPrivilege", "SeBackupPrivilege", "SeRestorePrivilege")  # fmt: skip
_DRIVER_GROUPS = ("Boot Bus Extender", "System Bus Extender", "SCSI miniport", "Primary Disk", "FSFilter Bottom",
                  "Filter", "Base", "Keyboard Port", "Pointer Port", "Video", "NDIS", "PNP_TDI", "Extended Base",
                  "Streams Drivers", "File System")  # fmt: skip
_EXTRA: tuple[tuple[str, int], ...] = (("DelayedAutostart", 1), ("FailureActionsOnNonCrashFailures", 1),
                                       ("SvcMemSoftLimitInMB", 58), ("LaunchProtected", 2), ("WOW64", 0x14C),
                                       ("PreshutdownTimeout", 180000))  # fmt: skip


def stable(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts`` (the same on every run and every machine)."""
    return zlib.crc32(repr(parts).encode()) / 2**32


def level_start(service: StockService, level: int) -> int:
    """The Start an update level gives a stock service: Windows' default for the service
    (drivers mostly on demand, a share at boot or system start; services on demand or
    automatic), changed by about one build in twenty (LEVEL_START_CHANGED). Never
    disabled: a stock service Windows ships disabled is rare, and disabling a security
    service is an anomaly the rules report, which a corpus host must not raise unless planted."""
    draw = stable("start", service.name)
    if service.kind == "driver":
        start = 3 if draw < 0.66 else 0 if draw < 0.84 else 1 if draw < 0.9 else 2
    else:
        start = 3 if draw < 0.65 else 2
    if stable("level start", level, service.name) < LEVEL_START_CHANGED:
        start = 2 if start == 3 else 3
    return start


def _object_name(image_path: str) -> str:
    group = image_path.rsplit("-k ", 1)[-1].split()[0].lower() if "-k " in image_path else ""
    if group.startswith("localservice"):
        return r"NT AUTHORITY\LocalService"
    if group.startswith("networkservice"):
        return r"NT AUTHORITY\NetworkService"
    return "LocalSystem"


def _descriptor(rng: random.Random) -> bytes:
    """A service's security descriptor as stored (self-relative; 140-260 bytes, as Windows')."""
    aces = b"".join(
        bytes((0, 0)) + struct.pack("<HI", 20, 0x2018D) + rng.randbytes(12) for _ in range(rng.randint(7, 12))
    )
    return (
        struct.pack("<BBHIIII", 1, 0, 0x8014, 0, 0, 0, 20) + b"\x02\x00" + struct.pack("<HH", 8 + len(aces), 0) + aces
    )


def _add(
    services: WKey,
    made: dict[str, WKey],
    name: str,
    *,
    type_: int,
    start: int,
    image_path: str,
    when: int,
    rng: random.Random,
    service_dll: str | None = None,
    object_name: str | None = None,
    extra: tuple[str, int] | None = None,
) -> WKey:
    """One service key as Windows lays it out for its type (see the module's docstring).

    ``made`` holds the keys added so far by lower-case name: a service of a name already
    there (a planted one named like a stock one) replaces it, and no name is searched for
    in the list (quadratic for hundreds of services)."""
    old = made.get(name.lower())
    if old is not None:
        services.subkeys.remove(old)
    key = made[name.lower()] = WKey(name, last_write=when)
    services.subkeys.append(key)
    key.set_dword("Type", type_).set_dword("Start", start).set_dword("ErrorControl", 1)
    key.set_expand_sz("ImagePath", image_path)
    low = name.lower()
    if type_ & 0xF:  # a driver
        key.set_sz("DisplayName", f"@{low}.inf,%{name}.SvcDesc%;{name}")
        if stable("group", name) < 0.5:
            key.set_sz("Group", _DRIVER_GROUPS[int(stable("g", name) * len(_DRIVER_GROUPS))])
            if stable("tag", name) < 0.6:
                key.set_dword("Tag", 1 + int(stable("t", name) * 40))
        if stable("owners", name) < 0.6:
            key.set_multi_sz("Owners", [f"{low}.inf"])
        if stable("description", name) < 0.55:
            key.set_sz("Description", f"@{low}.inf,%{name}.SvcDesc%;{name} device driver for this system")
        if stable("params", name) < 0.45:
            params = key.key("Parameters")
            params.set_dword("BusType", 1 + int(stable("bus", name) * 10))
            params.key("Wdf").set_dword("KmdfLibraryVersion", 0x10000 + int(stable("kmdf", name) * 33))
    else:
        key.set_sz("DisplayName", f"@%SystemRoot%\\system32\\{low}.dll,-{100 + int(stable('d', name) * 900)}")
        key.set_sz("Description", f"@%SystemRoot%\\system32\\{low}.dll,-{1000 + int(stable('e', name) * 900)}")
        key.set_sz("ObjectName", object_name or "LocalSystem")
        if type_ & 0x20 or stable("svc", name) < 0.5:
            key.set_multi_sz("DependOnService", ["RpcSs"] + (["Tcpip"] if stable("dep", name) < 0.3 else []))
            key.set_multi_sz("RequiredPrivileges", list(_PRIVILEGES[: 3 + int(stable("p", name) * 7)]))
            key.set_binary("FailureActions", struct.pack("<IIII", 86400, 0, 0, 3) + bytes(4) + bytes(24))
            key.set_dword("ServiceSidType", 1)
    if service_dll:
        params = key.key("Parameters")
        params.set_expand_sz("ServiceDll", service_dll)
        if stable("unload", name) < 0.8:
            params.set_dword("ServiceDllUnloadOnStop", 1)
        if stable("main", name) < 0.3:
            params.set_sz("ServiceMain", "ServiceMain")
        params.last_write = when
    if stable("security", name) < (0.45 if type_ & 0x30 else 0.05):
        key.key("Security").set_binary("Security", _descriptor(random.Random(name)))
    if type_ & 0x30 and stable("trigger", name) < 0.25:
        for index in range(1 + int(stable("triggers", name) * 3)):
            trigger = key.key(f"TriggerInfo\\{index}")
            trigger.set_dword("Type", 1 + index % 7).set_dword("Action", 1)
            trigger.set_sz("GUID", f"{{{zlib.crc32(name.encode()):08x}-f16f-11cf-88cb-00111100003{index}}}")
            trigger.set_binary("Data0", f"{name}-{index}".encode("utf-16-le").ljust(64, b"\0"))
            trigger.set_dword("DataType0", 2)
    if extra is not None:
        key.set_dword(*extra)
    return key


def fill_services(spec: HostSpec, services: WKey, rng: random.Random, when: int) -> None:
    """Fill one control set's ``Services`` for ``spec`` (shape v3; see the module's docstring)."""
    level = spec.update_level
    made: dict[str, WKey] = {}
    defender = (
        DEFENDER[level % len(DEFENDER)] if rng.random() > 0.3 or not level else DEFENDER[level % len(DEFENDER) - 1]
    )
    for stock in STOCK:
        if stock.kind != "user" and stable("has", level, stock.name) >= STOCK_SHARE:
            continue
        start = level_start(stock, level)
        if rng.random() < START_CHANGED:
            start = 2 if start == 3 else 3  # automatic <-> on demand (never disabled: see level_start)
        extra = rng.choice(_EXTRA) if rng.random() < EXTRA_VALUE else None
        if stock.kind == "driver":
            type_ = 1
        elif stock.kind == "user":
            type_ = 0x60
        else:
            type_ = 0x20 if stock.kind == "svchost" else 0x10
        _add(services, made, stock.name, type_=type_, start=start, image_path=stock.image_path, when=when, rng=rng,
             service_dll=stock.service_dll, object_name=_object_name(stock.image_path), extra=extra)  # fmt: skip
        if stock.kind == "user":
            made[stock.name.lower()].set_dword("UserServiceFlags", 3)
            for _ in range(spec.logons):
                luid = f"{rng.randrange(0x10000, 0xFFFFFF):x}"
                inst = _add(services, made, f"{stock.name}_{luid}", type_=0xE0, start=start,
                            when=when + rng.randrange(1, 10**9),
                            image_path=stock.image_path.replace("%SystemRoot%", r"C:\Windows"), rng=rng)  # fmt: skip
                inst.set_sz("DisplayName", f"{stock.name}_{luid}")
    platform = rf'"C:\ProgramData\Microsoft\Windows Defender\Platform\{defender}\{{}}"'
    for name, exe in (("WinDefend", "MsMpEng.exe"), ("WdNisSvc", "NisSrv.exe")):
        _add(services, made, name, type_=0x10, start=2 if name == "WinDefend" else 3, image_path=platform.format(exe),
             when=when, rng=rng, object_name="LocalSystem")  # fmt: skip
    browser = BROWSER[(level + (rng.random() < 0.4)) % len(BROWSER)]
    for name, image in VENDOR:
        if rng.random() < spec.vendor_share:
            _add(services, made, name, type_=0x10, start=2, image_path=image.replace("{browser}", browser), when=when,
                 rng=rng, object_name="LocalSystem")  # fmt: skip
    for name, inf, sys_file in rng.sample(HARDWARE, rng.randint(10, 30)):
        version = rng.randrange(3)
        folder = f"{inf}.inf_amd64_{zlib.crc32(f'{inf}{version}'.encode()):08x}{zlib.crc32(inf.encode()):08x}"
        image = rf"\SystemRoot\System32\DriverStore\FileRepository\{folder}\{sys_file}"
        _add(services, made, name, type_=1, start=3, image_path=image, when=when + rng.randrange(1, 10**12), rng=rng)
    for planted in spec.planted:
        _add(services, made, planted.name, type_=planted.type, start=planted.start, image_path=planted.image_path,
             when=when + 10**10, rng=rng, service_dll=planted.service_dll, object_name=planted.object_name)  # fmt: skip


def planted_key(spec: HostSpec, planted: PlantedService) -> WKey:
    """The key of a service planted in ``spec``'s hive, as :func:`fill_services` writes it
    (the same time stamp and values): for adding it to a hive already written, the way
    Windows installs a service (:func:`append_planted`)."""
    from hivescan.testing.regf import filetime

    when = filetime("2024-01-15T09:30:00Z") + random.Random(spec.seed).randrange(10**12)  # as system_tree
    holder = WKey("Services", last_write=when)
    return _add(holder, {}, planted.name, type_=planted.type, start=planted.start, image_path=planted.image_path,
                when=when + 10**10, rng=random.Random(0), service_dll=planted.service_dll,
                object_name=planted.object_name)  # fmt: skip


def append_planted(image: bytes, spec: HostSpec, planted: PlantedService) -> bytes:
    """``image`` (the hive of ``spec``, shape v3) with ``planted`` installed in every control
    set the way Windows adds a service: its cells appended in new bins, each Services list
    reallocated, the rest of the file unchanged (:mod:`hivescan.testing.regf_edit`), so a
    log of the change holds a few pages, not the whole hive. The result reads as the hive of
    ``spec`` with ``planted`` added to ``spec.planted``, but for the Services keys'
    last-written time (set to the service's, as Windows does)."""
    from hivescan.testing.regf import WINDOWS_RI_LEAF
    from hivescan.testing.regf_edit import HiveEditor

    editor = HiveEditor(image, subkey_list="windows", ri_leaf_size=WINDOWS_RI_LEAF)
    for number in spec.control_sets:
        key = planted_key(spec, planted)
        editor.add_key(f"ControlSet{number:03d}\\Services", key, parent_last_write=key.last_write)
    return editor.image()


__all__ = [
    "BROWSER",
    "DEFENDER",
    "HARDWARE",
    "STOCK_SHARE",
    "VENDOR",
    "append_planted",
    "fill_services",
    "level_start",
    "planted_key",
    "stable",
]
