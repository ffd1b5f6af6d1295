"""Derived facts F1–F11 (clinical-spec §4): computed once per assessment, named, with sources.

Every function here is pure: a Timeline, the ``as_of`` date and the profile in, facts out. Records
dated after ``as_of`` are left out. Problems found on the way become data issues (§7).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from typing import Any, Final, Literal

from igwatch.dates import add_days, add_months, age_in_years, within_last_months
from igwatch.knowledge.profile import Profile
from igwatch.timeline import (
    DataIssue,
    Diagnosis,
    Infection,
    LabKind,
    LabResult,
    MedicationRecord,
    Timeline,
    Vaccination,
)

ExposureStatus = Literal["current", "starting", "discontinued", "none"]
BCellStatus = Literal[
    "not-exposed", "not-exposed-yet", "presumed-depleted", "repleted", "not-repleted", "unknown"
]
IgState = Literal["low", "not-low", "unknown"]
ResponseStatus = Literal["impaired", "normal", "not-assessable", "not-assessed"]
IgmDeficiency = Literal["confirmed", "suspected", "none"]

STATUS_RANK: dict[str, int] = {"current": 3, "starting": 2, "discontinued": 1, "none": 0}
IGNORED_MEDICATION_STATUSES = frozenset({"entered-in-error", "not-taken", "not-done"})
STOPPED_STATUSES = frozenset({"stopped", "completed", "cancelled"})
IGNORED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
ANTI_CD20_AGENTS = ("ofatumumab", "ocrelizumab", "rituximab", "ublituximab")
COMPLETE_PANEL_SPAN_DAYS = 7
IG_NAMES = {"igg": "IgG", "igm": "IgM", "iga": "IgA"}
DEFAULT_IGRT_INTERVAL_DAYS = {"IV": 28, "SC": 7}
IGRT_GRACE_DAYS = 28


# --------------------------------------------------------------------------- F1, F5, F6: courses


@dataclass(frozen=True)
class Course:
    """A therapy classified by F1's rules (also used for Ig replacement and prophylaxis)."""

    status: ExposureStatus
    start: date | None = None
    stop: date | None = None
    stop_unknown: bool = False
    last_administration: date | None = None
    sources: tuple[str, ...] = ()
    planned_start: date | None = None


def _is_planned(record: MedicationRecord) -> bool:
    status = (record.status or "").lower()
    if record.resource_type == "MedicationStatement":
        return status == "intended"
    if record.resource_type == "MedicationRequest":
        return status == "draft" or (record.intent or "").lower() in ("plan", "proposal")
    return False


def _bounded_by_later_date(record: MedicationRecord, known_ends: list[date]) -> bool:
    """A stopped record without an end is bounded by a later end or dose date of the same agent."""
    begin = record.start or record.authored
    return begin is not None and any(end > begin for end in known_ends)


def classify_course(
    records: Iterable[MedicationRecord],
    as_of: date,
    interval_days: Callable[[MedicationRecord], float],
    grace_days: float,
    issues: list[DataIssue],
    what: str,
) -> Course:
    """F1: each record is ignored, starting, current or past; the course is the most active."""
    current: list[MedicationRecord] = []
    past: list[tuple[MedicationRecord, date | None]] = []
    planned: list[MedicationRecord] = []
    administrations: list[date] = []
    for record in records:
        status = (record.status or "").lower()
        if status in IGNORED_MEDICATION_STATUSES:
            continue
        if record.resource_type == "MedicationRequest" and status == "cancelled":
            continue  # a cancelled request: only its administrations (separate records) count
        if record.is_administration:
            if record.start is None:
                issues.append(
                    DataIssue(
                        "warning", "therapy-undated", f"{what} administration without a date", record.id
                    )
                )
                continue
            if record.start > as_of:
                continue
            administrations.append(record.start)
            if (as_of - record.start).days <= interval_days(record) + grace_days:
                current.append(record)
            else:
                past.append((record, record.start))
            continue
        if _is_planned(record):
            planned.append(record)
            continue
        begin = record.start or record.authored
        if begin is not None and begin > as_of:
            continue
        if begin is None and record.end is None:
            issues.append(DataIssue("warning", "therapy-undated", f"{what} record without dates", record.id))
        if status in STOPPED_STATUSES and not (record.end is not None and record.end > as_of):
            # Revision 2: a period's start says when therapy began, never when it ended; only an
            # end date or a dose date (a statement's effectiveDateTime) dates the stop.
            past.append((record, record.end or (record.start if record.start_is_dose_date else None)))
        else:
            current.append(record)

    exposure = current + [record for record, _ in past]
    starts = [d for d in (r.start or r.authored for r in exposure) if d is not None]
    start = min(starts) if starts else None
    last_admin = max(administrations) if administrations else None
    sources = tuple(r.id for r in exposure + planned)
    if current:
        return Course("current", start, None, False, last_admin, sources)
    if past:
        known = [end for _, end in past if end is not None]
        unbounded = [
            record for record, end in past if end is None and not _bounded_by_later_date(record, known)
        ]
        for record in unbounded:
            if record.start is not None or record.authored is not None:
                issues.append(
                    DataIssue(
                        "warning",
                        "therapy-undated",
                        f"{what} recorded as stopped without an end date: the stop date is unknown; "
                        "record the date of the last dose",
                        record.id,
                    )
                )
        stop_unknown = bool(unbounded)
        stop = None if stop_unknown or not known else max(known)
        return Course("discontinued", start, stop, stop_unknown, last_admin, sources)
    if planned:
        planned_starts = [r.start for r in planned if r.start is not None]
        planned_start = min(planned_starts) if planned_starts else as_of
        return Course("starting", None, None, False, None, sources, planned_start)
    return Course("none")


