"""The per-patient half of the ``--since`` cache: a patient whose extracted rows are exactly
what they were at the last screen (a digest computed by DuckDB over the patient's rows), under the same settings (as-of date, today, profile, igwatch
version, views and value sets), gets last time's worklist row back instead of a new ``assess``.
``assess`` is a pure function of exactly those inputs, so the answer is the same by construction.
"""

from __future__ import annotations

import hashlib
import json
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
from igwatch.population.worklist import WORKLIST_SCHEMA

RESULTS_FILE: Final = "results.parquet"
SETTINGS_FILE: Final = "results.json"
_SCHEMA: Final = pa.schema(
    [("patient", pa.string()), ("digest", pa.string()), ("listed", pa.bool_())]
).append(pa.field("row", pa.struct(list(WORKLIST_SCHEMA))))


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
    """Last screen's rows by patient (read), and this screen's (written on :meth:`save`)."""

    directory: Path
    settings: str
    previous: dict[str, tuple[str, dict[str, Any] | None]] = field(default_factory=dict)
    current: list[dict[str, Any]] = field(default_factory=list)
    hits: int = 0

    @classmethod
    def open(cls, directory: Path, settings: str) -> ResultCache:
        cache = cls(directory, settings)
        try:
            stored = json.loads((directory / SETTINGS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cache
        if not isinstance(stored, dict) or stored.get("settings") != settings:
            return cache
        try:
            table = pq.read_table(directory / RESULTS_FILE)
        except (OSError, pa.ArrowInvalid):
            return cache
        for record in table.to_pylist():
            cache.previous[record["patient"]] = (
                record["digest"],
                record["row"] if record["listed"] else None,
            )
        return cache

    def get(self, patient: str, digest: str) -> tuple[bool, dict[str, Any] | None]:
        """(found, row): the stored row (None for "no row") when the digest matches."""
        stored = self.previous.get(patient)
        if stored is None or stored[0] != digest:
            return False, None
        self.hits += 1
        return True, stored[1]

    def put(self, patient: str, digest: str, row: dict[str, Any] | None) -> None:
        self.current.append({"patient": patient, "digest": digest, "listed": row is not None, "row": row})

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(self.current, schema=_SCHEMA)
        pq.write_table(table, self.directory / RESULTS_FILE)
        (self.directory / SETTINGS_FILE).write_text(json.dumps({"settings": self.settings}), encoding="utf-8")
