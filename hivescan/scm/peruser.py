"""Per-user services: templates (0x50/0x60), their instances (0xD0/0xE0) and how they link.

An instance key is ``<template>_<LUID in hex>``, created at sign-in and deleted at sign-out;
one found offline is left over from a session (live acquisition, unclean shutdown), so it
is *stale* and kept out of the boot plan. It links to the template named by everything
before the **last** ``_`` (names such as ``clr_optimization_v4.0.30319_32`` contain ``_``
too, so only records whose Type has the instance bit are split). Instances store only some
values (Type, Start, ErrorControl, ImagePath already expanded, DisplayName, Description,
FailureActions); the rest -- ServiceDll included -- comes from the template. They are
compared on what they store, ImagePath after expanding both sides.

References: scm-spec.md §8, §7.3 (ServiceDll of instances); [M14] per-user services.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.hive.tree import upcase
from hivescan.scm.constants import (
    SERVICE_PKG_SERVICE,
    SERVICE_USER_SERVICE,
    SERVICE_USERSERVICE_INSTANCE,
    USER_INSTANCE_TYPES,
    USER_TEMPLATE_TYPES,
)
from hivescan.scm.record import ServiceRecord
from hivescan.textsafe import quoted

_HEX = re.compile(r"^[0-9A-Fa-f]+$")
# values only templates hold (OBS: instance keys never carry them); an instance that does and
# disagrees with its template differs from it
_TEMPLATE_ONLY = ("object_name", "required_privileges", "service_sid_type", "delayed_auto_start", "service_dll")


def _upper(name: str) -> str:
    return name.upper() if name.isascii() else upcase(name)


def split_instance_name(name: str) -> tuple[str, str] | None:
    """(template name, LUID suffix) when the name ends in ``_<hex>``; else None."""
    prefix, sep, suffix = name.rpartition("_")
    if not sep or not prefix or not _HEX.match(suffix):
        return None
    return prefix, suffix


@dataclass(frozen=True, slots=True)
class UserLinks:
    """Per-record results of linking instances to templates (indices into the record list)."""

    updates: Mapping[int, dict[str, Any]] = field(default_factory=dict)
    notes: Mapping[int, list[Diagnostic]] = field(default_factory=dict)


def link_user_services(records: Sequence[ServiceRecord], expanded_images: Sequence[str | None]) -> UserLinks:
    """Link every per-user instance to its template (spec §8).

    ``expanded_images``: per record, its ImagePath after environment expansion (instances
    store it already expanded; templates usually as ``%SystemRoot%\\...``).
    """
    templates: dict[str, int] = {}
    instances: list[int] = []
    for index, rec in enumerate(records):  # one look at each record's type (hundreds per set)
        type_ = rec.type
        if type_ is None or not type_ & SERVICE_USER_SERVICE or rec.status == "rejected":
            continue  # every template and instance type has the per-user bit: a cheap first test
        base = type_ & ~SERVICE_PKG_SERVICE
        if base in USER_TEMPLATE_TYPES:
            templates.setdefault(_upper(rec.name), index)
        elif base in USER_INSTANCE_TYPES:
            instances.append(index)
    updates: dict[int, dict[str, Any]] = {}
    notes: dict[int, list[Diagnostic]] = {}
    instances_of: dict[int, list[str]] = {}
    for index in instances:
        rec = records[index]
        mine = notes.setdefault(index, [])
        if rec.status == "database":
            mine.append(
                Diagnostic(
                    "stale_user_instance",
                    "name",
                    "per-user instance left from a logon session (deleted at sign-out); not in the boot plan",
                    "info",
                )
            )
        parts = split_instance_name(rec.name)
        if parts is None:
            mine.append(
                Diagnostic(
                    "user_instance_bad_name",
                    "name",
                    "instance name is not <template>_<hex LUID>: no template can be linked",
                )
            )
            continue
        prefix, luid = parts
        change: dict[str, Any] = {"user_instance_luid": luid}
        updates[index] = change
        template_index = templates.get(_upper(prefix))
        if template_index is None:
            mine.append(
                Diagnostic(
                    "orphan_user_instance",
                    "name",
                    f"no per-user template {quoted(prefix)} for this instance (template removed, or a planted key)",
                )
            )
            continue
        template = records[template_index]
        change["template"] = template.name
        instances_of.setdefault(template_index, []).append(rec.name)
        differences = _differences(rec, template, expanded_images[index], expanded_images[template_index])
        if differences:
            mine.append(
                Diagnostic(
                    "instance_differs_from_template",
                    "name",
                    f"differs from template {quoted(template.name)}: " + "; ".join(differences),
                )
            )
        if rec.service_dll is None and template.service_dll is not None:
            change.update(
                service_dll=template.service_dll,
                service_dll_source="template",
                service_dll_type=template.service_dll_type,
                service_main=template.service_main,
                service_dll_unload_on_stop=template.service_dll_unload_on_stop,
                service_manifest=template.service_manifest,
                sources={**rec.sources, "service_dll": "derived"},
            )
            mine.append(
                Diagnostic(
                    "service_dll_from_template",
                    "ServiceDll",
                    f"instances have no ServiceDll: the one of template {template.name} is used (heuristic)",
                    "info",
                )
            )
    for template_index, names in instances_of.items():
        updates.setdefault(template_index, {})["user_instances"] = tuple(names)
    return UserLinks(updates, {k: v for k, v in notes.items() if v})


def _differences(
    instance: ServiceRecord, template: ServiceRecord, instance_image: str | None, template_image: str | None
) -> list[str]:
    out: list[str] = []
    if instance.type is not None and template.type is not None:
        expected = template.type | SERVICE_USERSERVICE_INSTANCE
        if instance.type != expected:
            out.append(f"Type 0x{instance.type:x}, expected 0x{expected:x} (template | 0x80)")
    for field_name, label in (("start", "Start"), ("error_control", "ErrorControl")):
        mine, theirs = getattr(instance, field_name), getattr(template, field_name)
        if mine != theirs:
            out.append(f"{label} {mine} vs {theirs}")
    if instance.failure_actions_hex != template.failure_actions_hex:
        out.append("FailureActions bytes differ")
    if instance_image is not None and template_image is not None and upcase(instance_image) != upcase(template_image):
        out.append(f"ImagePath {quoted(instance_image)} vs {quoted(template_image)}")
    elif (instance_image is None) != (template_image is None):
        out.append("ImagePath present on only one of them")
    for field_name in _TEMPLATE_ONLY:
        mine = getattr(instance, field_name)
        if mine in (None, ()) or instance.sources.get(field_name) == "default":
            continue
        theirs = getattr(template, field_name)
        if mine != theirs:
            out.append(f"{field_name} {quoted(mine)} vs {quoted(theirs)} (normally only on the template)")
    return out


__all__ = ["UserLinks", "link_user_services", "split_instance_name"]