@dataclass(frozen=True)
class AgentExposure:
    agent: str
    course: Course


@dataclass(frozen=True)
class AntiCD20Exposure:
    """F1 for the patient: the most active status over the agents."""

    status: ExposureStatus
    agents: tuple[AgentExposure, ...]
    primary_agent: str | None
    first_exposure: date | None
    stop: date | None
    stop_unknown: bool

    @property
    def exposed(self) -> bool:
        """On therapy now or in the past (not merely planned)."""
        return any(a.course.status in ("current", "discontinued") for a in self.agents)

    @property
    def current_agents(self) -> tuple[str, ...]:
        return tuple(a.agent for a in self.agents if a.course.status == "current")

    @property
    def named_agents(self) -> str:
        """The agents a text names: those current, else the latest one, else a generic name."""
        if 0 < len(self.current_agents) <= 2:
            return " and ".join(self.current_agents)
        if self.current_agents:
            return "the current B-cell-depleting agents"  # three or more: a summary stays one line
        return self.primary_agent or "the B-cell-depleting agent"

    @property
    def planned_starts(self) -> tuple[date, ...]:
        """The planned first dose of each agent that is only starting."""
        return tuple(
            a.course.planned_start
            for a in self.agents
            if a.course.status == "starting" and a.course.planned_start is not None
        )

    @property
    def first_doses(self) -> tuple[date, ...]:
        """Each agent's first dose, given (its start) or planned: live-vaccine-recent looks before each."""
        given = tuple(
            a.course.start
            for a in self.agents
            if a.course.status in ("current", "discontinued") and a.course.start is not None
        )
        return given + self.planned_starts


def anti_cd20_exposure(
    timeline: Timeline, as_of: date, profile: Profile, issues: list[DataIssue]
) -> AntiCD20Exposure:
    by_agent: dict[str, list[MedicationRecord]] = {}
    for record in timeline.medications:
        if record.category == "anti-cd20":
            by_agent.setdefault(record.agent, []).append(record)
    agents: list[AgentExposure] = []
    for agent in sorted(by_agent):
        interval_days = profile.anti_cd20_interval_for(agent) * 7
        course = classify_course(
            by_agent[agent],
            as_of,
            lambda _record, days=interval_days: days,  # type: ignore[misc]
            profile.anti_cd20_grace_weeks * 7,
            issues,
            agent,
        )
        if course.status != "none":
            agents.append(AgentExposure(agent, course))
    status: ExposureStatus = "none"
    primary: str | None = None
    for exposure in agents:
        if STATUS_RANK[exposure.course.status] > STATUS_RANK[status]:
            status, primary = exposure.course.status, exposure.agent
    exposed = [a.course for a in agents if a.course.status in ("current", "discontinued")]
    starts = [c.start for c in exposed if c.start is not None]
    first = min(starts) if starts else None
    stopped = [a.course for a in agents if a.course.status == "discontinued"]
    stop_unknown = any(c.stop_unknown for c in stopped)
    stop = None if stop_unknown or not stopped else max(c.stop for c in stopped if c.stop is not None)
    # The stop date matters whenever no agent is current: after stopping, and while switching to
    # another agent that has not started yet (revision 2, F2).
    after_stopping = bool(stopped) and status != "current"
    return AntiCD20Exposure(
        status=status,
        agents=tuple(agents),
        primary_agent=primary,
        first_exposure=first,
        stop=stop if after_stopping else None,
        stop_unknown=stop_unknown if after_stopping else False,
    )


