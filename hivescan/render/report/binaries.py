"""The binaries a service points at, on its card: the file facts of ``image_file`` and
``service_dll_file`` (see :mod:`hivescan.files.facts`) laid out for a reader.

Why a layout of its own: the facts are nested (signature, version info, PE header, NTFS times,
streams); a reader wants the answer first (exists? signed, by whom?) and every fact after it.
Sections come in a fixed order; keys this module does not know (a field added later) are
shown at the end, flattened, so nothing the record holds is left out. Every value is escaped
by :func:`~hivescan.render.report.text.esc`; stream text (``Zone.Identifier``) is shown whole
in a ``<pre>``, control characters made visible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from hivescan.render.report.header import facts
from hivescan.render.report.text import esc
from hivescan.timeutil import datetime_flag

#: record field -> what the card calls it
BINARY_FIELDS = (("image_file", "image file (ImagePath)"), ("service_dll_file", "ServiceDll file"))

_TOP = ("path", "exists", "size", "md5", "sha1", "sha256", "authentihash", "authentihash_sha1")
_SIGNATURE = (
    "status",
    "source",
    "signer",
    "issuer",
    "catalog",
    "signing_time",
    "signing_time_source",
    "chain_checked_at",
    "nested_signatures",
    "chain",
    "reasons",
)
_JUDGED = ("renamed", "claims_microsoft", "in_windows_folder", "si_created_before_fn")
_SHOWN = frozenset((*_TOP, *_JUDGED, "signature", "version_info", "pe", "timestamps", "streams", "zone_identifier"))
_SHOWN_ALSO = frozenset(("diagnostics",))


def _present(value: Any) -> bool:
    return value not in (None, "", [], (), {})


def _exists(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no: not found in the image or collection"
    return "unknown (cannot be told from this input)"


def _pe_time(value: Any) -> Any:
    """A PE TimeDateStamp as the number stored and, when it is one, the UTC time it reads as
    (reproducible builds store a hash there, so the raw number always comes first)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    if value == 0:
        return "0 = 0x00000000 (not set)"
    try:
        stamp = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return f"{value} = 0x{value:08x}"
    when = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    flag = datetime_flag(stamp)  # before 1990 or from 2100 on: not a build time (a hash?)
    return f"{value} = 0x{value:08x} (as a time: {when}{', ' + flag if flag else ''})"


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif _present(value):
        out.append((prefix, value))


