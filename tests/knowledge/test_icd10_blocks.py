"""The ICD-10-CM blocks of the value sets are the ICD-10-CM tabular list's, as the
simple-icd-10-cm package reads it (contract §1: recognition by whole blocks, through the
hierarchy). The shipped expansions must be what scripts/expand_icd10_blocks.py writes today."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from igwatch.fhir.terminology import get_terminology

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "expand_icd10_blocks.py"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("expand_icd10_blocks", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["expand_icd10_blocks"] = module
    spec.loader.exec_module(module)
    return module


def test_the_shipped_expansions_are_the_package_s() -> None:
    for path, expected in _script().expected_files().items():
        assert path.is_file(), f"{path.name} missing: run scripts/expand_icd10_blocks.py"
        assert json.loads(path.read_text(encoding="utf-8")) == expected, f"{path.name} is stale"


def _sets(code: str) -> set[str]:
    wanted = frozenset({"infection", "bacterial-infection", "severe-by-nature", "life-threatening-by-nature"})
    concept = {"coding": [{"system": ICD10CM, "code": code}]}
    return {m.valueset for m in get_terminology().match(concept, wanted)}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("A41.9", {"infection", "bacterial-infection", "severe-by-nature", "life-threatening-by-nature"}),
        ("N39.0", {"infection", "bacterial-infection"}),  # UTI: bacterial by nature (F4)
        ("N10", {"infection", "bacterial-infection"}),  # pyelonephritis
        ("L03.115", {"infection", "bacterial-infection"}),  # cellulitis of the right lower limb
        ("J02.9", {"infection"}),  # pharyngitis, unspecified: not bacterial by nature
        ("J02.0", {"infection", "bacterial-infection"}),  # streptococcal pharyngitis
        ("B34.9", {"infection"}),  # viral infection: never bacterial
        ("K57.20", {"infection"}),  # diverticulitis with perforation and abscess
        ("K57.30", set()),  # diverticulosis without perforation or abscess: no infection
        ("B94.8", set()),  # sequelae of an infection: not an infection
        ("J45.909", set()),  # asthma
    ],
)
def test_blocks_reach_every_code_under_them(code: str, expected: set[str]) -> None:
    assert _sets(code) == expected
