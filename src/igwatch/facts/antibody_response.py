"""F7 specific antibody response (clinical-spec §4): pneumococcal titres read against the
vaccination and any immune globulin given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from igwatch.facts.b_cells import at_or_above
from igwatch.facts.base import ResponseStatus
from igwatch.facts.diagnoses import valid_diagnoses
from igwatch.facts.ig_replacement import IgReplacement
from igwatch.knowledge.profile import Profile
from igwatch.timeline import DataIssue, Timeline


@dataclass(frozen=True)
class SpecificAntibodyResponse:
    status: ResponseStatus
    set_date: date | None = None
    protective: int = 0
    serotypes: int = 0
    vaccination_date: date | None = None
    why: str = ""
    sources: tuple[str, ...] = ()


def specific_antibody_response(
    timeline: Timeline, as_of: date, profile: Profile, igrt: IgReplacement, issues: list[DataIssue]
) -> SpecificAntibodyResponse:
    diagnosis = next(
        (d for d in valid_diagnoses(timeline, as_of) if d.concept == "specific-antibody-deficiency"), None
    )
    if diagnosis is not None:
        return SpecificAntibodyResponse(
            "impaired", why="specific antibody deficiency diagnosed", sources=(diagnosis.id,)
        )
    results = [lab for lab in timeline.labs_of("pneumococcal-serotype") if lab.date <= as_of]
    if not results:
        return SpecificAntibodyResponse("not-assessed")
    set_date = max(lab.date for lab in results)
    latest_set = [lab for lab in results if lab.date == set_date]
    ids = tuple(lab.id for lab in latest_set)
    low_days, high_days = profile.pneumococcal_response_window_days
    vaccinations = [
        v
        for v in timeline.vaccinations
        if v.pneumococcal_polysaccharide
        and not v.ordered
        and v.date is not None
        and (v.status or "completed").lower() not in ("entered-in-error", "not-done")
        and low_days <= (set_date - v.date).days <= high_days
    ]
    if not vaccinations:
        issues.append(
            DataIssue(
                "info",
                "pneumococcal-not-assessable",
                f"pneumococcal serotype titres of {set_date.isoformat()} have no polysaccharide vaccination "
                f"{low_days}-{high_days} days before them: they cannot judge a response",
                ids[0],
            )
        )
        return SpecificAntibodyResponse(
            "not-assessable", set_date, why="no qualifying vaccination", sources=ids
        )
    # Revision 2: any immune globulin, replacement or immunomodulatory, looks like a response (K-19).
    igrt_recent = igrt.immune_globulin_within(set_date, profile.passive_antibody_days)
    vaccination = max(vaccinations, key=lambda v: v.date or date.min)
    if igrt_recent:
        issues.append(
            DataIssue(
                "info",
                "pneumococcal-not-assessable",
                f"pneumococcal titres of {set_date.isoformat()} were drawn within {profile.passive_antibody_days} "
                "days of immune globulin: passively transferred antibodies",
                ids[0],
            )
        )
        return SpecificAntibodyResponse(
            "not-assessable",
            set_date,
            vaccination_date=vaccination.date,
            why="within the passive-antibody period of immune globulin",
            sources=ids,
        )
    protective = sum(
        1 for lab in latest_set if at_or_above(lab, profile.pneumococcal_protective_ug_ml) is True
    )
    fraction = protective / len(latest_set)
    status: ResponseStatus = "impaired" if fraction < profile.pneumococcal_protective_fraction else "normal"
    return SpecificAntibodyResponse(
        status, set_date, protective, len(latest_set), vaccination.date, sources=(*ids, vaccination.id)
    )