# --------------------------------------------------------------------------- F2 B cells


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


def _at_or_above(lab: LabResult, limit: float) -> bool | None:
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
    decided = _at_or_above(latest, limit)
    status: BCellStatus = "unknown" if decided is None else ("repleted" if decided else "not-repleted")
    return BCells(status, latest.value, latest.date, limit, latest.id)


def repletion_documented_by(timeline: Timeline, profile: Profile, after: date, on_or_before: date) -> bool:
    """Is there a CD19 count at/above its limit dated in (after, on_or_before]?"""
    for lab in timeline.labs_of("cd19-absolute"):
        if after < lab.date <= on_or_before:
            limit = (
                lab.reference_low if lab.reference_low is not None else profile.bcell_repletion_cd19_per_ul
            )
            if _at_or_above(lab, limit):
                return True
    return False


# --------------------------------------------------------------------------- F3 immunoglobulins


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


def _below(value: float, comparator: str | None, limit: float) -> bool | None:
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
    below = _below(lab.value, lab.comparator, limit)
    state: IgState = "unknown" if below is None else ("low" if below else "not-low")
    return Immunoglobulin(kind, state, lab.value, lab.comparator, lab.date, limit, limit_from, stale, lab.id)


def igg_severe(igg: Immunoglobulin, profile: Profile) -> bool:
    """Severe IgG: below the replacement threshold (K-8b), on a usable recent result."""
    if igg.value is None or igg.stale:
        return False
    return _below(igg.value, igg.comparator, profile.igg_replacement_threshold_mg_dl) is True


def last_complete_panel(timeline: Timeline, as_of: date) -> date | None:
    """Latest date on which IgG, IgM and IgA all fall within 7 days of each other (F3)."""
    dates = {
        kind: sorted({lab.date for lab in timeline.labs_of(kind) if lab.date <= as_of})
        for kind in ("igg", "igm", "iga")
    }
    candidates = sorted(set(dates["igg"]) | set(dates["igm"]) | set(dates["iga"]), reverse=True)
    for end in candidates:
        start = add_days(end, -COMPLETE_PANEL_SPAN_DAYS)
        if all(any(start <= d <= end for d in dates[kind]) for kind in dates):
            return end
    return None


# --------------------------------------------------------------------------- F4 infections


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


# --------------------------------------------------------------------------- F5 Ig replacement


@dataclass(frozen=True)
class IgReplacement:
    """F5: the current (else latest) course of Ig replacement, and every immune globulin record.

    ``immune_globulin_spans`` cover every immune globulin record (replacement or immunomodulatory),
    from its first to its last date (``as_of`` while it runs): what confounds serology (K-19, F7).
    """

    status: ExposureStatus
    route: str | None = None
    start: date | None = None
    stop: date | None = None
    dose_g: float | None = None
    interval_days: float | None = None
    last_administration: date | None = None
    episodes_on_igrt: tuple[str, ...] = ()
    latest_trough: float | None = None
    latest_trough_date: date | None = None
    latest_trough_source: str | None = None
    latest_igg_since_start: date | None = None
    mid_cycle_records: tuple[str, ...] = ()
    immunomodulatory_records: tuple[str, ...] = ()
    courses: int = 0
    immune_globulin_spans: tuple[tuple[date, date], ...] = ()
    sources: tuple[str, ...] = ()  # the current (else latest) course's records
    replacement_records: tuple[str, ...] = ()  # every replacement record read, of every course

    @property
    def current(self) -> bool:
        return self.status == "current"

    @property
    def last_immune_globulin(self) -> date | None:
        return max((end for _, end in self.immune_globulin_spans), default=None)

    def immune_globulin_within(self, day: date, days: int) -> bool:
        """Was any immune globulin given in the ``days`` up to ``day`` (or running then)?"""
        since = add_days(day, -days)
        return any(begin <= day and end >= since for begin, end in self.immune_globulin_spans)


