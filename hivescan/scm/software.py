"""What the SCM's view of services needs from the SOFTWARE hive, read once as plain data.

Three facts live in SOFTWARE, not SYSTEM: the system root (``Microsoft\\Windows NT\\
CurrentVersion\\SystemRoot``), the program-files folders smss turns into environment
variables (``Microsoft\\Windows\\CurrentVersion``), and the svchost group lists
(``Microsoft\\Windows NT\\CurrentVersion\\Svchost``). Everything else in the hive is ignored.
The SOFTWARE hive is optional: without it SystemRoot is assumed and svchost membership is
unknown, both flagged where they matter.

References: scm-spec.md §5.1 (SystemRoot, program files), §7.2 (svchost groups).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hivescan.diagnostics import Diagnostic
from hivescan.hive.regtypes import REG_DWORD, REG_EXPAND_SZ
from hivescan.hive.tree import Key, upcase
from hivescan.scm.decode import decode_dword, decode_multi_sz, decode_string
from hivescan.scm.environment import PROGRAM_FILES_VALUES, expand
from hivescan.scm.svchost import SVCHOST_KEY, SvchostGroup

NT_CURRENT_VERSION = "Microsoft\\Windows NT\\CurrentVersion"
CURRENT_VERSION = "Microsoft\\Windows\\CurrentVersion"
PROFILE_LIST = "Microsoft\\Windows NT\\CurrentVersion\\ProfileList"
#: ProfileList value -> the variables it becomes (Vista+: ALLUSERSPROFILE is ProgramData). The
#: service environment has them (a REG_EXPAND_SZ ``%ProgramData%\...`` ImagePath starts, e.g.
#: Defender's WdNisSvc) although spec §5.1 lists only program files **(heuristic)**.
PROFILE_LIST_VALUES = {"ProgramData": ("ProgramData", "ALLUSERSPROFILE"), "Public": ("PUBLIC",)}


@dataclass(frozen=True, slots=True)
class SoftwareData:
    """Plain data from a SOFTWARE hive, with where it came from."""

    path: str
    sha256: str
    system_root: str | None = None
    program_dirs: Mapping[str, str] = field(default_factory=dict)  # variable name -> folder
    svchost_groups: Mapping[str, SvchostGroup] = field(default_factory=dict)  # upper-cased group -> group
    svchost_key_found: bool = False
    diagnostics: tuple[Diagnostic, ...] = ()
    # Microsoft\Windows NT\CurrentVersion values that say which Windows this is (decoded)
    current_version: Mapping[str, str | int] = field(default_factory=dict)

    def group(self, name: str) -> SvchostGroup | None:
        return self.svchost_groups.get(upcase(name))

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "system_root": self.system_root,
            "program_dirs": dict(self.program_dirs),
            "svchost_groups": {g.name: g.to_dict() for g in self.svchost_groups.values()},
            "current_version": dict(self.current_version),
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


def _key(root: Key, path: str) -> Key | None:
    node: Key | None = root
    for part in path.split("\\"):
        node = node.subkey(part) if node is not None else None
    return node


#: CurrentVersion values that identify the Windows (read by scm/winversion.py)
VERSION_VALUES = (
    "CurrentVersion",
    "CurrentBuild",
    "CurrentBuildNumber",
    "CurrentMajorVersionNumber",
    "CurrentMinorVersionNumber",
    "UBR",
    "EditionID",
    "ProductName",
    "DisplayVersion",
    "ReleaseId",
    "CSDVersion",
    "InstallationType",
)


def _version_values(nt: Key, diags: list[Diagnostic]) -> dict[str, str | int]:
    """The version values present, decoded the way their type says (DWORD or string)."""
    out: dict[str, str | int] = {}
    for name in VERSION_VALUES:
        value = nt.value(name)
        if value is None:
            continue
        if value.type == REG_DWORD:
            number, more = decode_dword(f"{NT_CURRENT_VERSION}\\{name}", value)
            diags += more
            if number is not None:
                out[name] = number
        else:
            decoded, more = decode_string(f"{NT_CURRENT_VERSION}\\{name}", value)
            diags += more
            out[name] = decoded.value
    return out


def read_software(root: Key, *, path: str, sha256: str) -> SoftwareData:
    """Read SystemRoot, the program-files folders and the svchost groups from a SOFTWARE root."""
    diags: list[Diagnostic] = []
    system_root: str | None = None
    current_version: dict[str, str | int] = {}
    nt = _key(root, NT_CURRENT_VERSION)
    if nt is not None:
        diags += nt.diagnostics
        current_version = _version_values(nt, diags)
        value = nt.value("SystemRoot")
        if value is not None:
            decoded, more = decode_string(f"{NT_CURRENT_VERSION}\\SystemRoot", value)
            diags += more
            system_root = decoded.value.rstrip("\\") or None
    if system_root is None:
        diags.append(
            Diagnostic(
                "software_value_missing",
                f"{NT_CURRENT_VERSION}\\SystemRoot",
                "the SOFTWARE hive has no SystemRoot value: C:\\Windows is assumed",
            )
        )

    program_dirs: dict[str, str] = {}
    roots = {"SYSTEMROOT": system_root, "SYSTEMDRIVE": system_root[:2]} if system_root else {}

    def root_variable(name: str) -> str | None:  # only these are known when SOFTWARE is read
        return roots.get(name.upper())

    for key_path, mapping in (
        (CURRENT_VERSION, {name: (variable,) for name, variable in PROGRAM_FILES_VALUES.items()}),
        (PROFILE_LIST, PROFILE_LIST_VALUES),
    ):
        folders = _key(root, key_path)
        if folders is None:
            continue
        diags += folders.diagnostics
        for value_name, variables in mapping.items():
            value = folders.value(value_name)
            if value is None:
                continue
            decoded, more = decode_string(f"{key_path}\\{value_name}", value)
            diags += more
            text = expand(decoded.value, root_variable).value if value.type == REG_EXPAND_SZ else decoded.value
            for variable in variables:
                if text and variable not in program_dirs:
                    program_dirs[variable] = text
    if "ProgramFiles" not in program_dirs:
        diags.append(
            Diagnostic(
                "software_value_missing",
                f"{CURRENT_VERSION}\\ProgramFilesDir",
                "the SOFTWARE hive has no ProgramFilesDir: %ProgramFiles% stays unknown",
            )
        )

    groups: dict[str, SvchostGroup] = {}
    svchost = _key(root, SVCHOST_KEY)
    if svchost is None:
        diags.append(
            Diagnostic(
                "software_value_missing",
                SVCHOST_KEY,
                "the SOFTWARE hive has no Svchost key: every svchost group is missing",
            )
        )
    else:
        diags += svchost.diagnostics
        for value in svchost.values():
            upper = upcase(value.name)
            if upper in groups or not value.name:
                continue
            members, more = decode_multi_sz(f"Svchost\\{value.name}", value)
            diags += more
            groups[upper] = SvchostGroup(value.name, members.items, value.type)
        for sub in svchost.subkeys():
            upper = upcase(sub.name)
            existing = groups.get(upper)
            groups[upper] = SvchostGroup(
                existing.name if existing else sub.name,
                existing.members if existing else (),
                existing.value_type if existing else None,
                tuple(sub.values()),
                sub.last_write,
            )
    return SoftwareData(
        path=path,
        sha256=sha256,
        system_root=system_root,
        program_dirs=program_dirs,
        svchost_groups=groups,
        svchost_key_found=svchost is not None,
        diagnostics=tuple(diags),
        current_version=current_version,
    )


__all__ = ["SoftwareData", "read_software"]
