"""Flat columns of the file facts for tables (CSV, Parquet, frames): ``image_sha256``,
``image_signature_status``, ``image_signer``, ``service_dll_sha256``... beside the whole facts.

Works on the JSONL mapping of a record (``image_file`` / ``service_dll_file`` keys), so this
source stage needs nothing of the records themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FILE_FLAT_FACTS: Mapping[str, tuple[str, ...]] = {
    "exists": ("exists",),
    "file_path": ("path",),
    "size": ("size",),
    "md5": ("md5",),
    "sha1": ("sha1",),
    "sha256": ("sha256",),
    "authentihash": ("authentihash",),
    "signature_status": ("signature", "status"),
    "signature_source": ("signature", "source"),
    "signer": ("signature", "signer"),
    "signer_issuer": ("signature", "issuer"),
    "signing_time": ("signature", "signing_time"),
    "catalog": ("signature", "catalog"),
    "company_name": ("version_info", "company_name"),
    "original_filename": ("version_info", "original_filename"),
    "file_version": ("version_info", "file_version"),
    "pe_machine": ("pe", "machine"),
    "zone_identifier": ("zone_identifier",),
}
FILE_FLAT_PREFIX: Mapping[str, str] = {"image_file": "image_", "service_dll_file": "service_dll_"}
FILE_FLAT_COLUMNS = [p + k for p in FILE_FLAT_PREFIX.values() for k in FILE_FLAT_FACTS]
FILE_BOOL_COLUMNS = [p + "exists" for p in FILE_FLAT_PREFIX.values()]
FILE_INT_COLUMNS = [p + "size" for p in FILE_FLAT_PREFIX.values()]


def flat_file_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """The flat columns of one JSONL row (None where the facts are absent)."""
    out: dict[str, Any] = {}
    for col, prefix in FILE_FLAT_PREFIX.items():
        facts = row.get(col)
        if facts is None:  # a bare hive: no binaries read, every flat column empty
            for name in FILE_FLAT_FACTS:
                out[prefix + name] = None
            continue
        for name, steps in FILE_FLAT_FACTS.items():
            value: Any = facts
            for step in steps:
                value = value.get(step) if isinstance(value, Mapping) else None
            out[prefix + name] = value
    return out
