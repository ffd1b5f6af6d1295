"""Every synthetic patient goes through the real ingest and engine without a crash, and the only
data issues are the intended ones: the dirty records (tagged) and the issues real records raise."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from igwatch.engine import assess
from igwatch.fhir.ingest import load_timeline
from igwatch.knowledge.profile import load_profile
from igwatch.synth import generate
from igwatch.synth.codes import SYNTH_TAG_SYSTEM

AS_OF = date(2026, 10, 15)
BIN = Path(sys.executable).parent
IGWATCH = str(BIN / "igwatch") if (BIN / "igwatch").exists() else "/work/main/.venv/bin/igwatch"

#: Issue code → the dirt tag that must be on the record it names.
DIRT: dict[str, set[str]] = {
    "unit-missing": {"dirty-unit-missing"},
    "value-implausible": {"dirty-implausible"},
    "date-missing": {"dirty-undated"},
    "therapy-undated": {"dirty-undated-therapy"},
}
#: Issues that realistic (not dirty) records raise: an infection never closed in the record, no
#: recent weight when a dose is needed, serotype titres without a vaccination, records matched by
#: their names (immune globulin products and serotype results have no codes in the value sets).
REALISTIC = {
    "infection-unresolved-stale",
    "weight-missing",
    "pneumococcal-not-assessable",
    "ig-immunomodulatory-dose",  # high-dose immune globulin is shown, with this info issue (F5)
    "recognised-by-name",
}


def _tags(resource: dict[str, Any]) -> set[str]:
    return {t["code"] for t in resource.get("meta", {}).get("tag", []) if t.get("system") == SYNTH_TAG_SYSTEM}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth-bundles")
    generate(out, 300, seed=2026, fmt="bundles")
    return out


def test_every_patient_assesses_and_issues_are_only_the_intended_ones(cohort: Path) -> None:
    profile = load_profile("default")
    issues: Counter[str] = Counter()
    tagged_seen: Counter[str] = Counter()
    flagged: set[str] = set()
    for path in sorted(cohort.iterdir()):
        bundle = json.loads(path.read_text())
        by_key = {
            f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"] for e in bundle["entry"]
        }
        for key, resource in by_key.items():
            for tag in _tags(resource):
                tagged_seen[tag] += 1
                if tag != "dirty-entered-in-error":
                    flagged.add(key)
        result = assess(load_timeline(path), AS_OF, profile).to_dict()
        assert result["patient_id"] == path.name.removesuffix(".json")
        for issue in result["data_issues"]:
            code = issue["code"]
            issues[code] += 1
            if code in DIRT:
                assert _tags(by_key[issue["resource"]]) & DIRT[code], (path.name, issue)
                flagged.discard(issue["resource"])
            else:
                assert code in REALISTIC, (path.name, issue)
    # Each dirty record that should raise an issue did (entered-in-error is silently ignored).
    assert not flagged, sorted(flagged)[:5]
    assert issues["unit-missing"] > 0
    assert tagged_seen["dirty-entered-in-error"] > 0


def test_cli_assess_on_synthetic_bundles(cohort: Path) -> None:
    for path in sorted(cohort.iterdir())[:4]:
        result = subprocess.run(
            [IGWATCH, "assess", str(path), "--as-of", "2026-10-15", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["patient_id"] == path.name.removesuffix(".json")


def test_ndjson_export_patient_assesses_with_patient_choice(tmp_path: Path) -> None:
    report = generate(tmp_path, 6, seed=2026)
    # The whole export as one NDJSON stream: --patient picks each patient out of the others.
    stream = tmp_path / "all.ndjson"
    stream.write_bytes(b"".join((tmp_path / f.url).read_bytes() for f in report.files))
    ids = [json.loads(line)["id"] for line in (tmp_path / "Patient.ndjson").read_text().splitlines()]
    for pid in ids[:3]:
        bundle_result = assess(load_timeline(stream, pid), AS_OF).to_dict()
        assert bundle_result["patient_id"] == pid
