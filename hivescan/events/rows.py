"""Service events as rows: the events of the System, Security and Sysmon logs that say what
happened to a service, normalised to one flat contract.

Why these events: 7045 (System) and 4697 (Security) record a service install with its
ImagePath and account even after the tool deleted the service; 7040 a start-type change;
7036 a state change; 7034/7031 an unexpected stop; 7000/7009 a failed start (typical of a
payload that is not a service binary); Sysmon 12/13/14 which process wrote a key or value
under ``\\Services\\``; 1102 (Security) and 104 (System) a cleared log.

Names: 7045's ``ServiceName`` is what the SCM was given as the display name (the key name
for most tools), and 7036/7000/7009/7034/7031 name the display name in ``param1``; where
the event carries the key name (4697, 7040's ``param4``, the ``Binary`` data of the state
events as UTF-16LE, Sysmon's target key) it is ``service_name``. ``display_name`` keeps the
displayed one. Nothing is reinterpreted: ``data`` is the event's data as the log holds it.

References: issue 15 (row contract); Microsoft event documentation for 4697; Sysmon
documentation for events 12-14.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

SCM_PROVIDER = "service control manager"
SECURITY_PROVIDER = "microsoft-windows-security-auditing"
SYSMON_PROVIDER = "microsoft-windows-sysmon"
EVENTLOG_PROVIDER = "microsoft-windows-eventlog"

KINDS: Mapping[int, str] = {
    7045: "installed",
    4697: "installed",
    7040: "start_type_changed",
    7036: "state_changed",
    7034: "terminated",
    7031: "terminated",
    7000: "start_failed",
    7009: "start_failed",
    12: "registry_key",
    13: "registry_value",
    14: "registry_renamed",
    1102: "log_cleared",
    104: "log_cleared",
}
_SCM_IDS = frozenset({7045, 7040, 7036, 7034, 7031, 7000, 7009})
_SERVICES_KEY = re.compile(r"\\services\\([^\\]+)(?:\\(.*))?$", re.IGNORECASE)

# the order of the row contract (issue 15), then the extras
COLUMNS = (
    "event_id",
    "time",
    "channel",
    "provider",
    "record_id",
    "computer",
    "service_name",
    "image_path",
    "service_type",
    "start_type",
    "account",
    "subject_user",
    "process",
    "evtx_path",
    "evtx_sha256",
    "kind",
    "display_name",
    "state",
    "subject_logon_id",
    "registry_key",
    "registry_value",
    "file_record_id",
    "chunk_state",
    "data",
)


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    """One service event, with where it was read (log path and sha256, record numbers)."""

    event_id: int
    time: str  # UTC ISO 8601 (the event's TimeCreated)
    channel: str
    provider: str
    record_id: int | None  # the event's EventRecordID (what Event Viewer shows)
    computer: str
    service_name: str | None
    image_path: str | None = None
    service_type: str | None = None  # as logged: text in 7045 ("user mode service"), hex in 4697
    start_type: str | None = None
    account: str | None = None
    subject_user: str | None = None  # DOMAIN\user of 4697/1102/104
    process: str | None = None  # Sysmon: the process that wrote the registry
    evtx_path: str = ""
    evtx_sha256: str = ""
    kind: str = ""
    display_name: str | None = None
    state: str | None = None  # 7036 new state, 7040 old -> new, 7000/7009 error
    subject_logon_id: str | None = None
    registry_key: str | None = None  # Sysmon TargetObject
    registry_value: str | None = None  # Sysmon: the value name under the service key ("" = the key)
    file_record_id: int | None = None  # the record header's number in this file
    chunk_state: str = "ok"  # ok, or the damage the reader found in this record's chunk
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The row in :data:`COLUMNS` order (``data`` stays a mapping)."""
        return {name: getattr(self, name) for name in COLUMNS}  # not asdict: it deep-copies ``data``


