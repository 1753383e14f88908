"""Which file the kernel loads for a driver's ImagePath (spec §5.2, [R7] IopNormalizeImagePath).

No environment expansion; a missing ImagePath means ``\\SystemRoot\\System32\\drivers\\<name>.sys``;
a path not starting with ``\\`` is relative to ``\\SystemRoot\\``; anything else is an NT path,
mapped to a DOS path for the report where hivescan knows how. Every reading that is not
certain (quotes, %variables%, DOS paths) is a diagnostic with the alternative it probably meant.
"""

from __future__ import annotations

import functools
import re

from hivescan.diagnostics import Diagnostic
from hivescan.scm.environment import Environment
from hivescan.scm.imageresult import (
    DRIVE_ABSOLUTE,
    DRIVE_RELATIVE,
    SYSTEMROOT_PREFIX,
    VARIABLE,
    ImageResolution,
    assumed_note,
    under_root,
)
from hivescan.textsafe import quoted

# NT namespace prefixes that name a DOS drive: \??\C:\, \DosDevices\C:\, \GLOBAL??\C:\
_NT_DOS_DRIVE = re.compile(r"^\\(?:\?\?|DosDevices|GLOBAL\?\?)\\([A-Za-z]:\\.*)$", re.IGNORECASE | re.DOTALL)
_NT_DEVICE = re.compile(r"^\\Device\\", re.IGNORECASE)


def nt_to_dos(nt_path: str, system_root: str) -> tuple[str | None, Diagnostic | None]:
    """Map a kernel (NT) path to a DOS path for the report (spec §5.2).

    ``\\SystemRoot\\`` -> SystemRoot; ``\\??\\X:\\``, ``\\DosDevices\\X:\\``, ``\\GLOBAL??\\X:\\`` -> ``X:\\``;
    ``\\Device\\...`` and anything else stay NT paths (None) with a diagnostic.
    """
    if nt_path[: len(SYSTEMROOT_PREFIX)].upper() == SYSTEMROOT_PREFIX:
        return system_root + nt_path[len(SYSTEMROOT_PREFIX) - 1 :], None
    match = _NT_DOS_DRIVE.match(nt_path)
    if match:
        return match.group(1), None
    if _NT_DEVICE.match(nt_path):
        return None, Diagnostic(
            "nt_device_path",
            "ImagePath",
            f"NT device path {quoted(nt_path)}: which drive letter it is needs the volume mapping (MountedDevices)",
            "info",
        )
    return None, Diagnostic(
        "driver_unmapped_nt_path",
        "ImagePath",
        f"NT path {quoted(nt_path)} has no DOS equivalent hivescan knows; kept as the kernel would open it",
    )


def resolve_driver_image(
    name: str, image_path: str | None, image_path_type: str | None, env: Environment
) -> ImageResolution:
    """Kernel rules of spec §5.2 ([R7] IopNormalizeImagePath)."""
    root = env.system_root
    resolved: str | None
    if image_path and image_path_type == "REG_EXPAND_SZ" and '"' not in image_path and "%" not in image_path:
        # the common shapes, without the general path's checks: relative to \SystemRoot\, or \SystemRoot\...
        if image_path[:1] != "\\" and image_path[1:2] != ":":
            nt_path = "\\SystemRoot\\" + image_path
            resolved = f"{root}\\{image_path}"
        elif image_path[: len(SYSTEMROOT_PREFIX)].upper() == SYSTEMROOT_PREFIX:
            nt_path = image_path
            resolved = root + image_path[len(SYSTEMROOT_PREFIX) - 1 :]
        else:
            nt_path = ""
        if nt_path:
            notes = _assumed_only(root) if env.system_root_assumed else ()
            return ImageResolution(image_path, resolved, nt_path, None, (), False, "registry", (), notes)
    diags: list[Diagnostic] = []
    if not image_path:
        nt_path = f"\\SystemRoot\\System32\\drivers\\{name}.sys"
        if image_path == "":
            diags.append(Diagnostic("image_path_empty", "ImagePath", "empty ImagePath: the default path applies"))
        resolved = f"{root}\\System32\\drivers\\{name}.sys"
        if env.system_root_assumed:
            diags.append(assumed_note(root))
        return ImageResolution(
            expanded=None, resolved=resolved, nt_path=nt_path, source="default", diagnostics=tuple(diags)
        )
    if image_path_type == "REG_SZ":
        diags.append(_DRIVER_REG_SZ)
    nt_path = image_path if image_path.startswith("\\") else "\\SystemRoot\\" + image_path
    candidates: tuple[str, ...] = ()
    env_used: tuple[tuple[str, bool], ...] = ()
    if '"' in image_path:
        resolved = None
        alt = image_path.replace('"', "")
        candidates = (_driver_dos(alt, root),)
        diags.append(
            Diagnostic(
                "driver_path_quoted",
                "ImagePath",
                "quotes in a driver path are part of the file name for the kernel; without them: "
                f"{quoted(candidates[0])}",
            )
        )
    elif "%" in image_path and VARIABLE.search(image_path):
        resolved = None
        expansion = env.expand(image_path)
        env_used = expansion.used
        candidates = (_driver_dos(expansion.value, root),)
        diags.append(
            Diagnostic(
                "driver_envvar_not_expanded",
                "ImagePath",
                "the kernel does not expand %variables% (ReactOS; Windows undocumented): it would open "
                f"{quoted(nt_path)}; "
                f"if expanded: {quoted(candidates[0])}",
            )
        )
    elif image_path[1:2] == ":" and (DRIVE_ABSOLUTE.match(image_path) or DRIVE_RELATIVE.match(image_path)):
        resolved = None
        candidates = (image_path,)
        diags.append(
            Diagnostic(
                "driver_dos_path",
                "ImagePath",
                f"a DOS path is relative to \\SystemRoot\\ for the kernel ({quoted(nt_path)}); meant: "
                f"{quoted(image_path)}. "
                "Only direct registry writes produce this",
            )
        )
    else:
        resolved, note = nt_to_dos(nt_path, root)
        if note is not None:
            diags.append(note)
        if image_path[:1] == "\\" and resolved is not None and _NT_DOS_DRIVE.match(image_path):
            diags.append(_DRIVER_DOS_DEVICES)
    if env.system_root_assumed and under_root(resolved, root):
        diags.append(assumed_note(root))
    return ImageResolution(
        expanded=image_path,
        resolved=resolved,
        nt_path=nt_path,
        candidates=candidates,
        source="registry",
        env_used=env_used,
        diagnostics=tuple(diags),
    )


def _driver_dos(path: str, root: str) -> str:
    """A DOS reading of a driver path string (for the alternative a broken path probably meant)."""
    if DRIVE_ABSOLUTE.match(path):
        return path
    if path.startswith("\\"):
        dos, _ = nt_to_dos(path, root)
        return dos if dos is not None else path
    return f"{root}\\{path}"


@functools.lru_cache(maxsize=8)
def _assumed_only(root: str) -> tuple[Diagnostic, ...]:
    """The notes of most driver records without SOFTWARE, one shared tuple (fewer objects)."""
    return (assumed_note(root),)


_DRIVER_REG_SZ = Diagnostic(
    "driver_imagepath_reg_sz",
    "ImagePath",
    "driver ImagePath stored as REG_SZ (Windows loads it; ReactOS' kernel would refuse it)",
    "info",
)
_DRIVER_DOS_DEVICES = Diagnostic(
    "driver_dos_devices_path",
    "ImagePath",
    "driver path written as \\??\\X:\\... (typical of sc create and driver loaders, not of INF installs)",
    "info",
)
