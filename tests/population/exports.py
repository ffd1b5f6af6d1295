"""Hand-made bulk exports for the screen tests: patients' bundles written as NDJSON per type."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from igwatch.fhir.ingest import FULL_URL_KEY, resources_from_json


def _rewrite(value: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                out[key] = mapping.get(item, item)
            else:
                out[key] = _rewrite(item, mapping)
        return out
    if isinstance(value, list):
        return [_rewrite(v, mapping) for v in value]
    return value


def bundle_resources(bundle: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    """The bundle's resources with ids made unique by ``prefix`` (the Patient keeps its id) and
    every reference (``Type/id``, full URLs, ``urn:uuid:`` fullUrls) rewritten to ``Type/newid``,
    as a bulk export would hold them."""
    resources = resources_from_json(bundle)
    mapping: dict[str, str] = {}
    for r in resources:
        rtype, rid = r.get("resourceType"), r.get("id")
        if not isinstance(rid, str):
            continue
        new = rid if rtype == "Patient" else f"{prefix}-{rid}"
        mapping[f"{rtype}/{rid}"] = f"{rtype}/{new}"
        url = r.get(FULL_URL_KEY)
        if isinstance(url, str):
            mapping[url] = f"{rtype}/{new}"
    out = []
    for r in resources:
        r = {k: v for k, v in r.items() if k != FULL_URL_KEY}
        if isinstance(r.get("id"), str) and r.get("resourceType") != "Patient":
            r["id"] = f"{prefix}-{r['id']}"
        out.append(_rewrite(r, mapping))
    return out


def write_export(patients: Iterable[list[dict[str, Any]]], out: Path) -> dict[str, int]:
    """Write the patients' resources as ``Type.ndjson`` files; returns counts per type."""
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resources in patients:
        for r in resources:
            by_type[r["resourceType"]].append(r)
    out.mkdir(parents=True, exist_ok=True)
    for rtype, items in by_type.items():
        (out / f"{rtype}.ndjson").write_text("".join(json.dumps(r) + "\n" for r in items), encoding="utf-8")
    return {t: len(v) for t, v in by_type.items()}


def _patient_of(resource: Mapping[str, Any]) -> str | None:
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) else None
    for key in ("subject", "patient"):
        ref = resource.get(key)
        text = ref.get("reference") if isinstance(ref, dict) else None
        if isinstance(text, str) and "Patient/" in text:
            return text.split("/_history/")[0].rstrip("/").split("Patient/")[-1]
    return None


def patient_bundles(export_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Each patient's own records from a bulk export, as ``assess`` would get them in a bundle:
    the Patient, every resource whose subject/patient names them, and the Medications those
    name (file order kept)."""
    import gzip

    medications: dict[str, dict[str, Any]] = {}
    by_patient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(export_dir.iterdir()):
        if ".ndjson" not in path.name:
            continue
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
            for line in handle:
                if not line.strip():
                    continue
                r = json.loads(line)
                if r.get("resourceType") == "Medication":
                    medications[r["id"]] = r
                    continue
                pid = _patient_of(r)
                if pid is not None:
                    by_patient[pid].append(r)
    for resources in by_patient.values():
        named = []
        for r in resources:
            ref = r.get("medicationReference")
            text = ref.get("reference") if isinstance(ref, dict) else None
            if isinstance(text, str) and text.startswith("Medication/") and text[11:] in medications:
                named.append(medications[text[11:]])
        resources.extend({json.dumps(m, sort_keys=True): m for m in named}.values())
    return dict(by_patient)
