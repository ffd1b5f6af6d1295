"""Every clinical case is checked as the shared vignette checker checks it
(tests/vignettes/check_vignettes.py). The project's cases run the real command-line code in this
process (fast); the shared examples, and a few project cases as smoke tests, run the installed
`igwatch` command in a subprocess, as a user would."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from igwatch.cli import main
from tests.vignettes.check_vignettes import run_case

HERE = Path(__file__).parent
SHARED = sorted((HERE / "shared").glob("*.json"))
CASES = sorted((HERE / "cases").glob("*.json"))
SMOKE = [p for p in CASES if p.stem in {"v-k8b-igg-399", "v-refuse-not-json", "v-not-applicable"}]
IGWATCH = shutil.which("igwatch", path=str(Path(sys.executable).parent)) or "igwatch"
TODAY = "2026-11-21"


def run_in_process(cmd: list[str]) -> tuple[int, str, str]:
    """The igwatch entry point called with ``cmd``'s arguments: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(cmd[1:])
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def test_there_are_many_cases() -> None:
    assert len(CASES) >= 100
    assert len(SMOKE) == 3


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGWATCH_TODAY", TODAY)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_vignette(path: Path, tmp_path: Path) -> None:
    case = json.loads(path.read_text())
    errors = run_case(IGWATCH, case, str(tmp_path), execute=run_in_process)
    assert not errors, f"{case['name']}: {case.get('description', '')}\n" + "\n".join(errors)


@pytest.mark.parametrize("path", SHARED + SMOKE, ids=[f"cli-{p.stem}" for p in SHARED + SMOKE])
def test_vignette_through_the_command(path: Path, tmp_path: Path) -> None:
    case = json.loads(path.read_text())
    os.environ["IGWATCH_TODAY"] = TODAY
    errors = run_case(IGWATCH, case, str(tmp_path))
    assert not errors, f"{case['name']}: {case.get('description', '')}\n" + "\n".join(errors)
