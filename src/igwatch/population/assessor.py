"""The per-patient step both engines run: a patient's rows → assessment → worklist row.

Rows arrive ordered by patient; :func:`group_rows` cuts the stream into one list per patient,
carrying a patient that spans two batches over to the next one, so memory stays bounded by the
largest patient, not the cohort.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from igwatch.errors import InputRefused
from igwatch.knowledge.profile import Profile
from igwatch.population.rows import assess_rows
from igwatch.population.worklist import failed_row, patient_row


@dataclass(frozen=True)
class Assessor:
    """Assess one patient's rows as of ``as_of`` with ``profile`` (picklable, for worker pools)."""

    as_of: date
    profile: Profile
    today: date | None = None

    def __call__(self, patient_id: str, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The patient's worklist row; None when the export has no Patient resource for them."""
        if not any(r.get("resource_type") == "Patient" for r in rows):
            return None
        try:
            assessment = assess_rows(rows, patient_id, self.as_of, self.profile, self.today)
        except InputRefused:
            return None
        except Exception as error:  # one patient's failure must not stop the screen of all
            return failed_row(patient_id, error)
        return patient_row(assessment)

    def many(self, groups: list[tuple[str, list[dict[str, Any]]]]) -> list[dict[str, Any] | None]:
        return [self(pid, rows) for pid, rows in groups]


def group_rows(batches: Iterable[list[dict[str, Any]]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(patient, rows) from batches of row dicts ordered by ``patient``."""
    current: str | None = None
    pending: list[dict[str, Any]] = []
    for batch in batches:
        for row in batch:
            patient = row["patient"]
            if patient != current:
                if current is not None and pending:
                    yield current, pending
                current, pending = patient, []
            pending.append(row)
    if current is not None and pending:
        yield current, pending
