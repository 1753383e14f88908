"""Which Windows wrote the hive: version, build and edition, with the evidence for the answer.

Why: known-good catalogs describe one generation of Windows (Trawler's expectations were taken
from Windows 10/11); comparing an XP or NT 4 service with them reports every stock service as
"differs". Judgement needs the version first, and it must say how sure it is.

Two sources, both plain data handed in by the caller (this module reads no hive):

* SYSTEM alone (:func:`from_system`): ``Control\\Windows`` (``CSDVersion`` = service pack
  << 8, ``CSDBuildNumber``, and on Windows 10 ``ShutdownStopTimePerfCounterBuildLab``
  "16299.rs3_release..."), ``Control\\ProductOptions\\ProductType`` (WinNT = workstation,
  ServerNT / LanmanNT = server) and which stock services exist (a service introduced with a
  release marks that release or later). A build lab string is exact (``high``); services
  present give the generation (``medium``); nothing recognisable gives ``none``.
* SOFTWARE (:func:`from_software`): ``Microsoft\\Windows NT\\CurrentVersion`` values
  (``CurrentMajorVersionNumber``/``CurrentVersion``, ``CurrentBuild``, ``UBR``, ``EditionID``,
  ``ProductName``, ``DisplayVersion``/``ReleaseId``, ``CSDVersion``): ``high``.

:func:`combine` prefers SOFTWARE and records both bases. Windows 10 and later report
``CurrentVersion`` 6.3 for compatibility; the major/minor DWORDs or the build decide.

References: scm-spec.md §1 (control sets); Microsoft "Operating System Version" (build numbers
per release); Windows 10/11 release information (build -> version such as 1809).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

CONFIDENCES = ("high", "medium", "low", "none")

#: first build of each NT version (a build at or above it and below the next is that version)
_NT_BY_BUILD: tuple[tuple[int, str], ...] = (
    (10240, "10.0"),
    (9600, "6.3"),
    (9200, "6.2"),
    (7600, "6.1"),
    (6000, "6.0"),
    (3790, "5.2"),
    (2600, "5.1"),
    (2195, "5.0"),
    (1381, "4.0"),
)

#: NT 10.0 builds -> release names (client; servers share some builds)
_RELEASES: Mapping[int, str] = {
    10240: "1507",
    10586: "1511",
    14393: "1607",
    15063: "1703",
    16299: "1709",
    17134: "1803",
    17763: "1809",
    18362: "1903",
    18363: "1909",
    19041: "2004",
    19042: "20H2",
    19043: "21H1",
    19044: "21H2",
    19045: "22H2",
    22000: "21H2",
    22621: "22H2",
    22631: "23H2",
    26100: "24H2",
}
_SERVER_RELEASES: Mapping[int, str] = {14393: "2016", 17763: "2019", 20348: "2022", 26100: "2025"}

_CLIENT_NAMES: Mapping[str, str] = {
    "4.0": "Windows NT 4.0 Workstation",
    "5.0": "Windows 2000",
    "5.1": "Windows XP",
    "5.2": "Windows XP x64",
    "6.0": "Windows Vista",
    "6.1": "Windows 7",
    "6.2": "Windows 8",
    "6.3": "Windows 8.1",
    "10.0": "Windows 10",
}
_SERVER_NAMES: Mapping[str, str] = {
    "4.0": "Windows NT 4.0 Server",
    "5.0": "Windows 2000 Server",
    "5.2": "Windows Server 2003",
    "6.0": "Windows Server 2008",
    "6.1": "Windows Server 2008 R2",
    "6.2": "Windows Server 2012",
    "6.3": "Windows Server 2012 R2",
    "10.0": "Windows Server",
}

#: a Services key with at least this many subkeys is taken as whole (NT 4.0 already ships ~100):
#: the absence of a later generation's services then means something.
FULL_SERVICES = 80

#: services a release introduced, newest first: (NT version, product hint, names). The first
#: generation with a service present wins. Names are stock service key names, compared
#: case-insensitively; each list needs one hit.
SERVICE_MARKERS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("10.0", "Windows 10 or later", frozenset({"cdpsvc", "onesyncsvc", "wpnservice", "cdpusersvc", "bam"})),
    ("6.2", "Windows 8 / Server 2012 or later", frozenset({"brokerinfrastructure", "timebrokersvc", "wcmsvc"})),
    ("6.1", "Windows 7 / Server 2008 R2", frozenset({"sppsvc", "axinstsv", "bthserv"})),
    ("6.0", "Windows Vista / Server 2008", frozenset({"wecsvc", "profsvc", "nsi"})),
    ("5.1", "Windows XP / Server 2003", frozenset({"themes", "helpsvc"})),
    ("5.0", "Windows 2000", frozenset({"dnscache"})),
)


@dataclass(frozen=True, slots=True)
class WindowsVersion:
    """What the hive says about its Windows; every field None when not known.

    ``nt_version`` is the kernel version ("10.0", "6.1", "5.1", "4.0"); ``build`` the build
    number; ``release`` a Windows 10/11 or Server release name ("1709", "2019"); ``confidence``
    high | medium | low | none; ``basis`` the values and keys the answer rests on, readable.
    """

    nt_version: str | None = None
    build: int | None = None
    product: str | None = None
    release: str | None = None
    service_pack: int | None = None
    edition: str | None = None
    product_type: str | None = None  # WinNT | ServerNT | LanmanNT
    update_revision: int | None = None  # UBR
    confidence: str = "none"
    basis: tuple[str, ...] = ()
    source: str = "system"  # system | software | system+software

    @property
    def known(self) -> bool:
        return self.nt_version is not None

    @property
    def server(self) -> bool:
        return self.product_type in ("ServerNT", "LanmanNT")

    @property
    def label(self) -> str:
        """One line for people: "Windows 10 1709 (NT 10.0, build 16299)" or "unknown"."""
        if not self.known:
            return "unknown"
        name = self.product or f"Windows NT {self.nt_version}"
        if self.release and self.release not in name:
            name += f" {self.release}"
        if self.service_pack:
            name += f" SP{self.service_pack}"
        details = [f"NT {self.nt_version}"]
        if self.build is not None:
            details.append(f"build {self.build}" + (f".{self.update_revision}" if self.update_revision else ""))
        return f"{name} ({', '.join(details)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "nt_version": self.nt_version,
            "build": self.build,
            "product": self.product,
            "release": self.release,
            "service_pack": self.service_pack,
            "edition": self.edition,
            "product_type": self.product_type,
            "update_revision": self.update_revision,
            "confidence": self.confidence,
            "basis": list(self.basis),
            "source": self.source,
        }


UNKNOWN = WindowsVersion()


def nt_version_of_build(build: int) -> str | None:
    for first, version in _NT_BY_BUILD:
        if build >= first:
            return version
    return None


def _product(nt: str | None, product_type: str | None, build: int | None) -> tuple[str | None, str | None]:
    """Product name and release for a version, build and product type."""
    if nt is None:
        return None, None
    server = product_type in ("ServerNT", "LanmanNT")
    if nt == "10.0" and build is not None:
        if server:
            release = _SERVER_RELEASES.get(build)
            return (f"Windows Server {release}" if release else "Windows Server"), None
        return ("Windows 11" if build >= 22000 else "Windows 10"), _RELEASES.get(build)
    names = _SERVER_NAMES if server else _CLIENT_NAMES
    return names.get(nt), None


_DIGITS = re.compile(r"[0-9]{1,12}")


def _int(value: Any) -> int | None:
    """A number written in ASCII digits (str.isdigit() also accepts superscripts like '¹',
    which int() refuses; a hive's text is anyone's)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


