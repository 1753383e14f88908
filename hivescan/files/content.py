"""A file's bytes read once: every hash, the PE head and the certificate table.

:func:`read_file_bytes` reads the file in chunks, feeding every hash at the same time (the
Authenticode hash skips the checksum, the certificate-table entry and the table itself, as
the PE format specifies); it keeps only the first :data:`~hivescan.files.pe.MAX_PE_BYTES`
for pefile and the certificate table (at most :data:`~hivescan.files.pe.MAX_CERT_TABLE`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.files.pe import MAX_CERT_TABLE, MAX_PE_BYTES, PeLayout, read_layout
from hivescan.files.source import FileSource

HEAD_BYTES = 64 << 10  # the PE headers must lie in the first 64 KiB


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


__all__ = ["HEAD_BYTES", "read_file_bytes"]
