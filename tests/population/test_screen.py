"""``igwatch screen`` on hand-made exports: worklist content, parity with ``assess``, the Parquet
cache, the summary figures, and refusals of bad input.

The hand-made export is every vignette of ``tests/vignettes/cases`` (as of 2026-10-15, default
profile) written as a bulk export: each case is one patient, with resource ids made unique.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from igwatch.engine import assess
from igwatch.fhir.ingest import build_timeline
from igwatch.knowledge.profile import load_profile
from igwatch.population import duckdb_executor
from igwatch.population.screen import ScreenOptions, screen
from igwatch.worklist import FLAG_KEYS
from tests.population.exports import bundle_resources, patient_bundles, write_export

AS_OF = date(2026, 10, 15)
CASES = Path(__file__).resolve().parents[1] / "vignettes" / "cases"
IGWATCH = str(Path(sys.executable).with_name("igwatch"))


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(CASES.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        if case.get("as_of") == AS_OF.isoformat() and case.get("profile") == "default" and "bundle" in case:
            out.append((path.stem, case))
    return out


def expected(resources: list[dict[str, Any]], patient_id: str | None = None) -> dict[str, Any]:
    """What ``assess`` says about a patient's own records, in the worklist's ``details`` form."""
    result = assess(build_timeline(resources, patient_id), AS_OF, load_profile("default"), today=AS_OF)
    return {
        "recommendations": [
            {"id": r.id, "priority": r.priority, "reasons": [x.to_dict() for x in r.reasons]}
            for r in result.recommendations
        ],
        "monitoring": [m.to_dict() for m in result.monitoring],
    }


def details_by_patient(out: Path) -> dict[str, Any]:
    rows = pq.read_table(out / "worklist.parquet").to_pylist()
    return {r["patient_id"]: json.loads(r["details"]) for r in rows}


NOTHING = {"recommendations": [], "monitoring": []}


@pytest.fixture(scope="module")
def vignette_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vignette-export")
    write_export([bundle_resources(case["bundle"], name) for name, case in _cases()], out)
    return out


def options(out: Path, **extra: Any) -> ScreenOptions:
    return ScreenOptions(
        as_of=AS_OF, profile=load_profile("default"), out_dir=out, today=AS_OF, show_progress=False, **extra
    )


@pytest.fixture(scope="module")
def vignette_screen(vignette_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vignette-worklist")
    screen(vignette_export, options(out))
    return out


def test_every_vignette_gets_the_same_answer_as_assess(vignette_export: Path, vignette_screen: Path) -> None:
    got = details_by_patient(vignette_screen)
    bundles = patient_bundles(vignette_export)
    differ = [pid for pid, resources in bundles.items() if got.get(pid, NOTHING) != expected(resources, pid)]
    assert len(bundles) == len(_cases())
    assert differ == []


def test_worklist_rows_and_columns(vignette_screen: Path) -> None:
    rows = {r["patient_id"]: r for r in pq.read_table(vignette_screen / "worklist.parquet").to_pylist()}
    # both populations, on ofatumumab with IgRT, IgG trough overdue (see the vignette's expectations)
    row = rows["pat-v-review-both-populations-ofa-current"]
    assert row["populations"] == "D;K"
    assert row["in_scope"] is True
    assert row["recommendations"].split(";")[0] == "monitor.ig-due"  # catalog order, not priority
    assert "monitor.igg-trough=warning" in row["recommendation_priorities"].split(";")
    assert row["top_priority"] == "warning"
    assert row["igg_trough_due"] == date(2026, 10, 1) and row["igg_trough_overdue"] is True
    assert row["ig_panel_due"] == date(2027, 3, 1) and row["ig_panel_overdue"] is False
    assert (row["igg_mg_dl"], row["igm_mg_dl"], row["iga_mg_dl"]) == (700.0, 20.0, 120.0)
    assert row["igm_date"] == date(2026, 9, 1) and row["igm_state"] == "low"
    assert row["ofatumumab_status"] == "current" and row["igrt_status"] == "current"
    assert row["b_cell_status"] == "presumed-depleted"
    # the same flags the web worklist filters on
    assert row["overdue"] is True and row["igrt_criteria"] is False and row["active_infection"] is False
    flagged = {key: {pid for pid, r in rows.items() if r[key]} for key in FLAG_KEYS}
    assert "pat-v-live-vaccine-on-therapy" in flagged["live_vaccine"]
    assert all("vaccine.live-avoid" in rows[pid]["recommendations"] for pid in flagged["live_vaccine"])
    assert all("igrt.start" in rows[pid]["recommendations"] for pid in flagged["igrt_criteria"])
    assert flagged["active_infection"] and flagged["review_ofatumumab"]
    # a patient in neither population is not on the worklist
    assert "pat-v-not-applicable-ms-only" not in rows
    assert all(r["in_scope"] for r in rows.values())


def test_csv_matches_parquet_with_empty_and_boolean_text(vignette_screen: Path) -> None:
    table = pq.read_table(vignette_screen / "worklist.parquet")
    with (vignette_screen / "worklist.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["patient_id"] for r in rows] == table.column("patient_id").to_pylist()
    row = next(r for r in rows if r["patient_id"] == "pat-v-review-both-populations-ofa-current")
    assert row["igg_trough_overdue"] == "true" and row["ig_panel_overdue"] == "false"
    assert row["cd19_due"] == "" and row["igg_mg_dl"] == "700"
    assert {r["in_scope"] for r in rows} == {"true"}


def test_summary_counts_agree_with_the_worklist(vignette_screen: Path) -> None:
    summary = json.loads((vignette_screen / "summary.json").read_text(encoding="utf-8"))
    rows = pq.read_table(vignette_screen / "worklist.parquet").to_pylist()
    assert summary["patients_read"] == len(_cases())
    assert summary["patients_in_scope"] == len(rows)
    for rec_id, count in summary["recommendation_counts"].items():
        assert count == sum(rec_id in r["recommendations"].split(";") for r in rows)
    igm = summary["real_world"]["igm_below_limit_on_ofatumumab"]
    on_ofa = [r for r in rows if r["ofatumumab_status"] == "current"]
    assert igm["patients_on_ofatumumab"] == len(on_ofa)
    assert igm["below_limit"] == sum(r["igm_state"] == "low" for r in on_ofa)
    assert igm["trial"]["share"] == 0.143
    assert (vignette_screen / "summary.md").read_text(encoding="utf-8").startswith("# Population screen")


def test_since_cache_rescreen_gives_the_same_worklist_without_reading_json_or_reassessing(
    vignette_export: Path, vignette_screen: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    screen(vignette_export, options(tmp_path / "first", cache_dir=cache))
    assert (cache / "manifest.json").exists() and list(cache.glob("*.parquet"))

    def no_json_scan(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the re-screen ran a view over the JSON instead of the cache")

    def no_assess(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the re-screen assessed a patient whose records did not change")

    monkeypatch.setattr(duckdb_executor.DuckDBViewRunner, "run", no_json_scan)
    monkeypatch.setattr(duckdb_executor.Assessor, "__call__", no_assess)
    screen(vignette_export, options(tmp_path / "second", cache_dir=cache))
    first = pq.read_table(tmp_path / "first" / "worklist.parquet")
    second = pq.read_table(tmp_path / "second" / "worklist.parquet")
    assert second.equals(first)
    assert first.equals(pq.read_table(vignette_screen / "worklist.parquet"))


def test_a_changed_file_is_extracted_again(vignette_export: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    shutil.copytree(vignette_export, export)
    cache = tmp_path / "cache"
    screen(export, options(tmp_path / "first", cache_dir=cache))
    # drop every IgM result: the cached Observation view must not be reused
    observations = export / "Observation.ndjson"
    kept = [line for line in observations.read_text(encoding="utf-8").splitlines() if '"2472-9"' not in line]
    observations.write_text("\n".join(kept) + "\n", encoding="utf-8")
    screen(export, options(tmp_path / "second", cache_dir=cache))
    rows = pq.read_table(tmp_path / "second" / "worklist.parquet").to_pylist()
    assert all(r["igm_mg_dl"] is None for r in rows)


def count_assessments(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, every patient the DuckDB engine assesses is appended to the returned list."""
    assessed: list[str] = []
    real_call = duckdb_executor.Assessor.__call__

    def counting(self: Any, patient_id: str, rows: list[dict[str, Any]]) -> Any:
        assessed.append(patient_id)
        return real_call(self, patient_id, rows)

    monkeypatch.setattr(duckdb_executor.Assessor, "__call__", counting)
    return assessed


