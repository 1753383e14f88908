"""Parser backends: the only modules that import a registry parsing library.

Each backend lists the subkeys of a key and, as a fallback, its decoded values. The tree in
:mod:`hivescan.hive.tree` validates what a backend says against the cells and falls back
from one backend to the next when a key cannot be read. Order of trust and speed:

1. ``regipy-rs``  -- regipy's Rust core (``regipy[rust]``), the default;
2. ``regipy``     -- regipy's pure-Python parser;
3. ``python-registry`` -- an independent implementation, the second opinion.
"""

from __future__ import annotations

from hivescan.hive.backends.base import Backend, BackendError, Child

BACKEND_NAMES = ("regipy-rs", "regipy", "python-registry")

__all__ = ["BACKEND_NAMES", "Backend", "BackendError", "Child"]


def _quiet_library_loggers() -> None:
    """The parser libraries log parse trouble to the root logger; hivescan reports it as
    diagnostics instead, so their loggers are silenced (records stay; stderr stays clean)."""
    import logging

    for name in ("regipy", "Registry"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


_quiet_library_loggers()
