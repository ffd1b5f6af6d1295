"""Population screen at scale: ``igwatch screen`` end to end on synthetic cohorts.

For each cohort size (default 25k, 50k, 100k patients, generated once with ``igwatch synth``):

- **floor**: the time DuckDB takes just to read every NDJSON file once, parsing each record
  (``count(json_extract_string(json, '$.resourceType'))`` over ``read_ndjson_objects``): the cost
  of touching the data;
- **duckdb**: ``igwatch screen --engine duckdb`` end to end (wall time, patients/s, ratio to the
  floor) and the peak memory, as the RSS summed over the process tree, sampled every 0.1 s;
- **rescreen**: with ``--since CACHE``: a first screen fills the Parquet cache, the re-screen's
  time is recorded (and its speed-up over the plain screen);
- **spark**: ``igwatch screen --engine spark --spark-master local[2]`` (wall time, patients/s and
  the peak RSS of the tree, the JVM included).

Results go to benchmarks/results/screen.json with the machine and the date; the targets are
DuckDB ≥ 10,000 patients/s and ≤ 2 × the floor, re-screen ≥ 5 × faster, peak ≤ 4 GB.

    .venv/bin/python benchmarks/screen.py [--sizes 25000 50000 100000] [--work DIR] [--no-spark]
        [--in-scope-share 0.01]   # a health system's prevalence (default: the enriched cohort, 31 %);
                                  # results then go to results/screen-in-scope-0.01.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from proctree import tree_rss_bytes

RESULTS = Path(__file__).parent / "results" / "screen.json"
IGWATCH = str(Path(sys.executable).with_name("igwatch"))
AS_OF = "2026-10-15"


def timed(args: list[str]) -> dict[str, Any]:
    """Run a command; wall seconds and the peak RSS of its process tree."""
    env = dict(os.environ, IGWATCH_TODAY=AS_OF)
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({process.returncode}): {err[-2000:]}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 2**20, 1), "stdout": out, "stderr": err}


def floor_seconds(cohort: Path) -> float:
    """DuckDB reading every NDJSON file of the export once."""
    import duckdb

    files = sorted(str(p) for p in cohort.iterdir() if ".ndjson" in p.name)
    listing = "[" + ", ".join("'" + f + "'" for f in files) + "]"
    con = duckdb.connect()
    started = time.perf_counter()
    # every record parsed once (a bare count(*) lets DuckDB skip the JSON parse)
    con.sql(
        "SELECT count(json_extract_string(json, '$.resourceType')) "
        f"FROM read_ndjson_objects({listing}, compression = 'auto_detect')"
    ).fetchall()
    seconds = time.perf_counter() - started
    con.close()
    return round(seconds, 2)


IN_SCOPE: list[str] = []  # ["--in-scope-share", F] when a prevalence is asked for


def cohort_for(work: Path, size: int) -> Path:
    cohort = work / (f"cohort-{size}" + (f"-in-scope-{IN_SCOPE[1]}" if IN_SCOPE else ""))
    if not (cohort / "manifest.json").exists():
        shutil.rmtree(cohort, ignore_errors=True)
        print(f"synth {size:,} patients …", flush=True)
        subprocess.run(
            [
                IGWATCH,
                "synth",
                str(cohort),
                "--patients",
                str(size),
                "--seed",
                "1",
                "--as-of",
                AS_OF,
                "--quiet",
                *IN_SCOPE,
            ],
            check=True,
        )
    return cohort


def screened(args: list[str], out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run a screen writing to ``out``: its :func:`timed` figures and its summary.json."""
    run = timed(args)
    return run, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _throughput(run: dict[str, Any], summary: dict[str, Any], size: int, floor: float) -> dict[str, Any]:
    """An engine's end-to-end figures: time, patients/s, ratio to the floor, peak RSS and steps."""
    return {
        "seconds": run["seconds"],
        "patients_per_s": round(size / run["seconds"]),
        "ratio_to_floor": round(run["seconds"] / floor, 2),
        "peak_rss_mb": run["peak_rss_mb"],
        "steps_s": summary.get("timings_s"),
    }


