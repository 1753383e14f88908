"""Which machine a SYSTEM hive belongs to: its computer name and its Windows version.

Triage names hosts by these; both read the control set chosen through ``Select`` as the
service database does, so a host is named by what it would have booted with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.hive.tree import Key, upcase
from hivescan.scm.winversion import SERVICE_MARKERS, WindowsVersion, combine, from_software, from_system

if TYPE_CHECKING:
    from hivescan.system.hive import SystemHive


def computer_name(hive: SystemHive, control_set: str | int = "current") -> tuple[str | None, list[Diagnostic]]:
    """The ``ComputerName`` value of ``<set>\\Control\\ComputerName\\ComputerName``.

    The name Windows takes at boot (``ActiveComputerName`` is volatile and never in the
    file), from the control set chosen the normal way (``Select``, with fallbacks).
    None plus a ``computer_name_missing`` diagnostic when the set, key or value is absent;
    odd storage gives the decoder's diagnostics.

    References: scm-spec.md §1 (control set resolution), §9.2 (value reading rules).
    """
    from hivescan.scm.decode import decode_string

    try:
        chosen = hive.resolve(control_set).chosen
    except ValueError as exc:
        return None, [Diagnostic("computer_name_missing", "ComputerName", str(exc))]
    if not chosen:
        return None, [Diagnostic("computer_name_missing", "ComputerName", "no control set to read it from")]
    where = f"{chosen[0].name}\\Control\\ComputerName\\ComputerName"
    key = hive.reader.key(where)
    value = key.value("ComputerName") if key is not None else None
    if value is None:
        return None, [Diagnostic("computer_name_missing", "ComputerName", f"no ComputerName value in {where}")]
    decoded, diags = decode_string("ComputerName", value)
    if not decoded.value:
        return None, [*diags, Diagnostic("computer_name_missing", "ComputerName", f"empty ComputerName in {where}")]
    return decoded.value, diags


def windows_version(hive: SystemHive, control_set: str | int = "current") -> WindowsVersion:
    """Which Windows wrote this hive (SYSTEM alone, or with the SOFTWARE hive when given),
    with a confidence and the values it rests on: see :mod:`hivescan.scm.winversion`."""
    from hivescan.scm.decode import decode_dword, decode_string

    cache_key = str(control_set)
    if cache_key in hive._windows:
        return hive._windows[cache_key]
    try:
        chosen = hive.resolve(control_set).chosen
    except ValueError:
        chosen = ()
    set_name = chosen[0].name if chosen else None

    def decoded(path: str) -> dict[str, Any]:
        key = hive.reader.key(f"{set_name}\\{path}") if set_name is not None else None
        out: dict[str, Any] = {}
        for value in key.values() if key is not None else ():
            if value.type == 4:  # REG_DWORD
                out[value.name] = decode_dword(value.name, value)[0]
            elif value.type in (1, 2):  # REG_SZ, REG_EXPAND_SZ
                out[value.name] = decode_string(value.name, value)[0].value
        return out

    services_key = hive.reader.key(f"{set_name}\\Services") if set_name is not None else None
    keys = services_key.subkeys() if services_key is not None else []
    names = [k.name for k in keys]
    marked = any(upcase(n).lower() in marker for n in names for _v, _h, marker in SERVICE_MARKERS)
    svchost_hosted = None if marked or not keys else any(runs_svchost(k) for k in keys)
    system = from_system(
        decoded("Control\\Windows"), decoded("Control\\ProductOptions"), names, svchost_hosted=svchost_hosted
    )
    software = from_software(hive.software.current_version) if hive.software is not None else None
    found = combine(system, software)
    hive._windows[cache_key] = found
    return found


def runs_svchost(key: Key) -> bool:
    """Whether a service key's ImagePath names svchost.exe (raw bytes, any case)."""
    value = key.value("ImagePath")
    return value is not None and "svchost.exe" in value.data.decode("utf-16-le", "replace").lower()
