"""The two places where features from other branches plug into ``hivescan triage``.

* :func:`analyser` -- the analysis step each worker runs on a hive's records. Until the
  findings feature (``hivescan/detect/``, ``Finding``) is merged it is :class:`NoAnalysis`:
  no findings, ``analyser = "none"`` and ``findings`` null in the hives dataset, and the
  summary says findings are not available. To connect it, return a picklable
  :class:`~hivescan.triage.scan.Analyser` that evaluates the rules and maps each finding
  to a row of :data:`~hivescan.triage.schema.FINDINGS_SCHEMA` (``finding_json``: the
  finding's JSONL object, so ``hivescan explain`` can reload it).
* :func:`container_readers` -- readers of files that hold hives (disk images). Until the
  disk-image feature (``hivescan/hive/images.py``) is merged there are none and image
  files get ``image_unsupported`` rows. To connect it, return its
  :class:`~hivescan.triage.inputs.ContainerReader` (listing the SYSTEM hives of an
  image, current and in shadow copies, and opening one as a ``HiveSource``).

The CLI calls these two functions and nothing else decides what runs.
"""

from __future__ import annotations

from hivescan.triage.inputs import ContainerReader
from hivescan.triage.scan import Analyser, NoAnalysis


def analyser() -> Analyser:
    """The analysis step of ``hivescan triage`` (no detection engine in this build)."""
    return NoAnalysis()


def container_readers() -> tuple[ContainerReader, ...]:
    """Readers of disk images and other containers (none in this build)."""
    return ()