def _igrt_interval(record: MedicationRecord) -> float:
    if record.interval_days:
        return record.interval_days
    return DEFAULT_IGRT_INTERVAL_DAYS.get(record.route or "IV", 28)


def _begin(record: MedicationRecord) -> date | None:
    return record.start or record.authored


def _reach(record: MedicationRecord, as_of: date) -> date | None:
    """The last day a record says immune globulin was given or running (``as_of`` while it runs)."""
    begin = _begin(record)
    if record.end is not None:
        return min(record.end, as_of)
    if record.is_administration or (record.status or "").lower() in STOPPED_STATUSES:
        return begin
    return as_of if begin is not None else None


def _weight_at(weights: list[LabResult], day: date) -> float | None:
    """F5: the latest weight on or before ``day`` within 365 days, else the earliest within 365
    days after it."""
    before = [w for w in weights if add_days(day, -365) <= w.date <= day]
    if before:
        return max(before, key=lambda w: w.date).value
    after = [w for w in weights if day < w.date <= add_days(day, 365)]
    return min(after, key=lambda w: w.date).value if after else None


def _usable(record: MedicationRecord, as_of: date) -> bool:
    status = (record.status or "").lower()
    if status in IGNORED_MEDICATION_STATUSES or _is_planned(record):
        return False
    if record.resource_type == "MedicationRequest" and status == "cancelled":
        return False
    begin = _begin(record)
    return begin is None or begin <= as_of


def _split_courses(records: list[MedicationRecord], as_of: date) -> list[list[MedicationRecord]]:
    """Revision 2: a gap longer than the interval + 4 weeks between one record's end or last
    administration and the next record's start begins a new course. Undated records join the
    latest course (they can only say that replacement runs, not when)."""
    dated = sorted((r for r in records if _begin(r) is not None), key=lambda r: (_begin(r), r.id))
    courses: list[list[MedicationRecord]] = []
    reach: date | None = None
    interval = 0.0
    for record in dated:
        begin = _begin(record)
        assert begin is not None
        if not courses or reach is None or (begin - reach).days > interval + IGRT_GRACE_DAYS:
            courses.append([])
            reach = None
        courses[-1].append(record)
        record_reach = _reach(record, as_of) or begin
        reach = record_reach if reach is None else max(reach, record_reach)
        interval = _igrt_interval(record)
    undated = [r for r in records if _begin(r) is None]
    if undated:
        if courses:
            courses[-1].extend(undated)
        else:
            courses.append(undated)
    return courses


def _trough(
    course: list[MedicationRecord],
    start: date,
    route: str,
    interval_days: float,
    igg: list[LabResult],
    profile: Profile,
) -> tuple[list[LabResult], list[str], set[str]]:
    """F5 (revision 2): the troughs of the current course, the mid-cycle IgG levels, and the
    troughs whose timing against the doses could not be checked (no dose recorded before them)."""
    doses = sorted(d for r in course if r.is_administration and (d := r.start) is not None)
    troughs: list[LabResult] = []
    mid_cycle: list[str] = []
    timing_unknown: set[str] = set()
    for lab in igg:
        if (lab.date - start).days < profile.trough_min_days_after_start:
            continue
        if route == "SC":
            troughs.append(lab)  # SC levels are steady
            continue
        previous = max((d for d in doses if d <= lab.date), default=None)
        if previous is None:
            troughs.append(lab)
            timing_unknown.add(lab.id)
            continue
        since = (lab.date - previous).days
        if since == 0 or since >= interval_days - profile.trough_max_days_before_dose:
            troughs.append(lab)  # on a dose day (drawn before the dose), or in the last days before the next
        else:
            mid_cycle.append(lab.id)
    return troughs, mid_cycle, timing_unknown


