"""One worklist row per screened patient, from their :class:`~igwatch.assessment.Assessment`.

Columns (contract §5; in the CSV an absent value is empty and booleans are ``true`` / ``false``):

- ``patient_id``; ``populations`` (``K``, ``D`` or ``D;K``, sorted); ``in_scope`` (in either
  population; the written worklist holds only these rows); ``deceased`` (never in scope; listed only
  with ``--include-deceased``);
- ``recommendations``: the fired ids joined by ``;`` in catalog order; ``recommendation_priorities``:
  ``id=priority`` pairs in the same order; ``top_priority`` (critical, warning, info or empty);
  ``critical_count``, ``warning_count``;
- ``ig_panel_due`` / ``ig_panel_overdue``, ``igg_trough_due`` / ``igg_trough_overdue``,
  ``cd19_due`` / ``cd19_overdue`` (from the monitoring list; empty when not due);
- ``igg_mg_dl``, ``igm_mg_dl``, ``iga_mg_dl`` with ``igg_date``, ``igm_date``, ``iga_date`` and
  ``igg_state`` / ``igm_state`` (low, not-low, unknown): the results the assessment used;
- ``anti_cd20_status``, ``anti_cd20_agent``, ``ofatumumab_status``, ``b_cell_status``,
  ``igrt_status`` (Ig replacement: current, stopped, none …), ``igm_deficiency``;
- ``infection_episodes``: episodes in the profile's infection window; ``data_issues``: count;
- ``details``: JSON of the recommendations (id, priority, reasons) and the monitoring entries
  (test, due, overdue, last_done), for tools and for the parity test;
- ``assessment_error``: set (the error's type and message, no patient data) when the engine failed
  on this patient; such a patient is listed for manual review with every other column empty.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from igwatch.assessment import PRIORITY_RANK, Assessment
from igwatch.engine import DECEASED
from igwatch.facts import shown_number
from igwatch.knowledge.catalog import knowledge
from igwatch.worklist import FLAG_KEYS, worklist_flags

WORKLIST_SCHEMA: Final = pa.schema(
    [
        ("patient_id", pa.string()),
        ("populations", pa.string()),
        ("in_scope", pa.bool_()),
        ("deceased", pa.bool_()),
        ("recommendations", pa.string()),
        ("recommendation_priorities", pa.string()),
        ("top_priority", pa.string()),
        ("critical_count", pa.int32()),
        ("warning_count", pa.int32()),
        *((key, pa.bool_()) for key in FLAG_KEYS),
        ("ig_panel_due", pa.date32()),
        ("ig_panel_overdue", pa.bool_()),
        ("igg_trough_due", pa.date32()),
        ("igg_trough_overdue", pa.bool_()),
        ("cd19_due", pa.date32()),
        ("cd19_overdue", pa.bool_()),
        ("igg_mg_dl", pa.float64()),
        ("igg_date", pa.date32()),
        ("igg_state", pa.string()),
        ("igm_mg_dl", pa.float64()),
        ("igm_date", pa.date32()),
        ("igm_state", pa.string()),
        ("iga_mg_dl", pa.float64()),
        ("iga_date", pa.date32()),
        ("anti_cd20_status", pa.string()),
        ("anti_cd20_agent", pa.string()),
        ("ofatumumab_status", pa.string()),
        ("b_cell_status", pa.string()),
        ("igrt_status", pa.string()),
        ("igm_deficiency", pa.string()),
        ("infection_episodes", pa.int32()),
        ("data_issues", pa.int32()),
        ("details", pa.string()),
        ("assessment_error", pa.string()),
    ]
)
COLUMNS: Final = tuple(WORKLIST_SCHEMA.names)
#: What ``json.dumps(..., separators=(",", ":"))`` would use, built once rather than per row.
_DETAILS_JSON: Final = json.JSONEncoder(separators=(",", ":"))


@lru_cache(maxsize=1)
def _catalog_rank() -> dict[str, int]:
    catalog = knowledge().catalog
    return {rec_id: entry.order for rec_id, entry in catalog.items()}


def patient_row(assessment: Assessment) -> dict[str, Any]:
    """The worklist row of one assessed patient (every column of :data:`WORKLIST_SCHEMA`)."""
    rank = _catalog_rank()
    recs = sorted(assessment.recommendations, key=lambda r: rank.get(r.id, len(rank)))
    top = min((PRIORITY_RANK[r.priority] for r in recs), default=None)
    monitoring = {m.test: m for m in assessment.monitoring}
    facts = assessment.facts
    row: dict[str, Any] = {
        "patient_id": assessment.patient_id,
        "populations": ";".join(sorted(assessment.populations)),
        "in_scope": bool(assessment.populations),
        "deceased": assessment.applicable_reason == DECEASED,
        "recommendations": ";".join(r.id for r in recs),
        "recommendation_priorities": ";".join(f"{r.id}={r.priority}" for r in recs),
        "top_priority": next((p for p, n in PRIORITY_RANK.items() if n == top), None),
        "critical_count": sum(r.priority == "critical" for r in recs),
        "warning_count": sum(r.priority == "warning" for r in recs),
    }
    row.update(worklist_flags(assessment))
    for test, prefix in (("ig-panel", "ig_panel"), ("igg-trough", "igg_trough"), ("cd19", "cd19")):
        entry = monitoring.get(test)  # type: ignore[call-overload]
        row[f"{prefix}_due"] = entry.due if entry else None
        row[f"{prefix}_overdue"] = entry.overdue if entry else None
    for ig in (facts.igg, facts.igm, facts.iga):
        row[f"{ig.kind}_mg_dl"] = shown_number(ig.value)
        row[f"{ig.kind}_date"] = ig.date
        if ig.kind != "iga":
            row[f"{ig.kind}_state"] = ig.state
    exposure = facts.exposure
    row["anti_cd20_status"] = exposure.status
    row["anti_cd20_agent"] = exposure.primary_agent
    row["ofatumumab_status"] = next(
        (a.course.status for a in exposure.agents if a.agent == "ofatumumab"),
        "none",
    )
    row["b_cell_status"] = facts.b_cells.status
    row["igrt_status"] = facts.igrt.status
    row["igm_deficiency"] = facts.igm_deficiency.status
    row["infection_episodes"] = len(facts.episodes)
    row["data_issues"] = len(assessment.data_issues)
    row["details"] = _DETAILS_JSON.encode(
        {
            "recommendations": [
                {"id": r.id, "priority": r.priority, "reasons": [x.to_dict() for x in r.reasons]}
                for r in assessment.recommendations
            ],
            "monitoring": [m.to_dict() for m in assessment.monitoring],
        }
    )
    return row


def failed_row(patient_id: str, error: Exception) -> dict[str, Any]:
    """The worklist row of a patient the engine could not assess (listed for manual review)."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(patient_id=patient_id, in_scope=False, assessment_error=f"{type(error).__name__}: {error}")
    return row