def measure(work: Path, size: int, spark: bool) -> dict[str, Any]:
    cohort = cohort_for(work, size)
    data_mb = sum(p.stat().st_size for p in cohort.iterdir()) / 2**20
    result: dict[str, Any] = {
        "patients": size,
        "export_mb": round(data_mb, 1),
        # other work on the machine skews every figure: recorded so a reader can tell
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    floor = floor_seconds(cohort)
    result["floor_duckdb_read_s"] = floor
    out = work / f"out-{size}"
    base = [IGWATCH, "screen", str(cohort), "--as-of", AS_OF, "--quiet"]
    duck, summary = screened([*base, "--out", str(out / "duckdb")], out / "duckdb")
    result["duckdb"] = {
        **_throughput(duck, summary, size, floor),
        "patients_in_scope": summary["patients_in_scope"],
        "patients_screened": summary["patients_screened"],
    }
    # What the per-patient engine alone allows: patients/s if reading, extracting and writing
    # cost nothing, and its CPU per screened patient (the assess step runs one process a core).
    assess_s = (summary.get("timings_s") or {}).get("assess (per patient)")
    if assess_s:
        result["duckdb"]["assess_step_only_patients_per_s"] = round(size / assess_s)
        result["duckdb"]["assess_cpu_ms_per_screened_patient"] = round(
            1000 * assess_s * min(2, os.cpu_count() or 1) / summary["patients_screened"], 2
        )
    print(f"{size:,}: duckdb {duck['seconds']} s (floor {floor} s)", flush=True)
    cache = work / f"cache-{size}"
    shutil.rmtree(cache, ignore_errors=True)
    first = timed([*base, "--out", str(out / "cached-first"), "--since", str(cache)])
    again, again_summary = screened(
        [*base, "--out", str(out / "cached-again"), "--since", str(cache)], out / "cached-again"
    )
    result["rescreen"] = {
        "first_with_cache_s": first["seconds"],
        "seconds": again["seconds"],
        "speedup_vs_duckdb": round(duck["seconds"] / again["seconds"], 2),
        "peak_rss_mb": again["peak_rss_mb"],
        "steps_s": again_summary.get("timings_s"),
    }
    print(f"{size:,}: re-screen {again['seconds']} s", flush=True)
    if spark:
        run, spark_summary = screened(
            [*base, "--engine", "spark", "--spark-master", "local[2]", "--out", str(out / "spark")],
            out / "spark",
        )
        result["spark_local2"] = _throughput(run, spark_summary, size, floor)
        print(f"{size:,}: spark {run['seconds']} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/igwatch-screen-bench"))
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument(
        "--spark-sizes", type=int, nargs="*", default=None, help="sizes to run Spark on (default all)"
    )
    parser.add_argument("--in-scope-share", type=float, default=None, help="synth --in-scope-share")
    args = parser.parse_args()
    global RESULTS
    if args.in_scope_share is not None:
        IN_SCOPE.extend(["--in-scope-share", f"{args.in_scope_share:g}"])
        RESULTS = RESULTS.with_name(f"screen-in-scope-{args.in_scope_share:g}.json")
    args.work.mkdir(parents=True, exist_ok=True)
    runs = []
    for size in args.sizes:
        spark = not args.no_spark and (args.spark_sizes is None or size in args.spark_sizes)
        runs.append(measure(args.work, size, spark))
        _write(runs)
    print(json.dumps(_write(runs)["targets"], indent=2))


def _write(runs: list[dict[str, Any]]) -> dict[str, Any]:
    largest = runs[-1]
    duck = largest["duckdb"]
    report = {
        "benchmark": "igwatch screen, end to end, synthetic bulk export (igwatch synth --seed 1"
        + (f" {' '.join(IN_SCOPE)})" if IN_SCOPE else ")"),
        "runs": runs,
        "targets": {
            "duckdb_patients_per_s": {"target": 10_000, "measured": duck["patients_per_s"]},
            "duckdb_ratio_to_floor": {"target": 2.0, "measured": duck["ratio_to_floor"]},
            "rescreen_speedup": {"target": 5.0, "measured": largest["rescreen"]["speedup_vs_duckdb"]},
            "peak_rss_mb": {"target": 4096, "measured": duck["peak_rss_mb"]},
            "peak_rss_mb_by_size": {str(r["patients"]): r["duckdb"]["peak_rss_mb"] for r in runs},
            "rescreen_peak_rss_mb_by_size": {str(r["patients"]): r["rescreen"]["peak_rss_mb"] for r in runs},
            "assess_step_only_patients_per_s": duck.get("assess_step_only_patients_per_s"),
            "rescreen_speedup_by_size": {
                str(r["patients"]): r["rescreen"]["speedup_vs_duckdb"] for r in runs
            },
            "spark_local2_patients_per_s_by_size": {
                str(r["patients"]): r["spark_local2"]["patients_per_s"] for r in runs if "spark_local2" in r
            },
        },
        "machine": f"{platform.machine()} {os.cpu_count()} cores python {platform.python_version()}",
        "date": datetime.now().isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
