"""The shared Synthea bulk export (13 patients), as published: the project's test data it did not
write. It lies beside the repository (``../shared/real-data``), as on every developer machine and
in CI; the tests read it and never edit it (copies get the records a test adds)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from igwatch.fhir.ingest import resources_from_json

REAL_EXPORT = Path(__file__).resolve().parents[3] / "shared" / "real-data" / "synthea-10-patients"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.fixture(scope="session")
def real_export() -> Path:
    if not (REAL_EXPORT / "Patient.000.ndjson").is_file():
        pytest.fail(f"the shared Synthea export is missing at {REAL_EXPORT}")
    return REAL_EXPORT


def export_resources(export: Path) -> list[dict[str, Any]]:
    """Every resource of the export's NDJSON files, as the ingest reads them."""
    out: list[dict[str, Any]] = []
    for path in sorted(export.glob("*.000.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.extend(resources_from_json(json.loads(line)))
    return out


def patients(export: Path) -> list[dict[str, object]]:
    with (export / "Patient.000.ndjson").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _on_ofatumumab(real_export: Path, copy: Path, since: str) -> Path:
    for item in real_export.iterdir():
        shutil.copy(item, copy / item.name)
    with (copy / "MedicationStatement.000.ndjson").open("w", encoding="utf-8") as out:
        for patient in patients(real_export):
            statement = {
                "resourceType": "MedicationStatement",
                "id": f"ofa-{patient['id']}",
                "status": "active",
                "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "712566"}]},
                "subject": {"reference": f"Patient/{patient['id']}"},
                "effectivePeriod": {"start": since},
            }
            out.write(json.dumps(statement) + "\n")
    return copy


@pytest.fixture(scope="session")
def export_on_ofatumumab(real_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the export in which every patient has been on ofatumumab since 2020 (so each is
    in population K unless deceased)."""
    return _on_ofatumumab(real_export, tmp_path_factory.mktemp("synthea-ofatumumab"), "2020-01-01")


@pytest.fixture(scope="session")
def export_on_ofatumumab_always(real_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every patient on ofatumumab since 1900: every record of theirs falls on therapy."""
    return _on_ofatumumab(real_export, tmp_path_factory.mktemp("synthea-ofatumumab-always"), "1900-01-01")
