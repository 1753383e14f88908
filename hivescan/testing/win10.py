"""Realistic Windows 10 SYSTEM hives, built with the project's regf writer.

Why: batch triage is measured and tested on many hives of real size and shape, one per
host, with services that every host shares, a few only some hosts have, and per-user
service instances whose names differ per logon. Real hives cannot be multiplied like that
(and are never copied into the project), so this module builds them.

Shape (measured on ``win10-dirty-SYSTEM``, Windows 10 1709, 12.8 MB: about 33,000 keys,
75,000 values, 4.2 MB of value data; 42% of the keys under ``DriverDatabase``, then
``Control\\DeviceClasses``, ``Control\\Class``, ``Enum``, ``Services\\EventLog``):
:func:`system_tree` with ``filler=True`` gives the same proportions, about 13 MB and
about 600 services. With ``filler=False`` it is a small hive (services, Select,
ComputerName) for fast tests.

Everything is deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hivescan.testing.regf import BASE_BLOCK_SIZE, WINDOWS_RI_LEAF, BuiltHive, HiveWriter, WKey, filetime, sz

SVCHOST = r"%SystemRoot%\system32\svchost.exe"

# (name, svchost group) of svchost-hosted Windows 10 services; ServiceDll is system32\<name>.dll
_SHARED_SVCHOST: tuple[tuple[str, str], ...] = (
    ("AudioSrv", "LocalServiceNetworkRestricted"),
    ("BFE", "LocalServiceNoNetworkFirewall"),
    ("BITS", "netsvcs"),
    ("BrokerInfrastructure", "DcomLaunch"),
    ("CryptSvc", "NetworkService"),
    ("DcomLaunch", "DcomLaunch"),
    ("Dhcp", "LocalServiceNetworkRestricted"),
    ("Dnscache", "NetworkService"),
    ("DPS", "LocalServiceNoNetwork"),
    ("EventLog", "LocalServiceNetworkRestricted"),
    ("EventSystem", "LocalService"),
    ("gpsvc", "netsvcs"),
    ("iphlpsvc", "NetSvcs"),
    ("LanmanServer", "netsvcs"),
    ("LanmanWorkstation", "NetworkService"),
    ("lmhosts", "LocalServiceNetworkRestricted"),
    ("mpssvc", "LocalServiceNoNetworkFirewall"),
    ("NlaSvc", "NetworkService"),
    ("nsi", "LocalService"),
    ("PlugPlay", "DcomLaunch"),
    ("Power", "DcomLaunch"),
    ("ProfSvc", "netsvcs"),
    ("RpcEptMapper", "RPCSS"),
    ("RpcSs", "rpcss"),
    ("Schedule", "netsvcs"),
    ("SENS", "netsvcs"),
    ("ShellHWDetection", "netsvcs"),
    ("Themes", "netsvcs"),
    ("UserManager", "netsvcs"),
    ("W32Time", "LocalService"),
    ("Winmgmt", "netsvcs"),
    ("WinHttpAutoProxySvc", "LocalServiceNetworkRestricted"),
    ("wuauserv", "netsvcs"),
)
_OWN_PROCESS: tuple[tuple[str, str], ...] = (
    ("MpsSvc", r"%SystemRoot%\system32\svchost.exe -k LocalServiceNoNetwork"),
    ("msiserver", r"%SystemRoot%\system32\msiexec.exe /V"),
    ("Spooler", r"%SystemRoot%\System32\spoolsv.exe"),
    ("TrustedInstaller", r"%SystemRoot%\servicing\TrustedInstaller.exe"),
    ("VSS", r"%SystemRoot%\system32\vssvc.exe"),
    ("WinDefend", r'"C:\ProgramData\Microsoft\Windows Defender\platform\4.18.1807.18075-0\MsMpEng.exe"'),
)
# per-user service templates (Type 0x50 / 0x60); instances are <name>_<logon LUID hex>
_USER_TEMPLATES: tuple[tuple[str, int], ...] = (
    ("CDPUserSvc", 0x60),
    ("OneSyncSvc", 0x60),
    ("PimIndexMaintenanceSvc", 0x60),
    ("UnistoreSvc", 0x60),
    ("WpnUserService", 0x60),
)
# optional vendor software: each host has a deterministic random subset
_VENDOR: tuple[tuple[str, str], ...] = tuple(
    (name, rf'"C:\Program Files\{vendor}\{name}.exe"')
    for vendor, names in (
        ("Adobe", ("AdobeARMservice", "AdobeUpdateService")),
        ("Google", ("gupdate", "gupdatem", "GoogleChromeElevationService")),
        ("Mozilla", ("MozillaMaintenance",)),
        ("VMware", ("VMTools", "VGAuthService", "vm3dservice")),
        ("Dell", ("DellClientManagementService", "DellTechHub")),
        ("Intel", ("igfxCUIService2.0.0.0", "LMS", "jhi_service", "esifsvc")),
        ("NVIDIA", ("NVDisplay.ContainerLocalSystem", "NvContainerLocalSystem")),
        ("Zoom", ("ZoomCptService",)),
        ("TeamViewer", ("TeamViewer",)),
        ("Splunk", ("SplunkForwarder",)),
        ("CrowdStrike", ("CSFalconService",)),
        ("Microsoft Office", ("ClickToRunSvc",)),
    )
    for name in names
)


@dataclass(frozen=True)
class PlantedService:
    """A service to add to a host's hive (e.g. a rare one for stacking tests)."""

    name: str
    image_path: str
    type: int = 0x10
    start: int = 2
    service_dll: str | None = None
    object_name: str = "LocalSystem"


