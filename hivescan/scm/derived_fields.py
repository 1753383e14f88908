"""Which record fields the database pass derives from the whole control set.

A plain set of field names, apart from the record (hivescan/scm/service_record.py): the
comparisons (hivescan/scm/compare.py, logdiff.py, diff) read it without the record's tables.
"""

from __future__ import annotations

#: Fields the database pass derives from the whole control set (scm/database.py): they can be
#: recomputed from the registry data, and many change when *other* services change (a new
#: service shifts every later ``order_key``). Comparisons of a service across snapshots, log
#: replay or twins leave them out; the registry data they rest on is compared instead.
DERIVED_FIELDS = frozenset(
    {
        "image_path_expanded",
        "image_path_resolved",
        "image_path_nt",
        "image_path_source",
        "image_args",
        "image_candidates",
        "unquoted_path_risk",
        "env_vars",
        "service_dll_expanded",
        "svchost_group",
        "svchost_switches",
        "svchost_listed",
        "group_known",
        "group_order_index",
        "tag_order_index",
        "dependents",
        "dependency_closure",
        "load_phase",
        "order_key",
        "pulled_in_by",
        "user_instance_luid",
        "template",
        "user_instances",
        "log_replay_changes",
        "image_file",
        "service_dll_file",
    }
)

__all__ = ["DERIVED_FIELDS"]
