"""YAML text -> Python data: PyYAML's safe loader, or libyaml's for the files hivescan ships.

Why: the start of every triage run parses the 75 shipped rule files; PyYAML's pure-Python
scanner and parser took 96 ms of that, libyaml's (``yaml.CSafeLoader``) 12 ms (measured:
docs/performance.md, issue 13 session 19). Both loaders share PyYAML's resolver and
``SafeConstructor`` (the same tags, implicit types, duplicate keys and key order); only the
scanner and parser differ, and they do differ on unusual texts: generated texts found libyaml
accepting tabs, a byte-order mark inside the text and a ``#`` straight after a block-scalar
indicator that PyYAML rejects, and reading a lone ``!`` tag as ``''`` where PyYAML gives
``None`` (tests/test_yamlload.py keeps such texts). So libyaml reads only the files hivescan
ships, whose data a test compares with PyYAML's on every file (:func:`load_shipped`); a
text from anywhere else (a user's rule folder, a fixture) is read by PyYAML
(:func:`load`), exactly as before.
"""

from __future__ import annotations

from typing import Any

import yaml

# ``yaml.CSafeLoader`` exists only when PyYAML was built against libyaml.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


# What PyYAML's constructors raise, besides YAMLError, on a value its tag cannot hold
# (``!!int ""`` -> IndexError, ``!!float x`` -> ValueError, a deep nesting -> RecursionError).
_CONSTRUCTOR_FAILURES = (ValueError, TypeError, IndexError, KeyError, OverflowError, RecursionError)


def load(text: str) -> Any:
    """PyYAML's pure-Python safe loader (``yaml.safe_load``): the reference.

    Every failure is a ``yaml.YAMLError``: the text is data, and a value its tag cannot hold
    is a bad file (a clear error naming it), not a bug in hivescan."""
    try:
        return yaml.safe_load(text)
    except _CONSTRUCTOR_FAILURES as exc:
        raise yaml.YAMLError(f"a value its tag cannot hold ({type(exc).__name__}: {exc})") from None


def load_shipped(text: str) -> Any:
    """A file shipped with hivescan: libyaml when present, PyYAML when not or when it fails.

    Any failure of libyaml hands the text to :func:`load`, so an error (and its message,
    with the offending line shown) is exactly the one PyYAML gives."""
    if _FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=_FAST_LOADER)  # CSafeLoader: the safe constructor
        except Exception:  # any failure: the reference loader decides what it is
            pass
    return load(text)