def _text(value: Any) -> str | None:
    """An event data item as text (numbers as decimal); None when absent."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("#text")
        if value is None:
            return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _int(value: Any) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return int(text, 0) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def _attr(node: Any, name: str) -> Any:
    if isinstance(node, dict):
        attrs = node.get("#attributes")
        if isinstance(attrs, dict):
            return attrs.get(name)
    return None


def _utf16_name(hex_text: str | None) -> str | None:
    """The service key name in a state event's ``Binary`` data: UTF-16LE, NUL-terminated,
    ``<name>/<number>`` in 7036 (a service name cannot hold ``/``, so the suffix is cut)."""
    if not hex_text:
        return None
    try:
        raw = bytes.fromhex(hex_text[:2048])  # a service name is at most 256 characters (512 bytes)
    except ValueError:
        return None
    text = raw.decode("utf-16-le", errors="replace").split("\0", 1)[0].split("/", 1)[0]
    return text or None


def _iso(value: str | None) -> str:
    """``2021-12-13T12:55:45.250084Z`` (TimeCreated) kept; the parser's header form
    (``... UTC``) brought to the same shape."""
    if not value:
        return ""
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4]
    return text if text.endswith("Z") else text + "Z"


# the order of the data items of events whose template does not name them (older logs)
_POSITIONAL: Mapping[int, tuple[str, ...]] = {
    7045: ("ServiceName", "ImagePath", "ServiceType", "StartType", "AccountName"),
    7040: ("param1", "param2", "param3", "param4"),
    7036: ("param1", "param2"),
    7034: ("param1", "param2"),
    7031: ("param1", "param2", "param3", "param4", "param5"),
    7000: ("param1", "param2"),
    7009: ("param1", "param2"),
}


def _named(event_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Unnamed ``<Data>`` items (a list under ``Data``) given their names by position; the
    list itself stays in the raw data."""
    items = data.get("Data")
    if isinstance(items, dict):
        items = items.get("#text")
    names = _POSITIONAL.get(event_id)
    if not isinstance(items, list) or names is None:
        return data
    out = dict(data)
    for name, item in zip(names, items, strict=False):
        out.setdefault(name, item)
    return out


def _user(data: Mapping[str, Any], prefix: str = "Subject") -> str | None:
    name = _text(data.get(f"{prefix}UserName"))
    domain = _text(data.get(f"{prefix}DomainName"))
    if name is None:
        return None
    return f"{domain}\\{name}" if domain else name


