"""Builders of records and origins for code that makes one per service key (the hot path).

``new_record``/``new_origin`` are ``ServiceRecord(...)``/``Origin(...)`` that store the
fields slot by slot in C (hivescan/scm/_keywalk.c) instead of through the frozen dataclass's
``__init__``; without the extension (no C compiler at install time, a stale build) the drafts
of :mod:`hivescan.frozen` build the same objects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from hivescan.frozen import compiled_builder, fast_builder, slot_plan
from hivescan.scm.compiled import KEYWALK
from hivescan.scm.provenance import Origin
from hivescan.scm.service_record import ServiceRecord


def record_from_fields_py(fields: dict[str, Any], **more: Any) -> ServiceRecord:
    return new_record(**fields, **more)


#: ``ServiceRecord(...)`` and ``Origin(...)`` for builders that make one per service key:
#: the same objects, stored slot by slot in C (else through a draft; see :mod:`hivescan.frozen`);
#: ``record_from_fields(fields, **more)`` is ``new_record(**fields, **more)`` without first
#: copying ``fields`` (~40 items) into a keyword dict
#: (no C compiler at install time, or a stale build: the drafts of hivescan.frozen build them)
if KEYWALK is not None:
    new_record = compiled_builder(ServiceRecord, KEYWALK.build_slots, KEYWALK.slot_names)
    new_origin = compiled_builder(Origin, KEYWALK.build_slots, KEYWALK.slot_names)
    record_from_fields: Callable[..., ServiceRecord] = functools.partial(
        KEYWALK.build_slots_from, slot_plan(ServiceRecord, KEYWALK.slot_names)
    )
else:
    new_record = fast_builder(ServiceRecord)
    new_origin = fast_builder(Origin)
    record_from_fields = record_from_fields_py


__all__ = ["new_origin", "new_record", "record_from_fields", "record_from_fields_py"]
