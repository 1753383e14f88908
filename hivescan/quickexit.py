"""Ending a process without the interpreter's teardown, once everything it would do that anyone
can observe has been done.

Why (issue 13): after a triage run has written its last byte, the interpreter's own exit is
slow. It frees every object of every module one by one (pandas, pyarrow, rich, the rules and
catalog indexes): measured 75-110 ms of wall in the ``hivescan`` process after the summary was
printed, and about 140 ms in the forkserver of the worker pool, which imported all of that in
its preload and holds the command's stdout and stderr open until it has torn it down, so a
caller reading the output to its end waited for it too. The operating system frees that
memory at once when the process ends.

What the teardown does that matters is done first, in the interpreter's own order:
non-daemon threads are joined and ``threading``'s exit hooks run (``concurrent.futures``
joins its pools there), every :mod:`atexit` handler runs (``multiprocessing`` joins its
children; ``weakref.finalize`` and temporary folders; logging), then stdout and stderr are
flushed. Only then ``os._exit``. Files are never left to the teardown: every output of
hivescan is written and closed in a ``with`` block (:mod:`hivescan.render.output`).

When something cannot be done the fast way (a ``SystemExit`` that is not a number, a Python
without ``threading._shutdown``, a flush that fails) the interpreter's normal exit runs
instead, with its own messages and exit codes.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from contextlib import suppress
from types import FrameType
from typing import NoReturn


def end_process(code: object) -> NoReturn:
    """Exit with ``code`` (the ``SystemExit.code`` of the command) without the interpreter's teardown.

    Call it from the main thread, at the very end of the program, outside every ``with``."""
    shutdown = getattr(threading, "_shutdown", None)
    if code is None:
        code = 0
    if not isinstance(code, int) or shutdown is None or threading.current_thread() is not threading.main_thread():
        raise SystemExit(code)
    shutdown()  # what the interpreter's exit does first: threading's exit hooks, non-daemon threads joined
    atexit._run_exitfuncs()  # then every atexit handler (each one once: the list is cleared)
    if not _flushed():
        raise SystemExit(code)  # the normal exit reports the failed flush (exit status 120)
    os._exit(code & 0xFF)


def end_forkserver_quickly() -> bool:
    """In the forkserver of a ``multiprocessing`` pool: make its exit skip the teardown too.

    The forkserver exits when the process that started it has exited (it sees the end of a
    pipe). Its workers are gone by then: they are joined before the parent exits. It is told
    apart by its own ``main`` being on the stack (it imports its preload modules from there), so
    importing this anywhere else changes nothing. Returns whether the exit was armed."""
    forkserver = sys.modules.get("multiprocessing.forkserver")
    if forkserver is None:
        return False
    main_code = forkserver.main.__code__
    frame: FrameType | None = sys._getframe()
    while frame is not None and frame.f_code is not main_code:
        frame = frame.f_back
    if frame is None:
        return False
    atexit.register(_forkserver_exit)
    return True


def _forkserver_exit() -> None:
    """The forkserver's first atexit handler (the last registered): run the others, then leave.

    Its status is 0 as with a normal end (the forkserver ends by ``SystemExit`` without a code),
    1 when an uncaught exception ended it (already printed: ``sys.last_value`` is set)."""
    atexit.unregister(_forkserver_exit)
    atexit._run_exitfuncs()
    _flushed()
    # Its standard streams are the command's: closed now, a caller reading them sees their
    # end before the kernel has unmapped the preload (it frees memory before it closes files:
    # 27 -> 11 ms from the command's exit to the pipes' end, medians at load 7)
    for fd in (0, 1, 2):
        with suppress(OSError):
            os.close(fd)
    os._exit(1 if getattr(sys, "last_value", None) is not None else 0)


def _flushed() -> bool:
    """Flush stdout and stderr (a closed or missing stream has nothing to flush); False when one fails."""
    ok = True
    for stream in (sys.stdout, sys.stderr):
        if stream is None or stream.closed:
            continue
        try:
            stream.flush()
        except (OSError, ValueError):
            ok = False
    return ok