@dataclass(frozen=True)
class HostSpec:
    """What varies from host to host."""

    host: str
    seed: int = 0
    services: int = 600  # total Services subkeys, about
    filler: bool = True  # the non-service keys that give a real hive its size
    vendor_share: float = 0.3  # chance of each optional vendor service
    logons: int = 2  # per-user service instances: one set per logon session
    planted: tuple[PlantedService, ...] = field(default_factory=tuple)
    control_sets: tuple[int, ...] = (1,)
    # "v2": the first benchmark corpus's hosts (stock names, drivers drv0000.., ri lists on
    # every key; kept byte for byte for comparison and the tests); "v3": a real fleet's
    # (hivescan.testing.fleet: Windows' services and list kinds, per-host variation)
    shape: str = "v2"
    update_level: int = 0  # v3: the Windows build; hosts of one level share its stock services


def _child(parent: WKey, name: str) -> WKey:
    """A new subkey, appended without the case-insensitive search of ``WKey.key`` (which is
    quadratic for parents with thousands of subkeys); callers guarantee unique names."""
    child = WKey(name, last_write=parent.last_write)
    parent.subkeys.append(child)
    return child


def _service(
    services: WKey,
    name: str,
    *,
    type_: int,
    start: int,
    image_path: str,
    when: int,
    group: str | None = None,
    object_name: str | None = "LocalSystem",
    service_dll: str | None = None,
    rng: random.Random | None = None,
    new: bool = True,
) -> WKey:
    key = _child(services, name) if new else services.key(name)
    key.last_write = when
    key.set_dword("Type", type_).set_dword("Start", start).set_dword("ErrorControl", 1)
    key.set_expand_sz("ImagePath", image_path)
    key.set_sz("DisplayName", f"@%SystemRoot%\\system32\\{name.lower()}.dll,-100")
    key.set_sz("Description", f"@%SystemRoot%\\system32\\{name.lower()}.dll,-101")
    if object_name is not None:
        key.set_sz("ObjectName", object_name)
    if group:
        key.set_sz("Group", group)
    if type_ & 0x30:
        key.set_multi_sz("DependOnService", ["RpcSs"])
        key.set_binary("FailureActions", struct.pack("<IIII", 86400, 0, 0, 3) + bytes(28))
        key.set_multi_sz("RequiredPrivileges", ["SeChangeNotifyPrivilege", "SeImpersonatePrivilege"])
        key.set_dword("ServiceSidType", 1)
    if service_dll:
        params = key.key("Parameters")
        params.set_expand_sz("ServiceDll", service_dll).set_dword("ServiceDllUnloadOnStop", 1)
        params.last_write = when
    key.key("Security").set_binary("Security", bytes(range(20)) * 6)
    if rng is not None and rng.random() < 0.15:
        trigger = key.key("TriggerInfo\\0")
        trigger.set_dword("Type", 1).set_dword("Action", 1)
        trigger.set_sz("Guid", "{4d1e55b2-f16f-11cf-88cb-001111000030}")
    return key


