"""Public names of a package loaded on first use (PEP 562), shared by ``hivescan`` and
``hivescan.triage``.

Why: importing a package used to import every module behind its public names (the whole
rebuild, pyarrow); the CLI and the triage parent pay for a name only when they use it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping
from typing import Any


def load_public(package: str, public: Mapping[str, str], namespace: MutableMapping[str, Any], name: str) -> Any:
    """``name`` from the module ``public`` maps it to, kept in the package's ``namespace``
    so the next look-up is an ordinary attribute; AttributeError for any other name."""
    module = public.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    namespace[name] = value
    return value
