"""The clinical cases on disk are exactly what the area case builders write, so a case changed
in ``tests/rules/<area>/cases.py`` and not rebuilt (or a JSON file edited by hand) fails here."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "vignettes" / "cases"


def test_the_cases_on_disk_are_the_builders_output(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "tests.rules.build_cases", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    on_disk = sorted(p.name for p in CASES.glob("v-*.json"))
    written = sorted(p.name for p in tmp_path.glob("v-*.json"))
    assert written == on_disk
    _, mismatch, errors = filecmp.cmpfiles(CASES, tmp_path, on_disk, shallow=False)
    assert (mismatch, errors) == ([], [])
