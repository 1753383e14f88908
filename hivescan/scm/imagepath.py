"""Which file an ImagePath makes Windows load: kernel rules for drivers, CreateProcess for the rest.

Drivers (Type 0x1, 0x2, 0x8) are loaded by the kernel (boot loader for boot-start ones): no
environment expansion, a missing ImagePath means ``\\SystemRoot\\System32\\drivers\\<name>.sys``,
a path not starting with ``\\`` is relative to ``\\SystemRoot\\``, anything else is an NT path.
Win32 and per-user services are started with ``CreateProcess(NULL, <expanded ImagePath>)``:
``REG_EXPAND_SZ`` is expanded, the module is the quoted part or, unquoted, the first of the
space-separated prefixes that exists (offline: guessed), ``.exe`` is appended to an
extensionless name, and a bare file name is searched for.

The rules live in their own modules: :mod:`hivescan.scm.cmdline` (the command-line split),
:mod:`hivescan.scm.driverimage` (kernel rules), :mod:`hivescan.scm.win32image` (CreateProcess
rules), with the record fields they fill in :mod:`hivescan.scm.imageresult`; this module
picks the rule set by Type and re-exports what others import from it.

Everything here is a pure function of the ImagePath, its registry type, the service name and
the rebuilt :class:`~hivescan.scm.environment.Environment`; every choice that is not certain
is a diagnostic (the rule tables of spec §5.2 and §5.3 are the test cases).

References: scm-spec.md §5 (ImagePath), §9.4-9.5; [M16] CreateProcessW; [R7] IopNormalizeImagePath.
"""

from __future__ import annotations

from hivescan.scm.cmdline import CommandLine, split_command_line, with_default_extension
from hivescan.scm.constants import ACCEPTED_TYPES, DRIVER_TYPES, SERVICE_PKG_SERVICE
from hivescan.scm.driverimage import nt_to_dos, resolve_driver_image
from hivescan.scm.environment import Environment
from hivescan.scm.imageresult import ImageResolution
from hivescan.scm.win32image import resolve_win32_image


def resolve_image(
    name: str, type_: int | None, image_path: str | None, image_path_type: str | None, env: Environment
) -> ImageResolution:
    """The ImagePath fields of one record: driver rules or CreateProcess rules by Type.

    Keys whose Type the SCM does not accept (rejected ``no_type``/``bad_type``) get nothing.
    """
    base = None if type_ is None else type_ & ~SERVICE_PKG_SERVICE
    if base not in ACCEPTED_TYPES:  # not a service the SCM knows: no rule says how it would load
        return ImageResolution(source="registry" if image_path is not None else None)
    if base in DRIVER_TYPES:
        return resolve_driver_image(name, image_path, image_path_type, env)
    return resolve_win32_image(name, image_path, image_path_type, env)


__all__ = [
    "CommandLine",
    "ImageResolution",
    "nt_to_dos",
    "resolve_driver_image",
    "resolve_image",
    "resolve_win32_image",
    "split_command_line",
    "with_default_extension",
]
