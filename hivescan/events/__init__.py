"""Event logs: a source beside ``hive/``. Read EVTX files safely and normalise the events
that say what happened to services (installs, changes, failures, cleared logs) to rows.

``events/`` knows nothing of ``scm/``; :mod:`hivescan.events.join` is the pass that attaches
these rows to a service database already built.
"""

from hivescan.events.logs import EventLog, collect_evtx, read_service_events
from hivescan.events.reader import NotEvtxError, read_evtx
from hivescan.events.rows import COLUMNS, ServiceEvent, normalise

__all__ = [
    "COLUMNS",
    "EventLog",
    "NotEvtxError",
    "ServiceEvent",
    "collect_evtx",
    "normalise",
    "read_evtx",
    "read_service_events",
]
