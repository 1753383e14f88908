"""Service triggers: the ``TriggerInfo\\N`` subkeys decoded into SERVICE_TRIGGER records.

Each numbered subkey holds one trigger: ``Type`` (DWORD), ``Action`` (1 start, 2 stop),
``GUID`` (16 bytes, the subtype; spelled ``Guid`` on a few stock triggers, so names are
matched case-insensitively) and data items ``DataN`` with their ``DataTypeN``.

Pitfalls of existing readers that this module avoids: subkeys are sorted numerically (the
registry lists ``10`` before ``2``); DataN and DataTypeN are paired by N, never counted;
GUID fields are zero-padded; the ``Guid`` spelling is not lost. Gaps, non-numeric names,
unpaired items and values beyond the MS-SCMR limits are kept and flagged.

References: scm-spec.md §4.4; MS-SCMR 2.2.53 / 2.2.54 ([M6]).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.hive.cells import decode_utf16
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_BINARY, REG_DWORD, REG_MULTI_SZ, reg_type_name
from hivescan.scm.decode import decode_dword, decode_multi_sz
from hivescan.timeutil import filetime_to_iso

TRIGGER_TYPES = {
    1: "device_interface_arrival",
    2: "ip_address_availability",
    3: "domain_join",
    4: "firewall_port_event",
    5: "group_policy",
    6: "network_endpoint",
    7: "custom_system_state_change",
    20: "custom",
    30: "aggregate",
}
TRIGGER_ACTIONS = {1: "start", 2: "stop"}
DATA_TYPES = {1: "binary", 2: "string", 3: "level", 4: "keyword_any", 5: "keyword_all"}
WELL_KNOWN_GUIDS = {
    "4F27F2DE-14E2-430B-A549-7CD48CBC8245": "NETWORK_MANAGER_FIRST_IP_ADDRESS_ARRIVAL_GUID",
    "CC4BA62A-162E-4648-847A-B6BDF993E335": "NETWORK_MANAGER_LAST_IP_ADDRESS_REMOVAL_GUID",
    "1CE20ABA-9851-4421-9430-1DDEB766E809": "DOMAIN_JOIN_GUID",
    "DDAF516E-58C2-4866-9574-C3B615D42EA1": "DOMAIN_LEAVE_GUID",
    "B7569E07-8421-4EE0-AD10-86915AFDAD09": "FIREWALL_PORT_OPEN_GUID",
    "A144ED38-8E12-4DE4-9D96-E64740B1A524": "FIREWALL_PORT_CLOSE_GUID",
    "659FCAE6-5BDB-4DA9-B1FF-CA2A178D46E0": "MACHINE_POLICY_PRESENT_GUID",
    "54FB46C8-F089-464C-B1FD-59D1B62C3B50": "USER_POLICY_PRESENT_GUID",
    "BC90D167-9470-4139-A9BA-BE0BBBF5B74D": "RPC_INTERFACE_EVENT_GUID",
    "1F81D131-3FAC-4537-9E0C-7E7B0C2F4B55": "NAMED_PIPE_EVENT_GUID",
    "2D7A2816-0C5E-45FC-9CE7-570E5ECDE9C9": "CUSTOM_SYSTEM_STATE_CHANGE_EVENT_GUID",
    "4D1E55B2-F16F-11CF-88CB-001111000030": "GUID_DEVINTERFACE_HID",
}
MAX_ITEM_BYTES = 1024  # MS-SCMR range of SERVICE_TRIGGER_SPECIFIC_DATA_ITEM.cbData
MAX_ITEMS = 64  # MS-SCMR range of SERVICE_TRIGGER.cDataItems
_FIELDS = frozenset({"TYPE", "ACTION", "GUID"})
_new_tuple = tuple.__new__  # a Trigger without its Python-level __new__ (all seven fields given)
_DATA_NAME = re.compile(r"^DATA(TYPE)?(\d+)$")

DataValue = str | int | tuple[str, ...] | None


def format_guid(data: bytes) -> str:
    """``{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`` of 16 GUID bytes (Data1-3 little-endian, zero-padded)."""
    data1, data2, data3 = struct.unpack_from("<IHH", data, 0)
    tail = data[8:16].hex().upper()
    return f"{{{data1:08X}-{data2:04X}-{data3:04X}-{tail[:4]}-{tail[4:]}}}"


def guid_name(guid: str | None) -> str | None:
    return WELL_KNOWN_GUIDS.get(guid.strip("{}").upper()) if guid else None


class TriggerData(NamedTuple):
    """One SERVICE_TRIGGER_SPECIFIC_DATA_ITEM: ``value`` is hex (binary), a tuple of strings
    (string / multi-string), an int (level, keyword) or None when undecodable; ``hex`` is raw."""

    number: int  # N of DataN / DataTypeN
    data_type: int | None
    value: DataValue
    hex: str

    @property
    def data_type_name(self) -> str | None:
        return DATA_TYPES.get(self.data_type) if self.data_type is not None else None

    def to_dict(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {
            "number": self.number,
            "data_type": self.data_type,
            "data_type_name": self.data_type_name,
            "value": value,
            "hex": self.hex,
        }


class Trigger(NamedTuple):
    """One ``TriggerInfo\\N`` subkey as a SERVICE_TRIGGER (a NamedTuple, like RawValue: cheap per record)."""

    subkey: str
    number: int | None  # N when the subkey name is a canonical decimal number
    last_write_filetime: int | None
    type: int | None
    action: int | None
    guid: str | None
    data: tuple[TriggerData, ...] = ()

    @property
    def type_name(self) -> str | None:
        return TRIGGER_TYPES.get(self.type) if self.type is not None else None

    @property
    def action_name(self) -> str | None:
        return TRIGGER_ACTIONS.get(self.action) if self.action is not None else None

    @property
    def guid_name(self) -> str | None:
        return guid_name(self.guid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "subkey": self.subkey,
            "number": self.number,
            "last_write": filetime_to_iso(self.last_write_filetime),
            "last_write_filetime": self.last_write_filetime,
            "type": self.type,
            "type_name": self.type_name,
            "action": self.action,
            "action_name": self.action_name,
            "guid": self.guid,
            "guid_name": self.guid_name,
            "data": [d.to_dict() for d in self.data],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trigger:
        items = tuple(
            TriggerData(
                int(d["number"]),
                d.get("data_type"),
                tuple(d["value"]) if isinstance(d.get("value"), list) else d.get("value"),
                d.get("hex", ""),
            )
            for d in data.get("data") or ()
        )
        return cls(
            data.get("subkey", ""),
            data.get("number"),
            data.get("last_write_filetime"),
            data.get("type"),
            data.get("action"),
            data.get("guid"),
            items,
        )


def decode_trigger_data(data_type: int | None, data: bytes, field: str) -> tuple[DataValue, list[Diagnostic]]:
    """One data item by its SERVICE_TRIGGER_DATA_TYPE."""
    diags: list[Diagnostic] = []
    if len(data) > MAX_ITEM_BYTES:
        diags.append(
            Diagnostic(
                "trigger_data_too_large",
                field,
                f"{len(data)} bytes; MS-SCMR allows at most {MAX_ITEM_BYTES} (only a direct registry write does this)",
            )
        )
    if data_type == 2:
        if not len(data) % 2 and data.endswith(b"\0\0"):  # the clean case: one string or a multi-string
            text = decode_utf16(data)[:-1]
            if text.endswith("\0"):
                text = text[:-1]
            if text.isascii() and "\0\0" not in text and not text.startswith("\0"):
                return (tuple(text.split("\0")) if text else ()), diags
        multi, more = decode_multi_sz(field, RawValue(field, REG_MULTI_SZ, data))
        diags += [d for d in more if d.code != "multi_sz_unterminated"]  # a single string needs one NUL only
        return multi.items, diags
    if data_type == 3 or data_type in (4, 5):
        size = 1 if data_type == 3 else 8
        if len(data) != size:
            diags.append(
                Diagnostic(
                    "trigger_data_size",
                    field,
                    f"{DATA_TYPES[data_type]} data must be {size} byte(s), found {len(data)}; kept as hex",
                )
            )
            return None, diags
        return (data[0] if size == 1 else struct.unpack("<Q", data)[0]), diags
    if data_type is not None and data_type != 1:
        diags.append(
            Diagnostic("trigger_data_type_unknown", field, f"data type {data_type} is not defined; kept as hex")
        )
    return data.hex(), diags


def _subkey_order(raw: Sequence[Mapping[str, Any]]) -> tuple[list[tuple[int | None, Mapping[str, Any]]], list[str]]:
    numbered: list[tuple[int, Mapping[str, Any]]] = []
    other: list[Mapping[str, Any]] = []
    for item in raw:
        name = str(item.get("subkey", ""))
        if name.isascii() and name.isdigit() and (name == "0" or not name.startswith("0")):
            numbered.append((int(name), item))
        else:
            other.append(item)
    numbered.sort(key=lambda pair: pair[0])
    return [*numbered, *((None, item) for item in other)], [str(o.get("subkey", "")) for o in other]


def decode_triggers(raw: Sequence[Mapping[str, Any]]) -> tuple[tuple[Trigger, ...], list[Diagnostic]]:
    """Every ``TriggerInfo`` subkey (as the record's ``triggers_raw`` holds them) as a Trigger.

    ``raw`` items: ``{subkey, last_write_filetime, values: (RawValue, ...)}``.
    """
    diags: list[Diagnostic] = []
    ordered, non_numeric = _subkey_order(raw)
    if non_numeric:
        diags.append(
            Diagnostic(
                "trigger_name_not_numeric",
                "TriggerInfo",
                f"subkey(s) {non_numeric!r} are not decimal trigger numbers; decoded after the numbered ones",
            )
        )
    numbers = [n for n, _ in ordered if n is not None]
    if numbers and numbers != list(range(len(numbers))):
        missing = sorted(set(range(max(numbers) + 1)) - set(numbers))[:10]
        diags.append(
            Diagnostic(
                "trigger_index_gap",
                "TriggerInfo",
                f"trigger subkeys are not numbered 0..{len(numbers) - 1} (missing {missing}); "
                "whether the SCM reads past a gap is unverified",
            )
        )
    triggers = []
    for number, item in ordered:
        subkey = str(item.get("subkey", ""))
        last_write, values = item.get("last_write_filetime"), item.get("values") or ()
        remembered = None
        if type(values) is tuple:
            try:
                if sum([len(v.data) for v in values]) <= MAX_REMEMBERED_BYTES:
                    remembered = _decode_remembered(subkey, number, values)
            except (TypeError, AttributeError):  # not RawValues of immutable parts: decoded afresh
                remembered = None
        if remembered is not None:
            decoded, notes = remembered
            # its own time: a Trigger depends on it only by carrying it
            triggers.append(_new_tuple(Trigger, (decoded[0], decoded[1], last_write, *decoded[3:])))
            diags += notes
        else:
            trigger, more = _decode_one(subkey, number, last_write, values)
            triggers.append(trigger)
            diags += more
    return tuple(triggers), diags


MAX_REMEMBERED_BYTES = 4096  # value data of one trigger subkey kept by the memo below (MS-SCMR items: <= 1 KiB each)


@lru_cache(maxsize=4096)
def _decode_remembered(
    subkey: str, number: int | None, values: tuple[RawValue, ...]
) -> tuple[Trigger, tuple[Diagnostic, ...]]:
    """:func:`_decode_one` remembered by everything it reads but the time (per process,
    bounded: 4,096 subkeys of at most 4 KiB of data). Stock triggers repeat from service to
    service and host to host (the same GUID, type and data under ``TriggerInfo\\0``), and
    a trigger subkey costs about 20 us to decode."""
    trigger, notes = _decode_one(subkey, number, None, values)
    return trigger, tuple(notes)


def _field_dword(by_name: Mapping[str, RawValue], name: str, where: str, diags: list[Diagnostic]) -> int | None:
    value = by_name.get(name.upper())
    if value is None:
        diags.append(Diagnostic("trigger_value_missing", where, f"no {name} value"))
        return None
    if value.type == REG_DWORD and len(value.data) == 4 and value.exact:
        return int.from_bytes(value.data, "little")  # the clean case
    number, more = decode_dword(f"{where}\\{value.name}", value)
    diags.extend(more)
    return number


def _decode_one(
    subkey: str, number: int | None, last_write: int | None, values: Sequence[RawValue]
) -> tuple[Trigger, list[Diagnostic]]:
    where = f"TriggerInfo\\{subkey}"
    diags: list[Diagnostic] = []
    by_name: dict[str, RawValue] = {}
    for value in values:
        by_name.setdefault(value.name.upper(), value)
    items: dict[int, dict[str, RawValue]] = {}
    unexpected = []
    for upper, value in by_name.items():
        if upper in _FIELDS:
            continue
        match = _DATA_NAME.match(upper)
        if match:
            items.setdefault(int(match.group(2)), {})["type" if match.group(1) else "data"] = value
        else:
            unexpected.append(value.name)
    if unexpected:
        diags.append(
            Diagnostic("trigger_value_unexpected", where, f"values {unexpected!r} are not trigger fields", "info")
        )

    type_ = _field_dword(by_name, "Type", where, diags)
    action = _field_dword(by_name, "Action", where, diags)
    if type_ is not None and type_ not in TRIGGER_TYPES:
        diags.append(Diagnostic("trigger_type_unknown", where, f"trigger type {type_} is not defined; kept raw"))
    if action is not None and action not in TRIGGER_ACTIONS:
        diags.append(Diagnostic("trigger_action_unknown", where, f"action {action} is not 1 (start) or 2 (stop)"))
    guid = None
    raw_guid = by_name.get("GUID")
    if raw_guid is None:
        diags.append(Diagnostic("trigger_value_missing", where, "no GUID value (the trigger subtype)"))
    elif len(raw_guid.data) != 16:
        diags.append(
            Diagnostic(
                "trigger_guid_invalid",
                f"{where}\\{raw_guid.name}",
                f"{len(raw_guid.data)} bytes, a GUID has 16: {raw_guid.data[:32].hex()}",
            )
        )
    else:
        guid = format_guid(raw_guid.data)
        if raw_guid.type != REG_BINARY:
            diags.append(
                Diagnostic(
                    "type_mismatch",
                    f"{where}\\{raw_guid.name}",
                    f"stored as {reg_type_name(raw_guid.type)}, parsed as binary",
                    "info",
                )
            )

    data_items = []
    for index in sorted(items):
        pair = items[index]
        data_value, type_value = pair.get("data"), pair.get("type")
        field = f"{where}\\Data{index}"
        data_type = None
        if type_value is not None:
            data_type, more = decode_dword(f"{where}\\{type_value.name}", type_value)
            diags.extend(more)
        if data_value is None or type_value is None:
            diags.append(
                Diagnostic(
                    "trigger_data_unpaired",
                    field,
                    f"Data{index} without DataType{index}; kept as hex"
                    if type_value is None
                    else f"DataType{index} without Data{index}",
                )
            )
        if data_value is None:
            data_items.append(TriggerData(index, data_type, None, ""))
            continue
        if data_value.type != REG_BINARY:
            diags.append(
                Diagnostic(
                    "type_mismatch", field, f"stored as {reg_type_name(data_value.type)}, parsed as binary", "info"
                )
            )
        decoded, more = decode_trigger_data(data_type, data_value.data, field)
        diags.extend(more)
        data_items.append(TriggerData(index, data_type, decoded, data_value.data.hex()))
    if items and sorted(items) != list(range(len(items))):
        diags.append(
            Diagnostic(
                "trigger_data_index_gap",
                where,
                f"data items numbered {sorted(items)[:10]}, not 0..{len(items) - 1}; "
                "whether the SCM reads past a gap is unverified",
                "info",
            )
        )
    if len(items) > MAX_ITEMS:
        diags.append(
            Diagnostic("trigger_too_many_items", where, f"{len(items)} data items; MS-SCMR allows at most {MAX_ITEMS}")
        )
    return Trigger(subkey, number, last_write, type_, action, guid, tuple(data_items)), diags


__all__ = [
    "DATA_TYPES",
    "TRIGGER_ACTIONS",
    "TRIGGER_TYPES",
    "WELL_KNOWN_GUIDS",
    "Trigger",
    "TriggerData",
    "decode_trigger_data",
    "decode_triggers",
    "format_guid",
]
