"""Rebuild the demo cohort shipped in src/igwatch/web/demo/ from the clinical vignettes.

    .venv/bin/python -m tests.web.build_demo

Picks, among the vignettes written for the demo day with the default profile, a set whose
assessments together fire every catalog id (greedy set cover, richest records first), then adds
the shared examples and the shipped example patient, which have result histories for the chart.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from igwatch.engine import assess
from igwatch.fhir.ingest import build_timeline
from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import load_profile
from igwatch.web.demo import BUNDLES_DIR, DEMO_AS_OF, DEMO_DIR, record_firable

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "vignettes" / "cases"
SHARED = ROOT / "tests" / "vignettes" / "shared"
EXAMPLE = ROOT / "examples" / "ofatumumab-recurrent-hib.json"
TARGET_SIZE = 32
# Invented names, so the demo worklist reads like a clinic list (the vignettes share a few).
GIVEN = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kemi",
    "Luca",
    "Maya",
    "Nils",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Arjun",
    "Bea",
    "Carlos",
    "Dana",
    "Emil",
    "Fatima",
    "Gil",
    "Hana",
    "Ivo",
    "Jade",
]
FAMILY = [
    "Adler",
    "Brandt",
    "Costa",
    "Dietrich",
    "Eriksen",
    "Fontaine",
    "Garcia",
    "Haddad",
    "Ibsen",
    "Jansen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Quint",
    "Rossi",
    "Schmid",
    "Tanaka",
    "Ulrich",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmer",
]


def fired(bundle: dict[str, object]) -> tuple[list[str], str]:
    resources = [e["resource"] for e in bundle["entry"]]  # type: ignore[index]
    patient = next(r["id"] for r in resources if r.get("resourceType") == "Patient")
    result = assess(build_timeline(resources, patient), DEMO_AS_OF, load_profile("default"))
    return result.recommendation_ids, patient


def with_unique_ids(bundle: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The bundle with every non-Patient resource id prefixed and references rewritten.

    Vignettes reuse ids such as ``Observation/obs-1``; in one store a resource id is unique per
    type, so the demo patients' records must not share them.
    """
    renamed: dict[str, str] = {}
    for entry in bundle.get("entry", []):
        resource = entry.get("resource", {})
        kind, rid = resource.get("resourceType"), resource.get("id")
        if kind and rid and kind != "Patient":
            renamed[f"{kind}/{rid}"] = f"{kind}/{prefix}-{rid}"

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            for old, new in renamed.items():
                if value == old or value.endswith("/" + old):
                    return value[: len(value) - len(old)] + new
        return value

    copy: dict[str, Any] = walk(bundle)
    for entry in copy.get("entry", []):
        resource = entry.get("resource", {})
        key = f"{resource.get('resourceType')}/{resource.get('id')}"
        if key in renamed:
            resource["id"] = renamed[key].split("/", 1)[1]
    return copy


def candidates() -> list[tuple[str, dict[str, object]]]:
    found = []
    for path in sorted(CASES.glob("*.json")) + sorted(SHARED.glob("*.json")):
        case = json.loads(path.read_text())
        if (
            "bundle" in case
            and case.get("as_of") == DEMO_AS_OF.isoformat()
            and case.get("profile") == "default"
        ):
            found.append((case["name"], case["bundle"]))
    return found


def main() -> None:
    # Ids that only order-select / order-sign fire cannot come from a stored record.
    catalog = [rec_id for rec_id, entry in knowledge().catalog.items() if record_firable(entry.fires_when)]
    pool = []
    for name, bundle in candidates():
        ids, patient = fired(bundle)
        pool.append((name, bundle, set(ids), patient))
    chosen: dict[str, tuple[dict[str, object], set[str], str]] = {}
    # The shared examples and the shipped example first: they read like real records.
    for name, bundle, ids, patient in pool:
        if name.startswith("p"):
            chosen[name] = (bundle, ids, patient)
    example = json.loads(EXAMPLE.read_text())
    ids, patient = fired(example)
    chosen["example-ofatumumab-recurrent-hib"] = (example, set(ids), patient)
    uncovered = set(catalog) - set().union(*(c[1] for c in chosen.values()))
    while uncovered:
        name, bundle, ids, patient = max(
            (p for p in pool if p[0] not in chosen),
            key=lambda p: (len(p[2] & uncovered), len(p[2]), len(json.dumps(p[1]))),
        )
        if not ids & uncovered:
            raise SystemExit(f"no vignette fires {sorted(uncovered)}")
        chosen[name] = (bundle, ids, patient)
        uncovered -= ids
    # Fill up with the richest remaining records (most recommendations), for a lively worklist.
    for name, bundle, ids, patient in sorted(pool, key=lambda p: (-len(p[2]), p[0])):
        if len(chosen) >= TARGET_SIZE:
            break
        if name not in chosen and ids:
            chosen[name] = (bundle, ids, patient)
    if BUNDLES_DIR.exists():
        shutil.rmtree(BUNDLES_DIR)
    BUNDLES_DIR.mkdir(parents=True)
    entries = []
    for number, (name, (original, ids, patient)) in enumerate(sorted(chosen.items()), start=1):
        bundle = with_unique_ids(original, f"d{number:02d}")
        for entry in bundle["entry"]:
            if entry["resource"].get("resourceType") == "Patient":
                entry["resource"]["name"] = [
                    {"family": FAMILY[(number * 7) % len(FAMILY)], "given": [GIVEN[number % len(GIVEN)]]}
                ]
        after, _ = fired(bundle)
        if set(after) != ids:
            raise SystemExit(f"{name}: renaming ids changed its assessment")
        (BUNDLES_DIR / f"{name}.json").write_text(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n")
        entries.append({"file": f"{name}.json", "patient_id": patient, "fires": sorted(ids)})
    manifest = {
        "as_of": DEMO_AS_OF.isoformat(),
        "profile": "default",
        "patients": entries,
        "covers": sorted(set().union(*(set(e["fires"]) for e in entries))),
        "order_hook_only": sorted(set(knowledge().catalog) - set(catalog)),
    }
    (DEMO_DIR / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(entries)} patients, {len(manifest['covers'])}/{len(catalog)} catalog ids")


if __name__ == "__main__":
    main()
