"""Build the fixture services rule examples name, and check a rule against them.

An example is ``<scenario>/<service>``: ``demo`` is ``fixtures/demo-SYSTEM.yaml`` (with
``demo-SOFTWARE.yaml`` as its SOFTWARE hive, as ``hivescan demo`` reads it), any other
scenario is ``fixtures/scenarios/<scenario>.yaml``, both built with :mod:`hivescan.testing`
and read through the same path as a real hive (every control set, with context). The special
scenario ``baseline`` scans ControlSet001 of ``controlsets.yaml`` against a baseline made of
its ControlSet002. A rule *hits* an example when it fires on any record of that name.

References: style.md R9 (every rule ships with its proof).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hivescan.detect.context import build_subjects
from hivescan.detect.engine import Engine
from hivescan.detect.fields import Subject
from hivescan.detect.rules import Rule
from hivescan.hive.source import HiveSource
from hivescan.hive.tree import upcase
from hivescan.scm.record import ServiceRecord
from hivescan.system import SystemHive


class ExampleError(ValueError):
    """An example that cannot be built or names no service."""


def spec_path(fixtures: Path, scenario: str) -> Path:
    if scenario == "demo":
        return fixtures / "demo-SYSTEM.yaml"
    return fixtures / "scenarios" / f"{'controlsets' if scenario == 'baseline' else scenario}.yaml"


def _build(fixtures: Path, scenario: str) -> dict[str, list[Subject]]:
    from hivescan.testing.spec import SpecError, build_from_spec, load_spec

    path = spec_path(fixtures, scenario)
    if not path.is_file():
        raise ExampleError(f"no scenario {scenario!r} ({path} missing)")
    try:
        spec = load_spec(path)
        data = build_from_spec(spec).data
    except (SpecError, OSError, KeyError, TypeError, ValueError) as exc:
        raise ExampleError(f"{path}: {exc}") from None
    software = None
    software_spec = fixtures / "demo-SOFTWARE.yaml"
    if scenario == "demo" and software_spec.is_file():  # the demo is scanned with its SOFTWARE hive
        try:
            software_data = build_from_spec(load_spec(software_spec)).data
        except (SpecError, OSError, KeyError, TypeError, ValueError) as exc:
            raise ExampleError(f"{software_spec}: {exc}") from None
        software = HiveSource.from_bytes(software_data, path="demo-SOFTWARE.yaml")
    hive = SystemHive(HiveSource.from_bytes(data, path=f"{scenario}.yaml"), software=software)
    try:
        if scenario == "baseline":
            subjects = build_subjects(
                hive.services(1), baseline=hive.services(2), windows=hive.windows_version(1)
            ).subjects
        else:
            current = hive.resolve("current").chosen
            records = _with_file_facts(hive.services("all"), path.with_suffix(".files.yaml"))
            if spec.get("events"):  # a scenario with event-log rows: joined as --evtx would (issue 15)
                records = _join_spec_events(hive, records, spec["events"], scenario)
            subjects = build_subjects(
                records,
                primary_set=current[0].number if current else None,
                windows=hive.windows_version(),
            ).subjects
    finally:
        hive.close()
    out: dict[str, list[Subject]] = {}
    for subject in subjects:
        out.setdefault(upcase(subject.record.name), []).append(subject)
    return out


def _join_spec_events(hive: SystemHive, records: list[ServiceRecord], rows: Any, scenario: str) -> list[ServiceRecord]:
    from hivescan.events.join import join_events
    from hivescan.testing.evtx import event_log_from_spec

    try:
        log = event_log_from_spec(rows, path=f"{scenario}.yaml#events")
    except (KeyError, TypeError, ValueError) as exc:
        raise ExampleError(f"{scenario}: events: {exc}") from None
    return join_events(records, [log], computer_name=hive.computer_name()[0]).records


def _with_file_facts(records: list[ServiceRecord], facts_path: Path) -> list[ServiceRecord]:
    """Records with the file facts a scenario's ``<scenario>.files.yaml`` gives per service.

    Why: rule examples are hives; the files a service names are facts about a disk, which a
    scenario states (``{service: {image_file: {...}, service_dll_file: {...}}}``) the way
    ``hivescan.files.facts`` would have found them. The facts themselves are tested on real
    files in ``tests/files``.
    """
    if not facts_path.is_file():
        return records
    import yaml

    from hivescan import yamlload

    try:
        given = yamlload.load(facts_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ExampleError(f"{facts_path}: {exc}") from None
    by_name = {upcase(str(name)): value for name, value in given.items()}
    out = []
    for record in records:
        facts = by_name.get(upcase(record.name))
        if facts:
            record = replace(record, image_file=facts.get("image_file"), service_dll_file=facts.get("service_dll_file"))
        out.append(record)
    return out


@dataclass
class Examples:
    """Scenario hives, built once each."""

    fixtures: Path
    _cache: dict[str, Mapping[str, list[Subject]]] = field(default_factory=dict)

    def scenario(self, scenario: str) -> Mapping[str, list[Subject]]:
        """Every subject of one scenario hive, by upper-cased service name (built once)."""
        if scenario not in self._cache:
            self._cache[scenario] = _build(self.fixtures, scenario)
        return self._cache[scenario]

    def subjects(self, ref: str) -> list[Subject]:
        scenario, sep, name = ref.partition("/")
        if not sep or not name:
            raise ExampleError(f"example {ref!r} is not <scenario>/<service>")
        found = self.scenario(scenario).get(upcase(name))
        if not found:
            raise ExampleError(f"example {ref!r}: no service {name!r} in scenario {scenario!r}")
        return found

    def hits(self, engine: Engine, rule: Rule, ref: str) -> bool:
        return any(engine.matches(rule, s) for s in self.subjects(ref))
