"""Immunizations, and the vaccines any resource type may record (clinical-spec §3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from igwatch.fhir.ingest.core import BuilderCore
from igwatch.fhir.ingest.values import as_str, concept_label, cvx_code, get_path, parse_date
from igwatch.fhir.ingest.vocabulary import LIVE_VACCINE_VALUESET, PPSV_VALUESET, VACCINE_SETS
from igwatch.timeline import Vaccination


class VaccineReader(BuilderCore):
    """Immunization → a vaccination; also the vaccine check medication and order readers make."""

    def _vaccine(self, concept: object, resource: Mapping[str, Any], key: str, ordered: bool) -> bool:
        """If ``concept`` is a vaccine (a CVX code, or a live product's name), record it and say so."""
        cvx = cvx_code(concept)
        matches = self.match(concept, VACCINE_SETS)
        if cvx is None and not matches:
            return False
        live = [m for m in matches if m.valueset == LIVE_VACCINE_VALUESET]
        by_name = bool(live) and all(m.by_name for m in live)
        rtype = resource.get("resourceType")
        if rtype == "Immunization":
            when = parse_date(resource.get("occurrenceDateTime"))
        elif rtype == "ServiceRequest":
            when = parse_date(resource.get("occurrenceDateTime")) or parse_date(
                get_path(resource, "occurrencePeriod", "start")
            )
            when = when or parse_date(resource.get("authoredOn"))
        elif rtype == "MedicationRequest":
            when = parse_date(
                get_path(resource, "dosageInstruction", 0, "timing", "repeat", "boundsPeriod", "start")
            )
            when = when or parse_date(resource.get("authoredOn"))
        else:
            when = parse_date(resource.get("effectiveDateTime")) or parse_date(
                get_path(resource, "effectivePeriod", "start")
            )
        display = concept_label(concept, matches)
        self.timeline.vaccinations.append(
            Vaccination(
                id=key,
                date=when,
                status=as_str(resource.get("status")),
                display=display,
                cvx=cvx,
                live=bool(live),
                pneumococcal_polysaccharide=any(m.valueset == PPSV_VALUESET for m in matches),
                ordered=ordered,
                recognised_by_name=by_name,
            )
        )
        if by_name:
            self.by_name(key, "live vaccine", display)
        return True

    def immunization(self, imm: Mapping[str, Any], key: str) -> None:
        if as_str(imm.get("status")) in ("not-done", "entered-in-error"):
            return
        concept = imm.get("vaccineCode")
        if not self._vaccine(concept, imm, key, ordered=False):
            # A vaccine with no CVX code and no live name: still a vaccination given.
            self.timeline.vaccinations.append(
                Vaccination(
                    id=key,
                    date=parse_date(imm.get("occurrenceDateTime")),
                    status=as_str(imm.get("status")),
                    display=concept_label(concept),
                    cvx=None,
                    live=False,
                )
            )
