"""What the pages must show, computed independently from the demo bundles with the engine."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from igwatch.clock import today
from igwatch.engine import assess
from igwatch.fhir.ingest import load_timeline
from igwatch.knowledge.profile import load_profile
from igwatch.web.demo import BUNDLES_DIR, manifest


def demo_file(patient_id: str) -> str:
    entry = next(p for p in manifest()["patients"] if p["patient_id"] == patient_id)
    return str(BUNDLES_DIR / entry["file"])


def assessment(patient_id: str, as_of: date, profile: str = "default") -> dict[str, Any]:
    timeline = load_timeline(demo_file(patient_id))
    result: dict[str, Any] = assess(timeline, as_of, load_profile(profile), today=today()).to_dict()
    return result


def all_assessments(as_of: date) -> dict[str, dict[str, Any]]:
    return {p["patient_id"]: assessment(p["patient_id"], as_of) for p in manifest()["patients"]}


def overdue(result: dict[str, Any]) -> bool:
    return any(m["overdue"] and m["test"] in ("ig-panel", "igg-trough") for m in result["monitoring"])


def lab_values(patient_id: str, kind: str, as_of: date) -> list[tuple[str, float]]:
    timeline = load_timeline(demo_file(patient_id))
    return sorted((lab.date.isoformat(), lab.value) for lab in timeline.labs_of(kind) if lab.date <= as_of)  # type: ignore[arg-type]


def chart_json(html: str) -> dict[str, Any]:
    start = html.index('<script type="application/json" id="chart-data">') + len(
        '<script type="application/json" id="chart-data">'
    )
    end = html.index("</script>", start)
    data: dict[str, Any] = json.loads(html[start:end])
    return data
