"""Imported by a local pool's forkserver after its preload: its exit then skips the interpreter's teardown.

Why: the forkserver holds everything the preload built (about 0.3 GB of modules, rules and
catalog indexes) and the command's stdout and stderr. It ends when the ``hivescan`` process
has ended; tearing all of that down object by object kept the output pipes open about 140 ms
longer (measured with a caller reading them to the end, as any script or pipeline does). See
:func:`hivescan.quickexit.end_forkserver_quickly`: imported anywhere but in a forkserver,
this module changes nothing.
"""

from __future__ import annotations

from hivescan.quickexit import end_forkserver_quickly

end_forkserver_quickly()
