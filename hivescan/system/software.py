"""A SOFTWARE hive read beside SYSTEM for what the service database needs from it.

SystemRoot, the program-files folders and the svchost groups live in SOFTWARE (spec §5.1,
§7.2); without it they fall back to defaults the records name.
"""

from __future__ import annotations

import os
from dataclasses import replace

from hivescan.diagnostics import Diagnostic
from hivescan.errors import WrongHiveType
from hivescan.hive.kind import looks_like_system
from hivescan.hive.source import HiveSource
from hivescan.hive.tree import HiveReader
from hivescan.scm.software import SoftwareData, read_software


def open_software(
    path: str | os.PathLike[str] | HiveSource, *, backend: str = "regipy-rs", max_value_bytes: int = 1 << 20
) -> SoftwareData:
    """Read what the service database needs from a SOFTWARE hive (SystemRoot, program files, svchost).

    Raises the usual HiveError subclasses; WrongHiveType when the hive is not SOFTWARE.
    """
    source = path if isinstance(path, HiveSource) else HiveSource.from_file(path)
    with HiveReader(source, backend=backend, max_value_bytes=max_value_bytes) as reader:
        root = reader.root()
        names = [k.name for k in root.subkeys()]
        if looks_like_system(names):
            raise WrongHiveType(f"{source.path}: --software needs a SOFTWARE hive; this is a SYSTEM hive")
        if not any(n.upper() == "MICROSOFT" for n in names):
            raise WrongHiveType(f"{source.path}: not a SOFTWARE hive (its root has no Microsoft key)")
        data = read_software(root, path=source.path, sha256=source.sha256)
        notes = [
            Diagnostic(
                "software_hive",
                "",
                f"SOFTWARE hive {source.path} (sha256 {source.sha256}) read for SystemRoot, program files and "
                "svchost groups",
                "info",
            )
        ]
        if reader.base.dirty:
            notes.append(
                Diagnostic(
                    "software_hive_dirty",
                    "",
                    f"SOFTWARE hive {source.path}: sequence numbers differ or checksum wrong; recent changes may be "
                    "only in its transaction logs",
                )
            )
        notes += [Diagnostic(d.code, d.field, f"SOFTWARE: {d.message}", d.level) for d in reader.diagnostics]
    return replace(data, diagnostics=tuple(notes) + data.diagnostics)
