"""Names for the small enumerated service values (QueryServiceConfig2 levels 3, 5, 6, 7, 12).

Records keep the raw DWORDs; these names are labels (``*_name`` columns). A value Windows
does not define is labelled ``unknown_<n>`` (as :mod:`hivescan.scm.constants` does) and
flagged -- never mapped to the nearest guess.

``PreshutdownTimeout`` gets no default: Windows uses 180 s before build 15063 and 10 s
from it, and the build is not known from a SYSTEM hive alone.

References: scm-spec.md §3.2, §3.3, §8, §9.4; [M7] SERVICE_SID_INFO, SERVICE_LAUNCH_PROTECTED_INFO.
"""

from __future__ import annotations

from collections.abc import Sequence

from hivescan.diagnostics import Diagnostic
from hivescan.scm.constants import is_user_service, is_win32

SERVICE_SID_TYPES = {0: "none", 1: "unrestricted", 3: "restricted"}
LAUNCH_PROTECTED = {0: "none", 1: "windows", 2: "windows_light", 3: "antimalware_light"}
# UserServiceFlags: 0 stops instances from being created [M14]; 3 is the only other value seen (OBS)
USER_SERVICE_FLAGS = {0: "instances_disabled", 3: "instances_enabled"}

# privilege names Windows defines (winnt.h SE_*_NAME), as winnt.h spells them
_PRIVILEGE_NAMES = frozenset(
    (
        "SeAssignPrimaryTokenPrivilege",
        "SeAuditPrivilege",
        "SeBackupPrivilege",
        "SeChangeNotifyPrivilege",
        "SeCreateGlobalPrivilege",
        "SeCreatePagefilePrivilege",
        "SeCreatePermanentPrivilege",
        "SeCreateSymbolicLinkPrivilege",
        "SeCreateTokenPrivilege",
        "SeDebugPrivilege",
        "SeDelegateSessionUserImpersonatePrivilege",
        "SeEnableDelegationPrivilege",
        "SeImpersonatePrivilege",
        "SeIncreaseBasePriorityPrivilege",
        "SeIncreaseQuotaPrivilege",
        "SeIncreaseWorkingSetPrivilege",
        "SeLoadDriverPrivilege",
        "SeLockMemoryPrivilege",
        "SeMachineAccountPrivilege",
        "SeManageVolumePrivilege",
        "SeProfileSingleProcessPrivilege",
        "SeRelabelPrivilege",
        "SeRemoteShutdownPrivilege",
        "SeRestorePrivilege",
        "SeSecurityPrivilege",
        "SeShutdownPrivilege",
        "SeSyncAgentPrivilege",
        "SeSystemEnvironmentPrivilege",
        "SeSystemProfilePrivilege",
        "SeSystemtimePrivilege",
        "SeTakeOwnershipPrivilege",
        "SeTcbPrivilege",
        "SeTimeZonePrivilege",
        "SeTrustedCredManAccessPrivilege",
        "SeUndockPrivilege",
        "SeUnsolicitedInputPrivilege",
    )
)
#: the same names upper-cased: compared case-insensitively like LookupPrivilegeValue
PRIVILEGES = frozenset(name.upper() for name in _PRIVILEGE_NAMES)


def _name(table: dict[int, str], value: int | None) -> str | None:
    if value is None:
        return None
    return table.get(value, f"unknown_{value}")


def service_sid_type_name(value: int | None) -> str | None:
    return _name(SERVICE_SID_TYPES, value)


def launch_protected_name(value: int | None) -> str | None:
    return _name(LAUNCH_PROTECTED, value)


def user_service_flags_name(value: int | None) -> str | None:
    return _name(USER_SERVICE_FLAGS, value)


def delayed_auto_start_name(value: int | None) -> str | None:
    """``delayed`` for any nonzero value (the SCM tests for nonzero), ``not_delayed`` for 0."""
    if value is None:
        return None
    return "delayed" if value else "not_delayed"


def check_named_values(
    *,
    type_: int | None,
    start: int | None,
    service_sid_type: int | None,
    launch_protected: int | None,
    user_service_flags: int | None,
    delayed_auto_start: int | None,
    required_privileges: Sequence[str],
) -> list[Diagnostic]:
    """Diagnostics for values outside their documented sets (the raw numbers stay on the record)."""
    diags: list[Diagnostic] = []
    if (
        user_service_flags is None
        and not delayed_auto_start
        and not required_privileges
        and (service_sid_type is None or service_sid_type in SERVICE_SID_TYPES)
        and (launch_protected is None or launch_protected in LAUNCH_PROTECTED)
    ):
        return diags  # the common case: nothing to check
    for field, table, value in (
        ("ServiceSidType", SERVICE_SID_TYPES, service_sid_type),
        ("LaunchProtected", LAUNCH_PROTECTED, launch_protected),
    ):
        if value is not None and value not in table:
            known = ", ".join(f"{k} {v}" for k, v in table.items())
            diags.append(Diagnostic("named_value_unknown", field, f"{value} is not a defined value ({known})"))
    if user_service_flags is not None and user_service_flags not in USER_SERVICE_FLAGS:
        diags.append(
            Diagnostic(
                "named_value_unknown",
                "UserServiceFlags",
                f"{user_service_flags}: only 0 (no instances) is documented and 3 is the value seen; meaning unknown",
                "info",
            )
        )
    if delayed_auto_start and not ((is_win32(type_) or is_user_service(type_)) and start == 2):
        diags.append(
            Diagnostic(
                "delayed_autostart_ineffective",
                "DelayedAutostart",
                f"DelayedAutostart={delayed_auto_start} has effect only on auto-start (Start 2) services; "
                f"this record has Type {type_} and Start {start}",
                "info",
            )
        )
    # a name as winnt.h spells it (the usual case) is known without upper-casing it
    unknown = [p for p in required_privileges if p not in _PRIVILEGE_NAMES and p.upper() not in PRIVILEGES]
    if unknown:
        diags.append(
            Diagnostic(
                "privilege_unknown",
                "RequiredPrivileges",
                f"{unknown!r} are not privilege names Windows defines",
            )
        )
    return diags


__all__ = [
    "LAUNCH_PROTECTED",
    "PRIVILEGES",
    "SERVICE_SID_TYPES",
    "USER_SERVICE_FLAGS",
    "check_named_values",
    "delayed_auto_start_name",
    "launch_protected_name",
    "service_sid_type_name",
    "user_service_flags_name",
]
