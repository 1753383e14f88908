"""The shape of one file's facts (:data:`FACT_KEYS`, :func:`empty_facts`) and the facts that
need no read of its bytes: NTFS times, alternate streams, names that differ from the version
info's, and the volume path a service's DOS path names.
"""

from __future__ import annotations

import ntpath
from typing import Any, TypeGuard

from hivescan.diagnostics import Diagnostic, info, warning
from hivescan.files.source import MAX_STREAM_BYTES, FileStat


def names_differ(file_name: str, claimed: str | None) -> bool:
    if not claimed:
        return False
    name = file_name.upper()
    other = claimed.strip().strip("\0").upper()
    if other.endswith(".MUI"):
        other = other[:-4]
    return other not in (name, ntpath.splitext(name)[0])


def _is_date(value: str | None) -> TypeGuard[str]:
    """An NTFS time that is a date (ISO text, which starts with its year), not the words
    files/image.py keeps for a FILETIME past year 9999."""
    return isinstance(value, str) and value[:1].isdigit()


def timestamps_facts(stat: FileStat, facts: dict[str, Any]) -> list[Diagnostic]:
    """The NTFS times, $SI created before $FN (compared only when both are dates: text order
    is time order for ISO text alone), and a diagnostic for each time that is no date."""
    stamps = stat.timestamps
    facts["timestamps"] = stamps
    si, fn = (stamps or {}).get("si_created"), (stamps or {}).get("fn_created")
    facts["si_created_before_fn"] = None if not _is_date(si) or not _is_date(fn) else si < fn
    return [
        warning("ntfs_time_not_a_date", "file", f"NTFS {key} is {value}: kept raw, compared with no other time")
        for key, value in (stamps or {}).items()
        if value is not None and not _is_date(value)
    ]


def stream_facts(stat: FileStat) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, data in stat.streams.items():
        out[name] = {
            "size": len(data) if len(data) <= MAX_STREAM_BYTES else None,
            "text": data[:MAX_STREAM_BYTES].decode("utf-8", "backslashreplace"),
            "truncated": len(data) > MAX_STREAM_BYTES,
        }
    return out


#: files every Windows volume holds (volume paths): a collection holding none of them holds no binaries
CORE_BINARIES = (
    "Windows\\System32\\ntoskrnl.exe",
    "Windows\\System32\\ntdll.dll",
    "Windows\\System32\\kernel32.dll",
    "Windows\\System32\\services.exe",
    "Windows\\System32\\svchost.exe",
)


FACT_KEYS = (
    "path",
    "exists",
    "size",
    "md5",
    "sha1",
    "sha256",
    "authentihash",
    "authentihash_sha1",
    "pe",
    "version_info",
    "signature",
    "timestamps",
    "streams",
    "zone_identifier",
    "renamed",
    "claims_microsoft",
    "in_windows_folder",
    "si_created_before_fn",
    "diagnostics",
)
NO_FACTS = dict.fromkeys(FACT_KEYS)  # copied, never handed out: each file gets its own dict


def empty_facts(path: str, exists: bool | None, why: str | None = None) -> dict[str, Any]:
    """Facts of a file that is absent, or whose presence cannot be known (``exists`` None)."""
    diagnostics = [] if why is None else [info("file_not_checked", "file", why).to_dict()]
    return {**NO_FACTS, "path": path, "exists": exists, "diagnostics": diagnostics}


#: the diagnostic of a file absent from a collection without binaries (copied for each file)
NOT_COLLECTED = info(
    "file_not_collected",
    "file",
    "not in the collection, which holds no Windows core binaries: whether it exists cannot be known",
).to_dict()


def volume_path(windows_path: str) -> tuple[str | None, str | None]:
    """``C:\\Windows\\x`` -> ``Windows\\x`` (the system volume), or (None, why not)."""
    text = windows_path.strip().strip('"')
    if text[:1] == "\\":  # every prefix below starts so; most paths are plain (C:\\...)
        for prefix in ("\\??\\", "\\\\?\\", "\\\\.\\"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
        if text.upper().startswith("\\SYSTEMROOT\\"):
            text = "C:\\Windows\\" + text[12:]
    if len(text) >= 3 and text[1] == ":" and text[2] == "\\":
        if text[0].upper() != "C":
            return None, f"on drive {text[0].upper()}: (only the system volume C: is read)"
        return text[3:], None
    return None, "not an absolute path on a drive"


__all__ = [
    "CORE_BINARIES",
    "FACT_KEYS",
    "NOT_COLLECTED",
    "NO_FACTS",
    "empty_facts",
    "names_differ",
    "stream_facts",
    "timestamps_facts",
    "volume_path",
]
