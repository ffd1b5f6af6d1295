"""What the screen's per-patient step costs, stage by stage: is the FHIR round trip worth removing?

The DuckDB screen hands each screened patient's extracted rows to ingest's own ``build_timeline``
by way of FHIR-shaped dicts (``population/rows.py``), so that the screen and ``assess`` give the
same answers by construction. This measures, on the rows a real screen keeps (a cohort's
extract and relevance filter are run first, as ``igwatch screen`` runs them), the time of each
stage for every screened patient, in one process:

- Arrow → row dicts (``patient_groups``);
- row dicts → FHIR dicts (``resources_from_rows``): the round trip, what building the timeline
  straight from the columns would save (any Python step reads the columns into values);
- ``build_timeline`` (ingest);
- ``assess``;
- the worklist row.

It also records the whole screen's step times from the same extract, so the round trip can be
put against the end-to-end time. Results go to benchmarks/results/screen-round-trip.json.

    .venv/bin/python benchmarks/screen_round_trip.py [COHORT]
        (default: /tmp/igwatch-screen-bench/cohort-100000-in-scope-0.01, made by benchmarks/screen.py)
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from igwatch.engine import assess
from igwatch.fhir.ingest import build_timeline
from igwatch.knowledge.profile import load_profile
from igwatch.population.assessor import patient_groups
from igwatch.population.duckdb_executor import MEMORY_LIMIT, ORDER, _relevant_rows, extract_views
from igwatch.population.export import find_export
from igwatch.population.progress import Steps
from igwatch.population.rows import resources_from_rows
from igwatch.population.worklist import patient_row

RESULTS = Path(__file__).parent / "results" / "screen-round-trip.json"
DEFAULT_COHORT = Path("/tmp/igwatch-screen-bench/cohort-100000-in-scope-0.01")
AS_OF = date(2026, 10, 15)


def kept_rows(cohort: Path) -> tuple[Any, dict[str, float], int]:
    """The screen's kept rows (an Arrow table ordered as the screen reads them), its step
    timings, and the number of patients read."""
    scratch = Path(tempfile.mkdtemp(prefix="igwatch-round-trip-"))
    try:
        con = duckdb.connect(str(scratch / "screen.duckdb"))
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("SET preserve_insertion_order = false")
        export = find_export(cohort)
        steps = Steps(show=False)
        present = extract_views(con, export, steps, None)
        patients_read, _screened, _any = _relevant_rows(con, export, present, steps, None)
        table = con.sql(f"SELECT * FROM igw_kept ORDER BY {ORDER}").to_arrow_table()
        con.close()
        return table, steps.timings, patients_read
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cohort", nargs="?", type=Path, default=DEFAULT_COHORT)
    args = parser.parse_args()
    if not (args.cohort / "manifest.json").exists():
        raise SystemExit(f"{args.cohort}: no cohort there (benchmarks/screen.py makes it)")
    table, step_timings, patients_read = kept_rows(args.cohort)
    profile = load_profile()
    clock = time.perf_counter
    stages: dict[str, float] = defaultdict(float)
    started = clock()
    groups = list(patient_groups(table, ordered=True))
    stages["arrow_to_row_dicts"] = clock() - started
    for patient, rows in groups:  # one patient at a time, as the screen's workers do
        t0 = clock()
        resources = resources_from_rows(rows)
        t1 = clock()
        timeline = build_timeline(resources, patient)
        t2 = clock()
        assessment = assess(timeline, AS_OF, profile)
        t3 = clock()
        patient_row(assessment)
        t4 = clock()
        stages["row_dicts_to_fhir_dicts"] += t1 - t0
        stages["build_timeline"] += t2 - t1
        stages["assess"] += t3 - t2
        stages["worklist_row"] += t4 - t3
    total = clock() - started
    screened = len(groups)
    # Any Python step reads the Arrow columns into Python values; what a timeline built straight
    # from the columns would save is the FHIR-shaped dicts in between.
    round_trip = stages["row_dicts_to_fhir_dicts"]
    screen_total = sum(step_timings.values())
    result = {
        "benchmark": "the DuckDB screen's per-patient step, stage by stage (one process)",
        "cohort": args.cohort.name,
        "patients_read": patients_read,
        "patients_screened": screened,
        "kept_rows": table.num_rows,
        "stages": {
            name: {
                "seconds": round(seconds, 2),
                "ms_per_screened_patient": round(1000 * seconds / screened, 3),
                "share": round(seconds / total, 3),
            }
            for name, seconds in stages.items()
        },
        "per_patient_step_cpu_s": round(total, 2),
        "round_trip_cpu_s": round(round_trip, 2),
        "round_trip_share_of_step": round(round_trip / total, 3),
        "screen_steps_before_assess_s": {k: round(v, 2) for k, v in step_timings.items()},
        # The screen assesses on both cores: the round trip's wall time is about half its CPU time.
        "round_trip_share_of_screen_estimate": round((round_trip / 2) / (screen_total + total / 2), 3),
        "machine": f"{platform.machine()} python {platform.python_version()}",
        "date": datetime.now().isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
