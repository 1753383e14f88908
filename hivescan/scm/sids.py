"""Well-known SIDs: the SDDL aliases Windows prints, readable names, and who counts as low-privilege.

Why a table of our own: the SDDL rendering must match what ``sc sdshow`` prints on the
machine the hive came from, and the access analysis must know which principals stand for
"any user" (Everyone, Authenticated Users, Users, Interactive ...) -- the principals whose
write access to a service or its key is the T1574.011 weakness.

Aliases are the machine-independent SDDL SID strings of Sddl.h (Microsoft, "SID Strings").
Domain-relative aliases (LA, LG, DA, DU, DG, DC, DD, CA, SA, EA, PA, RS, ...) stand for SIDs
that embed the machine or domain identifier, which the converter compares with the running
system's own; offline that identifier is unknown, so those SIDs stay numeric. Windows 7 and
earlier did not know some aliases (AA, AC, AP ...) and printed those SIDs numerically; the
table follows current Windows.

References: scm-spec.md §4.3; detections.md §1.7 (#61-63).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple


class WellKnownSid(NamedTuple):
    alias: str | None  # SDDL alias, or None when Windows prints the SID numerically
    name: str  # readable account name (NT AUTHORITY\... and BUILTIN\... without the domain)
    role: str  # see ROLES


#: principal roles, from most to least privileged
ROLES = {
    "admin": "controls the machine (SYSTEM, Administrators, TrustedInstaller, domain admins)",
    "operator": "a privileged built-in group (Server, Backup, Account, Print, Network Configuration Operators ...)",
    "service": "a service identity (SERVICE, LOCAL SERVICE, NETWORK SERVICE, NT SERVICE\\<name>)",
    "account": "a specific user or group account of the machine or domain; its privileges are unknown offline",
    "low": "stands for any (or any interactive, network, anonymous, app-container) user",
    "placeholder": "replaced or resolved at evaluation or inheritance (CREATOR OWNER, OWNER RIGHTS, SELF)",
    "other": "anything else (integrity labels, unknown SIDs)",
}

WELL_KNOWN: dict[str, WellKnownSid] = {
    "S-1-0-0": WellKnownSid(None, "NULL SID", "other"),
    "S-1-1-0": WellKnownSid("WD", "Everyone", "low"),
    "S-1-2-0": WellKnownSid(None, "LOCAL", "low"),
    "S-1-2-1": WellKnownSid(None, "CONSOLE LOGON", "low"),
    "S-1-3-0": WellKnownSid("CO", "CREATOR OWNER", "placeholder"),
    "S-1-3-1": WellKnownSid("CG", "CREATOR GROUP", "placeholder"),
    "S-1-3-4": WellKnownSid("OW", "OWNER RIGHTS", "placeholder"),
    "S-1-5-1": WellKnownSid(None, "DIALUP", "low"),
    "S-1-5-2": WellKnownSid("NU", "NETWORK", "low"),
    "S-1-5-3": WellKnownSid(None, "BATCH", "low"),
    "S-1-5-4": WellKnownSid("IU", "INTERACTIVE", "low"),
    "S-1-5-6": WellKnownSid("SU", "SERVICE", "service"),
    "S-1-5-7": WellKnownSid("AN", "ANONYMOUS LOGON", "low"),
    "S-1-5-9": WellKnownSid("ED", "ENTERPRISE DOMAIN CONTROLLERS", "other"),
    "S-1-5-10": WellKnownSid("PS", "SELF", "placeholder"),
    "S-1-5-11": WellKnownSid("AU", "Authenticated Users", "low"),
    "S-1-5-12": WellKnownSid("RC", "RESTRICTED", "low"),
    "S-1-5-13": WellKnownSid(None, "TERMINAL SERVER USER", "low"),
    "S-1-5-14": WellKnownSid(None, "REMOTE INTERACTIVE LOGON", "low"),
    "S-1-5-15": WellKnownSid(None, "This Organization", "low"),
    "S-1-5-18": WellKnownSid("SY", "SYSTEM", "admin"),
    "S-1-5-19": WellKnownSid("LS", "LOCAL SERVICE", "service"),
    "S-1-5-20": WellKnownSid("NS", "NETWORK SERVICE", "service"),
    "S-1-5-32-544": WellKnownSid("BA", "Administrators", "admin"),
    "S-1-5-32-545": WellKnownSid("BU", "Users", "low"),
    "S-1-5-32-546": WellKnownSid("BG", "Guests", "low"),
    "S-1-5-32-547": WellKnownSid("PU", "Power Users", "operator"),
    "S-1-5-32-548": WellKnownSid("AO", "Account Operators", "operator"),
    "S-1-5-32-549": WellKnownSid("SO", "Server Operators", "operator"),
    "S-1-5-32-550": WellKnownSid("PO", "Print Operators", "operator"),
    "S-1-5-32-551": WellKnownSid("BO", "Backup Operators", "operator"),
    "S-1-5-32-552": WellKnownSid("RE", "Replicator", "other"),
    "S-1-5-32-554": WellKnownSid("RU", "Pre-Windows 2000 Compatible Access", "other"),
    "S-1-5-32-555": WellKnownSid("RD", "Remote Desktop Users", "low"),
    "S-1-5-32-556": WellKnownSid("NO", "Network Configuration Operators", "operator"),
    "S-1-5-32-558": WellKnownSid("MU", "Performance Monitor Users", "other"),
    "S-1-5-32-559": WellKnownSid("LU", "Performance Log Users", "other"),
    "S-1-5-32-568": WellKnownSid("IS", "IIS_IUSRS", "other"),
    "S-1-5-32-569": WellKnownSid("CY", "Cryptographic Operators", "operator"),
    "S-1-5-32-573": WellKnownSid("ER", "Event Log Readers", "other"),
    "S-1-5-32-574": WellKnownSid("CD", "Certificate Service DCOM Access", "other"),
    "S-1-5-32-575": WellKnownSid("RA", "RDS Remote Access Servers", "other"),
    "S-1-5-32-576": WellKnownSid("ES", "RDS Endpoint Servers", "other"),
    "S-1-5-32-577": WellKnownSid("MS", "RDS Management Servers", "other"),
    "S-1-5-32-578": WellKnownSid("HA", "Hyper-V Administrators", "operator"),
    "S-1-5-32-579": WellKnownSid("AA", "Access Control Assistance Operators", "operator"),
    "S-1-5-32-580": WellKnownSid("RM", "Remote Management Users", "other"),
    "S-1-5-33": WellKnownSid("WR", "WRITE RESTRICTED", "low"),
    "S-1-5-84-0-0-0-0-0": WellKnownSid("UD", "USER MODE DRIVERS", "other"),
    "S-1-5-80-0": WellKnownSid(None, "ALL SERVICES", "service"),
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464": WellKnownSid(
        None, "NT SERVICE\\TrustedInstaller", "admin"
    ),
    "S-1-15-2-1": WellKnownSid("AC", "ALL APPLICATION PACKAGES", "low"),
    "S-1-15-2-2": WellKnownSid(None, "ALL RESTRICTED APPLICATION PACKAGES", "low"),
    "S-1-16-4096": WellKnownSid("LW", "Low Mandatory Level", "other"),
    "S-1-16-8192": WellKnownSid("ME", "Medium Mandatory Level", "other"),
    "S-1-16-8448": WellKnownSid("MP", "Medium Plus Mandatory Level", "other"),
    "S-1-16-12288": WellKnownSid("HI", "High Mandatory Level", "other"),
    "S-1-16-16384": WellKnownSid("SI", "System Mandatory Level", "other"),
    "S-1-18-1": WellKnownSid("AS", "Authentication authority asserted identity", "other"),
    "S-1-18-2": WellKnownSid("SS", "Service asserted identity", "other"),
}

#: alias -> SID string (what an SDDL parser accepts)
ALIAS_TO_SID: dict[str, str] = {w.alias: sid for sid, w in WELL_KNOWN.items() if w.alias}

# RIDs of a machine or domain (S-1-5-21-a-b-c-RID) with a fixed meaning
_DOMAIN_RIDS: dict[int, tuple[str, str]] = {
    500: ("Administrator (account)", "admin"),
    501: ("Guest (account)", "low"),
    512: ("Domain Admins", "admin"),
    513: ("Domain Users", "low"),
    514: ("Domain Guests", "low"),
    515: ("Domain Computers", "other"),
    516: ("Domain Controllers", "other"),
    518: ("Schema Admins", "admin"),
    519: ("Enterprise Admins", "admin"),
}


def sddl_sid(sid: str) -> str:
    """The SID as SDDL prints it: its alias when Windows has one, else the numeric form."""
    known = WELL_KNOWN.get(sid)
    return known.alias if known is not None and known.alias else sid


@lru_cache(maxsize=4096)
def describe_sid(sid: str) -> tuple[str | None, str]:
    """(readable name or None, role) of a SID string; unknown SIDs are ``(None, "other")``.

    Service SIDs (S-1-5-80-...) are per-service virtual accounts: role "service".
    """
    known = WELL_KNOWN.get(sid)
    if known is not None:
        return known.name, known.role
    if sid.startswith("S-1-5-80-"):
        return None, "service"
    if sid.startswith("S-1-5-21-"):
        parts = sid.split("-")
        if len(parts) == 8 and parts[-1].isdigit():
            named = _DOMAIN_RIDS.get(int(parts[-1]))
            if named is not None:
                return named
        return None, "account"
    if sid.startswith("S-1-15-3-"):
        return "app capability", "low"
    return None, "other"


__all__ = ["ALIAS_TO_SID", "ROLES", "WELL_KNOWN", "WellKnownSid", "describe_sid", "sddl_sid"]
