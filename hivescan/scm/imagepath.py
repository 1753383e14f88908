"""Which file an ImagePath makes Windows load: kernel rules for drivers, CreateProcess for the rest.

Drivers (Type 0x1, 0x2, 0x8) are loaded by the kernel (boot loader for boot-start ones): no
environment expansion, a missing ImagePath means ``\\SystemRoot\\System32\\drivers\\<name>.sys``,
a path not starting with ``\\`` is relative to ``\\SystemRoot\\``, anything else is an NT path.
Win32 and per-user services are started with ``CreateProcess(NULL, <expanded ImagePath>)``:
``REG_EXPAND_SZ`` is expanded, the module is the quoted part or, unquoted, the first of the
space-separated prefixes that exists (offline: guessed), ``.exe`` is appended to an
extensionless name, and a bare file name is searched for.

Everything here is a pure function of the ImagePath, its registry type, the service name and
the rebuilt :class:`~hivescan.scm.environment.Environment`; every choice that is not certain
is a diagnostic (the rule tables of spec §5.2 and §5.3 are the test cases).

References: scm-spec.md §5 (ImagePath), §9.4-9.5; [M16] CreateProcessW; [R7] IopNormalizeImagePath.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.scm.constants import ACCEPTED_TYPES, DRIVER_TYPES, SERVICE_PKG_SERVICE
from hivescan.scm.environment import Environment
from hivescan.textsafe import quoted

_WHITESPACE = " \t"
_BLANK_RUN = re.compile(r"[ \t]+")
_DRIVE_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")
_DRIVE_RELATIVE = re.compile(r"^[A-Za-z]:(?![\\/])")
_VARIABLE = re.compile(r"%[^%]+%")
# NT namespace prefixes that name a DOS drive: \??\C:\, \DosDevices\C:\, \GLOBAL??\C:\
_NT_DOS_DRIVE = re.compile(r"^\\(?:\?\?|DosDevices|GLOBAL\?\?)\\([A-Za-z]:\\.*)$", re.IGNORECASE | re.DOTALL)
_NT_DEVICE = re.compile(r"^\\Device\\", re.IGNORECASE)
_SYSTEMROOT_PREFIX = "\\SYSTEMROOT\\"


class CommandLine(NamedTuple):
    """How CreateProcess splits a command line whose application name is NULL.

    ``candidates`` are the module names Windows tries in order (``.exe`` appended where the
    last component has no extension) up to the one hivescan assumes exists, ``chosen`` its
    index: just the module when that is the first one Windows tries (nothing to guess but
    its existence), every candidate when ``guessed``. ``args`` is what follows the module
    (trimmed, None if nothing).
    """

    module: str
    args: str | None
    quoted: bool
    candidates: tuple[str, ...]
    chosen: int
    unbalanced_quote: bool = False
    guessed: bool = False


def _has_extension(path: str) -> bool:
    cut = max(path.rfind("\\"), path.rfind("/"))
    return path.find(".", cut + 1) >= 0


def with_default_extension(path: str) -> str:
    """``.exe`` appended when the last component has no extension (and does not end in '.')."""
    return path if _has_extension(path) else path + ".exe"


def split_command_line(text: str) -> CommandLine:
    """Split a service command line the way CreateProcess does (spec §5.3 steps 2-3).

    Never raises. Quoted: the module is everything up to the next ``"``. Unquoted with
    blanks: each prefix ending before a space/tab is a candidate, then the whole line;
    the assumed module is the first candidate ending in ``.exe`` (heuristic), else the
    first with an extension, else the first; ``guessed`` when that is not simply the
    first candidate Windows tries.
    """
    line = text.lstrip(_WHITESPACE)
    if line.startswith('"'):
        end = line.find('"', 1)
        if end < 0:
            module = line[1:]
            return CommandLine(module, None, True, (with_default_extension(module),), 0, unbalanced_quote=True)
        module = line[1:end]
        args = line[end + 1 :].strip(_WHITESPACE) or None
        return CommandLine(module, args, True, (with_default_extension(module),), 0)
    whole = line.rstrip(_WHITESPACE)
    if not whole:
        return CommandLine("", None, False, (), 0)
    blank = _BLANK_RUN.search(whole)
    if blank is None:  # one candidate: nothing is guessed but that it exists
        return CommandLine(whole, None, False, (with_default_extension(whole),), 0)
    first = whole[: blank.start()]
    if first[-4:].lower() == ".exe":
        # the first one Windows tries is an .exe (so it has its extension): nothing is guessed
        # but that it exists (the common "C:\...\svchost.exe -k group" shape; the first blank
        # is all this needs to find)
        return CommandLine(first, whole[blank.end() :] or None, False, (first,), 0)
    ends = [m.start() for m in _BLANK_RUN.finditer(whole, blank.start())] + [len(whole)]
    prefixes = [whole[:end] for end in ends]
    chosen = next((i for i, p in enumerate(prefixes) if p[-4:].lower() == ".exe"), None)
    if chosen is None:
        chosen = next((i for i, p in enumerate(prefixes) if _has_extension(p)), 0)
    args = whole[ends[chosen] :].lstrip(_WHITESPACE) or None
    if chosen == 0:
        # Windows tries this one first: assuming it is no guess beyond "the file exists"
        return CommandLine(first, args, False, (with_default_extension(first),), 0)
    # assuming a later candidate is: an earlier one, if it existed, would run instead
    candidates = tuple(with_default_extension(p) for p in prefixes)
    return CommandLine(prefixes[chosen], args, False, candidates, chosen, guessed=True)


class ImageResolution(NamedTuple):
    """The record fields of spec §5 for one ImagePath."""

    expanded: str | None = None  # after %VAR% expansion (Win32, REG_EXPAND_SZ only); drivers: unchanged
    resolved: str | None = None  # DOS path of the module that loads; None when not knowable
    nt_path: str | None = None  # drivers: the NT path the kernel opens
    args: str | None = None  # Win32: arguments after the module
    candidates: tuple[str, ...] = ()  # alternatives in the order Windows tries them (or alternative readings)
    unquoted_path_risk: bool = False
    source: str | None = None  # registry | default; None when there is no ImagePath at all
    env_used: tuple[tuple[str, bool], ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


def nt_to_dos(nt_path: str, system_root: str) -> tuple[str | None, Diagnostic | None]:
    """Map a kernel (NT) path to a DOS path for the report (spec §5.2).

    ``\\SystemRoot\\`` -> SystemRoot; ``\\??\\X:\\``, ``\\DosDevices\\X:\\``, ``\\GLOBAL??\\X:\\`` -> ``X:\\``;
    ``\\Device\\...`` and anything else stay NT paths (None) with a diagnostic.
    """
    if nt_path[: len(_SYSTEMROOT_PREFIX)].upper() == _SYSTEMROOT_PREFIX:
        return system_root + nt_path[len(_SYSTEMROOT_PREFIX) - 1 :], None
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


def resolve_image(
    name: str, type_: int | None, image_path: str | None, image_path_type: str | None, env: Environment
) -> ImageResolution:
    """The ImagePath fields of one record: driver rules or CreateProcess rules by Type.

    Keys whose Type the SCM does not accept (rejected ``no_type``/``bad_type``) get nothing.
    """
    base = None if type_ is None else type_ & ~SERVICE_PKG_SERVICE
    if base not in ACCEPTED_TYPES:  # not a service the SCM knows: no rule says how it would load
        return ImageResolution(source="registry" if image_path is not None else None)
    if base in DRIVER_TYPES:
        return resolve_driver_image(name, image_path, image_path_type, env)
    return resolve_win32_image(name, image_path, image_path_type, env)


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
        elif image_path[: len(_SYSTEMROOT_PREFIX)].upper() == _SYSTEMROOT_PREFIX:
            nt_path = image_path
            resolved = root + image_path[len(_SYSTEMROOT_PREFIX) - 1 :]
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
            diags.append(_assumed(root))
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
    elif "%" in image_path and _VARIABLE.search(image_path):
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
    elif image_path[1:2] == ":" and (_DRIVE_ABSOLUTE.match(image_path) or _DRIVE_RELATIVE.match(image_path)):
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
    if env.system_root_assumed and _under(resolved, root):
        diags.append(_assumed(root))
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
    if _DRIVE_ABSOLUTE.match(path):
        return path
    if path.startswith("\\"):
        dos, _ = nt_to_dos(path, root)
        return dos if dos is not None else path
    return f"{root}\\{path}"


@functools.lru_cache(maxsize=8)
def _assumed(root: str) -> Diagnostic:
    """One shared note per root (diagnostics are immutable; hundreds of records carry it)."""
    return Diagnostic("systemroot_assumed", "ImagePath", f"resolved against the assumed SystemRoot {root}", "info")


@functools.lru_cache(maxsize=8)
def _assumed_only(root: str) -> tuple[Diagnostic, ...]:
    """The notes of most driver records without SOFTWARE, one shared tuple (fewer objects)."""
    return (_assumed(root),)


def _under(path: str | None, root: str) -> bool:
    return path is not None and path[: len(root)].upper() == root.upper()


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


def resolve_win32_image(
    name: str, image_path: str | None, image_path_type: str | None, env: Environment
) -> ImageResolution:
    """CreateProcess rules of spec §5.3 for Win32 and per-user services."""
    root = env.system_root
    if image_path is None or image_path.strip(_WHITESPACE) == "":
        legacy = f"{root}\\System32\\{name}.exe"
        return ImageResolution(
            expanded=image_path,
            candidates=(legacy,),
            source="registry" if image_path is not None else None,
            diagnostics=(
                Diagnostic(
                    "candidate_legacy_default",
                    "ImagePath",
                    f"no ImagePath: starting the service fails; old documentation names {quoted(legacy)} as a default",
                ),
            ),
        )
    diags: list[Diagnostic] = []
    env_used: tuple[tuple[str, bool], ...] = ()
    if image_path_type == "REG_EXPAND_SZ":
        expansion = env.expand(image_path)
        expanded, env_used = expansion.value, expansion.used
        for _name, known in env_used:
            if not known:
                unknown = [n for n, known in env_used if not known]
                diags.append(
                    Diagnostic(
                        "envvar_unknown",
                        "ImagePath",
                        "not in the rebuilt system environment, left as written: "
                        + ", ".join(f"%{n}%" for n in unknown),
                    )
                )
                break
    else:
        expanded = image_path
        if _VARIABLE.search(image_path):
            diags.append(
                Diagnostic(
                    "envvar_in_reg_sz",
                    "ImagePath",
                    f"%variables% in a {image_path_type or 'non-expandable'} value are not expanded: the literal "
                    "path is used (start would fail)",
                )
            )
    line = split_command_line(expanded)
    if line.unbalanced_quote:
        diags.append(
            Diagnostic("unbalanced_quote", "ImagePath", "opening quote without a closing one: the rest is the path")
        )
    candidates: tuple[str, ...] = ()
    risk = False
    if line.guessed:
        candidates = line.candidates
        # an unexpanded %Name% at the start makes every candidate a literal "%Name%..." file:
        # the start fails whatever is planted, so there is no path interception to report
        risk = line.chosen > 0 and not _VARIABLE.match(expanded.lstrip())
        diags.append(
            Diagnostic(
                "image_module_guessed",
                "ImagePath",
                f"unquoted path with blanks: Windows tries {len(candidates)} names in order and runs the first that "
                f"exists; assumed #{line.chosen + 1} {quoted(candidates[line.chosen])} (heuristic)",
                "warning" if risk else "info",
            )
        )
    module = line.module
    if module and module[-4:].lower() != ".exe":  # an .exe has its extension (the common case, no call)
        module = with_default_extension(module)
    if "%" in module and _VARIABLE.search(module):
        # unexpanded (REG_SZ, unknown name, or text a value brought in): CreateProcess would
        # look for a file literally named "%Name%\..." -- the start fails, nothing to resolve
        resolved: str | None = None
    else:
        resolved, more_candidates, note = _dos_module(module, root, env)
        if note is not None:
            diags.append(note)
        if more_candidates and not candidates:
            candidates = more_candidates
    if env.system_root_assumed and _under(resolved, root):
        diags.append(_assumed(root))
    # positional: a NamedTuple built by keyword costs twice as much (once per distinct command line)
    return ImageResolution(expanded, resolved, None, line.args, candidates, risk, "registry", env_used, tuple(diags))


def _dos_module(module: str, root: str, env: Environment) -> tuple[str | None, tuple[str, ...], Diagnostic | None]:
    """The DOS path CreateProcess would open for a module name (spec §5.3 steps 4-5)."""
    if not module:
        return None, (), Diagnostic("image_path_no_module", "ImagePath", "the command line names no module")
    if _DRIVE_ABSOLUTE.match(module):
        return module, (), None
    if module.startswith(("\\\\?\\", "\\??\\")):
        stripped = module[4:]
        if _DRIVE_ABSOLUTE.match(stripped):
            return (
                stripped,
                (),
                Diagnostic(
                    "nt_prefix_stripped",
                    "ImagePath",
                    f"{quoted(module[:4])} prefix read as the path {quoted(stripped)} (heuristic: the path "
                    "converter passes it on)",
                    "info",
                ),
            )
    if module.startswith(("\\\\", "//")):
        return module, (), Diagnostic("image_path_unc", "ImagePath", f"module on a network share: {quoted(module)}")
    if module.upper().startswith(_SYSTEMROOT_PREFIX):
        return (
            root[:2] + module,
            (),
            Diagnostic(
                "nt_path_in_win32_imagepath",
                "ImagePath",
                f"CreateProcess does not understand \\SystemRoot\\: {quoted(module)} is a path on the current drive",
            ),
        )
    if module.startswith(("\\", "/")):
        return (
            root[:2] + module,
            (),
            Diagnostic(
                "image_path_rooted",
                "ImagePath",
                f"rooted path without a drive: the current drive of services.exe ({root[:2]}) is assumed",
                "info",
            ),
        )
    if _DRIVE_RELATIVE.match(module):
        return (
            None,
            (),
            Diagnostic(
                "image_path_drive_relative",
                "ImagePath",
                f"{quoted(module)} is relative to the current directory of drive {module[:2]}, unknown offline",
            ),
        )
    system32 = f"{root}\\System32"
    if "\\" in module or "/" in module:
        return (
            f"{system32}\\{module}",
            (),
            Diagnostic(
                "image_path_relative",
                "ImagePath",
                f"relative path: the current directory of services.exe ({system32}) is assumed (heuristic)",
                "info",
            ),
        )
    searched = [f"{system32}\\{module}", f"{root}\\System\\{module}", f"{root}\\{module}"]
    for folder in (env.get("Path") or "").split(";"):
        folder = folder.strip().rstrip("\\")
        if folder:
            path = f"{folder}\\{module}"
            if path.upper() not in (p.upper() for p in searched):
                searched.append(path)
    return (
        searched[0],
        tuple(searched),
        Diagnostic(
            "image_path_searched",
            "ImagePath",
            f"no directory: found by the search order (System32 first, then {len(searched) - 1} more places); "
            "System32 assumed (heuristic)",
            "info",
        ),
    )


__all__ = [
    "CommandLine",
    "ImageResolution",
    "nt_to_dos",
    "resolve_driver_image",
    "resolve_image",
    "resolve_win32_image",
    "split_command_line",
    "with_default_extension",
]