def ig_replacement(
    timeline: Timeline,
    as_of: date,
    profile: Profile,
    episodes: list[Episode],
    issues: list[DataIssue],
) -> IgReplacement:
    weights = timeline.labs_of("weight")
    replacement: list[MedicationRecord] = []
    immunomodulatory: list[MedicationRecord] = []
    for record in timeline.medications:
        if record.category != "immune-globulin":
            continue
        day = _begin(record)
        weight_kg = _weight_at(weights, day) if day is not None and record.dose_g else None
        if weight_kg and record.dose_g:
            per_4_weeks = record.dose_g / weight_kg * (28 / _igrt_interval(record))
            sc = record.route == "SC"
            ceiling = (
                profile.igrt_max_g_per_kg_per_4_weeks_sc if sc else profile.igrt_max_g_per_kg_per_4_weeks
            )
            if per_4_weeks > ceiling:
                immunomodulatory.append(record)
                issues.append(
                    DataIssue(
                        "info",
                        "ig-immunomodulatory-dose",
                        f"immune globulin {record.dose_g:g} g ({per_4_weeks:.2f} g/kg per 4 weeks at "
                        f"{weight_kg:g} kg) is above the {'SC' if sc else 'IV'} replacement ceiling "
                        f"{ceiling:g} g/kg per 4 weeks: an immunomodulatory dose, shown but not counted "
                        "as replacement",
                        record.id,
                    )
                )
                continue
        replacement.append(record)
    spans = tuple(
        (begin, reach)
        for record in (*replacement, *immunomodulatory)
        if _usable(record, as_of)
        and (begin := _begin(record)) is not None
        and (reach := _reach(record, as_of)) is not None
    )
    immunomodulatory_ids = tuple(r.id for r in immunomodulatory)
    usable = [r for r in replacement if _usable(r, as_of)]
    planned = [r for r in replacement if _is_planned(r)]
    courses = _split_courses(usable, as_of)
    classified = [
        (records, classify_course(records, as_of, _igrt_interval, IGRT_GRACE_DAYS, issues, "Ig replacement"))
        for records in courses
    ]
    on_igrt: list[str] = []
    for records, past in classified:
        if past.start is None or past.status not in ("current", "discontinued"):
            continue
        if past.status == "current":
            until = as_of
        else:
            until = past.stop or max((_reach(r, as_of) or past.start for r in records), default=past.start)
        effect_from = add_days(past.start, profile.igrt_effect_days)
        on_igrt += [e.id for e in episodes if effect_from <= e.onset <= until and e.id not in on_igrt]
    chosen = next((c for c in reversed(classified) if c[1].status == "current"), None)
    if chosen is None and classified:
        chosen = classified[-1]
    if chosen is None or chosen[1].status in ("none", "starting"):
        status: ExposureStatus = "starting" if planned else "none"
        return IgReplacement(
            status,
            immunomodulatory_records=immunomodulatory_ids,
            courses=len(courses),
            immune_globulin_spans=spans,
            sources=tuple(r.id for r in planned),
            replacement_records=tuple(r.id for r in (*usable, *planned)),
        )
    used, course = chosen
    dated = sorted(used, key=lambda r: _begin(r) or date.min)
    route = next((r.route for r in reversed(dated) if r.route), None)
    dose = next((r.dose_g for r in reversed(dated) if r.dose_g), None)
    interval = next((r.interval_days for r in reversed(dated) if r.interval_days), None)
    start = course.start
    latest_trough: LabResult | None = None
    latest_igg_since_start: date | None = None
    mid_cycle: list[str] = []
    if start is not None and course.status == "current":
        igg_since = [lab for lab in timeline.labs_of("igg") if start <= lab.date <= as_of]
        latest_igg_since_start = max((lab.date for lab in igg_since), default=None)
        interval_days = interval or DEFAULT_IGRT_INTERVAL_DAYS.get(route or "IV", 28)
        troughs, mid_cycle, timing_unknown = _trough(
            used, start, route or "IV", interval_days, igg_since, profile
        )
        latest_trough = latest_result(troughs, as_of)
        if latest_trough is not None and latest_trough.id in timing_unknown:
            issues.append(
                DataIssue(
                    "info",
                    "trough-timing-unknown",
                    "no administration dates are recorded for this IV course: the IgG is taken as a "
                    "trough, but its timing against the doses cannot be checked",
                    latest_trough.id,
                )
            )
    return IgReplacement(
        status=course.status,
        route=route,
        start=start,
        stop=course.stop,
        dose_g=dose,
        interval_days=interval,
        last_administration=course.last_administration,
        episodes_on_igrt=tuple(on_igrt),
        latest_trough=latest_trough.value if latest_trough else None,
        latest_trough_date=latest_trough.date if latest_trough else None,
        latest_trough_source=latest_trough.id if latest_trough else None,
        latest_igg_since_start=latest_igg_since_start,
        mid_cycle_records=tuple(mid_cycle),
        immunomodulatory_records=immunomodulatory_ids,
        courses=len(courses),
        immune_globulin_spans=spans,
        sources=course.sources,
        replacement_records=tuple(r.id for r in (*usable, *planned)),
    )


