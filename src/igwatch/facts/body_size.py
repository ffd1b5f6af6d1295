"""F10 body size (clinical-spec §4): the latest usable weight, height and BMI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from igwatch.facts.immunoglobulins import latest_result
from igwatch.knowledge.profile import Profile
from igwatch.timeline import Timeline


@dataclass(frozen=True)
class BodySize:
    weight_kg: float | None
    weight_date: date | None
    height_cm: float | None
    bmi: float | None
    sex: str | None
    weight_source: str | None = None


def body_size(timeline: Timeline, as_of: date, profile: Profile) -> BodySize:
    weight = latest_result(
        (w for w in timeline.labs_of("weight") if (as_of - w.date).days <= profile.weight_max_age_days), as_of
    )
    height = latest_result(timeline.labs_of("height"), as_of)
    bmi = None
    if weight and height and height.value > 0:
        bmi = weight.value / (height.value / 100) ** 2
    return BodySize(
        weight.value if weight else None,
        weight.date if weight else None,
        height.value if height else None,
        bmi,
        timeline.patient.sex,
        weight.id if weight else None,
    )
