"""Exceptions, one root and a branch per stage, each with the CLI exit code it maps to.

Exceptions are for inputs hivescan cannot read at all. Anything partly readable yields
records plus diagnostics instead of raising.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of the ``hivescan`` command (README, ``docs/cli.md``)."""

    OK = 0
    FINDINGS = 1  # `scan --fail-on`: a finding at or above the threshold
    USAGE = 2  # bad command line (Typer/Click's own code)
    NOT_FOUND = 3  # input file missing or unreadable, or the named service is not in the hive
    NOT_A_HIVE = 4  # no regf signature / not a registry hive
    WRONG_HIVE = 5  # a hive, but not a SYSTEM hive
    DAMAGED = 6  # a hive too damaged to yield anything (no readable root)
    NO_CONTROL_SET = 7  # the requested control set does not exist and nothing to fall back to
    IMAGE_ERROR = 8  # disk image unreadable, encrypted or holding no Windows
    OUTPUT = 9  # -o refused (evidence, an input, an existing file without --force) or not writable
    INTERNAL = 70  # a bug: please report it


class HivescanError(Exception):
    """Root of every error hivescan raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL


class HiveError(HivescanError):
    """The input could not be read as a registry hive."""


class HiveNotFound(HiveError, FileNotFoundError):
    exit_code = ExitCode.NOT_FOUND


class NotAHive(HiveError):
    exit_code = ExitCode.NOT_A_HIVE


class WrongHiveType(HiveError):
    exit_code = ExitCode.WRONG_HIVE


class HiveDamaged(HiveError):
    exit_code = ExitCode.DAMAGED


class HiveClosed(HivescanError, ValueError):
    """The hive was used after ``close()`` (or after its ``with`` block): a programming error,
    reported like reading a closed file (a ValueError), not as damaged evidence."""


class ControlSetError(HivescanError):
    exit_code = ExitCode.NO_CONTROL_SET


class ServiceNotFound(HivescanError):
    """``hivescan show``: no service key of that name in the chosen control set(s)."""

    exit_code = ExitCode.NOT_FOUND


class ImageError(HivescanError):
    exit_code = ExitCode.IMAGE_ERROR


class OutputRefused(HivescanError):
    """``-o`` names a file hivescan must not write (an input, its logs, anything that looks like
    evidence, or an existing file without ``--force``), or a place it cannot write to."""

    exit_code = ExitCode.OUTPUT
