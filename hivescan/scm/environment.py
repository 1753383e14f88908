"""The system environment the SCM expands ``REG_EXPAND_SZ`` values with, rebuilt offline.

``services.exe`` expands an ImagePath (and svchost a ServiceDll) with its own process
environment. That environment is the *system* environment built at boot: the values of
``<ControlSet>\\Control\\Session Manager\\Environment`` plus ``SystemRoot``/``SystemDrive``
(from the kernel) and the program-files variables (from SOFTWARE). No per-user variables:
services.exe runs as SYSTEM. Rebuilding it offline is a heuristic (spec §5.1); every
variable a value uses is recorded with whether it was known, so a reader can see what was
assumed.

Expansion follows ``RtlExpandEnvironmentStrings_U`` as ReactOS implements it: ``%NAME%``
is looked up case-insensitively; an unknown name is copied verbatim *including* both
``%`` and scanning resumes after the closing ``%``; a ``%`` without a closing one is
copied with the rest of the string. One pass: a substituted value is not expanded again
(Wine's tests, run on Windows, confirm ``%IndirectVar%`` -> ``Foo%EnvVar%Bar``).

The environment's own ``REG_EXPAND_SZ`` values are expanded recursively against the whole
environment with a cycle guard (spec §5.1, heuristic: smss builds the block in one pass in
registry order, which can leave a forward reference unexpanded).

References: scm-spec.md §5.1, §9.2; ReactOS ``sdk/lib/rtl/env.c``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_EXPAND_SZ, REG_SZ, reg_type_name
from hivescan.hive.tree import upcase
from hivescan.scm.decode import decode_string
from hivescan.textsafe import quoted

ASSUMED_SYSTEM_ROOT = "C:\\Windows"
MAX_VALUE_CHARS = 32767  # the longest environment variable value Windows allows
MAX_NESTING = 64  # variables referring to variables referring to ...: deeper chains stay unexpanded
ENVIRONMENT_KEY = "Control\\Session Manager\\Environment"

#: SOFTWARE ``Microsoft\\Windows\\CurrentVersion`` value -> the variable smss derives from it
#: (spec §5.1; the two ``CommonProgramFiles`` variants beyond the spec's four are set the
#: same way on 64-bit Windows).
PROGRAM_FILES_VALUES = {
    "ProgramFilesDir": "ProgramFiles",
    "ProgramFilesDir (x86)": "ProgramFiles(x86)",
    "ProgramW6432Dir": "ProgramW6432",
    "CommonFilesDir": "CommonProgramFiles",
    "CommonFilesDir (x86)": "CommonProgramFiles(x86)",
    "CommonW6432Dir": "CommonProgramW6432",
}


class Expansion(NamedTuple):
    """An expanded string and the variables it referenced, in order: (name, known)."""

    value: str
    used: tuple[tuple[str, bool], ...]


def expand(text: str, lookup: Callable[[str], str | None]) -> Expansion:
    """Expand ``%NAME%`` references once, as ``RtlExpandEnvironmentStrings_U`` does.

    ``lookup`` receives the name as written and returns its value or None (unknown).
    Never raises; the result is never longer than the inputs allow (no recursion).
    """
    if "%" not in text:
        return Expansion(text, ())
    # split on "%": parts[1], parts[3], ... are the names, each closed by the "%" before the
    # part after it, which is copied as it is (the scan resumes after a closing "%" whether
    # the name was known or not). One split instead of a find() pair per name: the pass
    # expands hundreds of ImagePaths and ServiceDlls per hive, nearly all one %SystemRoot%.
    parts = text.split("%")
    last = len(parts) - 1
    if last == 2:  # one name, closed: the common case
        name = parts[1]
        value = lookup(name) if name else None
        if value is None:
            return Expansion(text, ((name, False),) if name else ())
        return Expansion(parts[0] + value + parts[2], ((name, True),))
    out = [parts[0]]
    used: list[tuple[str, bool]] = []
    index = 1
    while index < last:
        name = parts[index]
        value = lookup(name) if name else None
        if value is None:
            out.append(f"%{name}%")
            if name:
                used.append((name, False))
        else:
            out.append(value)
            used.append((name, True))
        out.append(parts[index + 1])
        index += 2
    if index == last:  # unfinished name: the "%" and the rest are copied as they are
        out.append("%" + parts[last])
    return Expansion("".join(out), tuple(used))


@dataclass(frozen=True, slots=True)
class Environment:
    """The rebuilt system environment: upper-cased name -> (name as stored, value, source)."""

    variables: Mapping[str, tuple[str, str, str]]
    system_root: str
    system_root_assumed: bool
    diagnostics: tuple[Diagnostic, ...] = ()
    _values: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def get(self, name: str) -> str | None:
        """The value of a variable (ci), or None when it is not defined."""
        return self._values.get(name.upper() if name.isascii() else upcase(name))

    def expand(self, text: str) -> Expansion:
        return expand(text, self.get)

    @property
    def system_drive(self) -> str:
        return self.system_root[:2]

    def to_dict(self) -> dict[str, object]:
        return {
            "system_root": self.system_root,
            "system_root_assumed": self.system_root_assumed,
            "variables": {name: {"value": value, "source": source} for name, value, source in self.variables.values()},
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


def build_environment(
    registry_values: Sequence[RawValue] | None,
    *,
    system_root: str | None = None,
    system_root_source: str = "SOFTWARE",
    program_dirs: Mapping[str, str] | None = None,
) -> Environment:
    """The environment services.exe would have (spec §5.1).

    ``registry_values``: the values of ``<ControlSet>\\Control\\Session Manager\\Environment``
    (None when the key is missing). ``system_root``: SOFTWARE's ``SystemRoot``; None means
    not known, so ``C:\\Windows`` is assumed and flagged. ``program_dirs``: variable name ->
    value, from SOFTWARE (see :data:`PROGRAM_FILES_VALUES`).
    """
    diags: list[Diagnostic] = []
    assumed = system_root is None or system_root == ""
    if assumed:
        root = ASSUMED_SYSTEM_ROOT
        diags.append(
            Diagnostic(
                "systemroot_assumed",
                "SystemRoot",
                f"no SOFTWARE hive SystemRoot: {ASSUMED_SYSTEM_ROOT} assumed for %SystemRoot% and \\SystemRoot\\ "
                "(give --software SOFTWARE to read it)",
                "info",  # the normal case offline; every record resolved against it says so too
            )
        )
    else:
        root = str(system_root)
    fixed: dict[str, tuple[str, str, str]] = {
        "SYSTEMROOT": ("SystemRoot", root, "assumed" if assumed else system_root_source),
        "SYSTEMDRIVE": ("SystemDrive", root[:2], "assumed" if assumed else system_root_source),
    }
    for name, folder in (program_dirs or {}).items():
        fixed[upcase(name)] = (name, folder, "SOFTWARE")

    raw: dict[str, tuple[str, str, bool]] = {}  # upper -> (name, text, expandable)
    if registry_values is None:
        diags.append(
            Diagnostic(
                "environment_missing",
                ENVIRONMENT_KEY,
                "no Session Manager\\Environment key: only SystemRoot, SystemDrive and SOFTWARE variables are known",
            )
        )
    for value in registry_values or ():
        field_name = f"Environment\\{value.name}"
        if value.type not in (REG_SZ, REG_EXPAND_SZ):
            diags.append(
                Diagnostic(
                    "environment_value_ignored",
                    field_name,
                    f"stored as {reg_type_name(value.type)}; only REG_SZ and REG_EXPAND_SZ become variables",
                )
            )
            continue
        decoded, more = decode_string(field_name, value)
        diags += more
        upper = upcase(value.name)
        if upper in raw:
            continue  # duplicate (ci): the reader already flagged it; the first one counts
        if upper in fixed:
            kept = fixed[upper][1]
            if upcase(decoded.value) != upcase(kept):
                diags.append(
                    Diagnostic(
                        "environment_value_overridden",
                        field_name,
                        f"{value.name}={quoted(decoded.value)} in the registry; {quoted(kept)} ({fixed[upper][2]}) "
                        "is used",
                        "info",
                    )
                )
            continue
        raw[upper] = (value.name, decoded.value, value.type == REG_EXPAND_SZ)

    values: dict[str, str] = {upper: item[1] for upper, item in fixed.items()}
    resolving: list[str] = []
    cycles: set[str] = set()
    too_deep: set[str] = set()

    def resolve(upper: str) -> str | None:
        if upper in values:
            return values[upper]
        item = raw.get(upper)
        if item is None:
            return None
        name, text, expandable = item
        if not expandable:
            values[upper] = text
            return text
        if upper in resolving:  # a cycle: the value that closes it stays unexpanded
            cycles.add(upper)
            return None
        if len(resolving) >= MAX_NESTING:
            too_deep.add(upper)
            return None
        resolving.append(upper)
        try:
            result = expand(text, lambda ref: resolve(ref.upper() if ref.isascii() else upcase(ref))).value
        finally:
            resolving.pop()
        if len(result) > MAX_VALUE_CHARS:
            diags.append(
                Diagnostic(
                    "environment_value_too_long",
                    f"Environment\\{name}",
                    f"expands to {len(result)} characters; cut at {MAX_VALUE_CHARS} (the Windows maximum)",
                )
            )
            result = result[:MAX_VALUE_CHARS]
        values[upper] = result
        return result

    for upper in raw:
        resolve(upper)
    for upper in sorted(cycles):
        diags.append(
            Diagnostic(
                "environment_cycle",
                f"Environment\\{raw[upper][0]}",
                f"%{raw[upper][0]}% refers back to itself through other variables; the reference is left unexpanded",
            )
        )
    for upper in sorted(too_deep):
        diags.append(
            Diagnostic(
                "environment_nesting_limit",
                f"Environment\\{raw[upper][0]}",
                f"reached through more than {MAX_NESTING} nested variables; the reference is left unexpanded",
            )
        )
    variables = dict(fixed)
    for upper, (name, _text, _expandable) in raw.items():
        variables[upper] = (name, values[upper], ENVIRONMENT_KEY)
    return Environment(variables, root, assumed, tuple(diags), values)


def used_once(used: Sequence[tuple[str, bool]]) -> tuple[tuple[str, bool], ...]:
    """Variables referenced by one or more expansions, each once (ci, first spelling kept)."""
    if len(used) < 2:
        return tuple(used)
    out: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for name, known in used:
        upper = upcase(name)
        if upper not in seen:
            seen.add(upper)
            out.append((name, known))
    return tuple(out)


__all__ = [
    "ASSUMED_SYSTEM_ROOT",
    "PROGRAM_FILES_VALUES",
    "Environment",
    "Expansion",
    "build_environment",
    "expand",
    "used_once",
]
