"""The screen executed in-process: DuckDB runs the igwatch ViewDefinitions and the relevance
filter, then the screened patients' rows stream out in Arrow batches ordered by patient and are assessed in
Python (optionally by a pool of worker processes). Memory is bounded by DuckDB's own limit plus
one batch, not by the cohort.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from igwatch.errors import InputRefused
from igwatch.fhir.reader import first_bad_line
from igwatch.population import extract
from igwatch.population.assessor import ROW_ORDER, Assessed, Assessor, whole_patients
from igwatch.population.export import Export
from igwatch.population.progress import Steps
from igwatch.population.result import EngineOutput
from igwatch.population.results_cache import ResultCache, settings_key
from igwatch.population.sof.duckdb_views import DuckDBViewRunner, sql_string

BATCH_ROWS = 10_000
CHUNK_PATIENTS = 250
ORDER = ", ".join(ROW_ORDER)
AUTO_POOL_PATIENTS = 2_000
# DuckDB's share of memory: it spills past this, so the screen's peak is this plus the assessing
# processes (about 1.6 GB at 25k patients, 1.9 GB at 100k; 2GB here gave 1.6 → 2.8 GB, no faster).
MEMORY_LIMIT = "1GB"


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join(sql_string(str(p)) for p in paths) + "]"


def _cache_manifest(cache: Path) -> dict[str, Any]:
    try:
        data = json.loads((cache / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def view_key(resource_type: str) -> str:
    """Changes when the view definition or the prefilter (value sets) change, so a cache built
    by other views or value sets is not reused."""
    vocab = extract.vocabulary()
    return json.dumps(
        [extract.load_view(resource_type), extract.prefilter_regex(resource_type, vocab)], sort_keys=True
    )


def extract_views(
    con: duckdb.DuckDBPyConnection, export: Export, steps: Steps, cache: Path | None
) -> frozenset[str]:
    """Create one table per view (``igw_v_*``) from the export, or from the Parquet cache."""
    runner = DuckDBViewRunner(con)
    vocab = extract.vocabulary()
    manifest = _cache_manifest(cache) if cache is not None else {}
    entries: dict[str, Any] = dict(manifest.get("views", {})) if manifest else {}
    present: set[str] = set()
    types = [t for t in extract.VIEW_FILES if export.of(t)]
    total = sum(p.stat().st_size for t in types for p in export.of(t))
    with steps.step("extract (views)", total=total, unit="bytes") as advance:
        for rtype in types:
            paths = export.of(rtype)
            size = sum(p.stat().st_size for p in paths)
            table = extract.table_name(rtype)
            signature = export.signature(rtype)
            entry = entries.get(rtype)
            parquet = cache / f"{extract.VIEW_FILES[rtype][1]}.parquet" if cache is not None else None
            if (
                parquet is not None
                and parquet.exists()
                and isinstance(entry, dict)
                and entry.get("signature") == signature
                and entry.get("view") == view_key(rtype)
            ):
                con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM read_parquet({sql_string(str(parquet))})"
                )
            else:
                try:
                    _extract_one(con, runner, rtype, paths, vocab, parquet, table)
                except duckdb.Error as exc:
                    problem = first_bad_line(paths)
                    raise InputRefused(problem or f"{paths[0].name}: cannot be read ({exc})") from None
                if parquet is not None:
                    entries[rtype] = {"signature": signature, "view": view_key(rtype)}
            present.add(rtype)
            advance(size)
    if cache is not None:
        (cache / "manifest.json").write_text(json.dumps({"views": entries}, indent=2), encoding="utf-8")
    return frozenset(present)


def _extract_one(
    con: duckdb.DuckDBPyConnection,
    runner: DuckDBViewRunner,
    rtype: str,
    paths: list[Path],
    vocab: extract.Vocabulary,
    parquet: Path | None,
    table: str,
) -> None:
    """Run one resource type's view over its files (prefiltered) into a table or a Parquet file."""
    pattern = extract.prefilter_regex(rtype, vocab)
    # A line that is not a FHIR resource stops the extract (extract_views then names it), as
    # `load` and `assess` refuse it: tested on the lines the prefilter lets go, at no extra read.
    checked = (
        "CASE WHEN contains(json::VARCHAR, '\"resourceType\"') THEN {keep} "
        "ELSE error('a line is not a FHIR resource') END"
    )
    if pattern:
        where = (
            f" WHERE regexp_matches(json::VARCHAR, {sql_string(pattern)}) OR {checked.format(keep='false')}"
        )
    else:
        where = f" WHERE {checked.format(keep='true')}"
    source = con.sql(
        f"SELECT json AS resource FROM read_ndjson_objects({_sql_list(paths)}, compression = 'auto_detect'){where}"
    )
    relation = runner.run(extract.load_view(rtype), source)
    if parquet is not None:
        # COPY streams to the file; relation.write_parquet can hold the whole result in memory
        con.execute(f"COPY ({relation.sql_query()}) TO {sql_string(str(parquet))} (FORMAT parquet)")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM read_parquet({sql_string(str(parquet))})"
        )
    else:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS {relation.sql_query()}")


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.sql(sql).fetchall()[0][0])


