"""Build hives from readable YAML specs (the files in ``fixtures/``).

A spec says what a hive holds and why, so every planted service, odd value and corruption
in a test hive is documented and reproducible. Format (all keys optional)::

    hive:                       # base block
      file_name: SYSTEM
      minor_version: 5
      sequence: [42, 42]        # primary, secondary (differ = dirty)
      last_written: 2024-03-02T11:30:00Z
      root_name: ROOT
      subkey_list: lh           # lh | lf | li | ri
    default_last_write: 2023-11-14T08:00:00Z
    keys:                       # generic keys, by path from the root
      Select:
        values: {Current: 2, Default: 2, LastKnownGood: 1, Failed: 0}
    control_sets:
      - number: 2
        keys: {Control\\ComputerName\\ComputerName: {values: {ComputerName: WS-01}}}
        services:
          Tcpip:
            note: why this service is here (documentation only)
            last_write: 2023-06-01T10:00:00Z
            values: {Type: 1, Start: 0, ErrorControl: 1, ImagePath: {expand_sz: 'System32\\drivers\\tcpip.sys'}}
            keys: {Parameters: {values: {...}}}
      - number: 1
        copy_of: 2              # start from set 2's services and keys ...
        drop_services: [Evil]   # ... minus these ...
        services: {...}         # ... plus/overriding these
    logs: {...}                 # a dirty hive with transaction logs: see hivescan.testing.logs
    corruptions:                # applied to the written bytes, in order
      - {zero_subkey_list: ControlSet001}
      - {truncate: 8192}

Value forms: ``7`` (REG_DWORD), ``"text"`` (REG_SZ), ``[a, b]`` (REG_MULTI_SZ), or a mapping
with one of ``sz``, ``expand_sz``, ``multi_sz``, ``dword``, ``qword``, ``binary`` (hex),
``link`` (REG_LINK text), or ``{type: REG_X | number, hex: ...}`` for exact raw bytes; string
forms also take ``tail`` (text hidden after the NUL) and ``terminate: false``.
Key forms: ``values``, ``keys`` (subkeys), ``last_write``, ``class_name``, ``deleted``
(written then freed, unlinked), ``deleted_copies`` (services only: a list of key specs
written as deleted keys of the same name next to the live one), ``security``
(``{owner, group, dacl: [{type, flags, mask, sid}], sacl: ...}``, ``hex``, or ``sddl`` when
:mod:`hivescan.testing.sddl` is available).
"""

from __future__ import annotations

import copy
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hivescan import yamlload
from hivescan.hive.regtypes import (
    REG_BINARY,
    REG_DWORD,
    REG_EXPAND_SZ,
    REG_LINK,
    REG_MULTI_SZ,
    REG_QWORD,
    REG_SZ,
    REG_TYPE_NUMBERS,
)
from hivescan.testing.regf import (
    DEFAULT_TIME,
    BuiltHive,
    HiveWriter,
    WKey,
    dword,
    filetime,
    multi_sz,
    qword,
    sz,
)


class SpecError(ValueError):
    """The spec is malformed; the message names the offending path."""


