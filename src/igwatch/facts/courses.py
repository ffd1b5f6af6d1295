"""F1's course rules, for any therapy: each record is ignored, starting, current or past, and
the course is the most active (used for anti-CD20 therapy, Ig replacement and prophylaxis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from igwatch.facts.base import IGNORED_MEDICATION_STATUSES, STOPPED_STATUSES, ExposureStatus
from igwatch.timeline import DataIssue, MedicationRecord


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


def is_planned(record: MedicationRecord) -> bool:
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
        if is_planned(record):
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
