"""The service record and its provenance: the names other modules import, in one place.

What they hold lives in modules named for it:

* hivescan/scm/provenance.py: :class:`HiveRef`, :class:`Origin` (where a record was read);
* hivescan/scm/service_record.py: :class:`ServiceRecord` (fields, derived labels, JSONL form);
* hivescan/scm/rawvalue_json.py: a key's raw values as JSONL maps and back;
* hivescan/scm/derived_fields.py: :data:`DERIVED_FIELDS` (fields the database pass derives);
* hivescan/scm/record_builders.py: ``new_record``/``new_origin``/``record_from_fields``
  (records built slot by slot, for the hot path).

References: scm-spec.md §2.3 (status), §3 (fields); style.md R3.
"""

from __future__ import annotations

from hivescan.scm.derived_fields import DERIVED_FIELDS
from hivescan.scm.provenance import HiveRef, Origin
from hivescan.scm.rawvalue_json import raw_value_map, raw_values_from_map
from hivescan.scm.record_builders import new_origin, new_record, record_from_fields, record_from_fields_py
from hivescan.scm.service_record import LOOP_FIELDS, PLAIN_FIELDS, ServiceRecord, Source, Status

__all__ = [
    "DERIVED_FIELDS",
    "LOOP_FIELDS",
    "PLAIN_FIELDS",
    "HiveRef",
    "Origin",
    "ServiceRecord",
    "Source",
    "Status",
    "new_origin",
    "new_record",
    "raw_value_map",
    "raw_values_from_map",
    "record_from_fields",
    "record_from_fields_py",
]
