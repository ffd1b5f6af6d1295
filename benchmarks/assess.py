"""Parse + assess cost of one patient, in process, on two kinds of record.

- An enriched patient (~300 resources): five years of ofatumumab with an immunoglobulin panel,
  a weight and vital signs every seven weeks. Nearly every record is one igwatch reads: the
  worst case for ingest.
- Every patient of the shared Synthea bulk export (``../shared/real-data/``, read as published):
  records as an EHR holds them, most of which igwatch does not read.

The floor, measured in the same run, is ``json.loads`` of the same bytes (line by line for the
NDJSON of a real patient): the cost of touching the data at all. Results (median, p95, the ratio
to the floor) go to benchmarks/results/assess.json with the machine and the date.

    .venv/bin/python benchmarks/assess.py [--runs 300] [--real-data DIR]
"""

from __future__ import annotations

import argparse
import collections
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
REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "real-data" / "synthea-10-patients"


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


def _paired(floor: Any, measured: Any, runs: int) -> tuple[list[float], list[float]]:
    """Both timed in turn, run after run, so a change in the machine's speed (other load, clock
    scaling) falls on the floor and the measure alike and leaves their ratio alone."""
    floor_samples: list[float] = []
    samples: list[float] = []
    for _ in range(runs):
        floor_samples += _time(floor, 1)
        samples += _time(measured, 1)
    return floor_samples, samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95)], 3),
    }


def real_patients(export: Path) -> list[bytes]:
    """Each patient of a bulk export as the NDJSON of their own records (Patient first)."""
    patients: dict[str, str] = {}
    records: dict[str, list[str]] = collections.defaultdict(list)
    for path in sorted(export.glob("*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            resource = json.loads(line) if line.strip() else None
            if not isinstance(resource, dict) or "resourceType" not in resource:
                continue  # the export's log
            if resource["resourceType"] == "Patient":
                patients[resource["id"]] = line
                continue
            subject = resource.get("subject") or resource.get("patient") or {}
            owner = str(subject.get("reference", "")).rsplit("/", 1)[-1].removeprefix("urn:uuid:")
            records[owner].append(line)
    return ["\n".join([line, *records[pid]]).encode() for pid, line in sorted(patients.items())]


def real_export(export: Path, runs: int, profile: Any) -> dict[str, Any]:
    """Parse + assess against line-by-line ``json.loads``, per patient and for all of them."""
    rows = []
    for data in real_patients(export):

        def floor(data: bytes = data) -> None:
            for line in data.splitlines():
                json.loads(line)

        def parse_and_assess(data: bytes = data) -> None:
            assess(build_timeline(parse_input(data, "patient.ndjson")), AS_OF, profile)

        parse_and_assess()
        floor_samples, samples = _paired(floor, parse_and_assess, runs)
        floor_ms, full_ms = statistics.median(floor_samples), statistics.median(samples)
        rows.append(
            {"resources": data.count(b"\n") + 1, "floor_ms": round(floor_ms, 3), "ms": round(full_ms, 3)}
        )
    total_floor = sum(r["floor_ms"] for r in rows)
    total = sum(r["ms"] for r in rows)
    return {
        "export": export.name,
        "patients": len(rows),
        "resources": sum(r["resources"] for r in rows),
        "parse_and_assess_ms_all_patients": round(total, 2),
        "floor_json_loads_ms_all_patients": round(total_floor, 2),
        "ratio_to_floor": round(total / total_floor, 2),
        "worst_patient_ratio": round(max(r["ms"] / r["floor_ms"] for r in rows), 2),
        "per_patient": sorted(rows, key=lambda r: r["resources"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--real-data", type=Path, default=REAL_DATA, help="a bulk export folder")
    args = parser.parse_args()
    bundle = typical_patient()
    data = json.dumps(bundle).encode()
    profile = load_profile()

    def parse_and_assess() -> None:
        assess(build_timeline(parse_input(data, "bench.json")), AS_OF, profile)

    parse_and_assess()  # warm caches (value sets, unit factors, catalog)
    floor_samples, samples = _paired(lambda: json.loads(data), parse_and_assess, args.runs)
    floor, full = _summary(floor_samples), _summary(samples)
    result = {
        "benchmark": "parse + assess, one patient",
        "resources": len(bundle["entry"]),
        "runs": args.runs,
        "parse_and_assess": full,
        "floor_json_loads": floor,
        "ratio_to_floor": round(full["median_ms"] / floor["median_ms"], 1),
        "real_export": real_export(args.real_data, max(10, args.runs // 5), profile)
        if args.real_data.is_dir()
        else f"not measured: {args.real_data} is not there",
        "target_ratio_to_floor": 2.0,
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
        "date": datetime.now().isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