Emit = Callable[[dict[str, Any]], None]


def run(
    export: Export,
    assessor: Assessor,
    steps: Steps,
    cache: Path | None,
    emit: Emit,
    workers: int = 0,
) -> EngineOutput:
    """Screen the export with DuckDB, handing every assessed patient's worklist row to ``emit``.
    ``workers``: processes assessing patients (0: one per core when at least 2,000 patients are
    to be assessed, else one)."""
    scratch = Path(tempfile.mkdtemp(prefix="igwatch-screen-"))
    # A database file and a memory limit: DuckDB spills its tables and sorts to disk instead of
    # growing with the cohort.
    con = duckdb.connect(str(scratch / "screen.duckdb"))
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = {sql_string(str(scratch / 'spill'))}")
    con.execute("SET preserve_insertion_order = false")  # every read that needs an order sorts
    try:
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
        present = extract_views(con, export, steps, cache)
        patients_read, screened, any_kept = _relevant_rows(con, export, present, steps, cache)
        if any_kept:
            changed = "SELECT DISTINCT patient FROM igw_kept"
            results: ResultCache | None = None
            if cache is not None:
                with steps.step("reuse (unchanged patients)", total=1) as advance:
                    results = ResultCache.open(
                        con, cache, settings_key(assessor.as_of, assessor.today, assessor.profile)
                    )
                    _digest_patients(con)
                    results.reuse(DIGESTS, emit)
                    advance(1)
                changed = f"SELECT patient FROM {DIGESTS} ANTI JOIN igw_unchanged USING (patient)"
            with steps.step("assess (per patient)", total=screened, unit="patients") as advance:
                if results is not None:
                    advance(results.hits)
                to_assess = _count(con, f"SELECT count(*) FROM ({changed})")
                if workers <= 0:  # auto: a pool pays for its start-up only on larger cohorts
                    workers = min(2, os.cpu_count() or 1) if to_assess >= AUTO_POOL_PATIENTS else 1
                reader = con.sql(
                    f"SELECT * FROM igw_kept WHERE patient IN ({changed}) ORDER BY {ORDER}"
                ).to_arrow_reader(BATCH_ROWS)
                for patient, row in _assess_chunks(_patient_chunks(reader), assessor, workers, advance):
                    if results is not None:
                        results.put(patient, row)
                    if row is not None:
                        emit(row)
            if results is not None:
                results.save(DIGESTS)
        return EngineOutput(patients_read=patients_read, patients_screened=screened)
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)


KEPT_FILE = "kept.parquet"
KEPT_MANIFEST = "kept.json"


