"""Which ControlSetNNN the SCM would use: ``Select`` values, fallbacks, the CCS link.

Offline there is no CurrentControlSet: it is a volatile link the kernel creates at boot from
``Select\\Current``. Sets are always named with ``%03d`` (never "ControlSet00" + N) and
never assumed to be 001/002; real hives have 001 and 003.

References: scm-spec.md §1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_DWORD, REG_LINK, reg_type_name

_SET_NAME = re.compile(r"^controlset(\d{3})$", re.IGNORECASE)
_LINK_TARGET = re.compile(r"\\registry\\machine\\system\\controlset(\d{3})$", re.IGNORECASE)
MODES = ("current", "default", "lkg", "failed", "all")
_SELECT_FIELDS = {"current": "Current", "default": "Default", "lkg": "LastKnownGood", "failed": "Failed"}


def control_set_name(number: int) -> str:
    return f"ControlSet{number:03d}"


@dataclass(frozen=True, slots=True)
class SelectValues:
    current: int | None = None
    default: int | None = None
    last_known_good: int | None = None
    failed: int | None = None
    present: bool = False  # whether a Select key exists at all

    def get(self, mode: str) -> int | None:
        return {"current": self.current, "default": self.default, "lkg": self.last_known_good, "failed": self.failed}[
            mode
        ]

    def to_dict(self) -> dict[str, int | None]:
        return {
            "Current": self.current,
            "Default": self.default,
            "LastKnownGood": self.last_known_good,
            "Failed": self.failed,
        }


def read_select(values: Sequence[RawValue] | None) -> tuple[SelectValues, list[Diagnostic]]:
    """Read the four Select values (spec §1.2 step 1)."""
    if values is None:
        return SelectValues(), [
            Diagnostic("select_missing", "Select", "the hive has no Select key (partial or delta hive?)")
        ]
    diags: list[Diagnostic] = []
    found: dict[str, int | None] = {}
    by_name = {v.name.upper(): v for v in values}
    for key in ("Current", "Default", "LastKnownGood", "Failed"):
        value = by_name.get(key.upper())
        if value is None:
            found[key] = None
            if key != "Failed":
                diags.append(Diagnostic("select_value_missing", f"Select\\{key}", "value absent", "info"))
            continue
        if len(value.data) == 4:
            found[key] = int.from_bytes(value.data, "little")
            if value.type != REG_DWORD:
                diags.append(
                    Diagnostic("select_type_mismatch", f"Select\\{key}", f"stored as {reg_type_name(value.type)}")
                )
        else:
            found[key] = None
            diags.append(
                Diagnostic(
                    "select_value_unreadable",
                    f"Select\\{key}",
                    f"{len(value.data)} bytes of {reg_type_name(value.type)}; treated as missing",
                )
            )
    select = SelectValues(found["Current"], found["Default"], found["LastKnownGood"], found["Failed"], True)
    if select.current is not None and select.default is not None and select.current != select.default:
        diags.append(
            Diagnostic(
                "select_current_ne_default",
                "Select",
                f"Current={select.current} but Default={select.default}: booted into LastKnownGood, or edited offline",
            )
        )
    return select, diags


@dataclass(frozen=True, slots=True)
class ExistingSets:
    """Control sets present at the hive root: number -> name as stored."""

    sets: dict[int, str]
    odd_names: tuple[str, ...] = ()

    @property
    def numbers(self) -> list[int]:
        return sorted(self.sets)


def existing_sets(root_subkey_names: Iterable[str]) -> tuple[ExistingSets, list[Diagnostic]]:
    sets: dict[int, str] = {}
    odd: list[str] = []
    diags: list[Diagnostic] = []
    for name in root_subkey_names:
        match = _SET_NAME.match(name)
        if match:
            number = int(match.group(1))
            if number in sets:
                diags.append(Diagnostic("duplicate_ci_name", name, f"control set {number} appears twice", "error"))
                continue
            sets[number] = name
        elif name.lower().startswith("controlset"):
            odd.append(name)
            diags.append(Diagnostic("odd_control_set_name", name, "looks like a control set but is not ControlSetNNN"))
    return ExistingSets(sets, tuple(odd)), diags


@dataclass(frozen=True, slots=True)
class ChosenSet:
    number: int
    name: str
    source: str  # e.g. "current", "default (fallback from current)", "all", "explicit"


@dataclass(frozen=True, slots=True)
class Resolution:
    chosen: tuple[ChosenSet, ...]
    diagnostics: tuple[Diagnostic, ...] = field(default=())


def parse_mode(mode: str | int) -> str | int:
    """Validate a --control-set argument: a mode name or a set number 1..999."""
    if isinstance(mode, int):
        number = mode
    else:
        text = str(mode).strip().lower()
        if text in MODES:
            return text
        if text.startswith("controlset"):
            text = text[len("controlset") :]
        if not text.isdigit():
            raise ValueError(f"control set must be one of {', '.join(MODES)} or a number, not {mode!r}")
        number = int(text)
    if not 1 <= number <= 999:
        raise ValueError(f"control set number must be 1..999, not {number}")
    return number


def resolve(mode: str | int, select: SelectValues, existing: ExistingSets) -> Resolution:
    """Choose the control set(s) for a mode, falling back with a diagnostic (spec §1.2 step 3)."""
    mode = parse_mode(mode)
    diags: list[Diagnostic] = []
    if not existing.sets:
        return Resolution((), (Diagnostic("no_control_sets", "", "the hive has no ControlSetNNN key", "error"),))
    if mode == "all":
        return Resolution(tuple(ChosenSet(n, existing.sets[n], "all") for n in existing.numbers))
    if isinstance(mode, int):
        if mode in existing.sets:
            return Resolution((ChosenSet(mode, existing.sets[mode], "explicit"),))
        diags.append(
            Diagnostic(
                "control_set_missing", control_set_name(mode), f"{control_set_name(mode)} does not exist", "error"
            )
        )
        return Resolution((), tuple(diags))
    order = [mode] + [m for m in ("current", "default", "lkg") if m != mode]
    for step, candidate in enumerate(order):
        number = select.get(candidate)
        label = _SELECT_FIELDS[candidate]
        if number and number in existing.sets:
            source = candidate if step == 0 else f"{candidate} (fallback from {mode})"
            return Resolution((ChosenSet(number, existing.sets[number], source),), tuple(diags))
        if not number:
            why = f"Select\\{label} is {'missing' if number is None else 0}"
        else:
            why = f"Select\\{label}={number} but {control_set_name(number)} does not exist"
        diags.append(Diagnostic("control_set_fallback", "control_set", why))
    lowest = existing.numbers[0]
    diags.append(
        Diagnostic(
            "control_set_fallback",
            "control_set",
            f"using the lowest-numbered existing set {existing.sets[lowest]} (heuristic)",
        )
    )
    return Resolution(
        (ChosenSet(lowest, existing.sets[lowest], f"lowest existing (fallback from {mode})"),), tuple(diags)
    )


def decode_ccs_link(
    is_symlink: bool, values: Sequence[RawValue], chosen: int | None
) -> tuple[int | None, list[Diagnostic]]:
    """A CurrentControlSet key at the root: a saved volatile link, or an export artefact (§1.2 step 5)."""
    link = next((v for v in values if v.name.upper() == "SYMBOLICLINKVALUE"), None)
    if not is_symlink or link is None or link.type != REG_LINK:
        return None, [
            Diagnostic("ccs_real_key", "CurrentControlSet", "an ordinary CurrentControlSet key exists; it is not used")
        ]
    data = link.data[: len(link.data) // 2 * 2]
    target = data.decode("utf-16-le", "replace").rstrip("\0")
    match = _LINK_TARGET.search(target)
    if not match:
        return None, [Diagnostic("ccs_link_unparsed", "CurrentControlSet", f"link target {target!r}")]
    number = int(match.group(1))
    diags = [Diagnostic("ccs_link_present", "CurrentControlSet", f"links to {control_set_name(number)}", "info")]
    if chosen is not None and number != chosen:
        diags.append(
            Diagnostic(
                "ccs_link_mismatch",
                "CurrentControlSet",
                f"the link names {control_set_name(number)} but {control_set_name(chosen)} was chosen",
            )
        )
    return number, diags
