"""Which file CreateProcess opens for a Win32 or per-user service's ImagePath (spec §5.3).

``REG_EXPAND_SZ`` is expanded against the rebuilt environment; the command line is split
(:mod:`hivescan.scm.cmdline`), ``.exe`` appended to an extensionless module and a bare file
name searched for. Offline, which candidate exists is guessed: every guess is a diagnostic.
"""

from __future__ import annotations

from hivescan.diagnostics import Diagnostic
from hivescan.scm.cmdline import WHITESPACE, split_command_line, with_default_extension
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


def resolve_win32_image(
    name: str, image_path: str | None, image_path_type: str | None, env: Environment
) -> ImageResolution:
    """CreateProcess rules of spec §5.3 for Win32 and per-user services."""
    root = env.system_root
    if image_path is None or image_path.strip(WHITESPACE) == "":
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
        if VARIABLE.search(image_path):
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
        risk = line.chosen > 0 and not VARIABLE.match(expanded.lstrip())
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
    if "%" in module and VARIABLE.search(module):
        # unexpanded (REG_SZ, unknown name, or text a value brought in): CreateProcess would
        # look for a file literally named "%Name%\..." -- the start fails, nothing to resolve
        resolved: str | None = None
    else:
        resolved, more_candidates, note = _dos_module(module, root, env)
        if note is not None:
            diags.append(note)
        if more_candidates and not candidates:
            candidates = more_candidates
    if env.system_root_assumed and under_root(resolved, root):
        diags.append(assumed_note(root))
    # positional: a NamedTuple built by keyword costs twice as much (once per distinct command line)
    return ImageResolution(expanded, resolved, None, line.args, candidates, risk, "registry", env_used, tuple(diags))


def _dos_module(module: str, root: str, env: Environment) -> tuple[str | None, tuple[str, ...], Diagnostic | None]:
    """The DOS path CreateProcess would open for a module name (spec §5.3 steps 4-5)."""
    if not module:
        return None, (), Diagnostic("image_path_no_module", "ImagePath", "the command line names no module")
    if DRIVE_ABSOLUTE.match(module):
        return module, (), None
    if module.startswith(("\\\\?\\", "\\??\\")):
        stripped = module[4:]
        if DRIVE_ABSOLUTE.match(stripped):
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
    if module.upper().startswith(SYSTEMROOT_PREFIX):
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
    if DRIVE_RELATIVE.match(module):
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