def normalise(
    event: Mapping[str, Any],
    *,
    evtx_path: str = "",
    evtx_sha256: str = "",
    file_record_id: int | None = None,
    header_time: str = "",
    chunk_state: str = "ok",
) -> ServiceEvent | None:
    """The service row of one parsed event (the ``evtx`` parser's JSON), or None when the event
    is not a service event (another ID, another provider, a registry path outside Services)."""
    root = event.get("Event", event)
    if not isinstance(root, dict):
        return None
    system = root.get("System")
    if not isinstance(system, dict):
        return None
    event_id = _int(system.get("EventID"))
    if event_id is None or event_id not in KINDS:
        return None
    provider = str(_attr(system.get("Provider"), "Name") or "")
    lowered = provider.lower()
    data_node = root.get("EventData")
    user_data = root.get("UserData")
    data: dict[str, Any] = dict(data_node) if isinstance(data_node, dict) else {}
    data.pop("#attributes", None)
    data = _named(event_id, data)
    if event_id in _SCM_IDS and lowered != SCM_PROVIDER:
        return None
    if event_id == 4697 and lowered != SECURITY_PROVIDER:
        return None
    if event_id in (12, 13, 14) and lowered != SYSMON_PROVIDER:
        return None
    if event_id in (1102, 104):
        if lowered != EVENTLOG_PROVIDER:
            return None
        if isinstance(user_data, dict):
            for inner in user_data.values():
                if isinstance(inner, dict):
                    data = {k: v for k, v in inner.items() if k != "#attributes"}
                    break
    time_created = _attr(system.get("TimeCreated"), "SystemTime")
    base: dict[str, Any] = {
        "event_id": event_id,
        "time": _iso(str(time_created) if time_created else header_time),
        "channel": _text(system.get("Channel")) or "",
        "provider": provider,
        "record_id": _int(system.get("EventRecordID")),
        "computer": _text(system.get("Computer")) or "",
        "evtx_path": evtx_path,
        "evtx_sha256": evtx_sha256,
        "kind": KINDS[event_id],
        "file_record_id": file_record_id,
        "chunk_state": chunk_state,
        "data": data,
    }
    name: str | None = None
    if event_id == 7045:
        name = _text(data.get("ServiceName"))
        base.update(
            display_name=name,
            image_path=_text(data.get("ImagePath")),
            service_type=_text(data.get("ServiceType")),
            start_type=_text(data.get("StartType")),
            account=_text(data.get("AccountName")),
        )
    elif event_id == 4697:
        name = _text(data.get("ServiceName"))
        base.update(
            image_path=_text(data.get("ServiceFileName")),
            service_type=_text(data.get("ServiceType")),
            start_type=_text(data.get("ServiceStartType")),
            account=_text(data.get("ServiceAccount")),
            subject_user=_user(data),
            subject_logon_id=_text(data.get("SubjectLogonId")),
        )
    elif event_id == 7040:
        name = _text(data.get("param4")) or _text(data.get("param1"))
        old, new = _text(data.get("param2")), _text(data.get("param3"))
        base.update(display_name=_text(data.get("param1")), start_type=new, state=f"{old} -> {new}")
    elif event_id in (7036, 7034, 7031, 7000):
        display = _text(data.get("param1"))
        name = _utf16_name(_text(data.get("Binary"))) or display
        base.update(display_name=display, state=_text(data.get("param2")))
    elif event_id == 7009:
        display = _text(data.get("param2"))
        name = _utf16_name(_text(data.get("Binary"))) or display
        base.update(display_name=display, state=f"timeout {_text(data.get('param1'))} ms")
    elif event_id in (12, 13, 14):
        target = _text(data.get("TargetObject")) or ""
        found = _SERVICES_KEY.search(target)
        if found is None:
            return None
        name = found.group(1)
        value = found.group(2) or ""
        details = _text(data.get("Details"))
        base.update(
            process=_text(data.get("Image")),
            registry_key=target,
            registry_value=value,
            state=_text(data.get("EventType")),
        )
        if event_id == 13 and value.lower() == "imagepath":
            base["image_path"] = details
        elif event_id == 13 and value.lower() == "start":
            base["start_type"] = details
    elif event_id in (1102, 104):
        name = None
        base.update(subject_user=_user(data), state=_text(data.get("Channel")))
    base["service_name"] = name
    return ServiceEvent(**base)


def _key_names(events: Iterable[ServiceEvent]) -> dict[str, str]:
    """Display name (upper case) -> key name, learnt from events that log both (7036, 7000,
    7040): 7045 logs only the display name, which tools may fill with anything."""
    out: dict[str, str] = {}
    for event in events:
        if event.service_name and event.display_name and event.service_name.upper() != event.display_name.upper():
            out.setdefault(event.display_name.upper(), event.service_name)
    return out


def _with_key_name(event: ServiceEvent, key_names: Mapping[str, str]) -> ServiceEvent:
    if event.event_id == 7045 and event.display_name:
        known = key_names.get(event.display_name.upper())
        if known:
            return replace(event, service_name=known)
    return event


def with_key_names(events: Sequence[ServiceEvent]) -> list[ServiceEvent]:
    """The events with 7045's ``service_name`` set to the key name other events of the same
    display name give (7036/7000/7040 log both); the display name stays in ``display_name``."""
    known = _key_names(events)
    return [_with_key_name(e, known) for e in events]
