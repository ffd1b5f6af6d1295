"""Every clinical case runs through the real `igwatch` command and is checked as the shared
vignette checker checks it (tests/vignettes/check_vignettes.py, the shared tool as shipped)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.vignettes.check_vignettes import run_case

HERE = Path(__file__).parent
CASES = sorted((HERE / "shared").glob("*.json")) + sorted((HERE / "cases").glob("*.json"))
IGWATCH = shutil.which("igwatch", path=str(Path(sys.executable).parent)) or "igwatch"


def test_there_are_many_cases() -> None:
    assert len(CASES) >= 100


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_vignette(path: Path, tmp_path: Path) -> None:
    case = json.loads(path.read_text())
    os.environ.setdefault("IGWATCH_TODAY", "2026-11-21")
    errors = run_case(IGWATCH, case, str(tmp_path))
    assert not errors, f"{case['name']}: {case.get('description', '')}\n" + "\n".join(errors)
