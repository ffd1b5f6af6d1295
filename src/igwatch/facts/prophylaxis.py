"""F6 antibiotic prophylaxis (clinical-spec §4): current, and whether it failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from igwatch.facts.base import ExposureStatus
from igwatch.facts.courses import classify_course
from igwatch.facts.infections import Episode
from igwatch.knowledge.profile import Profile
from igwatch.timeline import MedicationRecord, Timeline


@dataclass(frozen=True)
class Prophylaxis:
    status: ExposureStatus
    failed: bool = False
    episodes_during: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def current(self) -> bool:
        return self.status == "current"


def _is_prophylactic(record: MedicationRecord, as_of: date, profile: Profile) -> bool:
    if any("prophyla" in text.lower() for text in record.reason_texts):
        return True
    if record.reason_references or record.start is None or record.is_administration:
        return False
    return ((record.end or as_of) - record.start).days >= profile.prophylaxis_min_days


def prophylaxis(timeline: Timeline, as_of: date, profile: Profile, episodes: list[Episode]) -> Prophylaxis:
    records = [
        r for r in timeline.medications if r.category == "antibiotic" and _is_prophylactic(r, as_of, profile)
    ]
    course = classify_course(records, as_of, lambda _r: 1, 0, [], "prophylaxis")
    if course.status in ("none", "starting"):
        return Prophylaxis(course.status, sources=course.sources)
    used = [r for r in records if r.id in course.sources and r.start is not None]
    spans = [(r.start, r.end or as_of) for r in used]
    during = tuple(e.id for e in episodes if any(s <= e.onset <= t for s, t in spans if s is not None))
    severe = any(e.severe for e in episodes if e.id in during)
    failed = len(during) >= profile.prophylaxis_failure_episodes or severe
    return Prophylaxis(course.status, failed, during, course.sources)