def listed(row: Mapping[str, Any], include_deceased: bool = False) -> bool:
    """Whether a patient's row belongs on the written worklist: in scope, or not assessable; a
    deceased patient (never in scope, clinical-spec §1) only when asked."""
    if include_deceased and row.get("deceased"):
        return True
    return bool(row.get("in_scope")) or row.get("assessment_error") is not None


def to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """The rows as an Arrow table with the worklist schema."""
    return pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], schema=WORKLIST_SCHEMA)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if value == value else ""
    return str(value)


class WorklistWriter:
    """Streams listed rows to ``worklist.parquet`` and ``worklist.csv`` in ``out_dir``.

    Rows arrive in any order and are written in batches to a scratch Parquet file; :meth:`close`
    sorts it by patient with DuckDB (which spills to disk past its memory limit) and writes the
    CSV from the sorted file batch by batch, so the worklist never has to fit in memory.
    """

    BATCH_ROWS: Final = 5_000

    def __init__(self, out_dir: Path, scratch: Path) -> None:
        self.out_dir = out_dir
        self.scratch = scratch
        self._pending: list[Mapping[str, Any]] = []
        self._unsorted = scratch / "worklist-unsorted.parquet"
        self._writer = pq.ParquetWriter(self._unsorted, WORKLIST_SCHEMA)

    def add(self, row: Mapping[str, Any]) -> None:
        self._pending.append(row)
        if len(self._pending) >= self.BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(to_table(self._pending))
            self._pending = []

    def close(self) -> tuple[Path, Path]:
        import duckdb

        from igwatch.population.sof.duckdb_views import sql_string

        self._flush()
        self._writer.close()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        parquet_path = self.out_dir / "worklist.parquet"
        csv_path = self.out_dir / "worklist.csv"
        con = duckdb.connect()
        try:
            con.execute("SET memory_limit = '512MB'")
            con.execute(f"SET temp_directory = {sql_string(str(self.scratch / 'sort-spill'))}")
            con.execute(
                f"COPY (SELECT * FROM read_parquet({sql_string(str(self._unsorted))}) ORDER BY patient_id) "
                f"TO {sql_string(str(parquet_path))} (FORMAT parquet)"
            )
        finally:
            con.close()
        self._unsorted.unlink(missing_ok=True)
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for batch in pq.ParquetFile(parquet_path).iter_batches(batch_size=10_000):
                columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                for values in zip(*columns, strict=True):
                    writer.writerow([_csv_value(v) for v in values])
        return parquet_path, csv_path