def _services(spec: HostSpec, services: WKey, rng: random.Random, when: int) -> None:
    """Fill ``Services``: shared Windows services, per-user templates and instances, a random
    subset of vendor services, planted ones, then drivers up to ``spec.services``."""
    count = 0
    for name, group in _SHARED_SVCHOST:
        _service(
            services,
            name,
            type_=0x20,
            start=2,
            image_path=f"{SVCHOST} -k {group} -p",
            when=when,
            service_dll=rf"%SystemRoot%\system32\{name.lower()}.dll",
            rng=rng,
        )
        count += 1
    for name, image in _OWN_PROCESS:
        _service(services, name, type_=0x10, start=2, image_path=image, when=when, rng=rng)
        count += 1
    for name, type_ in _USER_TEMPLATES:
        key = _service(
            services,
            name,
            type_=type_,
            start=2,
            image_path=f"{SVCHOST} -k UnistackSvcGroup",
            when=when,
            service_dll=rf"%SystemRoot%\System32\{name.lower()}.dll",
        )
        key.set_dword("UserServiceFlags", 3)
        count += 1
        for _ in range(spec.logons):
            luid = f"{rng.randrange(0x10000, 0xFFFFFF):x}"
            inst = _service(
                services,
                f"{name}_{luid}",
                type_=type_ | 0x80,
                start=2,
                image_path=r"C:\Windows\system32\svchost.exe -k UnistackSvcGroup",
                when=when + rng.randrange(1, 10**9),
                object_name=None,
            )
            inst.set_sz("DisplayName", f"{name}_{luid}")
            count += 1
    for name, image in _VENDOR:
        if rng.random() < spec.vendor_share:
            _service(services, name, type_=0x10, start=2, image_path=image, when=when, rng=rng)
            count += 1
    for planted in spec.planted:
        _service(
            services,
            planted.name,
            type_=planted.type,
            start=planted.start,
            image_path=planted.image_path,
            when=when + 10**10,
            object_name=planted.object_name,
            service_dll=planted.service_dll,
            new=False,
        )
        count += 1
    i = 0
    while count < spec.services:  # kernel drivers make up the rest, as on a real system
        _service(
            services,
            f"drv{i:04d}",
            type_=0x1,
            start=3 if i % 4 else 0,
            image_path=rf"System32\drivers\drv{i:04d}.sys",
            when=when,
            group="Boot Bus Extender" if i % 9 == 0 else None,
            object_name=None,
            rng=rng,
        )
        i += 1
        count += 1
    if spec.filler:
        _event_sources(services, min(spec.services, 500))


def _event_sources(services: WKey, count: int) -> None:
    """``EventLog\\Application``'s event sources, one key each, as a real hive has hundreds."""
    sources = services.key("EventLog\\Application")
    for i in range(count):
        _child(sources, f"Source{i:04d}").set_expand_sz(
            "EventMessageFile", rf"%SystemRoot%\System32\src{i}.dll"
        ).set_dword("TypesSupported", 7)