# --------------------------------------------------------------------------- F6 prophylaxis


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


# --------------------------------------------------------------------------- F7 specific antibodies


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
        (d for d in _valid_diagnoses(timeline, as_of) if d.concept == "specific-antibody-deficiency"), None
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
        1 for lab in latest_set if _at_or_above(lab, profile.pneumococcal_protective_ug_ml) is True
    )
    fraction = protective / len(latest_set)
    status: ResponseStatus = "impaired" if fraction < profile.pneumococcal_protective_fraction else "normal"
    return SpecificAntibodyResponse(
        status, set_date, protective, len(latest_set), vaccination.date, sources=(*ids, vaccination.id)
    )


# --------------------------------------------------------------------------- F8, F9 diagnoses


def _valid_diagnoses(timeline: Timeline, as_of: date) -> list[Diagnosis]:
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
    diagnoses = [d for d in _valid_diagnoses(timeline, as_of) if d.concept == "selective-igm-deficiency"]
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
            if lab.date <= as_of and _below(lab.value, lab.comparator, limit) is True
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
        for d in _valid_diagnoses(timeline, as_of)
        if d.concept == "autoimmune"
        and (d.clinical_status or "active").lower() in ACTIVE_CLINICAL
        and (d.abatement is None or d.abatement > as_of)
    ]


# --------------------------------------------------------------------------- F10 body size


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


# --------------------------------------------------------------------------- F11 trends


@dataclass(frozen=True)
class Trend:
    kind: str
    results: int
    slope_per_year: float
    threshold: float
    crossing: date | None
    sources: tuple[str, ...] = ()


def trend(
    labs: list[LabResult],
    kind: str,
    threshold: float,
    as_of: date,
    profile: Profile,
    exclude_from: date | None = None,
) -> Trend | None:
    """Least-squares slope per year over the last ``trend_years``; projected crossing when falling."""
    since = add_months(as_of, -12 * profile.trend_years)
    points = [
        lab
        for lab in labs
        if since <= lab.date <= as_of
        and lab.comparator is None
        and (exclude_from is None or lab.date < exclude_from)
    ]
    if len(points) < profile.trend_min_results:
        return None
    xs = [(lab.date - as_of).days / 365.25 for lab in points]
    ys = [lab.value for lab in points]
    n = len(points)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    crossing = None
    latest = max(points, key=lambda lab: lab.date)
    # Revision 2: a value already below its threshold has no crossing to project (it used to pull
    # the panel to as_of days after the last one); the limit itself already drives the rules.
    if slope < 0 and latest.value >= threshold:
        at_as_of = mean_y - slope * mean_x
        years = (threshold - at_as_of) / slope
        if years <= 0:
            crossing = as_of  # the fitted line is past the threshold though the last value is not
        else:
            try:
                crossing = add_days(as_of, round(years * 365.25))
            except OverflowError:
                crossing = None  # a near-flat trend crosses beyond the calendar: no projection
    return Trend(kind, n, round(slope, 2), threshold, crossing, tuple(lab.id for lab in points))


# --------------------------------------------------------------------------- all facts


