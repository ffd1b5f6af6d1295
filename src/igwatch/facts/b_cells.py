"""F2 B-cell status, over the patient's whole history of every agent (clinical-spec §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from igwatch.facts.base import BCellStatus
from igwatch.facts.exposure import AntiCD20Exposure
from igwatch.knowledge.profile import Profile
from igwatch.timeline import LabResult, Timeline


@dataclass(frozen=True)
class BCells:
    status: BCellStatus
    latest_cd19: float | None = None
    latest_cd19_date: date | None = None
    threshold: float | None = None
    source: str | None = None
    unusable_counts: int = 0  # CD19 counts after the stop date that could not be read

    @property
    def repleted(self) -> bool:
        return self.status == "repleted"


def at_or_above(lab: LabResult, limit: float) -> bool | None:
    """Is the result at or above ``limit``? ``None`` when a comparator leaves it undecided."""
    if lab.comparator in ("<", "<="):
        return False if lab.value <= limit else None
    if lab.comparator in (">", ">="):
        return True if lab.value >= limit else None
    return lab.value >= limit


def b_cells(timeline: Timeline, as_of: date, profile: Profile, exposure: AntiCD20Exposure) -> BCells:
    if exposure.status == "current":
        return BCells("presumed-depleted")
    stopped_agents = [a for a in exposure.agents if a.course.status == "discontinued"]
    if not stopped_agents:
        return BCells("not-exposed-yet" if exposure.status == "starting" else "not-exposed")
    stop_unknown = any(a.course.stop_unknown for a in stopped_agents)
    stop = None if stop_unknown else max(a.course.stop for a in stopped_agents if a.course.stop is not None)
    if stop is None:
        return BCells("unknown")
    after = [lab for lab in timeline.labs_of("cd19-absolute") if stop < lab.date <= as_of]
    if not after:
        unusable = sum(
            1
            for kind, _, when in timeline.unusable_labs
            if kind == "cd19-absolute" and (when is None or stop < when <= as_of)
        )
        return BCells("unknown", unusable_counts=unusable)
    latest = max(after, key=lambda lab: (lab.date, -lab.value))
    limit = latest.reference_low if latest.reference_low is not None else profile.bcell_repletion_cd19_per_ul
    decided = at_or_above(latest, limit)
    status: BCellStatus = "unknown" if decided is None else ("repleted" if decided else "not-repleted")
    return BCells(status, latest.value, latest.date, limit, latest.id)


def repletion_documented_by(timeline: Timeline, profile: Profile, after: date, on_or_before: date) -> bool:
    """Is there a CD19 count at/above its limit dated in (after, on_or_before]?"""
    for lab in timeline.labs_of("cd19-absolute"):
        if after < lab.date <= on_or_before:
            limit = (
                lab.reference_low if lab.reference_low is not None else profile.bcell_repletion_cd19_per_ul
            )
            if at_or_above(lab, limit):
                return True
    return False
