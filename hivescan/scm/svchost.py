"""svchost-hosted services: the ``-k`` group of the command line and the SOFTWARE group lists.

A service is svchost-hosted when the module of its resolved command line is ``svchost.exe``
(spec §7.1); the group is the argument of ``-k`` or ``/k`` (case-insensitive, blank after
the switch optional, quoted or ending at the first blank). ``svchost.exe`` outside
``%SystemRoot%\\System32`` or ``SysWOW64`` is a masquerade. svchost only runs the services
its group's value in SOFTWARE ``Microsoft\\Windows NT\\CurrentVersion\\Svchost`` lists, so
the lists are cross-checked both ways (spec §7.2).

References: scm-spec.md §7.1-7.2; [C1] Geoff Chappell, SVCHOST.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import RawValue
from hivescan.hive.tree import upcase
from hivescan.textsafe import quoted

_BLANK = " \t"
_BLANK_CHAR = re.compile("[ \t]")
SVCHOST_KEY = "Microsoft\\Windows NT\\CurrentVersion\\Svchost"


def _upper(name: str) -> str:
    return name.upper() if name.isascii() else upcase(name)


class SvchostArgs(NamedTuple):
    """The parsed arguments of an svchost command line."""

    group: str | None
    switches: tuple[str, ...]  # every other token, in order (e.g. "-p", "-s Foo")
    diagnostics: tuple[Diagnostic, ...] = ()


def _token(text: str, pos: int) -> tuple[str, int]:
    """The token at ``pos`` (quoted or up to the next blank) and the position after it."""
    if pos < len(text) and text[pos] == '"':
        end = text.find('"', pos + 1)
        if end < 0:
            return text[pos + 1 :], len(text)
        return text[pos + 1 : end], end + 1
    blank = _BLANK_CHAR.search(text, pos)  # the next blank, found by one search, not char by char
    end = blank.start() if blank is not None else len(text)
    return text[pos:end], end


def parse_svchost_args(args: str | None) -> SvchostArgs:
    """``-k group`` / ``/k group`` / ``-kgroup`` / ``-k "group"`` plus other switches (spec §7.1).

    Never raises; the first ``-k`` wins; ``-s <service>`` (what the SCM passes when it
    runs a service in its own host) and unknown tokens are kept and flagged.
    """
    text = args or ""
    pos = 0
    group: str | None = None
    switches: list[str] = []
    odd: list[str] = []
    while pos < len(text):
        while pos < len(text) and text[pos] in _BLANK:
            pos += 1
        if pos >= len(text):
            break
        if text[pos] in "-/" and pos + 1 < len(text) and text[pos + 1] in "kK":
            switch = text[pos : pos + 2]
            rest = pos + 2
            while rest < len(text) and text[rest] in _BLANK:
                rest += 1
            value, pos = _token(text, rest)
            if group is None:
                group = value
            else:
                odd.append(f"a second group switch ({quoted(value)})")
                switches.append(f"{switch} {value}".rstrip())
            continue
        token, pos = _token(text, pos)
        if token.lower() in ("-s", "/s"):
            while pos < len(text) and text[pos] in _BLANK:
                pos += 1
            value, pos = _token(text, pos)
            switches.append(f"{token} {value}".rstrip())
            odd.append(f"{token} {value} (the SCM adds -s itself when a service runs in its own host)")
        else:
            switches.append(token)
            if token.lower() not in ("-p", "/p"):
                odd.append(repr(token))
    diags: list[Diagnostic] = []
    if group is None:
        diags.append(Diagnostic("svchost_no_group", "ImagePath", "svchost.exe without -k <group>: it hosts nothing"))
    elif group == "":
        diags.append(Diagnostic("svchost_no_group", "ImagePath", "svchost.exe with an empty -k group"))
    if odd:
        diags.append(Diagnostic("svchost_args_unusual", "ImagePath", "unusual svchost arguments: " + "; ".join(odd)))
    return SvchostArgs(group, tuple(switches), tuple(diags))


def is_svchost(path: str | None) -> bool:
    """Whether a resolved module path names svchost.exe (ci)."""
    if not path or path[-11:].lower() != "svchost.exe":
        return False
    return path.replace("/", "\\").rsplit("\\", 1)[-1].lower() == "svchost.exe"


def masquerade_note(path: str, system_root: str) -> Diagnostic | None:
    """``svchost_masquerade`` when svchost.exe is not in System32 or SysWOW64 (spec §7.1)."""
    folder = path.replace("/", "\\").rsplit("\\", 1)[0] if "\\" in path or "/" in path else ""
    folder = folder.rstrip("\\")
    allowed = {_upper(f"{system_root}\\System32"), _upper(f"{system_root}\\SysWOW64")}
    if _upper(folder) in allowed:
        return None
    return Diagnostic(
        "svchost_masquerade",
        "ImagePath",
        f"svchost.exe outside {system_root}\\System32 and SysWOW64: {quoted(path)}",
        "error",
    )


@dataclass(frozen=True, slots=True)
class SvchostGroup:
    """One value of SOFTWARE ``...\\Svchost`` (the member list) and its per-instance subkey."""

    name: str
    members: tuple[str, ...]
    value_type: int | None = None  # registry type of the list value; None when only the subkey exists
    settings: tuple[RawValue, ...] = ()  # values of the subkey ``Svchost\\<group>``, raw
    settings_last_write: int | None = None

    @property
    def listed(self) -> bool:
        return self.value_type is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "members": list(self.members),
            "listed": self.listed,
            "settings": {v.name: v.to_dict() for v in self.settings},
        }


class Membership(NamedTuple):
    """The outcome of the cross-checks for one hosted record."""

    listed: bool | None  # None when SOFTWARE was not given or the group has no list
    diagnostics: tuple[Diagnostic, ...]


def check_membership(
    service: str, group: str, groups: Mapping[str, SvchostGroup] | None, *, as_name: str | None = None
) -> Membership:
    """Whether ``service`` (or ``as_name``, the template of a per-user instance) is in its group."""
    if groups is None:
        return Membership(
            None,
            (
                Diagnostic(
                    "svchost_group_unknown",
                    "svchost_group",
                    f"which services group {quoted(group)} hosts is in the SOFTWARE hive (give --software)",
                    "info",
                ),
            ),
        )
    entry = groups.get(_upper(group))
    if entry is None or not entry.listed:
        return Membership(
            None,
            (
                Diagnostic(
                    "svchost_group_missing",
                    "svchost_group",
                    f"SOFTWARE {SVCHOST_KEY} has no value {quoted(group)}: svchost would find no services to host",
                ),
            ),
        )
    wanted = _upper(as_name or service)
    if any(_upper(m) == wanted for m in entry.members):
        return Membership(True, ())
    who = f"{service} (template {as_name})" if as_name else service
    return Membership(
        False,
        (
            Diagnostic(
                "svchost_not_in_group",
                "svchost_group",
                f"{who} claims svchost group {quoted(entry.name)}, whose list does not name it: svchost would not "
                "run it",
            ),
        ),
    )


DRIVER_SVCHOST = Diagnostic("driver_svchost_image", "ImagePath", "a driver whose ImagePath is svchost.exe")


HostedAnswer = tuple[str | None, tuple[str, ...], tuple[Diagnostic, ...]]  # group, switches, notes


class HostingChecks:
    """svchost group, switches and notes of hosted records (spec §7.1), for one database pass.

    Each answer is worked out once per exactly what it depends on: the whole answer per
    (module, arguments, driver?, rejected?); inside it the parse per argument text, the
    masquerade check per module path and, without SOFTWARE, the membership note per group.
    The dicts live as long as the pass (one control set, one environment).
    """

    def __init__(self, system_root: str, no_software: bool) -> None:
        self.system_root = system_root
        self.no_software = no_software
        self.answers: dict[
            tuple[str, str | None, bool, bool], tuple[str | None, tuple[str, ...], tuple[Diagnostic, ...]]
        ]
        self.answers = {}
        self.parsed: dict[str | None, SvchostArgs] = {}
        self.masquerade: dict[str, tuple[Diagnostic, ...]] = {}
        self.membership: dict[str, tuple[Diagnostic, ...]] = {}

    def answer(self, resolved: str, args: str | None, driver: bool, accepted: bool) -> HostedAnswer:
        """Notes in the order the checks come: the arguments', masquerade, a driver hosted by
        svchost, then (without SOFTWARE) the group's membership; with SOFTWARE the caller
        checks membership per record (it depends on the name)."""
        key = (resolved, args, driver, accepted)
        found = self.answers.get(key)
        if found is not None:
            return found
        svc_args = self.parsed.get(args)
        if svc_args is None:
            svc_args = self.parsed[args] = parse_svchost_args(args)
        masquerade = self.masquerade.get(resolved)
        if masquerade is None:
            note = masquerade_note(resolved, self.system_root)
            masquerade = self.masquerade[resolved] = (note,) if note is not None else ()
        added = svc_args.diagnostics + masquerade
        if driver:
            added += (DRIVER_SVCHOST,)
        group = svc_args.group
        if group and accepted and self.no_software:
            membership = self.membership.get(group)
            if membership is None:  # without SOFTWARE the note depends on the group only
                membership = self.membership[group] = check_membership("", group, None).diagnostics
            added += membership
        found = self.answers[key] = (group, svc_args.switches, added)
        return found


def list_orphans(
    groups: Mapping[str, SvchostGroup], hosted_groups: Mapping[str, str | None], live: Sequence[str]
) -> list[tuple[str | None, Diagnostic]]:
    """Group members without a (live) service key, or whose ImagePath names another group.

    ``hosted_groups``: upper-cased service name -> its svchost group (None when the service
    is not svchost-hosted); ``live``: upper-cased names of records in the database.
    Returns (upper-cased service name or None, diagnostic) pairs.
    """
    live_set = set(live)
    out: list[tuple[str | None, Diagnostic]] = []
    for entry in groups.values():
        for member in entry.members:
            upper = _upper(member)
            if upper not in live_set:
                out.append(
                    (
                        None,
                        Diagnostic(
                            "svchost_list_orphan",
                            SVCHOST_KEY,
                            f"group {quoted(entry.name)} lists {quoted(member)}, which has no service in the database",
                            "info",
                        ),
                    )
                )
                continue
            claimed = hosted_groups.get(upper)
            if claimed is None:
                out.append(
                    (
                        upper,
                        Diagnostic(
                            "svchost_list_orphan",
                            "svchost_group",
                            f"listed in svchost group {quoted(entry.name)} but its ImagePath is not an svchost "
                            "command line",
                        ),
                    )
                )
            elif _upper(claimed) != _upper(entry.name):
                out.append(
                    (
                        upper,
                        Diagnostic(
                            "svchost_list_orphan",
                            "svchost_group",
                            f"listed in svchost group {quoted(entry.name)} but its ImagePath names group "
                            f"{quoted(claimed)}",
                        ),
                    )
                )
    return out


__all__ = [
    "DRIVER_SVCHOST",
    "SVCHOST_KEY",
    "HostedAnswer",
    "HostingChecks",
    "Membership",
    "SvchostArgs",
    "SvchostGroup",
    "check_membership",
    "is_svchost",
    "list_orphans",
    "masquerade_note",
    "parse_svchost_args",
]