def _signature_rows(signature: Mapping[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key in _SIGNATURE:
        value = signature.get(key)
        if not _present(value):
            continue
        if key == "chain" and isinstance(value, list | tuple):
            value = " <- ".join(str(v) for v in value)  # leaf first, as the chain is recorded
        elif key == "reasons" and isinstance(value, list | tuple):
            value = "; ".join(str(v) for v in value)
        rows.append((f"signature {key}", value))
    for key, value in signature.items():
        if key not in _SIGNATURE:
            _flatten(f"signature {key}", value, rows)
    return rows


def _streams_html(streams: Mapping[str, Any]) -> str:
    items = []
    for name, stream in streams.items():
        data = stream if isinstance(stream, Mapping) else {"text": stream}
        size = data.get("size")
        truncated = " (truncated for display)" if data.get("truncated") else ""
        items.append(
            f'<div class="stream" data-stream="{esc(name)}"><h5>stream <span class="mono">{esc(name)}</span>'
            f"{f' · {esc(size)} bytes' if size is not None else ''}{esc(truncated)}</h5>"
            f"<pre>{esc(data.get('text'))}</pre></div>"
        )
    return "".join(items)


def binary_rows(file_facts: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The facts of one file as (label, value) rows, answer first; streams excluded (shown as text)."""
    rows: list[tuple[str, Any]] = []
    for key in _TOP:
        value = file_facts.get(key)
        if key == "exists":
            rows.append(("exists", _exists(value)))
        elif key == "path" or _present(value):
            rows.append((key, value))
    signature = file_facts.get("signature")
    if isinstance(signature, Mapping):
        rows += _signature_rows(signature)
    elif file_facts.get("exists"):
        rows.append(("signature", "not read"))
    for key, value in (file_facts.get("version_info") or {}).items():
        if _present(value):
            rows.append((f"version info {key}", value))
    for key, value in (file_facts.get("pe") or {}).items():
        if value is not None:
            rows.append((f"PE {key}", _pe_time(value) if key == "timestamp" else value))
    for key, value in (file_facts.get("timestamps") or {}).items():
        if _present(value):
            rows.append((f"NTFS {key}", value))
    for key in _JUDGED:
        value = file_facts.get(key)
        if value is not None:
            rows.append((key.replace("_", " "), value))
    for key, value in file_facts.items():
        if key not in _SHOWN and key not in _SHOWN_ALSO:
            _flatten(key, value, rows)
    return rows


def _diagnostics(items: Iterable[Any]) -> str:
    lines = []
    for item in items:
        if isinstance(item, Mapping):
            lines.append(f"<li><b>{esc(item.get('code'))}</b>: {esc(item.get('message'))}</li>")
        else:
            lines.append(f"<li>{esc(item)}</li>")
    return f"<h5>diagnostics</h5><ul>{''.join(lines)}</ul>" if lines else ""


def binary_html(field: str, label: str, file_facts: Mapping[str, Any]) -> str:
    """One file's block on a card."""
    streams = file_facts.get("streams")
    zone = file_facts.get("zone_identifier")
    stream_html = _streams_html(streams) if isinstance(streams, Mapping) and streams else ""
    if zone and not stream_html:  # the text without the stream listing (older records)
        stream_html = f'<div class="stream" data-stream="Zone.Identifier"><pre>{esc(zone)}</pre></div>'
    signature = file_facts.get("signature")
    status = signature.get("status") if isinstance(signature, Mapping) else None
    return (
        f'<div class="binary" data-field="{esc(field)}" data-signature="{esc(status or "")}">'
        f"<h4>Binary: {esc(label)}</h4>{facts(binary_rows(file_facts))}{stream_html}"
        f"{_diagnostics(file_facts.get('diagnostics') or ())}</div>"
    )


def _summary_line(label: str, file_facts: Mapping[str, Any]) -> str:
    """The answer in one line (exists? signed, how, by whom? which hash?), shown unfolded on the
    card beside the findings it explains; the full facts are in the folded record."""
    parts = [f"{label} {file_facts.get('path') or '(no path)'}"]
    exists = file_facts.get("exists")
    parts.append("exists" if exists is True else "NOT FOUND" if exists is False else "existence unknown")
    signature = file_facts.get("signature")
    if isinstance(signature, Mapping):
        how = f" ({signature['source']})" if signature.get("source") else ""
        parts.append(f"signature {signature.get('status') or 'not recorded'}{how}")
        if signature.get("signer"):
            parts.append(f"signer {signature['signer']}")
    version = file_facts.get("version_info") or {}
    if version.get("company_name"):
        parts.append(f"company {version['company_name']}")
    if file_facts.get("sha256"):
        parts.append(f"sha256 {file_facts['sha256']}")
    return f'<li data-field="{esc(label)}">{esc(", ".join(str(p) for p in parts))}</li>'


def binary_summary_html(record: Mapping[str, Any]) -> str:
    """One line per binary of the record ('' when it has no file facts)."""
    lines = "".join(
        _summary_line(label.split(" (")[0], record[field])
        for field, label in BINARY_FIELDS
        if isinstance(record.get(field), Mapping)
    )
    return f'<ul class="binary-summary">{lines}</ul>' if lines else ""


def binaries_html(record: Mapping[str, Any]) -> str:
    """The blocks of every binary the record has facts for ('' for a bare hive)."""
    return "".join(
        binary_html(field, label, record[field])
        for field, label in BINARY_FIELDS
        if isinstance(record.get(field), Mapping)
    )


__all__ = ["BINARY_FIELDS", "binaries_html", "binary_html", "binary_rows", "binary_summary_html"]
