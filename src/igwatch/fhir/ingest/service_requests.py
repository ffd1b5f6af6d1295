"""ServiceRequests: vaccines ordered and viral serology ordered (clinical-spec §3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from igwatch.fhir.ingest.immunizations import VaccineReader
from igwatch.fhir.ingest.values import as_str, concept_label, get_path, parse_date
from igwatch.fhir.ingest.vocabulary import SEROLOGY_SETS
from igwatch.timeline import SerologyOrder


class ServiceRequestReader(VaccineReader):
    """ServiceRequest → an ordered vaccine or a viral serology order."""

    def service_request(self, req: Mapping[str, Any], key: str) -> None:
        if as_str(req.get("status")) == "entered-in-error":
            return
        code = req.get("code")
        if self._vaccine(code, req, key, ordered=True):
            return
        matches = self.match(code, SEROLOGY_SETS)
        if not matches:
            return
        by_name = all(m.by_name for m in matches)
        when = parse_date(req.get("occurrenceDateTime")) or parse_date(
            get_path(req, "occurrencePeriod", "start")
        )
        when = when or parse_date(req.get("authoredOn"))
        display = concept_label(code)
        self.timeline.serology.append(
            SerologyOrder(
                id=key,
                date=when,
                status=as_str(req.get("status")),
                display=display,
                recognised_by_name=by_name,
            )
        )
        if by_name:
            self.by_name(key, "viral serology order", display)
