"""The timeline of one patient: every resource about them read by its type's reader."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from igwatch.errors import InputRefused
from igwatch.fhir.ingest.conditions import ConditionReader
from igwatch.fhir.ingest.medications import MedicationReader
from igwatch.fhir.ingest.observations import ObservationReader
from igwatch.fhir.ingest.service_requests import ServiceRequestReader
from igwatch.fhir.reader import parse_input, read_path
from igwatch.gc_tuning import collector_paused
from igwatch.timeline import Timeline


class TimelineBuilder(ObservationReader, ConditionReader, MedicationReader, ServiceRequestReader):
    """Walks the input once; each resource goes to its type's reader."""

    def build(self) -> Timeline:
        for position, resource in enumerate(self.resources):
            rtype = resource.get("resourceType")
            handler = _HANDLERS.get(rtype) if isinstance(rtype, str) else None
            if handler is None:
                continue
            key = self.record_key_of(position)
            if key in self._seen:
                continue
            if not self.about_patient(resource):
                continue
            self._seen.add(key)
            handler(self, resource, key)
        return self.timeline


_HANDLERS: Final[dict[str, Callable[[TimelineBuilder, Mapping[str, Any], str], None]]] = {
    "Observation": TimelineBuilder.observation,
    "Condition": TimelineBuilder.condition,
    "MedicationStatement": TimelineBuilder.medication,
    "MedicationRequest": TimelineBuilder.medication,
    "MedicationAdministration": TimelineBuilder.medication,
    "Immunization": TimelineBuilder.immunization,
    "ServiceRequest": TimelineBuilder.service_request,
}


@collector_paused()
def build_timeline(resources: list[dict[str, Any]], patient_id: str | None = None) -> Timeline:
    """The :class:`Timeline` of the one patient in ``resources`` (or the one ``patient_id`` names).

    Refuses (:class:`InputRefused`) when there is no Patient, several and none chosen, or the chosen
    one is absent. Records of other patients are left out; everything unreadable becomes a data
    issue or is skipped.
    """
    if not isinstance(resources, list):
        raise InputRefused("not FHIR: expected a list of resources")
    return TimelineBuilder(resources, patient_id).build()


def load_timeline(path: str | Path, patient_id: str | None = None) -> Timeline:
    """Read a file (Bundle, resource or NDJSON, gzip allowed) and build its patient's timeline."""
    p = Path(path)
    resources = parse_input(read_path(p), p.name)
    try:
        return build_timeline(resources, patient_id)
    except InputRefused as exc:
        raise InputRefused(f"{p.name}: {exc}") from None