def _relevant_rows(
    con: duckdb.DuckDBPyConnection, export: Export, present: frozenset[str], steps: Steps, cache: Path | None
) -> tuple[int, int, bool]:
    """Keep the records that can matter (``igw_kept``); returns (patients read, patients
    screened, whether any row is kept). With a cache, the kept rows are stored as Parquet and
    reused while every view's input and the filter are unchanged."""
    plan = extract.filter_plan(extract.DUCKDB, extract.vocabulary(), present)
    key = hashlib.sha256(
        json.dumps(
            [[t, export.signature(t), view_key(t)] for t in sorted(present)] + [plan.statements, plan.kept]
        ).encode()
    ).hexdigest()
    stored: dict[str, Any] = {}
    if cache is not None and (cache / KEPT_FILE).exists():
        try:
            stored = json.loads((cache / KEPT_MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = {}
    with steps.step("filter (relevant records)", total=len(plan.statements) + 1) as advance:
        if cache is not None and isinstance(stored, dict) and stored.get("key") == key:
            con.execute(
                "CREATE OR REPLACE TEMP VIEW igw_kept AS "
                f"SELECT * FROM read_parquet({sql_string(str(cache / KEPT_FILE))})"
            )
            advance(len(plan.statements) + 1)
            return int(stored["patients_read"]), int(stored["screened"]), bool(stored["any_kept"])
        for name, select in plan.statements:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}")
            advance(1)
        patients_read = (
            _count(con, f"SELECT count(DISTINCT id) FROM {extract.table_name('Patient')}")
            if "Patient" in present
            else 0
        )
        screened = _count(con, "SELECT count(*) FROM igw_screened")
        if plan.kept:
            union = " UNION ALL BY NAME ".join(f"({part})" for part in plan.kept)
            con.execute(f"CREATE OR REPLACE TEMP TABLE igw_kept AS {union}")
        advance(1)
        if cache is not None and plan.kept:
            con.execute(f"COPY igw_kept TO {sql_string(str(cache / KEPT_FILE))} (FORMAT parquet)")
            (cache / KEPT_MANIFEST).write_text(
                json.dumps(
                    {"key": key, "patients_read": patients_read, "screened": screened, "any_kept": True}
                ),
                encoding="utf-8",
            )
        return patients_read, screened, bool(plan.kept)


DIGESTS = "igw_digest"


def _digest_patients(con: duckdb.DuckDBPyConnection) -> None:
    """Each kept patient's digest of their rows, in :data:`DIGESTS` (patient, digest).

    The digest is computed in SQL, so unchanged patients never leave DuckDB. It is a digest of the
    multiset of rows (the rows are sorted again before use), built from order-free aggregates so
    it streams and spills like any GROUP BY."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {DIGESTS} AS SELECT patient, md5(concat_ws(':', "
        "count(*), sum(hash(k)), bit_xor(hash(k, '#')), sum(hash('#', k)))) AS digest "
        "FROM igw_kept k GROUP BY patient"
    )


def _patient_chunks(reader: pa.RecordBatchReader) -> Iterator[tuple[bytes, int]]:
    """Chunks of whole patients (about :data:`CHUNK_PATIENTS` each) as Arrow IPC bytes with
    their number of patients. IPC keeps the rows columnar across the process boundary: pickling
    Python dicts cost more than assessing them."""
    for table, count in whole_patients(reader, CHUNK_PATIENTS):
        yield _ipc(table), count


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def _assess_chunks(
    chunks: Iterator[tuple[bytes, int]], assessor: Assessor, workers: int, advance: Any
) -> Iterator[Assessed]:
    """Every patient of the chunks, assessed in this process or in ``workers`` worker processes,
    keeping at most ``2 × workers`` chunks in flight so the stream, not the cohort, sets the
    memory."""
    if workers <= 1:
        for data, size in chunks:
            yield from assessor.ipc(data)
            advance(size)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        in_flight: list[tuple[Future[list[Assessed]], int]] = []
        for data, size in chunks:
            in_flight.append((pool.submit(assessor.ipc, data), size))
            while len(in_flight) > 2 * workers:
                future, done = in_flight.pop(0)
                yield from future.result()
                advance(done)
        for future, done in in_flight:
            yield from future.result()
            advance(done)