_BUILD_LAB = re.compile(r"\s*(\d{4,5})\.")
_FIXED_BUILDS: Mapping[str, int] = {"4.0": 1381, "5.0": 2195, "5.1": 2600, "5.2": 3790}


def from_system(
    windows: Mapping[str, Any],
    product_options: Mapping[str, Any],
    services: Collection[str],
    svchost_hosted: bool | None = None,
) -> WindowsVersion:
    """The version from SYSTEM alone.

    ``windows``: decoded values of ``<set>\\Control\\Windows``; ``product_options``: of
    ``<set>\\Control\\ProductOptions``; ``services``: the names under ``<set>\\Services``;
    ``svchost_hosted``: whether any service's ImagePath runs svchost.exe (Windows 2000 and
    later host services in it, NT 4.0 did not; None = not looked at, then NT 4.0 is not said).
    """
    basis: list[str] = []
    product_type = product_options.get("ProductType")
    product_type = str(product_type) if isinstance(product_type, str) and product_type else None
    if product_type:
        basis.append(f"Control\\ProductOptions ProductType {product_type}")
    csd = _int(windows.get("CSDVersion"))
    service_pack = (csd >> 8) & 0xFF if csd is not None else None
    if csd is not None:
        basis.append(f"Control\\Windows CSDVersion 0x{csd:x}")

    build: int | None = None
    nt: str | None = None
    confidence = "none"
    lab = windows.get("ShutdownStopTimePerfCounterBuildLab")
    if isinstance(lab, str) and (m := _BUILD_LAB.match(lab)):
        build = int(m.group(1))
        nt = nt_version_of_build(build)
        confidence = "high" if nt else "none"
        basis.append(f"Control\\Windows ShutdownStopTimePerfCounterBuildLab {lab}")
    if nt is None:
        present = {name.lower() for name in services}
        for version, _hint, names in SERVICE_MARKERS:
            hits = sorted(names & present)
            if hits:
                # the newest generation present is a lower bound: on a full Services key (a real
                # hive has well over a hundred) or for the newest generation known it is the
                # version; on a sparse key, a later Windows missing its markers is as likely
                nt = version
                whole = len(present) >= FULL_SERVICES or version == SERVICE_MARKERS[0][0]
                confidence = "medium" if whole else "low"
                basis.append(
                    f"services present: {', '.join(hits)} (introduced with NT {version}; "
                    f"{len(present)} services, none of a later generation)"
                )
                break
        if nt == "5.1" and product_type in ("ServerNT", "LanmanNT"):
            nt = "5.2"  # Server 2003 has the XP services; XP x64 is a workstation
        elif nt is None and svchost_hosted is False and present & {"dhcp", "eventlog", "rpcss"}:
            nt, confidence = "4.0", "low"
            basis.append(
                "no service introduced with Windows 2000 or later (no Dnscache) and none hosted by svchost.exe: "
                "NT 4.0 or earlier"
            )
        if nt is not None and nt in _FIXED_BUILDS:
            build = _FIXED_BUILDS[nt]
        elif nt == "6.1" and service_pack is not None:
            build = 7600 + min(service_pack, 1)
        elif nt == "6.0" and service_pack is not None:
            build = 6000 + min(service_pack, 2)
    product, release = _product(nt, product_type, build)
    if nt == "6.2" and build is None:
        # no service tells 8 from 8.1 (NT 6.3): "6.2" then stands for either, and says so
        product = "Windows Server 2012 or 2012 R2" if product_type in ("ServerNT", "LanmanNT") else "Windows 8 or 8.1"
    return WindowsVersion(
        nt_version=nt,
        build=build,
        product=product,
        release=release,
        service_pack=service_pack or None,
        product_type=product_type,
        confidence=confidence,
        basis=tuple(basis),
        source="system",
    )


