"""F8 primary IgM deficiency and F9 autoimmune manifestations (clinical-spec §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from igwatch.facts.base import ACTIVE_CLINICAL, IGNORED_VERIFICATION, IgmDeficiency
from igwatch.facts.exposure import AntiCD20Exposure
from igwatch.facts.immunoglobulins import Immunoglobulin, is_below_limit
from igwatch.timeline import Diagnosis, Timeline


def valid_diagnoses(timeline: Timeline, as_of: date) -> list[Diagnosis]:
    return [
        d
        for d in timeline.diagnoses
        if (d.verification_status or "").lower() not in IGNORED_VERIFICATION
        and (d.date is None or d.date <= as_of)
    ]


@dataclass(frozen=True)
class IgmDeficiencyFact:
    status: IgmDeficiency
    why: str = ""
    sources: tuple[str, ...] = ()
    low_igm_results: int = 0  # IgM results below the limit, on distinct dates (a repeat confirms)


def igm_deficiency(
    timeline: Timeline,
    as_of: date,
    exposure: AntiCD20Exposure,
    igg: Immunoglobulin,
    igm: Immunoglobulin,
    iga: Immunoglobulin,
) -> IgmDeficiencyFact:
    diagnoses = [d for d in valid_diagnoses(timeline, as_of) if d.concept == "selective-igm-deficiency"]
    if exposure.exposed:
        first = exposure.first_exposure
        counted = [d for d in diagnoses if d.date is not None and first is not None and d.date < first]
        if counted:
            return IgmDeficiencyFact(
                "confirmed",
                "diagnosis recorded before the first B-cell-depleting therapy",
                tuple(d.id for d in counted),
            )
        return IgmDeficiencyFact(
            "none",
            "exposed to B-cell-depleting therapy"
            + ("; the IgM deficiency diagnosis does not predate it" if diagnoses else ""),
        )
    if diagnoses:
        return IgmDeficiencyFact("confirmed", "diagnosis recorded", tuple(d.id for d in diagnoses))
    if igm.low and not igg.low and not iga.low:
        limit = igm.limit if igm.limit is not None else 0.0
        low_dates = {
            lab.date
            for lab in timeline.labs_of("igm")
            if lab.date <= as_of and is_below_limit(lab.value, lab.comparator, limit) is True
        }
        return IgmDeficiencyFact(
            "suspected",
            "isolated low IgM, no diagnosis, never B-cell depleted",
            tuple(s for s in (igm.source,) if s),
            len(low_dates),
        )
    return IgmDeficiencyFact("none")


def autoimmune_conditions(timeline: Timeline, as_of: date) -> list[Diagnosis]:
    """F9: active autoimmune conditions (multiple sclerosis is its own concept, not counted)."""
    return [
        d
        for d in valid_diagnoses(timeline, as_of)
        if d.concept == "autoimmune"
        and (d.clinical_status or "active").lower() in ACTIVE_CLINICAL
        and (d.abatement is None or d.abatement > as_of)
    ]
