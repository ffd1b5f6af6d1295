"""F5 immune globulin and Ig replacement (clinical-spec §4): the current (else latest) course,
its dose, interval and troughs, and every immune globulin record that confounds serology.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from igwatch.dates import add_days
from igwatch.facts.base import (
    DEFAULT_IGRT_INTERVAL_DAYS,
    IGNORED_MEDICATION_STATUSES,
    STOPPED_STATUSES,
    ExposureStatus,
)
from igwatch.facts.courses import classify_course, is_planned
from igwatch.facts.immunoglobulins import latest_result
from igwatch.facts.infections import Episode
from igwatch.knowledge.profile import Profile
from igwatch.timeline import DataIssue, LabResult, MedicationRecord, Timeline


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
    if status in IGNORED_MEDICATION_STATUSES or is_planned(record):
        return False
    if record.resource_type == "MedicationRequest" and status == "cancelled":
        return False
    begin = _begin(record)
    return begin is None or begin <= as_of


def _split_courses(
    records: list[MedicationRecord], as_of: date, grace_days: int
) -> list[list[MedicationRecord]]:
    """Revision 2: a gap longer than the interval + ``grace_days`` (4 weeks) between one record's end or last
    administration and the next record's start begins a new course. Undated records join the
    latest course (they can only say that replacement runs, not when)."""
    dated = sorted((r for r in records if _begin(r) is not None), key=lambda r: (_begin(r), r.id))
    courses: list[list[MedicationRecord]] = []
    reach: date | None = None
    interval = 0.0
    for record in dated:
        begin = _begin(record)
        assert begin is not None
        if not courses or reach is None or (begin - reach).days > interval + grace_days:
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
    planned = [r for r in replacement if is_planned(r)]
    courses = _split_courses(usable, as_of, profile.igrt_grace_days)
    classified = [
        (
            records,
            classify_course(
                records, as_of, _igrt_interval, profile.igrt_grace_days, issues, "Ig replacement"
            ),
        )
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
