"""Findings: what a rule concluded about one service record, with the evidence it rests on.

A :class:`Finding` is frozen and self-contained: rule id, severity, title, ATT&CK ids, the
service and control set, ``evidence`` (the fields the match rests on, with their values), an
``explanation`` that quotes them, the record's :class:`~hivescan.scm.record.Origin`, and the
``match`` tree (every condition of the rule, matched or not, with the value it saw). JSONL
reads back into findings, so ``hivescan explain`` renders saved findings without the engine.

References: style.md R8, R10.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from hivescan.scm.record import HiveRef, Origin
from hivescan.timeutil import filetime_to_iso


@dataclass(frozen=True, slots=True)
class Match:
    """One node of a rule's condition as evaluated on a record."""

    kind: str  # all | any | not | field | catalog | rule
    label: str  # the condition, readable: "image_path ~ \\\\temp\\\\"
    matched: bool
    value: Any = None  # what the node saw (JSON-ready); None = no value
    note: str | None = None
    field: str | None = None
    entry: Mapping[str, Any] | None = None  # the catalog row a catalog node found
    children: tuple[Match, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "label": self.label, "matched": self.matched}
        if self.field is not None:
            out["field"] = self.field
        if self.value is not None:
            out["value"] = self.value
        if self.note:
            out["note"] = self.note
        if self.entry is not None:
            out["entry"] = dict(self.entry)
        if self.children:
            out["children"] = [c.to_dict() for c in self.children]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Match:
        return cls(
            kind=str(data.get("kind", "")),
            label=str(data.get("label", "")),
            matched=bool(data.get("matched", False)),
            value=data.get("value"),
            note=data.get("note"),
            field=data.get("field"),
            entry=data.get("entry"),
            children=tuple(cls.from_dict(c) for c in data.get("children") or ()),
        )


class Evidence(NamedTuple):
    """A field a finding rests on and the value it had (a catalog row for catalog nodes)."""

    field: str
    value: Any


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    severity: str
    title: str
    attack: tuple[str, ...]
    service: str
    control_set: int | None
    evidence: tuple[Evidence, ...]
    explanation: str
    origin: Origin
    match: Match
    references: tuple[str, ...] = ()
    status: str = ""  # the record's status: database, pending_delete, rejected, deleted
    # the Windows the hive was found to be (WindowsVersion.to_dict()), which decided which
    # known-good catalogs applied; None when the scan did not detect it
    windows: Mapping[str, Any] | None = None

    @property
    def evidence_map(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in self.evidence:
            out.setdefault(item.field, item.value)
        return out

    def to_dict(self) -> dict[str, Any]:
        origin = self.origin
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "title": self.title,
            "attack": list(self.attack),
            "service": self.service,
            "status": self.status,
            "control_set": self.control_set,
            "explanation": self.explanation,
            "evidence": self.evidence_map,
            "key_path": origin.key_path,
            "last_write": origin.last_write,
            "last_write_filetime": origin.last_write_filetime,
            "hive_path": origin.hive_path,
            "hive_sha256": origin.hive_sha256,
            "parser": origin.parser,
            "changed_by_log_replay": origin.from_log,
            "references": list(self.references),
            "windows": dict(self.windows) if self.windows is not None else None,
            "match": self.match.to_dict(),
        }
        if origin.location:
            out["location"] = dict(origin.location)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        origin = Origin(
            hive=HiveRef(
                str(data.get("hive_path") or ""), str(data.get("hive_sha256") or ""), data.get("location") or {}
            ),
            control_set=data.get("control_set"),
            key_path=str(data.get("key_path") or ""),
            last_write_filetime=int(data.get("last_write_filetime") or 0),
            parser=str(data.get("parser") or ""),
            from_log=bool(data.get("changed_by_log_replay", False)),
        )
        evidence = data.get("evidence") or {}
        return cls(
            rule_id=str(data["rule_id"]),
            severity=str(data.get("severity", "info")),
            title=str(data.get("title", "")),
            attack=tuple(data.get("attack") or ()),
            service=str(data.get("service", "")),
            control_set=data.get("control_set"),
            evidence=tuple(Evidence(str(k), v) for k, v in evidence.items()),
            explanation=str(data.get("explanation", "")),
            origin=origin,
            match=Match.from_dict(data.get("match") or {}),
            references=tuple(data.get("references") or ()),
            status=str(data.get("status") or ""),
            windows=data.get("windows"),
        )

    @property
    def last_write(self) -> str | None:
        return filetime_to_iso(self.origin.last_write_filetime)
