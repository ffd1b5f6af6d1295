"""Benchmark: parse + build the Timeline of one synthetic ~300-resource patient, in process.

Run: ``python benchmarks/ingest.py [--runs N] [--out results.json]``. Prints the median and percentiles of
``parse_input`` + ``build_timeline`` (and of each alone) over N runs, after a warm-up run that loads
the value sets and the UCUM registry (one-off costs, reported separately).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import date, timedelta
from typing import Any

from igwatch.fhir.ingest import build_timeline, parse_input

PATIENT = "bench-patient"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"


def _obs(n: int, when: date, system: str, code: str, display: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"obs-{n}",
        "status": "final",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": when.isoformat(),
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        "referenceRange": [{"low": {"value": 40, "unit": unit, "system": UCUM, "code": unit}}],
    }


def synthetic_bundle(size: int = 300, seed: int = 7) -> dict[str, Any]:
    """One patient: Ig panels over years, weights, CD19, background labs, infections, meds, vaccines."""
    rng = random.Random(seed)
    start = date(2019, 1, 1)
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{PATIENT}",
            "resource": {
                "resourceType": "Patient",
                "id": PATIENT,
                "gender": "female",
                "birthDate": "1980-02-03",
            },
        }
    ]
    n = 0

    def add(resource: dict[str, Any]) -> None:
        entries.append(
            {
                "fullUrl": f"https://ehr.example.org/fhir/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
            }
        )

    background = [
        ("718-7", "Hemoglobin", "g/dL"),
        ("2160-0", "Creatinine", "mg/dL"),
        ("6690-2", "Leukocytes", "10*3/uL"),
        ("777-3", "Platelets", "10*3/uL"),
        ("1742-6", "ALT", "U/L"),
        ("2345-7", "Glucose", "mg/dL"),
    ]
    panel = [("2465-3", "IgG", "mg/dL", 900), ("2472-9", "IgM", "g/L", 0.5), ("2458-8", "IgA", "mg/dL", 150)]
    while len(entries) < size * 0.55:
        when = start + timedelta(days=rng.randrange(0, 7 * 365))
        for code, display, unit, base in panel:
            n += 1
            add(_obs(n, when, LOINC, code, display, round(base * rng.uniform(0.4, 1.3), 2), unit))
        n += 1
        add(_obs(n, when, LOINC, "29463-7", "Body weight", round(rng.uniform(60, 90), 1), "kg"))
        n += 1
        add(_obs(n, when, LOINC, "8116-6", "CD19 cells", rng.randrange(0, 300), "/uL"))
        for code, display, unit in background:
            n += 1
            add(_obs(n, when, LOINC, code, display, round(rng.uniform(1, 100), 1), unit))
    add(
        {
            "resourceType": "Encounter",
            "id": "enc-1",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": f"urn:uuid:{PATIENT}"},
        }
    )
    infections = ["233607000", "91428005", "36971009", "65363002", "32398004", "68566005", "195662009"]
    while len(entries) < size * 0.8:
        n += 1
        when = start + timedelta(days=rng.randrange(0, 7 * 365))
        add(
            {
                "resourceType": "Condition",
                "id": f"cond-{n}",
                "subject": {"reference": f"urn:uuid:{PATIENT}"},
                "clinicalStatus": {"coding": [{"code": "resolved"}]},
                "verificationStatus": {"coding": [{"code": "confirmed"}]},
                "code": {"coding": [{"system": SNOMED, "code": rng.choice(infections)}]},
                "onsetDateTime": when.isoformat(),
                "abatementDateTime": (when + timedelta(days=10)).isoformat(),
                "severity": {"coding": [{"system": SNOMED, "code": "24484000"}]},
                "encounter": {"reference": "Encounter/enc-1"},
            }
        )
    meds = [
        ("712566", "ofatumumab"),
        ("723", "amoxicillin"),
        ("18631", "azithromycin"),
        ("860975", "metformin"),
    ]
    while len(entries) < size * 0.95:
        n += 1
        code, display = rng.choice(meds)
        when = start + timedelta(days=rng.randrange(0, 7 * 365))
        add(
            {
                "resourceType": "MedicationRequest",
                "id": f"mr-{n}",
                "status": "completed",
                "intent": "order",
                "subject": {"reference": f"Patient/{PATIENT}"},
                "authoredOn": when.isoformat(),
                "medicationCodeableConcept": {
                    "coding": [{"system": RXNORM, "code": code, "display": display}]
                },
                "dosageInstruction": [
                    {
                        "timing": {
                            "repeat": {
                                "frequency": 2,
                                "period": 1,
                                "periodUnit": "d",
                                "boundsPeriod": {"start": when.isoformat()},
                            }
                        }
                    }
                ],
            }
        )
    while len(entries) < size:
        n += 1
        add(
            {
                "resourceType": "Immunization",
                "id": f"imm-{n}",
                "status": "completed",
                "patient": {"reference": f"Patient/{PATIENT}"},
                "occurrenceDateTime": "2024-10-01",
                "vaccineCode": {
                    "coding": [
                        {"system": "http://hl7.org/fhir/sid/cvx", "code": rng.choice(["33", "141", "208"])}
                    ]
                },
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--out", help="also write the results as JSON to this file")
    args = parser.parse_args()
    data = json.dumps(synthetic_bundle(args.size)).encode()

    t0 = time.perf_counter()
    resources = parse_input(data, "bench.json")
    timeline = build_timeline(resources)
    first = time.perf_counter() - t0

    parse_times, build_times, total_times = [], [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        resources = parse_input(data, "bench.json")
        t1 = time.perf_counter()
        timeline = build_timeline(resources)
        t2 = time.perf_counter()
        parse_times.append(t1 - t0)
        build_times.append(t2 - t1)
        total_times.append(t2 - t0)

    def ms(values: list[float]) -> str:
        q = statistics.quantiles(values, n=20)
        return f"median {statistics.median(values) * 1e3:.2f} ms, p5 {q[0] * 1e3:.2f}, p95 {q[-1] * 1e3:.2f}"

    print(f"resources: {len(resources)} ({len(data) / 1024:.0f} KiB JSON); runs: {args.runs}")
    print(
        f"timeline: {len(timeline.labs)} labs, {len(timeline.infections)} infections, "
        f"{len(timeline.medications)} medications, {len(timeline.vaccinations)} vaccinations, "
        f"{len(timeline.data_issues)} data issues"
    )
    print(f"first run (loads value sets and the UCUM registry): {first * 1e3:.1f} ms")
    print(f"parse_input:              {ms(parse_times)}")
    print(f"build_timeline:           {ms(build_times)}")
    print(f"parse_input + build:      {ms(total_times)}")
    if args.out:
        result = {
            "benchmark": "ingest",
            "resources": len(resources),
            "runs": args.runs,
            "first_run_ms": round(first * 1e3, 3),
            "median_ms": {
                "parse_input": round(statistics.median(parse_times) * 1e3, 3),
                "build_timeline": round(statistics.median(build_times) * 1e3, 3),
                "total": round(statistics.median(total_times) * 1e3, 3),
            },
        }
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
            handle.write("\n")


if __name__ == "__main__":
    main()
