"""The compiled helpers of scm/ (``_keywalk.c``), when built and as new as the Python beside them.

An editable checkout pulled but not rebuilt keeps an older ``_keywalk`` whose functions take
other arguments; calling it the new way would fail at the first service key. Such a build is
not used at all: every caller takes its Python path, which gives the same records (tested).
"""

from __future__ import annotations

from types import ModuleType

# the calling convention this Python expects: INTERFACE in _keywalk.c, raised with every change
KEYWALK_INTERFACE = 2


def _load_keywalk() -> ModuleType | None:
    try:
        from hivescan.scm import _keywalk  # type: ignore[attr-defined]
    except ImportError:  # no C compiler at install time
        return None
    return _keywalk if getattr(_keywalk, "INTERFACE", None) == KEYWALK_INTERFACE else None


KEYWALK: ModuleType | None = _load_keywalk()
