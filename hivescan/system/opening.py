"""``open_hive``: a SYSTEM hive from whatever the analyst has (a file, a folder, a zip, a disk image).

Each kind of input is found and read here (or in hivescan.volumes for collections and
images), then handed to :class:`SystemHive` as one :class:`HiveSource`.
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.hive.logs import parse_log
from hivescan.hive.source import HiveSource
from hivescan.system.hive import SystemHive


def open_hive(
    path: str | os.PathLike[str] | HiveSource,
    *,
    install: int | None = None,
    snapshot: str = "live",
    **options: Any,
) -> SystemHive:
    """Open a SYSTEM hive for analysis: a hive file, or the SYSTEM hive inside a disk image.

    For a disk image (E01, raw, VMDK, VHD(X), QCOW2; needs ``hivescan[images]``),
    ``install`` picks the Windows installation (1-based; default: the only one) and
    ``snapshot`` the copy: ``live`` (default), ``regback``, ``vss1``, ``vss2``...

    ``logs="auto" | "none" | [paths]`` (default auto): replay the transaction logs of a
    dirty hive in memory (see :class:`SystemHive`); the files are never written.

    Example::

        with hivescan.open_hive("SYSTEM") as hive:
            frame = hive.services_frame(control_set="all")

    ``software=`` a SOFTWARE hive (path, HiveSource or :func:`open_software` result) supplies
    SystemRoot, the program-files variables and the svchost groups (spec §5.1, §7.2).
    """
    from hivescan.volumes import file_source, open_folder, open_image_with_files, open_zip

    files = options.pop("files", "auto")
    if isinstance(path, HiveSource):
        return SystemHive(path, files=file_source(files, None), **options)
    if os.path.isdir(path):
        return open_folder(path, files, options)
    from hivescan.hive.images import input_kind, load_source

    kind = input_kind(path)
    if kind == "image":  # also without files (--no-files): the image's event logs are still read
        return open_image_with_files(path, install, snapshot, files, options)
    if kind == "other" and zipfile.is_zipfile(path):
        return open_zip(path, files, options)

    image_diagnostics: list[Diagnostic] = []
    image_logs: list[HiveSource] = []
    source = load_source(path, install=install, snapshot=snapshot, diagnostics=image_diagnostics, logs=image_logs)
    if image_logs and options.get("logs", "auto") == "auto":
        options["logs"] = [parse_log(log.data, log.path) for log in image_logs]
    hive = SystemHive(source, files=file_source(files, None), **options)
    hive._own_diagnostics += image_diagnostics  # encrypted/unreadable volumes, missing logs: the analyst must see them
    return hive
