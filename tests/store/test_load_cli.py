"""``igwatch load`` as users run it: the console script in a subprocess, with its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from igwatch.cli import app
from igwatch.engine import assess
from igwatch.knowledge.profile import load_profile
from igwatch.store import Database, list_patients, patient_timeline
from tests.store.helpers import snapshot, vignette, write_bundle

BIN = Path(sys.executable).parent
IGWATCH = str(BIN / "igwatch") if (BIN / "igwatch").exists() else "/work/main/.venv/bin/igwatch"
TODAY = "2026-10-15"


def _igwatch(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IGWATCH_TODAY": TODAY, "XDG_DATA_HOME": str(home), "COLUMNS": "100"}
    return subprocess.run([IGWATCH, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def p02_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bundle(
        tmp_path_factory.mktemp("p02") / "p02.json", vignette("p02-k-two-severe-hib")["bundle"]
    )


@pytest.fixture(scope="module")
def p02_assessed(p02_file: Path) -> dict[str, object]:
    """``igwatch assess --format json`` on the file, run once for both databases."""
    assessed = _igwatch("assess", str(p02_file), "--format", "json", "--as-of", TODAY, home=p02_file.parent)
    assert assessed.returncode == 0, assessed.stderr
    result: dict[str, object] = json.loads(assessed.stdout)
    return result


def test_load_then_assess_from_the_store_matches_igwatch_assess(
    database_url: str, tmp_path: Path, p02_file: Path, p02_assessed: dict[str, object]
) -> None:
    done = _igwatch("load", str(p02_file), "--db", database_url, home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("loaded 1 file(s): 1 patient(s), 8 resource(s) into ")
    assert "load" in done.stderr  # the progress bar goes to stderr

    with Database(database_url) as db:
        [patient] = list_patients(db)
        stored = assess(
            patient_timeline(db, patient.id),
            date.fromisoformat(TODAY),
            load_profile("default"),
            today=date.fromisoformat(TODAY),
        )
    assert stored.to_dict() == p02_assessed


def _run(*args: str) -> Result:
    # In process (Typer's runner) where the console script itself is not the point: much quicker.
    return CliRunner().invoke(app, list(args), env={"IGWATCH_TODAY": TODAY})


def test_a_refused_file_exits_2_with_one_line_and_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    good = write_bundle(tmp_path / "p02.json", vignette("p02-k-two-severe-hib")["bundle"])
    assert _run("load", str(good), "--db", url, "--quiet").exit_code == 0
    with Database(url) as db:
        before = snapshot(db)
    bad = tmp_path / "bad.ndjson"
    bad.write_text(
        '{"resourceType": "Patient", "id": "a"}\n{"resourceType": "Patient", "id": "b"}\n{"resourceType":\n'
    )
    done = _run("load", str(bad), "--db", url)
    assert done.exit_code == 2
    assert done.stderr == f"igwatch: {bad} line 3: not valid JSON\n"
    assert done.stdout == ""
    with Database(url) as db:
        assert snapshot(db) == before


def test_default_database_and_unusable_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    good = write_bundle(tmp_path / "p02.json", vignette("p02-k-two-severe-hib")["bundle"])
    done = _run("load", str(good), "--quiet")
    assert done.exit_code == 0, done.stderr
    assert (
        done.stdout
        == f"loaded 1 file(s): 1 patient(s), 8 resource(s) into sqlite:///{tmp_path}/data/igwatch/igwatch.db\n"
    )

    done = _run("load", str(good), "--db", "postgresql://me:hunter2@127.0.0.1:1/x")
    assert done.exit_code == 2
    assert done.stderr.startswith(
        "igwatch: database postgresql+psycopg://me:***@127.0.0.1:1/x: cannot connect"
    )
    assert "hunter2" not in done.stderr and done.stderr.count("\n") == 1

    done = _run("load", str(tmp_path / "absent.ndjson"), "--db", f"sqlite:///{tmp_path}/x.db")
    assert (done.exit_code, done.stderr) == (
        2,
        f"igwatch: {tmp_path / 'absent.ndjson'}: no such file or directory\n",
    )


def test_notes_go_to_stderr(tmp_path: Path) -> None:
    path = tmp_path / "x.ndjson"
    path.write_text('{"resourceType": "Patient", "id": "a"}\n{"resourceType": "Observation"}\n')
    done = _run("load", str(path), "--db", f"sqlite:///{tmp_path}/x.db", "--quiet")
    assert done.exit_code == 0
    assert (
        done.stderr == f"igwatch: note: {path} line 2: Observation without a valid type and id; not stored\n"
    )
    assert done.stdout.startswith("loaded 1 file(s): 1 patient(s), 1 resource(s) into sqlite:///")
