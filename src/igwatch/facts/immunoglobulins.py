"""F3 immunoglobulins: the latest IgG, IgM and IgA with their limits, and the last complete
panel (clinical-spec §4).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from igwatch.dates import add_days, add_months, age_in_years
from igwatch.facts.base import IG_NAMES, IgState
from igwatch.knowledge.profile import Profile
from igwatch.timeline import DataIssue, LabKind, LabResult, Timeline


@dataclass(frozen=True)
class Immunoglobulin:
    kind: str
    state: IgState
    value: float | None = None
    comparator: str | None = None
    date: date | None = None
    limit: float | None = None
    limit_from: str | None = None
    stale: bool = False
    source: str | None = None

    @property
    def trigger_state(self) -> IgState:
        """What the rules use: a result older than the profile allows counts as unknown."""
        return "unknown" if self.stale else self.state

    @property
    def low(self) -> bool:
        return self.trigger_state == "low"

    @property
    def not_low(self) -> bool:
        return self.trigger_state == "not-low"

    @property
    def known(self) -> bool:
        return self.trigger_state != "unknown"

    def display(self) -> str:
        if self.value is None:
            return "not measured"
        comparator = self.comparator or ""
        return f"{comparator}{self.value:g} mg/dL ({self.date.isoformat() if self.date else 'undated'})"


def is_below_limit(value: float, comparator: str | None, limit: float) -> bool | None:
    """Is the value below ``limit``? A comparator counts only when it decides."""
    if comparator == "<":
        return True if value <= limit else None
    if comparator == "<=":
        return True if value < limit else None
    if comparator in (">", ">="):
        return False if value >= limit else None
    return value < limit


def latest_result(labs: Iterable[LabResult], as_of: date) -> LabResult | None:
    """The latest result on or before ``as_of``; several on one date: the lowest."""
    usable = [lab for lab in labs if lab.date <= as_of]
    if not usable:
        return None
    latest_date = max(lab.date for lab in usable)
    return min((lab for lab in usable if lab.date == latest_date), key=lambda lab: lab.value)


def immunoglobulin(
    timeline: Timeline, kind: LabKind, as_of: date, profile: Profile, issues: list[DataIssue]
) -> Immunoglobulin:
    lab = latest_result(timeline.labs_of(kind), as_of)
    if lab is None:
        return Immunoglobulin(kind, "unknown")
    stale = lab.date < add_months(as_of, -profile.ig_result_max_age_months)
    if lab.reference_low is not None:
        limit, limit_from = lab.reference_low, "reference range"
    else:
        birth = timeline.patient.birth_date
        if birth is not None and age_in_years(birth, lab.date) < 18:
            issues.append(
                DataIssue(
                    "warning",
                    "pediatric-no-reference-range",
                    f"{IG_NAMES.get(kind, kind)} of a patient under 18 has no reference range; adult limits do not apply",
                    lab.id,
                )
            )
            return Immunoglobulin(
                kind, "unknown", lab.value, lab.comparator, lab.date, None, None, stale, lab.id
            )
        limit = getattr(profile, f"{kind}_lln_mg_dl")
        limit_from = "profile"
    below = is_below_limit(lab.value, lab.comparator, limit)
    state: IgState = "unknown" if below is None else ("low" if below else "not-low")
    return Immunoglobulin(kind, state, lab.value, lab.comparator, lab.date, limit, limit_from, stale, lab.id)


def igg_severe(igg: Immunoglobulin, profile: Profile) -> bool:
    """Severe IgG: below the replacement threshold (K-8b), on a usable recent result."""
    if igg.value is None or igg.stale:
        return False
    return is_below_limit(igg.value, igg.comparator, profile.igg_replacement_threshold_mg_dl) is True


def last_complete_panel(timeline: Timeline, as_of: date, profile: Profile) -> date | None:
    """Latest date on which IgG, IgM and IgA all fall within ``complete_panel_span_days`` of each
    other (F3)."""
    dates = {
        kind: sorted({lab.date for lab in timeline.labs_of(kind) if lab.date <= as_of})
        for kind in ("igg", "igm", "iga")
    }
    candidates = sorted(set(dates["igg"]) | set(dates["igm"]) | set(dates["iga"]), reverse=True)
    for end in candidates:
        start = add_days(end, -profile.complete_panel_span_days)
        if all(any(start <= d <= end for d in dates[kind]) for kind in dates):
            return end
    return None