def _filler(root: WKey, cs: WKey, rng: random.Random) -> None:
    """Non-service keys in real proportions, so the file has a real size and key count."""
    db = root.key("DriverDatabase")
    db.set_dword("Architecture", 9).set_sz("Version", "10.0.16299.15")
    packages, device_ids = db.key("DriverPackages"), db.key("DeviceIds\\PCI")
    for i in range(4400):  # DriverPackages\<inf>_<hash>\{Configurations,Descriptors,Strings}
        pkg = _child(packages, f"oem{i}.inf_amd64_{rng.getrandbits(64):016x}")
        pkg.set_sz("Provider", "Microsoft").set_binary("Signature", rng.randbytes(48))
        pkg.set_binary("Version", rng.randbytes(32)).set_sz("InfName", f"oem{i}.inf")
        pkg.key(f"Configurations\\Install_{i}").set_dword("ConfigFlags", 0).set_sz("Service", f"drv{i % 600:04d}")
        pkg.key(f"Descriptors\\PCI\\VEN_{i:04X}").set_sz("Configuration", f"Install_{i}")
        pkg.key("Strings").set_sz("Desc", f"Device {i} from a vendor with a long name " * 2)
    for i in range(1800):
        _child(device_ids, f"VEN_{i:04X}&DEV_{rng.getrandbits(16):04X}").set_binary(f"oem{i}.inf", bytes(4))
    control = cs.key("Control")
    classes = control.key("DeviceClasses")
    for i in range(2000):
        dc = _child(classes, f"{{{rng.getrandbits(128):032x}}}").key(
            f"##?#USB#VID_{i:04X}&PID_{rng.getrandbits(16):04X}"
        )
        dc.set_sz("DeviceInstance", f"USB\\VID_{i:04X}\\{rng.getrandbits(48):012X}")
        dc.key("#").set_dword("SymbolicLink", 0)
    for i in range(60):
        cls = _child(control.key("Class"), f"{{{rng.getrandbits(128):032x}}}")
        cls.set_sz("Class", f"Class{i}").set_sz("ClassDesc", f"Device class {i}")
        for j in range(18):
            inst = cls.key(f"{j:04d}")
            inst.set_sz("DriverDesc", f"Device {i}.{j}").set_sz("ProviderName", "Microsoft")
            inst.set_sz("DriverVersion", "10.0.16299.15").set_binary("DriverDateData", rng.randbytes(8))
            inst.set_sz("MatchingDeviceId", f"pci\\ven_{i:04x}&dev_{j:04x}").set_sz("InfPath", f"oem{i}.inf")
    buses = [cs.key(f"Enum\\{bus}") for bus in ("ACPI", "PCI", "SWD", "ROOT", "USB")]
    for i in range(2400):
        dev = _child(buses[i % 5], f"DEV_{i:04X}").key(f"{rng.getrandbits(32):08x}")
        dev.set_sz("DeviceDesc", f"@machine.inf,%dev{i}%;Device {i}").set_multi_sz(
            "HardwareID", [f"ACPI\\DEV_{i:04X}", "*PNP0C02"]
        )
        dev.set_sz("Service", f"drv{i % 600:04d}").set_dword("ConfigFlags", 0).set_sz("Driver", f"{{{i:08x}}}\\0000")
        dev.key("Properties").set_binary("Data", rng.randbytes(96))
    loggers = [control.key(f"WMI\\Autologger\\Logger{n}") for n in range(40)]
    for i in range(800):
        _child(loggers[i // 20], f"{{{rng.getrandbits(128):032x}}}").set_dword("Enabled", 1).set_qword(
            "MatchAnyKeyword", rng.getrandbits(63)
        ).set_dword("EnableLevel", 4)
    settings = control.key("Power\\PowerSettings")
    for i in range(1000):
        _child(settings, f"{{{i:08x}-0000-0000-0000-000000000000}}").set_binary("Attributes", rng.randbytes(40)).set_sz(
            "FriendlyName", f"@%SystemRoot%\\system32\\powrprof.dll,-{i}"
        )
    interfaces = control.key("NetworkSetup2\\Interfaces")
    for _ in range(1100):
        _child(interfaces, f"{{{rng.getrandbits(128):032x}}}").key("Kernel").set_binary("IfType", rng.randbytes(24))
    mounted = root.key("MountedDevices")
    for _ in range(40):
        mounted.set_binary(f"\\??\\Volume{{{rng.getrandbits(128):032x}}}", rng.randbytes(96))
    root.key("Setup").set_sz("SystemPartition", r"\Device\HarddiskVolume1").set_dword("SetupType", 0)
    root.key("WPA").set_binary("8DEC0AF1-0341-4b93-85CD-72606C2DF94C", rng.randbytes(1024))


# the load-order groups of a Windows 10 ServiceGroupOrder\List, in order (abridged)
_GROUP_ORDER = (
    "System Reserved", "EMS", "WdfLoadGroup", "Boot Bus Extender", "System Bus Extender", "SCSI miniport",
    "Port", "Primary Disk", "SCSI Class", "SCSI CDROM Class", "FSFilter Infrastructure", "FSFilter System",
    "FSFilter Bottom", "FSFilter Anti-Virus", "Filter", "Boot File System", "Base", "Pointer Port",
    "Keyboard Port", "Pointer Class", "Keyboard Class", "Video Init", "Video", "Video Save", "File System",
    "Streams Drivers", "NDIS Wrapper", "COM Infrastructure", "Event Log", "AudioGroup", "ProfSvc_Group",
    "UIGroup", "PNP_TDI", "NDIS", "TDI", "NetBIOSGroup", "ShellSvcGroup", "SchedulerGroup", "SpoolerGroup",
    "SmartCardGroup", "NetworkProvider", "RemoteValidation", "NetDDEGroup", "Parallel arbitrator",
    "Extended Base", "PCI Configuration", "MS Transactions",
)  # fmt: skip


def _control(control: WKey) -> None:
    """The Control keys every Windows 10 SYSTEM hive has and the service database reads."""
    control.key("ServiceGroupOrder").set_multi_sz("List", _GROUP_ORDER)
    env = control.key("Session Manager\\Environment")
    env.set_expand_sz("ComSpec", r"%SystemRoot%\system32\cmd.exe").set_expand_sz("windir", "%SystemRoot%")
    env.set_expand_sz("TEMP", r"%SystemRoot%\TEMP").set_expand_sz("TMP", r"%SystemRoot%\TEMP")
    env.set_expand_sz("Path", r"%SystemRoot%\system32;%SystemRoot%;%SystemRoot%\System32\Wbem")
    env.set_sz("OS", "Windows_NT").set_sz("NUMBER_OF_PROCESSORS", "4")


def system_tree(spec: HostSpec) -> WKey:
    """The key tree of one host's SYSTEM hive."""
    if spec.shape not in ("v2", "v3"):
        raise ValueError(f"unknown host shape {spec.shape!r} (v2 or v3)")
    rng = random.Random(spec.seed)
    when = filetime("2024-01-15T09:30:00Z") + rng.randrange(10**12)
    if spec.shape == "v3":  # the non-service keys come with the Windows build, not the host
        rng = random.Random(f"update level {spec.update_level}")
    root = WKey("ROOT", last_write=when)
    current = spec.control_sets[0]
    root.key("Select").set_dword("Current", current).set_dword("Default", current).set_dword(
        "LastKnownGood", spec.control_sets[-1]
    ).set_dword("Failed", 0)
    for number in spec.control_sets:
        cs = root.key(f"ControlSet{number:03d}")
        cs.key("Control\\ComputerName\\ComputerName").set_sz("ComputerName", spec.host)
        cs.key("Control\\ComputerName\\ComputerName").set_sz("", "mnmsrvc")
        cs.key("Control").set_sz("SystemBootDevice", "multi(0)disk(0)rdisk(0)partition(1)")
        _control(cs.key("Control"))
        if spec.shape == "v3":  # a LastKnownGood set is a copy: the same services in every set
            from hivescan.testing.fleet import fill_services  # fleet builds on this module

            fill_services(spec, cs.key("Services"), random.Random(spec.seed * 1000 + 1), when)
            if spec.filler:
                _event_sources(cs.key("Services"), 500)
        else:
            _services(spec, cs.key("Services"), random.Random(spec.seed * 1000 + number), when)
        if spec.filler and number == current:
            _filler(root, cs, rng)
    return root


def build_system_hive(spec: HostSpec) -> BuiltHive:
    """Regf bytes of one host's SYSTEM hive: for shape v3, with the subkey lists Windows
    writes (``lh``, ``ri`` only above 1,023 subkeys); for v2, ``ri`` on every key, as the
    first corpus had (kept so its figures stay comparable)."""
    lists = {"subkey_list": "windows", "ri_leaf_size": WINDOWS_RI_LEAF} if spec.shape == "v3" else {"subkey_list": "ri"}
    return HiveWriter(
        system_tree(spec),
        file_name=r"\??\C:\Windows\System32\config\SYSTEM",
        **lists,  # type: ignore[arg-type]
    ).build()


def rename_host(built: BuiltHive, old: str, new: str, control_sets: Iterable[int] = (1,)) -> bytes:
    """The same hive with another ComputerName of the same length, patched in place.

    Writing a 13 MB hive takes seconds in Python; patching the value's data cell gives
    a distinct host (and sha256) at the cost of a copy. The data cell is found through the
    writer's value offsets, never by searching the bytes.
    """
    if len(old) != len(new):
        raise ValueError("host names must have the same length to patch in place")
    data = bytearray(built.data)
    for number in control_sets:
        vk = built.value_offsets[f"ControlSet{number:03d}\\Control\\ComputerName\\ComputerName:ComputerName"]
        cell = BASE_BLOCK_SIZE + vk
        size, data_off = struct.unpack_from("<II", data, cell + 4 + 4)
        start = BASE_BLOCK_SIZE + data_off + 4
        if data[start : start + len(sz(old))] != sz(old) or size & 0x80000000:
            raise ValueError(f"ComputerName of ControlSet{number:03d} is not {old!r} stored in a data cell")
        data[start : start + len(sz(new))] = sz(new)
    return bytes(data)


def host_names(count: int, prefix: str = "WS") -> list[str]:
    """``count`` distinct host names of equal length (WS-00001, WS-00002, ...)."""
    return [f"{prefix}-{i:05d}" for i in range(1, count + 1)]


__all__: Sequence[str] = (
    "HostSpec",
    "PlantedService",
    "build_system_hive",
    "host_names",
    "rename_host",
    "system_tree",
)