def load_spec(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        spec = yamlload.load(fh.read())
    if not isinstance(spec, dict):
        raise SpecError(f"{path}: a spec is a mapping")
    return spec


def _hex(text: str) -> bytes:
    return bytes.fromhex("".join(str(text).split()))


def _time(value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, int):
        return value
    return filetime(str(value))


def encode_value(spec: Any, where: str) -> tuple[int, bytes]:
    """(registry type, data bytes) of one value spec."""
    if isinstance(spec, bool):
        return REG_DWORD, dword(int(spec))
    if isinstance(spec, int):
        return REG_DWORD, dword(spec)
    if isinstance(spec, str):
        return REG_SZ, sz(spec)
    if isinstance(spec, list):
        return REG_MULTI_SZ, multi_sz(str(s) for s in spec)
    if not isinstance(spec, Mapping):
        raise SpecError(f"{where}: cannot encode {spec!r}")
    terminate = bool(spec.get("terminate", True))
    tail = spec.get("tail")

    def text(value: str) -> bytes:
        data = sz(str(value), terminate=terminate or tail is not None)
        if tail is not None:
            data += sz(str(tail))
        return data

    if "sz" in spec:
        return REG_SZ, text(spec["sz"])
    if "expand_sz" in spec:
        return REG_EXPAND_SZ, text(spec["expand_sz"])
    if "multi_sz" in spec:
        return REG_MULTI_SZ, multi_sz((str(s) for s in spec["multi_sz"]), final_terminator=terminate)
    if "dword" in spec:
        return REG_DWORD, dword(int(spec["dword"]))
    if "qword" in spec:
        return REG_QWORD, qword(int(spec["qword"]))
    if "binary" in spec:
        return REG_BINARY, _hex(spec["binary"])
    if "guid" in spec:
        import uuid

        return REG_BINARY, uuid.UUID(str(spec["guid"])).bytes_le
    if "link" in spec:
        return REG_LINK, str(spec["link"]).encode("utf-16-le")
    if "hex" in spec:
        reg_type = spec.get("type", REG_BINARY)
        if isinstance(reg_type, str):
            if reg_type not in REG_TYPE_NUMBERS:
                raise SpecError(f"{where}: unknown registry type {reg_type!r}")
            reg_type = REG_TYPE_NUMBERS[reg_type]
        return int(reg_type), _hex(spec["hex"])
    if "encoded" in spec:  # produced by an encoder in hivescan.testing (e.g. failure actions)
        from hivescan.testing import encoders

        kind = spec["encoded"]
        func = getattr(encoders, f"encode_{kind}", None)
        if func is None:
            raise SpecError(f"{where}: no encoder named {kind!r}")
        args = {k: v for k, v in spec.items() if k not in ("encoded", "type")}
        return REG_BINARY, func(**args)
    raise SpecError(
        f"{where}: value spec needs one of sz, expand_sz, multi_sz, dword, qword, binary, guid, link, hex, encoded"
    )


def encode_security(spec: Any, where: str) -> bytes:
    if isinstance(spec, str):
        spec = {"sddl": spec}
    if "hex" in spec:
        return _hex(spec["hex"])
    if "sddl" in spec:
        try:
            from hivescan.testing.sddl import sddl_to_bytes
        except ImportError as exc:  # pragma: no cover - the SDDL encoder arrives with the decoders
            raise SpecError(f"{where}: SDDL security needs hivescan.testing.sddl") from exc
        return sddl_to_bytes(spec["sddl"])

    from hivescan.testing.encoders import encode_security_descriptor

    return encode_security_descriptor(spec.get("owner"), spec.get("group"), spec.get("dacl"), spec.get("sacl"))


def _apply_key(node: WKey, spec: Mapping[str, Any] | None, where: str, default_time: int) -> None:
    spec = spec or {}
    allowed = {"values", "keys", "last_write", "class_name", "deleted", "security", "note", "flags", "deleted_copies"}
    unknown = set(spec) - allowed
    if unknown:
        raise SpecError(f"{where}: unknown key field(s) {sorted(unknown)}")
    if "last_write" in spec:
        node.last_write = _time(spec["last_write"], default_time)
    if "class_name" in spec:
        node.class_name = str(spec["class_name"])
    if spec.get("deleted"):
        node.deleted = True
    if "flags" in spec:
        node.flags = int(spec["flags"])
    if "security" in spec:
        node.security = encode_security(spec["security"], where)
    for name, value in _names(spec.get("values"), where).items():
        reg_type, data = encode_value(value, f"{where}:{name}")
        node.set(str(name), reg_type, data)
    for name, sub in _names(spec.get("keys"), where).items():
        child = node.key(str(name))
        child.last_write = _time((sub or {}).get("last_write"), node.last_write)
        _apply_key(child, sub, f"{where}\\{name}", node.last_write)


def _names(mapping: Mapping[Any, Any] | None, where: str) -> Mapping[str, Any]:
    """Mapping keys must be strings: YAML turns bare Null, yes, 1 ... into other types."""
    for name in mapping or {}:
        if not isinstance(name, str):
            raise SpecError(f"{where}: name {name!r} was read by YAML as {type(name).__name__}; quote it")
    return mapping or {}


def _control_set_trees(spec: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    """Resolve copy_of / drop_services into plain {services, keys} per set number."""
    resolved: dict[int, dict[str, Any]] = {}
    for entry in spec.get("control_sets") or []:
        number = int(entry["number"])
        base: dict[str, Any] = {"services": {}, "keys": {}, "last_write": entry.get("last_write")}
        if "copy_of" in entry:
            source = resolved.get(int(entry["copy_of"]))
            if source is None:
                raise SpecError(f"control set {number}: copy_of {entry['copy_of']} must be defined earlier")
            base = copy.deepcopy(source)
            base["last_write"] = entry.get("last_write", base.get("last_write"))
        drop = {str(n).upper() for n in entry.get("drop_services") or []}
        base["services"] = {k: v for k, v in base["services"].items() if k.upper() not in drop}
        base["services"].update(copy.deepcopy(_names(entry.get("services"), f"control set {number} services")))
        base["keys"].update(copy.deepcopy(entry.get("keys") or {}))
        resolved[number] = base
    return resolved


def build_tree(spec: Mapping[str, Any]) -> tuple[WKey, dict[str, Any]]:
    """The WKey tree of a spec and the writer options of its ``hive`` section."""
    hive = dict(spec.get("hive") or {})
    default_time = _time(spec.get("default_last_write"), DEFAULT_TIME)
    root = WKey(str(hive.pop("root_name", "ROOT")), last_write=_time(hive.pop("root_last_write", None), default_time))
    for path, key_spec in (spec.get("keys") or {}).items():
        node = root.key(str(path))
        node.last_write = default_time
        _apply_key(node, key_spec, str(path), default_time)
    for number, tree in sorted(_control_set_trees(spec).items()):
        cs_name = f"ControlSet{number:03d}"
        cs_time = _time(tree.get("last_write"), default_time)
        cs = root.key(cs_name)
        cs.last_write = cs_time
        services = cs.key("Services")
        services.last_write = cs_time
        for path, key_spec in tree["keys"].items():
            node = cs.key(str(path))
            node.last_write = default_time
            _apply_key(node, key_spec, f"{cs_name}\\{path}", default_time)
        for name, svc in tree["services"].items():
            node = services.key(str(name))
            node.last_write = default_time
            _apply_key(node, svc, f"{cs_name}\\Services\\{name}", default_time)
            for index, copy_spec in enumerate((svc or {}).get("deleted_copies") or []):
                twin = WKey(str(name), last_write=default_time, deleted=True)
                _apply_key(twin, copy_spec, f"{cs_name}\\Services\\{name} (deleted copy {index})", default_time)
                services.subkeys.append(twin)
    options: dict[str, Any] = {}
    if "file_name" in hive:
        options["file_name"] = str(hive.pop("file_name"))
    if "minor_version" in hive:
        options["minor_version"] = int(hive.pop("minor_version"))
    if "sequence" in hive:
        primary, secondary = hive.pop("sequence")
        options["primary_sequence"], options["secondary_sequence"] = int(primary), int(secondary)
    if "last_written" in hive:
        options["last_written"] = _time(hive.pop("last_written"), default_time)
    else:
        options["last_written"] = default_time
    if "subkey_list" in hive:
        options["subkey_list"] = str(hive.pop("subkey_list"))
    if "sort_subkeys" in hive:
        options["sort_subkeys"] = bool(hive.pop("sort_subkeys"))
    if hive:
        raise SpecError(f"hive: unknown field(s) {sorted(hive)}")
    return root, options


def apply_corruptions(built: BuiltHive, corruptions: list[Mapping[str, Any]]) -> bytes:
    """Damage written bytes on purpose, as documented by the spec."""
    data = bytearray(built.data)
    for item in corruptions:
        ((op, arg),) = item.items()
        if op == "truncate":
            del data[int(arg) :]
        elif op in ("zero_subkey_list", "zero_value_list", "zero_key_cell"):
            nk_off = built.key_offsets.get(str(arg))
            if nk_off is None:
                raise SpecError(f"corruptions: no key {arg!r} in the written hive")
            nk_abs = 4096 + nk_off + 4
            if op == "zero_key_cell":
                size = -struct.unpack_from("<i", data, 4096 + nk_off)[0]
                data[nk_abs : 4096 + nk_off + size] = b"\0" * (size - 4)
                continue
            field_at = 0x1C if op == "zero_subkey_list" else 0x2C  # subkey list / value list offset in nk
            target = struct.unpack_from("<I", data, nk_abs + field_at)[0]
            size = -struct.unpack_from("<i", data, 4096 + target)[0]
            data[4096 + target + 4 : 4096 + target + size] = b"\0" * (size - 4)
        elif op == "poke":
            offset = int(arg["offset"])
            blob = _hex(arg["hex"])
            data[offset : offset + len(blob)] = blob
        else:
            raise SpecError(f"corruptions: unknown operation {op!r}")
    return bytes(data)


def build_from_spec(spec: Mapping[str, Any]) -> BuiltHive:
    root, options = build_tree(spec)
    built = HiveWriter(root, **options).build()
    corruptions = spec.get("corruptions") or []
    if corruptions:
        built = BuiltHive(
            apply_corruptions(built, corruptions), built.key_offsets, built.value_offsets, built.root_offset
        )
    return built


def build_file(spec_path: str | Path, out_path: str | Path | None = None) -> Path:
    """Build the hive a spec file describes (``fixtures/x.yaml`` -> ``fixtures/x``)."""
    spec_path = Path(spec_path)
    out = Path(out_path) if out_path is not None else spec_path.with_suffix("")
    spec = load_spec(spec_path)
    if spec.get("logs"):  # a dirty hive: the primary file plus .LOG1/.LOG2 (hivescan.testing.logs)
        from hivescan.testing.logs import build_dirty_from_spec

        build_dirty_from_spec(spec).write(out)
        return out
    out.write_bytes(build_from_spec(spec).data)
    return out
