"""A binary's signature: embedded (the PE certificate table's PKCS #7 blobs) or from a catalog.

The checks themselves (hivescan/files/authenticode.py, catalogs.py, trust.py: cryptography,
asn1crypto, the Microsoft roots) are imported where a signature is first checked: a volume
without binaries needs none of them.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic, warning
from hivescan.files.pe import MAX_CERT_TABLE, PeLayout

# Signatures, catalogs and trust (cryptography, asn1crypto, the Microsoft roots) are imported
# where a signature or a catalog is first checked: a volume without binaries (a collection of
# hives and logs, the usual triage input) needs none of them, and they were 37 ms of every
# triage run's serial start (the forkserver's preload, issue 13, session 19).
if TYPE_CHECKING:
    from hivescan.files.catalogs import CatalogIndex
    from hivescan.files.trust import Roots


MAX_SIGNATURES = 8  # WIN_CERTIFICATE entries read from one table
WIN_CERT_TYPE_PKCS_SIGNED_DATA = 2


def _win_certificates(table: bytes) -> tuple[list[bytes], list[Diagnostic]]:
    """The PKCS #7 blobs of a certificate table (WIN_CERTIFICATE entries, 8-byte aligned)."""
    out: list[bytes] = []
    diags: list[Diagnostic] = []
    pos = 0
    while pos + 8 <= len(table) and len(out) < MAX_SIGNATURES:
        length, _revision, kind = struct.unpack_from("<IHH", table, pos)
        if length < 8 or pos + length > len(table):
            diags.append(warning("pe_cert_table_malformed", "signature", f"entry at +{pos} claims {length:,} bytes"))
            break
        if kind == WIN_CERT_TYPE_PKCS_SIGNED_DATA:
            out.append(table[pos + 8 : pos + length])
        pos += (length + 7) & ~7
    return out, diags


def embedded_signature(
    layout: PeLayout, content: dict[str, Any], diags: list[Diagnostic], roots: Roots | None
) -> dict[str, Any]:
    """The file's own (embedded) Authenticode signature, checked against ``roots``; a
    problem with the certificate table is added to ``diags``."""
    if layout.cert_table_offset == 0:
        return {"status": "unsigned", "source": None, "reasons": ["no embedded signature, no catalog lists it"]}
    if layout.cert_table_offset < 0:
        return {"status": "error", "source": "embedded", "reasons": ["the certificate table lies outside the file"]}
    if layout.cert_table_size > MAX_CERT_TABLE:
        diags.append(warning("pe_cert_table_too_large", "signature", f"{layout.cert_table_size:,} bytes: not read"))
        return {"status": "error", "source": "embedded", "reasons": ["certificate table too large to read"]}
    blobs, more = _win_certificates(content["table"])
    diags += more
    if not blobs:
        return {
            "status": "error",
            "source": "embedded",
            "reasons": ["no PKCS #7 signature in the certificate table"],
        }
    from hivescan.files.authenticode import check_signed_data, indirect_digest

    results = []
    for blob in blobs:
        check = check_signed_data(blob, roots=roots)
        facts = {"source": "embedded", **check.facts(), "catalog": None}
        algorithm, digest = indirect_digest(check.content)
        computed = {"sha1": content["authenticode"][0], "sha256": content["authenticode"][1]}.get(algorithm or "")
        if check.status != "error":
            if computed is None:
                facts["status"] = "error"
                facts["reasons"].append(f"Authenticode hash algorithm {algorithm} not computed")
            elif digest != computed:
                facts["status"] = "invalid"
                facts["reasons"].insert(
                    0, "the file's Authenticode hash differs from the signed one (modified after signing)"
                )
        results.append(facts)
    primary = results[0]
    primary["additional"] = results[1:]
    return primary


def catalog_signature(content: dict[str, Any], catalogs: CatalogIndex) -> dict[str, Any] | None:
    """The signature of a catalog (CatRoot) that lists the file's hash; None when none does."""
    auth = content["authenticode"] or (None, None)
    found = catalogs.lookup(auth[1], auth[0], bytes.fromhex(content["sha256"]), bytes.fromhex(content["sha1"]))
    if found is None:
        return None
    path, check = found
    facts = {"source": "catalog", **check.facts(), "catalog": path}
    return facts


__all__ = ["MAX_SIGNATURES", "WIN_CERT_TYPE_PKCS_SIGNED_DATA", "catalog_signature", "embedded_signature"]
