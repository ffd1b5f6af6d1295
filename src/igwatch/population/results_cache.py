"""The per-patient half of the ``--since`` cache: a patient whose extracted rows are exactly
what they were at the last screen (a digest computed by DuckDB over the patient's rows), under
the same settings (as-of date, today, profile, igwatch version, views and value sets), gets last
time's worklist row back instead of a new ``assess``.
``assess`` is a pure function of exactly those inputs, so the answer is the same by construction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from igwatch import __version__
from igwatch.knowledge.profile import Profile
from igwatch.population import extract
from igwatch.population.sof.duckdb_views import sql_string
from igwatch.population.worklist import WORKLIST_SCHEMA

RESULTS_FILE: Final = "results.parquet"
SETTINGS_FILE: Final = "results.json"
_NEW_FILE: Final = "results.new.parquet"
_STAGED_FILE: Final = "results.staged.parquet"
_BATCH_ROWS: Final = 2_000
_ROW_TYPE: Final = pa.struct(list(WORKLIST_SCHEMA))
_NEW_SCHEMA: Final = pa.schema([("patient", pa.string()), ("listed", pa.bool_()), ("row", _ROW_TYPE)])
_STORED_SCHEMA: Final = pa.schema(
    [("patient", pa.string()), ("digest", pa.string()), ("listed", pa.bool_()), ("row", _ROW_TYPE)]
)


def _sql_path(path: Path) -> str:
    return sql_string(str(path))


def _row_fields_match(path: Path) -> bool:
    """Whether stored rows have today's worklist columns (a cache from another layout is not used)."""
    row = pq.read_schema(path).field("row").type
    return isinstance(row, pa.StructType) and [f.name for f in row] == WORKLIST_SCHEMA.names


def settings_key(as_of: date, today: date | None, profile: Profile) -> str:
    """Changes whenever anything but the patient's own rows could change an answer."""
    parts = [
        as_of.isoformat(),
        today.isoformat() if today else "",
        profile.model_dump_json() if hasattr(profile, "model_dump_json") else repr(profile),
        __version__,
        duckdb.__version__,  # the row digest uses DuckDB's hash()
        json.dumps([extract.load_view(t) for t in extract.VIEW_FILES], sort_keys=True),
        extract.prefilter_key(extract.vocabulary()),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass
class ResultCache:
    """Last screen's per-patient results, read by DuckDB from Parquet, and this screen's, streamed
    to Parquet as they come: neither is held in Python, so a re-screen's memory does not grow with
    the cohort.

    Usage: :meth:`open`; :meth:`reuse` (the stored rows of the patients in ``digests`` whose digest
    is unchanged, left in ``igw_unchanged``); :meth:`put` for each newly assessed patient;
    :meth:`save`.
    """

    con: duckdb.DuckDBPyConnection
    directory: Path
    settings: str
    hits: int = 0
    _pending: list[dict[str, Any]] = field(default_factory=list)
    _writer: pq.ParquetWriter | None = None

    @classmethod
    def open(cls, con: duckdb.DuckDBPyConnection, directory: Path, settings: str) -> ResultCache:
        cache = cls(con, directory, settings)
        has_previous = False
        try:
            stored = json.loads((directory / SETTINGS_FILE).read_text(encoding="utf-8"))
            usable = isinstance(stored, dict) and stored.get("settings") == settings
            if usable and _row_fields_match(directory / RESULTS_FILE):
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE igw_previous AS "
                    f"SELECT * FROM read_parquet({_sql_path(directory / RESULTS_FILE)})"
                )
                has_previous = True
        except (OSError, ValueError, KeyError, pa.ArrowInvalid, duckdb.Error):
            pass  # no usable cache: every patient is assessed
        if not has_previous:
            con.register("igw_previous_empty", _STORED_SCHEMA.empty_table())
            con.execute("CREATE OR REPLACE TEMP TABLE igw_previous AS SELECT * FROM igw_previous_empty")
            con.unregister("igw_previous_empty")
        return cache

    def reuse(self, digests: str, emit: Callable[[dict[str, Any]], None]) -> None:
        """Emit the stored row of every patient of ``digests`` (a table of patient, digest) whose
        digest matches the stored one; those patients are left in ``igw_unchanged``."""
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE igw_unchanged AS SELECT p.patient, p.listed, p.row "
            f"FROM igw_previous p JOIN {digests} d ON p.patient = d.patient AND p.digest = d.digest"
        )
        self.hits = int(self.con.sql("SELECT count(*) FROM igw_unchanged").fetchall()[0][0])
        reader = self.con.sql("SELECT row FROM igw_unchanged WHERE listed").to_arrow_reader(_BATCH_ROWS)
        for batch in reader:
            for row in batch.column(0).to_pylist():
                emit(row)

    def put(self, patient: str, row: dict[str, Any] | None) -> None:
        """This screen's result for a newly assessed patient (None: no row)."""
        self._pending.append({"patient": patient, "listed": row is not None, "row": row})
        if len(self._pending) >= _BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.directory / _NEW_FILE, _NEW_SCHEMA)
        self._writer.write_table(pa.Table.from_pylist(self._pending, schema=_NEW_SCHEMA))
        self._pending.clear()

    def save(self, digests: str) -> None:
        """Store this screen's results (the reused ones and the new ones, each with its patient's
        digest from ``digests``) for the next re-screen."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._flush()
        assert self._writer is not None
        self._writer.close()
        self._writer = None
        new, target, staged = (
            self.directory / _NEW_FILE,
            self.directory / RESULTS_FILE,
            self.directory / _STAGED_FILE,
        )
        # staged then renamed: the previous results stay whole until the new ones are complete
        self.con.execute(
            "COPY (SELECT u.patient, d.digest, u.listed, u.row FROM igw_unchanged u "
            f"JOIN {digests} d USING (patient) UNION ALL "
            f"SELECT n.patient, d.digest, n.listed, n.row FROM read_parquet({_sql_path(new)}) n "
            f"JOIN {digests} d USING (patient)) TO {_sql_path(staged)} (FORMAT parquet)"
        )
        staged.replace(target)
        new.unlink()
        (self.directory / SETTINGS_FILE).write_text(json.dumps({"settings": self.settings}), encoding="utf-8")
