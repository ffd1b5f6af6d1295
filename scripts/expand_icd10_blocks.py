#!/usr/bin/env python3
"""Expand the ICD-10-CM ranges of src/igwatch/knowledge/icd10_blocks.toml into value set files.

Each range becomes its ICD-10-CM categories (``J00-J22``) or subcategories (``J39.0-J39.1``) as
listed in the ICD-10-CM tabular list, read through the simple-icd-10-cm package, and is written
to ``valuesets/<set>-icd10-blocks.json``: a FHIR ValueSet with the same id as the set it extends
(the loader merges files of one id). igwatch matches ICD-10 by prefix, so a category stands for
every code under it. The package is needed here and in the test that checks these files, not at
run time (it takes seconds to import).

Run:  .venv/bin/python scripts/expand_icd10_blocks.py
"""

from __future__ import annotations

import json
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import simple_icd_10_cm as cm

KNOWLEDGE = Path(__file__).resolve().parents[1] / "src" / "igwatch" / "knowledge"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SOURCE = "https://igwatch.dev/fhir/StructureDefinition/code-source"


def _categories() -> list[str]:
    return [code for code in cm.get_all_codes(with_dots=True) if cm.is_category(code)]


def expand(item: str, categories: list[str]) -> list[str]:
    """The ICD-10-CM codes a range stands for; refuses a code the tabular list lacks."""
    low, _, high = item.partition("-")
    high = high or low
    for end in (low, high):
        if not cm.is_valid_item(end):
            raise SystemExit(f"{item}: {end} is not an ICD-10-CM code")
    if "." not in low:
        return [c for c in categories if low <= c <= high]
    parent = low.split(".")[0]
    if high.split(".")[0] != parent:
        raise SystemExit(f"{item}: a subcategory range stays within one category")
    return [c for c in cm.get_children(parent) if low <= c <= high]


def value_set(name: str, spec: dict[str, Any], categories: list[str]) -> dict[str, Any]:
    codes: dict[str, str] = {}
    for item in spec["ranges"]:
        for code in expand(item, categories):
            codes.setdefault(code, item)
    concepts = [
        {
            "code": code,
            "display": cm.get_description(code),
            "extension": [
                {
                    "url": SOURCE,
                    "valueString": f"ICD-10-CM {block} (simple-icd-10-cm {version('simple-icd-10-cm')})",
                }
            ],
        }
        for code, block in codes.items()
    ]
    return {
        "resourceType": "ValueSet",
        "id": name,
        "url": f"https://igwatch.dev/fhir/ValueSet/{name}",
        "name": name.replace("-", "_"),
        "status": "active",
        "description": f"ICD-10-CM blocks of {name} ({spec['from']}), expanded by scripts/expand_icd10_blocks.py",
        "compose": {"include": [{"system": ICD10CM, "concept": concepts}]},
    }


def expected_files() -> dict[Path, dict[str, Any]]:
    blocks = tomllib.loads((KNOWLEDGE / "icd10_blocks.toml").read_text(encoding="utf-8"))
    categories = _categories()
    return {
        KNOWLEDGE / "valuesets" / f"{name}-icd10-blocks.json": value_set(name, spec, categories)
        for name, spec in blocks.items()
    }


def main() -> int:
    for path, content in expected_files().items():
        path.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{path.name}: {len(content['compose']['include'][0]['concept'])} codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
