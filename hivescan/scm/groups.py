"""Load-order groups and their tag vectors: ``ServiceGroupOrder\\List`` and ``GroupOrderList``.

The group list orders whole groups; a group's tag vector (``GroupOrderList\\<group>``,
REG_BINARY: count, then that many DWORD tags) orders the members inside it by their
registry ``Tag``. Groups are matched case-insensitively; a name in List twice keeps its
first position. Groups not in List ("unknown" groups, e.g. ``Early-Launch``, ``Network``,
``PnP Filter``) have a position of None; ReactOS gives them no tag vector either
([R3] only attaches vectors to listed groups), so hivescan keeps their vectors for the
report but does not order by them.

References: scm-spec.md §4.2 (tag vector layout), §6.1 (group database), §6.2 (tags).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_BINARY, reg_type_name
from hivescan.hive.tree import upcase
from hivescan.scm.decode import decode_multi_sz

LIST_FIELD = "ServiceGroupOrder\\List"


def _upper(name: str) -> str:
    return name.upper() if name.isascii() else upcase(name)


def decode_tag_vector(group: str, value: RawValue) -> tuple[tuple[int, ...] | None, list[Diagnostic]]:
    """One ``GroupOrderList`` value -> the tags in load order (spec §4.2).

    ReactOS uses a vector only if it is REG_BINARY with ``len >= 4 * (count + 1)``;
    hivescan reads ``min(count, (len - 4) // 4)`` tags of any type and flags the rest.
    Never raises.
    """
    field_name = f"GroupOrderList\\{group}"
    data = value.data
    diags: list[Diagnostic] = []
    if value.type != REG_BINARY:
        diags.append(
            Diagnostic(
                "type_mismatch",
                field_name,
                f"tag vector stored as {reg_type_name(value.type)}: ReactOS ignores it, hivescan reads the bytes",
            )
        )
    if len(data) < 4:
        diags.append(
            Diagnostic("group_tags_short", field_name, f"{len(data)} bytes: no count, so the group has no tag vector")
        )
        return None, diags
    count = int.from_bytes(data[:4], "little")
    available = (len(data) - 4) // 4
    used = min(count, available)
    if count > available:
        diags.append(
            Diagnostic(
                "group_tags_short",
                field_name,
                f"count says {count} tags but only {available} fit in {len(data)} bytes; {used} used",
            )
        )
    elif len(data) > 4 + 4 * count:
        diags.append(
            Diagnostic(
                "group_tags_trailing",
                field_name,
                f"{len(data) - 4 - 4 * count} byte(s) after the {count} tags the count announces: "
                f"{data[4 + 4 * count :][:64].hex()}",
                "info",
            )
        )
    tags: tuple[int, ...] = struct.unpack_from(f"<{used}I", data, 4)  # one call, not one per tag
    if 0 in tags:
        diags.append(
            Diagnostic(
                "group_tag_zero",
                field_name,
                "tag 0 in the vector: ReactOS gives services without a Tag value tag 0, so it would match them all",
            )
        )
    if len(set(tags)) != len(tags):
        diags.append(
            Diagnostic("group_tags_duplicate", field_name, "a tag appears twice; its first position counts", "info")
        )
    return tags, diags


@dataclass(frozen=True, slots=True)
class GroupOrder:
    """The group database of one control set (spec §6.1)."""

    names: tuple[str, ...] = ()  # ServiceGroupOrder\List as the SCM sees it, original case
    positions: Mapping[str, int] = field(default_factory=dict)  # upper-cased name -> first position
    tag_vectors: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # upper-cased group -> tags
    tag_vector_names: Mapping[str, str] = field(default_factory=dict)  # upper-cased group -> value name
    diagnostics: tuple[Diagnostic, ...] = ()

    _seen: dict[str, int | None] = field(default_factory=dict, repr=False, compare=False)  # Group string -> position

    def position(self, group: str | None) -> int | None:
        """Index of a group in List (ci); None for unknown groups, no group and ""."""
        if not group:
            return None
        try:
            return self._seen[group]  # the same few dozen Group strings recur on every hive
        except KeyError:
            position = self._seen[group] = self.positions.get(_upper(group))
            return position

    def tag_position(self, group: str | None, tag: int | None) -> int | None:
        """Index of a registry Tag in its (listed) group's vector, or None."""
        if tag is None or not group or self.position(group) is None:
            return None
        vector = self.tag_vectors.get(_upper(group))
        if not vector:
            return None
        try:
            return vector.index(tag)
        except ValueError:
            return None

    def to_dict(self) -> dict[str, object]:
        return {
            "list": list(self.names),
            "tag_vectors": {self.tag_vector_names[k]: list(v) for k, v in self.tag_vectors.items()},
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


class GroupPlace(NamedTuple):
    """What :func:`~hivescan.scm.bootplan.group_facts` says for every record of one Group string, the Tag aside."""

    known: bool | None  # None: no Group value
    position: int | None
    vector: tuple[int, ...]  # the listed group's tag vector; () when unlisted or without one
    diagnostics: tuple[Diagnostic, ...] = ()


_EMPTY_GROUP = Diagnostic(
    "empty_group",
    "Group",
    "empty Group string: ReactOS attaches an unnamed unknown group; treated as no group",
    "info",
)


def group_place(group: str | None, groups: GroupOrder) -> GroupPlace:
    """The part of :func:`group_facts` one Group string decides (spec §6.1).

    Why apart: a set has a few dozen Group strings but hundreds of (Group, Tag) pairs, so the
    database pass works this out once per string and only the tag's index per record
    (:func:`tag_index`).
    """
    if group is None:
        return GroupPlace(None, None, ())
    if group == "":
        return GroupPlace(False, None, (), (_EMPTY_GROUP,))
    position = groups.position(group)
    if position is None:
        return GroupPlace(False, None, ())
    return GroupPlace(True, position, groups.tag_vectors.get(_upper(group)) or ())


def tag_index(vector: tuple[int, ...], tag: int | None) -> int | None:
    """``GroupOrder.tag_position`` once the group's vector is known: the tag's first index (spec §6.2)."""
    if tag is None:
        return None
    try:
        return vector.index(tag)
    except ValueError:
        return None


def build_group_order(list_value: RawValue | None, tag_values: Sequence[RawValue] | None) -> GroupOrder:
    """``ServiceGroupOrder\\List`` and the ``GroupOrderList`` values -> :class:`GroupOrder`."""
    diags: list[Diagnostic] = []
    names: tuple[str, ...] = ()
    if list_value is None:
        diags.append(
            Diagnostic(
                "group_order_missing",
                LIST_FIELD,
                "no ServiceGroupOrder\\List: every group is unknown, so load order inside each phase is hive order",
            )
        )
    else:
        decoded, more = decode_multi_sz(LIST_FIELD, list_value)
        diags += more
        names = decoded.items
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        upper = _upper(name)
        if upper in positions:
            diags.append(
                Diagnostic(
                    "group_order_duplicate",
                    LIST_FIELD,
                    f"{name!r} is listed at positions {positions[upper]} and {index}; the first counts",
                    "info",
                )
            )
            continue
        positions[upper] = index
    vectors: dict[str, tuple[int, ...]] = {}
    vector_names: dict[str, str] = {}
    for value in tag_values or ():
        upper = _upper(value.name)
        if upper in vectors:
            continue  # duplicate value name (ci): the reader flagged it; the first counts
        tags, more = decode_tag_vector(value.name, value)
        diags += more
        if tags is not None:
            vectors[upper] = tags
            vector_names[upper] = value.name
    return GroupOrder(names, positions, vectors, vector_names, tuple(diags))


__all__ = ["GroupOrder", "GroupPlace", "build_group_order", "decode_tag_vector", "group_place", "tag_index"]