def from_software(current_version: Mapping[str, Any]) -> WindowsVersion:
    """The version from ``SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion`` values (decoded)."""
    basis: list[str] = []
    major = _int(current_version.get("CurrentMajorVersionNumber"))
    minor = _int(current_version.get("CurrentMinorVersionNumber"))
    build = _int(current_version.get("CurrentBuild")) or _int(current_version.get("CurrentBuildNumber"))
    if build is not None:
        basis.append(f"CurrentVersion CurrentBuild {build}")
    nt: str | None = None
    if major is not None and minor is not None:
        nt = f"{major}.{minor}"
        basis.append(f"CurrentVersion CurrentMajorVersionNumber {major}, CurrentMinorVersionNumber {minor}")
    elif build is not None:
        nt = nt_version_of_build(build)
    else:
        text = current_version.get("CurrentVersion")
        if isinstance(text, str) and re.fullmatch(r"\d+\.\d+", text.strip()):
            nt = text.strip()
            basis.append(f"CurrentVersion CurrentVersion {nt}")
    if nt is None:
        return WindowsVersion(basis=tuple(basis), source="software")
    name = current_version.get("ProductName")
    edition = current_version.get("EditionID")
    release = current_version.get("DisplayVersion") or current_version.get("ReleaseId")
    csd = current_version.get("CSDVersion")
    service_pack = None
    if isinstance(csd, str) and (m := re.search(r"(\d+)", csd)):
        service_pack = int(m.group(1))
    product_type = "ServerNT" if isinstance(name, str) and "server" in name.lower() else None
    product, built_release = _product(nt, product_type, build)
    if isinstance(name, str) and name.strip():
        basis.append(f"CurrentVersion ProductName {name.strip()}")
        # ProductName says "Windows 10" on Windows 11 (Microsoft kept it): the build decides
        product = product if (nt == "10.0" and build is not None and build >= 22000) else name.strip()
    return WindowsVersion(
        nt_version=nt,
        build=build,
        product=product,
        release=str(release).strip() if isinstance(release, str) and release.strip() else built_release,
        service_pack=service_pack,
        edition=str(edition).strip() if isinstance(edition, str) and edition.strip() else None,
        product_type=product_type,
        update_revision=_int(current_version.get("UBR")),
        confidence="high",
        basis=tuple(basis),
        source="software",
    )


def combine(system: WindowsVersion, software: WindowsVersion | None) -> WindowsVersion:
    """SOFTWARE's answer when it has one (SYSTEM's ProductType kept), else SYSTEM's; both bases."""
    if software is None or not software.known:
        return system
    return WindowsVersion(
        nt_version=software.nt_version,
        build=software.build if software.build is not None else system.build,
        product=software.product,
        release=software.release,
        service_pack=software.service_pack if software.service_pack is not None else system.service_pack,
        edition=software.edition,
        product_type=system.product_type or software.product_type,
        update_revision=software.update_revision,
        confidence="high",
        basis=software.basis + system.basis,
        source="system+software",
    )


def within(version: WindowsVersion | None, nt_versions: Collection[str], min_build: int | None = None) -> bool:
    """Whether a known version is one of ``nt_versions`` (and at least ``min_build``).
    An unknown version is within nothing: a catalog of one Windows is not applied to a guess."""
    if version is None or version.nt_version is None or version.nt_version not in nt_versions:
        return False
    if min_build is not None:
        return version.build is not None and version.build >= min_build
    return True
