"""F4 infection episodes (clinical-spec §4): infection records merged into illnesses, each
judged bacterial, encapsulated, severe, life-threatening, opportunistic, refractory, active.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from igwatch.dates import within_last_months
from igwatch.facts.base import ACTIVE_CLINICAL, IGNORED_MEDICATION_STATUSES, IGNORED_VERIFICATION
from igwatch.knowledge.profile import Profile
from igwatch.timeline import DataIssue, Infection, Timeline


@dataclass(frozen=True)
class Episode:
    """One illness: infection records less than ``episode_merge_days`` apart, or sharing an encounter."""

    id: str
    records: tuple[str, ...]
    display: str
    onset: date
    abatement: date | None
    bacterial: bool
    documented_bacterial: bool
    encapsulated: bool
    organisms: tuple[str, ...]
    severe: bool
    life_threatening: bool
    opportunistic: bool
    antibiotic_refractory: bool
    active: bool
    inpatient: bool

    def describe(self) -> str:
        tags = [
            t
            for t, on in (
                ("life-threatening", self.life_threatening),
                ("opportunistic", self.opportunistic),
                ("severe", self.severe and not self.life_threatening),
                ("encapsulated", self.encapsulated),
                ("bacterial", self.bacterial and not self.encapsulated),
                ("active", self.active),
            )
            if on
        ]
        return f"{self.display} ({self.onset.isoformat()}{', ' + ', '.join(tags) if tags else ''})"


def _record_active(record: Infection, as_of: date, profile: Profile) -> tuple[bool, bool]:
    """(active, unresolved-but-stale) for one infection record."""
    unresolved = (record.clinical_status or "").lower() in ACTIVE_CLINICAL and (
        record.abatement is None or record.abatement > as_of
    )
    if not unresolved or record.date is None:
        return False, False
    recent = (as_of - record.date).days <= profile.active_infection_max_days
    return recent, not recent


def _onset(record: Infection) -> date:
    """The counting date of a record already known to have one."""
    assert record.date is not None
    return record.date


def _antibiotic_courses_by_condition(timeline: Timeline) -> dict[str, set[str]]:
    named: dict[str, set[str]] = {}
    for record in timeline.medications:
        if record.category != "antibiotic" or (record.status or "").lower() in IGNORED_MEDICATION_STATUSES:
            continue
        for reference in record.reason_references:
            named.setdefault(reference, set()).add(record.agent)
    return named


def _viral_or_fungal(record: Infection) -> bool:
    return "viral-or-fungal-infection" in record.concepts


def _documented_bacterial(record: Infection) -> bool:
    """F4: an organism found that is a bacterium, or a bacterial code — never a code that names a
    virus or a fungus."""
    return record.bacterial_organism or (
        "bacterial-infection" in record.concepts and not _viral_or_fungal(record)
    )


def infection_episodes(
    timeline: Timeline, as_of: date, profile: Profile, issues: list[DataIssue]
) -> list[Episode]:
    records: list[Infection] = []
    for record in timeline.infections:
        if (record.verification_status or "").lower() in IGNORED_VERIFICATION or record.date is None:
            continue
        if record.date > as_of:
            continue
        _, stale = _record_active(record, as_of, profile)
        if stale:
            issues.append(
                DataIssue(
                    "warning",
                    "infection-unresolved-stale",
                    f"infection recorded as active since {record.date.isoformat()}, more than "
                    f"{profile.active_infection_max_days} days ago: verify whether it has resolved",
                    record.id,
                )
            )
        if within_last_months(record.date, as_of, profile.infection_window_months):
            records.append(record)
    records.sort(key=lambda r: (_onset(r), r.id))

    # Union-find: chained onsets less than episode_merge_days apart, or a shared encounter.
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    for i in range(1, len(records)):
        if (_onset(records[i]) - _onset(records[i - 1])).days < profile.episode_merge_days:
            union(i, i - 1)
    by_encounter: dict[str, int] = {}
    for i, record in enumerate(records):
        if record.encounter:
            if record.encounter in by_encounter:
                union(i, by_encounter[record.encounter])
            else:
                by_encounter[record.encounter] = i

    groups: dict[int, list[Infection]] = {}
    for i, record in enumerate(records):
        groups.setdefault(find(i), []).append(record)

    named = _antibiotic_courses_by_condition(timeline)
    encapsulated_set = set(profile.encapsulated_organisms)
    episodes: list[Episode] = []
    for group in groups.values():
        ids = tuple(r.id for r in group)
        organisms = sorted({o for r in group for o in r.organisms})
        documented = any(_documented_bacterial(r) for r in group)
        # an antibiotic course naming a record makes it bacterial, unless its code names a virus
        # or a fungus (revision 2: acute viral pharyngitis treated with amoxicillin stays viral)
        agents = set().union(*(named.get(r.id, set()) for r in group if not _viral_or_fungal(r)))
        abatements = [r.abatement for r in group if r.abatement is not None]
        episodes.append(
            Episode(
                id=ids[0],
                records=ids,
                display=group[0].display or "infection",
                onset=min(_onset(r) for r in group),
                abatement=max(abatements) if abatements else None,
                bacterial=documented or bool(agents),
                documented_bacterial=documented,
                encapsulated=bool(encapsulated_set.intersection(organisms)),
                organisms=tuple(organisms),
                severe=any(
                    r.severity in ("severe", "life-threatening")
                    or r.inpatient
                    or "severe-by-nature" in r.concepts
                    or "opportunistic-infection" in r.concepts  # always serious (revision 2)
                    for r in group
                ),
                life_threatening=any(
                    r.severity == "life-threatening" or "life-threatening-by-nature" in r.concepts
                    for r in group
                ),
                # Revision 2: opportunistic infections are serious whatever severity is coded.
                opportunistic=any("opportunistic-infection" in r.concepts for r in group),
                antibiotic_refractory=documented
                and (any(r.antibiotic_response_insufficient for r in group) or len(agents) >= 2),
                active=any(_record_active(r, as_of, profile)[0] for r in group),
                inpatient=any(r.inpatient for r in group),
            )
        )
    episodes.sort(key=lambda e: (e.onset, e.id))
    return episodes
