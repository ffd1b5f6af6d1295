"""The per-patient step both engines run: a patient's rows → assessment → worklist row.

The engines hand over Arrow tables of extracted rows (several patients, every row of each).
:func:`patient_groups` cuts a table into one list of row dicts per patient, in the order the
rebuild expects (:data:`ROW_ORDER`). Each resource type's rows are converted to Python with only
the columns that type fills: the rows of all views share one wide schema, mostly empty, and
converting the empty columns cost more than the assessment itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from igwatch.errors import InputRefused
from igwatch.knowledge.profile import Profile
from igwatch.population.rows import assess_rows
from igwatch.population.worklist import failed_row, patient_row

#: The order of a patient's rows: resources grouped by type then id, each resource's rows by
#: element, list item and coding.
ROW_ORDER: Final = ("patient", "resource_type", "id", "element", "item", "coding_item")

Assessed = tuple[str, dict[str, Any] | None]


@dataclass(frozen=True)
class Assessor:
    """Assess one patient's rows as of ``as_of`` with ``profile`` (picklable, for worker pools)."""

    as_of: date
    profile: Profile
    today: date | None = None

    def __call__(self, patient_id: str, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The patient's worklist row; None when the export has no Patient resource for them."""
        # From the end: in ROW_ORDER the Patient row comes after nearly all the others.
        if not any(r.get("resource_type") == "Patient" for r in reversed(rows)):
            return None
        try:
            assessment = assess_rows(rows, patient_id, self.as_of, self.profile, self.today)
        except InputRefused:
            return None
        except Exception as error:  # one patient's failure must not stop the screen of all
            return failed_row(patient_id, error)
        return patient_row(assessment)

    def table(self, table: pa.Table, ordered: bool = False) -> list[Assessed]:
        """Every patient of an Arrow table of extracted rows, assessed."""
        return [(patient, self(patient, rows)) for patient, rows in patient_groups(table, ordered)]

    def ipc(self, data: bytes) -> list[Assessed]:
        """Every patient of an Arrow IPC stream of extracted rows ordered by :data:`ROW_ORDER`."""
        with pa.ipc.open_stream(data) as reader:
            return self.table(reader.read_all(), ordered=True)


def patient_groups(table: pa.Table, ordered: bool = False) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(patient, rows) for every patient of ``table``, patients in order, rows in :data:`ROW_ORDER`
    (``ordered``: the table is already in that order)."""
    if table.num_rows == 0:
        return
    if not ordered:
        table = table.sort_by([(name, "ascending") for name in ROW_ORDER if name in table.column_names])
    by_patient: dict[str, list[dict[str, Any]]] = {}
    types = pc.unique(table.column("resource_type")).to_pylist()
    for rtype in sorted(t for t in types if t is not None):
        of_type = table.filter(pc.equal(table.column("resource_type"), rtype))
        filled = [
            name
            for name, column in zip(of_type.column_names, of_type.columns, strict=True)
            if column.null_count < len(column)
        ]
        for row in of_type.select(filled).to_pylist():
            by_patient.setdefault(row["patient"], []).append(row)
    for patient in sorted(by_patient):
        yield patient, by_patient[patient]


def whole_patients(
    batches: Iterable[pa.RecordBatch], min_patients: int = 1
) -> Iterator[tuple[pa.Table, int]]:
    """Cut a stream of rows ordered by patient into tables of whole patients, each of at least
    ``min_patients`` patients but the last; yields each table with its number of patients. The
    last patient of a batch may go on in the next one, so their rows wait for it."""
    pending: list[pa.RecordBatch] = []
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        table = pa.Table.from_batches(pending)
        patients = table.column("patient")
        tail = pc.sum(pc.equal(patients, patients[-1])).as_py()
        head = table.slice(0, table.num_rows - tail)
        count = pc.count_distinct(head.column("patient")).as_py() if head.num_rows else 0
        if count and count >= min_patients:
            yield head, count
            pending = table.slice(table.num_rows - tail).to_batches()
    if pending:
        table = pa.Table.from_batches(pending)
        yield table, pc.count_distinct(table.column("patient")).as_py()
