"""Parse + assess cost of a typical patient (~300 resources), in process.

The floor, measured in the same run, is ``json.loads`` of the same bytes: the cost of touching
the data at all. Results (median, p95, and the ratio to the floor) go to
benchmarks/results/assess.json with the machine and the date.

    .venv/bin/python benchmarks/assess.py [--runs 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from igwatch.engine import assess
from igwatch.fhir.ingest import build_timeline, parse_input
from igwatch.knowledge.profile import load_profile

AS_OF = date(2026, 10, 15)
RESULTS = Path(__file__).parent / "results" / "assess.json"


def _obs(i: int, day: date, loinc: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o{i}",
        "status": "final",
        "subject": {"reference": "Patient/bench"},
        "effectiveDateTime": day.isoformat(),
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }


def typical_patient() -> dict[str, Any]:
    """Five years of an MS patient on ofatumumab: panels, vitals, other labs, infections, meds."""
    entries: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "bench", "gender": "female", "birthDate": "1980-03-02"}
    ]
    i = 0
    day = AS_OF - timedelta(days=5 * 365)
    while day <= AS_OF:  # a visit every ~7 weeks
        for loinc, value, unit in (
            ("2465-3", 900, "mg/dL"),
            ("2472-9", 0.4, "g/L"),
            ("2458-8", 130, "mg/dL"),
            ("29463-7", 72, "kg"),
            ("8867-4", 70, "/min"),
            ("2345-7", 95, "mg/dL"),
            ("718-7", 13.5, "g/dL"),
        ):
            i += 1
            entries.append(_obs(i, day, loinc, value, unit))
        day += timedelta(days=50)
    for n in range(12):
        entries.append(
            {
                "resourceType": "Condition",
                "id": f"c{n}",
                "subject": {"reference": "Patient/bench"},
                "clinicalStatus": {"coding": [{"code": "resolved"}]},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "36971009"}]},
                "onsetDateTime": (AS_OF - timedelta(days=140 * n + 20)).isoformat(),
            }
        )
    entries.append(
        {
            "resourceType": "MedicationStatement",
            "id": "ofa",
            "status": "active",
            "subject": {"reference": "Patient/bench"},
            "medicationCodeableConcept": {
                "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "712566"}]
            },
            "effectivePeriod": {"start": "2021-09-01"},
        }
    )
    for n in range(40):
        entries.append(
            {
                "resourceType": "MedicationAdministration",
                "id": f"ma{n}",
                "status": "completed",
                "subject": {"reference": "Patient/bench"},
                "effectiveDateTime": (AS_OF - timedelta(days=28 * n)).isoformat(),
                "medicationCodeableConcept": {"text": "Kesimpta 20 mg"},
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in entries]}


def _time(fn: Any, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95)], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    bundle = typical_patient()
    data = json.dumps(bundle).encode()
    profile = load_profile()

    def parse_and_assess() -> None:
        assess(build_timeline(parse_input(data, "bench.json")), AS_OF, profile)

    parse_and_assess()  # warm caches (value sets, unit factors, catalog)
    floor = _summary(_time(lambda: json.loads(data), args.runs))
    full = _summary(_time(parse_and_assess, args.runs))
    result = {
        "benchmark": "parse + assess, one patient",
        "resources": len(bundle["entry"]),
        "runs": args.runs,
        "parse_and_assess": full,
        "floor_json_loads": floor,
        "ratio_to_floor": round(full["median_ms"] / floor["median_ms"], 1),
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
        "date": datetime.now().isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
