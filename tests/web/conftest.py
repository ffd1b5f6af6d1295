"""A real igwatch server on loopback with the demo cohort and one hostile record, for the web tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from igwatch.store import Database, load_path
from igwatch.web.demo import DEMO_AS_OF
from tests.support.servers import dev_settings, start_server

#: A patient on ofatumumab who died the day before the demo day (clinical-spec §1, revision 2).
DECEASED_CASE = Path(__file__).parents[1] / "vignettes" / "cases" / "v-r2-deceased-date-before-as-of.json"
DECEASED_ID = "pat-v-r2-deceased-date-before-as-of"

HERE = Path(__file__).parent
ARTIFACTS = HERE / "artifacts"
XSS_NAME = "<script>alert(1)</script>"
XSS_ID = "pat-xss"


def xss_bundle() -> dict[str, object]:
    """A patient on ofatumumab whose name and infection text are markup."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": XSS_ID,
                    "name": [{"text": XSS_NAME}],
                    "gender": "female",
                    "birthDate": "1980-01-01",
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "id": "xss-med",
                    "status": "active",
                    "subject": {"reference": f"Patient/{XSS_ID}"},
                    "medicationCodeableConcept": {
                        "coding": [
                            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "712566"}
                        ],
                        "text": "ofatumumab",
                    },
                    "effectivePeriod": {"start": "2025-01-10"},
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "xss-cond",
                    "subject": {"reference": f"Patient/{XSS_ID}"},
                    "code": {
                        "coding": [{"system": "http://snomed.info/sct", "code": "233604007"}],
                        "text": '<img src=x onerror="alert(2)">pneumonia',
                    },
                    "onsetDateTime": "2026-08-01",
                    "abatementDateTime": "2026-08-20",
                }
            },
        ],
    }


@dataclass(frozen=True)
class WebServer:
    base_url: str
    db_url: str
    tmp: Path


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """The demo server (as of the demo day) with the hostile patient added to its store."""
    tmp = tmp_path_factory.mktemp("web")
    settings = dev_settings(tmp, demo=True, as_of=DEMO_AS_OF, secret_key="test-secret")
    assert settings.db_url is not None
    with start_server(settings) as base_url:
        xss = tmp / "xss.json"
        xss.write_text(json.dumps(xss_bundle()))
        deceased = tmp / "deceased.json"
        deceased.write_text(json.dumps(json.loads(DECEASED_CASE.read_text())["bundle"]))
        db = Database(settings.db_url)
        try:
            load_path(db, xss)
            load_path(db, deceased)
        finally:
            db.close()
        yield WebServer(base_url, settings.db_url, tmp)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