@dataclass(frozen=True)
class Facts:
    patient_id: str
    as_of: date
    exposure: AntiCD20Exposure
    b_cells: BCells
    igg: Immunoglobulin
    igm: Immunoglobulin
    iga: Immunoglobulin
    igg_severe: bool
    last_panel: date | None
    episodes: tuple[Episode, ...]
    igrt: IgReplacement
    prophylaxis: Prophylaxis
    antibody_response: SpecificAntibodyResponse
    igm_deficiency: IgmDeficiencyFact
    autoimmune: tuple[Diagnosis, ...]
    body: BodySize
    trends: tuple[Trend, ...]
    live_vaccines_given: tuple[Vaccination, ...]
    live_vaccines_recent: tuple[tuple[Vaccination, date], ...]
    last_cd19: date | None
    last_lymphocyte_subsets: date | None
    data_issues: tuple[DataIssue, ...] = field(default=())

    @property
    def in_k(self) -> bool:
        return self.exposure.status != "none"

    @property
    def in_d(self) -> bool:
        return self.igm_deficiency.status in ("confirmed", "suspected")

    @property
    def d_confirmed(self) -> bool:
        return self.igm_deficiency.status == "confirmed"

    @property
    def populations(self) -> list[str]:
        return [p for p, member in (("D", self.in_d), ("K", self.in_k)) if member]

    @property
    def b_cells_not_repleted(self) -> bool:
        """An agent was given, none is current, and repletion is not documented: unknown counts as
        not repleted. Revision 2: this holds while switching to another agent as well."""
        return self.exposure.status != "current" and self.exposure.exposed and not self.b_cells.repleted

    @property
    def anti_cd20_restricts(self) -> bool:
        """On anti-CD20 now, or stopped without documented B-cell repletion."""
        return self.exposure.status == "current" or self.b_cells_not_repleted

    def episodes_where(self, predicate: Callable[[Episode], bool]) -> list[Episode]:
        return [e for e in self.episodes if predicate(e)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "anti_cd20": _plain(self.exposure),
            "b_cells": _plain(self.b_cells),
            "immunoglobulins": {
                "igg": _plain(self.igg),
                "igm": _plain(self.igm),
                "iga": _plain(self.iga),
                "igg_severe": self.igg_severe,
                "last_complete_panel": _plain(self.last_panel),
            },
            "infection_episodes": _plain(self.episodes),
            "ig_replacement": _plain(self.igrt),
            "prophylaxis": _plain(self.prophylaxis),
            "specific_antibody_response": _plain(self.antibody_response),
            "igm_deficiency": _plain(self.igm_deficiency),
            "autoimmune_conditions": [{"id": d.id, "display": d.display} for d in self.autoimmune],
            "body_size": _plain(self.body),
            "trends": _plain(self.trends),
            "live_vaccines_given": [
                {"id": v.id, "date": _plain(v.date), "display": v.display} for v in self.live_vaccines_given
            ],
            "live_vaccines_recent": [
                {"id": v.id, "date": _plain(v.date), "display": v.display, "first_dose": _plain(first)}
                for v, first in self.live_vaccines_recent
            ],
        }