def test_a_rescreen_reassesses_only_the_patient_whose_records_changed(
    vignette_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / "export"
    shutil.copytree(vignette_export, export)
    cache = tmp_path / "cache"
    screen(export, options(tmp_path / "first", cache_dir=cache))
    observations = export / "Observation.ndjson"
    lines = observations.read_text(encoding="utf-8").splitlines()
    igm = next(i for i, line in enumerate(lines) if '"2472-9"' in line)
    changed_patient = json.loads(lines[igm])["subject"]["reference"].removeprefix("Patient/")
    del lines[igm]
    observations.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assessed = count_assessments(monkeypatch)
    screen(export, options(tmp_path / "second", cache_dir=cache))
    assert assessed == [changed_patient]
    fresh = screen(export, options(tmp_path / "fresh"))
    assert pq.read_table(tmp_path / "second" / "worklist.parquet").equals(
        pq.read_table(tmp_path / "fresh" / "worklist.parquet")
    )
    assert (
        fresh.summary["recommendation_counts"]
        == json.loads((tmp_path / "second" / "summary.json").read_text(encoding="utf-8"))[
            "recommendation_counts"
        ]
    )


def test_an_unreadable_result_cache_means_assessing_everyone_again_and_is_rewritten(
    vignette_export: Path, vignette_screen: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first = screen(vignette_export, options(tmp_path / "first", cache_dir=cache))
    (cache / "results.parquet").write_bytes(b"not parquet")
    assessed = count_assessments(monkeypatch)
    screen(vignette_export, options(tmp_path / "second", cache_dir=cache))
    assert len(assessed) == first.summary["patients_screened"] > 300
    assert pq.read_table(tmp_path / "second" / "worklist.parquet").equals(
        pq.read_table(vignette_screen / "worklist.parquet")
    )
    assessed.clear()
    screen(vignette_export, options(tmp_path / "third", cache_dir=cache))
    assert assessed == []
    assert pq.read_table(tmp_path / "third" / "worklist.parquet").equals(
        pq.read_table(vignette_screen / "worklist.parquet")
    )


@pytest.mark.spark
def test_spark_with_a_since_directory_keeps_its_work_there_and_answers_as_duckdb(
    vignette_export: Path, vignette_screen: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    for run_dir in ("first", "second"):  # the second reads the views from the cache
        screen(
            vignette_export,
            options(tmp_path / run_dir, engine="spark", spark_master="local[1]", cache_dir=cache),
        )
        assert pq.read_table(tmp_path / run_dir / "worklist.parquet").equals(
            pq.read_table(vignette_screen / "worklist.parquet")
        )
    assert not list(cache.glob("igwatch-spark-*"))  # the executors' results are cleaned up
    assert (cache / "observation.spark.parquet").is_dir()


def test_pool_of_two_workers_gives_the_same_worklist(
    vignette_export: Path, vignette_screen: Path, tmp_path: Path
) -> None:
    screen(vignette_export, options(tmp_path, workers=2))
    assert pq.read_table(tmp_path / "worklist.parquet").equals(
        pq.read_table(vignette_screen / "worklist.parquet")
    )


# --------------------------------------------------------------------------------------------
# The command line: refusals and a gzipped, split export
# --------------------------------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("IGWATCH_DEBUG", "FORCE_COLOR")}
    env["IGWATCH_TODAY"] = AS_OF.isoformat()
    return subprocess.run([IGWATCH, *args], capture_output=True, text=True, env=env, timeout=300)


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("igwatch: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.parametrize("pair", ["spark.driver.memory", "=4g", "  =x"])
def test_a_spark_setting_that_is_not_key_value_is_refused(
    vignette_export: Path, tmp_path: Path, pair: str
) -> None:
    result = run(
        "screen",
        str(vignette_export),
        "--engine",
        "spark",
        "--spark-conf",
        pair,
        "--out",
        str(tmp_path / "o"),
    )
    assert_refused(result, "--spark-conf", "KEY=VALUE")
    assert not (tmp_path / "o").exists()


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    assert_refused(
        run("screen", str(tmp_path / "nope"), "--out", str(tmp_path / "out")), "nope", "no such directory"
    )


def test_directory_without_ndjson_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    assert_refused(run("screen", str(tmp_path), "--out", str(tmp_path / "out")), "no NDJSON files")


def test_corrupt_line_is_refused_naming_file_and_line(vignette_export: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    shutil.copytree(vignette_export, export)
    lines = (export / "Condition.ndjson").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][: len(lines[2]) // 2]  # a truncated record
    (export / "Condition.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert_refused(run("screen", str(export), "--out", str(out)), "Condition.ndjson line 3", "not valid JSON")
    assert not (out / "worklist.csv").exists()


def test_gzipped_split_export_gives_the_same_worklist(
    vignette_export: Path, vignette_screen: Path, tmp_path: Path
) -> None:
    import gzip

    export = tmp_path / "export"
    export.mkdir()
    for path in vignette_export.glob("*.ndjson"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        half = len(lines) // 2
        rtype = path.stem
        (export / f"{rtype}.ndjson.gz").write_bytes(gzip.compress("".join(lines[:half]).encode()))
        (export / f"{rtype}_2.ndjson").write_text("".join(lines[half:]), encoding="utf-8")
    result = run("screen", str(export), "--out", str(tmp_path / "out"), "--as-of", AS_OF.isoformat())
    assert result.returncode == 0, result.stderr
    assert pq.read_table(tmp_path / "out" / "worklist.parquet").equals(
        pq.read_table(vignette_screen / "worklist.parquet")
    )
