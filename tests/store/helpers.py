"""Test data for the store tests: vignette bundles as files in each input format."""

from __future__ import annotations

import copy
import gzip
import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import text

from igwatch.store import Database

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "tests/vignettes/shared"
CASES = ROOT / "tests/vignettes/cases"
EXAMPLE = ROOT / "examples/ofatumumab-recurrent-hib.json"
_REFERENCE = re.compile(r"^([A-Z][A-Za-z]+)/(.+)$")


def vignette(name: str) -> dict[str, Any]:
    """The case file of a shared vignette (``p02-k-two-severe-hib``)."""
    data: dict[str, Any] = json.loads((SHARED / f"{name}.json").read_text())
    return data


def bundle_vignettes() -> list[dict[str, Any]]:
    """Every shared vignette and case that carries a Bundle."""
    out = []
    for path in sorted(SHARED.glob("*.json")) + sorted(CASES.glob("*.json")):
        case = json.loads(path.read_text())
        if isinstance(case.get("bundle"), dict):
            out.append(case)
    return out


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"]]


def renamed(bundle: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """The bundle's resources with every id and relative reference prefixed (unique across patients)."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: walk(v) for k, v in value.items()}
            ref = out.get("reference")
            if isinstance(ref, str) and (m := _REFERENCE.match(ref)):
                out["reference"] = f"{m.group(1)}/{prefix}{m.group(2)}"
            return out
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    out = []
    for resource in resources(bundle):
        copied = walk(copy.deepcopy(resource))
        copied["id"] = prefix + copied["id"]
        out.append(copied)
    return out


def write_bundle(path: Path, bundle: dict[str, Any]) -> Path:
    path.write_text(json.dumps(bundle))
    return path


def write_ndjson(path: Path, items: list[dict[str, Any]], gz: bool = False) -> Path:
    data = "".join(json.dumps(r) + "\n" for r in items).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the patient store, for before/after comparisons."""
    out = {}
    with db.engine.connect() as connection:
        for table, order in (("patients", "id"), ("fhir_resources", "resource_type, id")):
            out[table] = [
                tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
            ]
    return out


def clear(db: Database) -> None:
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM fhir_resources"))
        connection.execute(text("DELETE FROM patients"))