_FIELD_NAMES: Final[dict[type, tuple[str, ...] | None]] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass, None for any other class (kept per class: asked per value)."""
    if cls not in _FIELD_NAMES:
        _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None
    return _FIELD_NAMES[cls]


_JSON_SCALARS: Final = frozenset({str, int, bool, type(None)})


def _plain(value: Any) -> Any:
    """Facts as JSON: dates as ISO strings, tuples as lists, dataclasses as dicts."""
    if type(value) in _JSON_SCALARS:
        return value
    if isinstance(value, date):
        return value.isoformat()
    names = _field_names(type(value))
    if names is not None:
        out: dict[str, Any] = {}
        for name in names:
            field_value = getattr(value, name)
            # Most fields are plain already: skip the call for them.
            out[name] = field_value if type(field_value) in _JSON_SCALARS else _plain(field_value)
        return out
    if isinstance(value, (list, tuple)):
        return [v if type(v) in _JSON_SCALARS else _plain(v) for v in value]
    if isinstance(value, float):
        return round(value, 3)
    return value


def _live_vaccinations_given(timeline: Timeline, as_of: date) -> Iterable[Vaccination]:
    """Live vaccines recorded as given (not ordered, not in error), dated on or before ``as_of``."""
    for vaccination in timeline.vaccinations:
        if not vaccination.live or vaccination.ordered or vaccination.date is None:
            continue
        if (vaccination.status or "completed").lower() in ("entered-in-error", "not-done"):
            continue
        if vaccination.date <= as_of:
            yield vaccination


def _live_vaccines_given(
    timeline: Timeline, as_of: date, profile: Profile, exposure: AntiCD20Exposure
) -> list[Vaccination]:
    """Live vaccines given on anti-CD20 therapy, or after stopping before documented repletion."""
    if exposure.first_exposure is None:
        return []
    given = []
    for vaccination in _live_vaccinations_given(timeline, as_of):
        if vaccination.date is None or vaccination.date < exposure.first_exposure:
            continue
        stop = exposure.stop
        if (
            stop is not None
            and vaccination.date > stop
            and repletion_documented_by(timeline, profile, stop, vaccination.date)
        ):
            continue
        given.append(vaccination)
    return given


def _live_vaccines_recent(
    timeline: Timeline, as_of: date, profile: Profile, exposure: AntiCD20Exposure
) -> list[tuple[Vaccination, date]]:
    """Live vaccines given less than ``live_vaccine_weeks_before_first_dose`` weeks before an
    agent's first dose, planned or given (revision 2, ``live-vaccine-recent``). A first dose given
    more than ``baseline_recent_days`` ago is history: postponing it is no longer possible."""
    recent_from = add_days(as_of, -profile.baseline_recent_days)
    first_doses = [d for d in exposure.first_doses if d >= recent_from]
    limit = 7 * profile.live_vaccine_weeks_before_first_dose
    found = []
    for vaccination in _live_vaccinations_given(timeline, as_of):
        assert vaccination.date is not None
        before = [d for d in first_doses if 0 < (d - vaccination.date).days < limit]
        if before:
            found.append((vaccination, min(before)))
    return found


def derive_facts(timeline: Timeline, as_of: date, profile: Profile, today: date | None = None) -> Facts:
    issues: list[DataIssue] = []
    if today is not None:
        _flag_future_records(timeline, today, issues)
    exposure = anti_cd20_exposure(timeline, as_of, profile, issues)
    igg = immunoglobulin(timeline, "igg", as_of, profile, issues)
    igm = immunoglobulin(timeline, "igm", as_of, profile, issues)
    iga = immunoglobulin(timeline, "iga", as_of, profile, issues)
    episodes = infection_episodes(timeline, as_of, profile, issues)
    body = body_size(timeline, as_of, profile)
    igrt = ig_replacement(timeline, as_of, profile, episodes, issues)
    response = specific_antibody_response(timeline, as_of, profile, igrt, issues)
    igg_trend = trend(
        timeline.labs_of("igg"),
        "igg",
        profile.igg_replacement_threshold_mg_dl,
        as_of,
        profile,
        exclude_from=igrt.start,
    )
    igm_trend = trend(timeline.labs_of("igm"), "igm", igm.limit or profile.igm_lln_mg_dl, as_of, profile)
    trends = [t for t in (igg_trend, igm_trend) if t is not None]
    cd19_dates = [
        lab.date
        for lab in timeline.labs_of("cd19-absolute") + timeline.labs_of("cd19-percent")
        if lab.date <= as_of
    ]
    return Facts(
        patient_id=timeline.patient.id,
        as_of=as_of,
        exposure=exposure,
        b_cells=b_cells(timeline, as_of, profile, exposure),
        igg=igg,
        igm=igm,
        iga=iga,
        igg_severe=igg_severe(igg, profile),
        last_panel=last_complete_panel(timeline, as_of),
        episodes=tuple(episodes),
        igrt=igrt,
        prophylaxis=prophylaxis(timeline, as_of, profile, episodes),
        antibody_response=response,
        igm_deficiency=igm_deficiency(timeline, as_of, exposure, igg, igm, iga),
        autoimmune=tuple(autoimmune_conditions(timeline, as_of)),
        body=body,
        trends=tuple(trends),
        live_vaccines_given=tuple(_live_vaccines_given(timeline, as_of, profile, exposure)),
        live_vaccines_recent=tuple(_live_vaccines_recent(timeline, as_of, profile, exposure)),
        last_cd19=max(
            (lab.date for lab in timeline.labs_of("cd19-absolute") if lab.date <= as_of), default=None
        ),
        last_lymphocyte_subsets=max(cd19_dates, default=None),
        data_issues=tuple(issues),
    )


def _flag_future_records(timeline: Timeline, today: date, issues: list[DataIssue]) -> None:
    """``date-future``: dated after the real today; left out as after ``as_of``."""
    # Records are nearly never in the future: test the date before anything else.
    dated: list[tuple[str, date | None]] = [
        (lab.id, lab.date) for lab in timeline.labs if lab.date is not None and lab.date > today
    ]
    dated += [(r.id, r.date) for r in timeline.infections if r.date is not None and r.date > today]
    dated += [
        (v.id, v.date)
        for v in timeline.vaccinations
        if v.date is not None and v.date > today and not v.ordered
    ]
    dated += [
        (m.id, m.start)
        for m in timeline.medications
        if m.start is not None and m.start > today and not _is_planned(m)
    ]
    for resource, when in dated:
        if when is not None:
            issues.append(
                DataIssue("warning", "date-future", f"dated {when.isoformat()}, after today", resource)
            )
