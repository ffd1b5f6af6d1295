"""The files ``igwatch synth`` writes: determinism, the bulk-export layout and manifest, splitting,
gzip, per-patient bundles, and refusals. Runs the real console script for the CLI cases."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from igwatch.fhir.ingest import load_timeline
from igwatch.synth import generate, generate_patient

from .conftest import read_lines, tree_bytes

BIN = Path(sys.executable).parent
IGWATCH = str(BIN / "igwatch") if (BIN / "igwatch").exists() else "/work/main/.venv/bin/igwatch"
AS_OF = date(2026, 10, 15)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IGWATCH, *args], capture_output=True, text=True, timeout=120, check=False)


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    first = run_cli("synth", str(tmp_path / "a"), "--patients", "60", "--seed", "11", "--quiet")
    second = run_cli("synth", str(tmp_path / "b"), "--patients", "60", "--seed", "11", "--quiet")
    other = run_cli("synth", str(tmp_path / "c"), "--patients", "60", "--seed", "12", "--quiet")
    assert first.returncode == second.returncode == other.returncode == 0, first.stderr + other.stderr
    a, b, c = (tree_bytes(tmp_path / name) for name in "abc")
    assert a == b
    assert a.keys() == c.keys()
    assert a["Observation.ndjson"] != c["Observation.ndjson"]


def test_gzip_is_deterministic_and_holds_the_same_lines(tmp_path: Path) -> None:
    plain = generate(tmp_path / "plain", 40, seed=3)
    zipped = generate(tmp_path / "gz1", 40, seed=3, gzip=True)
    again = generate(tmp_path / "gz2", 40, seed=3, gzip=True)
    assert tree_bytes(tmp_path / "gz1") == tree_bytes(tmp_path / "gz2")
    assert [f.url for f in zipped.files] == [f.url + ".gz" for f in plain.files]
    for f in zipped.files:
        raw = (tmp_path / "gz1" / f.url).read_bytes()
        assert raw[:2] == b"\x1f\x8b"
        assert gzip.decompress(raw) == (tmp_path / "plain" / f.url.removesuffix(".gz")).read_bytes()
    assert again.resources == plain.resources


def test_manifest_lists_every_file_with_its_count(tmp_path: Path) -> None:
    report = generate(tmp_path, 80, seed=5)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["transactionTime"] == "2026-10-15T00:00:00Z"
    assert manifest["requiresAccessToken"] is False
    assert manifest["error"] == []
    assert isinstance(manifest["request"], str) and manifest["request"]
    listed = {entry["url"] for entry in manifest["output"]}
    on_disk = {p.name for p in tmp_path.iterdir()} - {"manifest.json"}
    assert listed == on_disk
    totals: dict[str, int] = {}
    for entry in manifest["output"]:
        lines = read_lines(tmp_path / entry["url"])
        assert len(lines) == entry["count"]
        assert {r["resourceType"] for r in lines} == {entry["type"]}
        totals[entry["type"]] = totals.get(entry["type"], 0) + entry["count"]
    assert totals == report.resources
    assert totals["Patient"] == 80
    # Realistic volume: tens of resources per patient, background types present.
    assert report.total_resources / 80 > 20
    assert {"Encounter", "Observation", "Condition", "MedicationRequest", "Immunization"} <= totals.keys()


def test_large_types_are_split_at_the_limit(tmp_path: Path) -> None:
    limit = 500
    report = generate(tmp_path, 50, seed=9, max_per_file=limit)
    observations = [f for f in report.files if f.type == "Observation"]
    assert len(observations) >= 3
    assert [f.url for f in observations] == [f"Observation.{k:03d}.ndjson" for k in range(len(observations))]
    assert all(f.count == limit for f in observations[:-1])
    assert 0 < observations[-1].count <= limit
    assert (tmp_path / "Patient.ndjson").exists()  # a type that fits keeps the plain name
    # Splitting changes the files, not the data.
    whole = generate(tmp_path.parent / (tmp_path.name + "-whole"), 50, seed=9)
    split_lines = b"".join((tmp_path / f.url).read_bytes() for f in observations)
    assert split_lines == (whole.out_dir / "Observation.ndjson").read_bytes()


def test_no_record_is_dated_after_as_of_and_ids_are_unique(tmp_path: Path) -> None:
    report = generate(tmp_path, 120, seed=21)
    ids: set[tuple[str, str]] = set()
    duplicates = 0
    for f in report.files:
        for resource in read_lines(tmp_path / f.url):
            key = (resource["resourceType"], resource["id"])
            duplicates += key in ids
            ids.add(key)
            text = json.dumps(resource)
            for field in ("effectiveDateTime", "onsetDateTime", "occurrenceDateTime", "authoredOn"):
                value = resource.get(field)
                if isinstance(value, str):
                    assert value[:10] <= "2026-10-15", (key, field, value)
            assert "2027-" not in text, key
    # Exact duplicates (the same record sent twice) are a rare, intended kind of dirt.
    assert duplicates < 0.01 * len(ids)


def test_bundles_one_per_patient_and_loadable(tmp_path: Path) -> None:
    result = run_cli(
        "synth", str(tmp_path), "--patients", "25", "--seed", "4", "--format", "bundles", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    files = sorted(tmp_path.iterdir())
    assert len(files) == 25
    for index, path in enumerate(files):
        patient = generate_patient(4, index, AS_OF)
        assert path.name == f"{patient.id}.json"
        bundle = json.loads(path.read_text())
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
        assert [e["resource"] for e in bundle["entry"]] == patient.resources
        assert all(
            e["fullUrl"].endswith(f"/{e['resource']['resourceType']}/{e['resource']['id']}")
            for e in bundle["entry"]
        )
        assert load_timeline(path).patient.id == patient.id


def test_bundles_gzip(tmp_path: Path) -> None:
    generate(tmp_path, 5, seed=4, fmt="bundles", gzip=True)
    files = sorted(tmp_path.iterdir())
    assert [p.name.endswith(".json.gz") for p in files] == [True] * 5
    assert load_timeline(files[0]).patient.id == generate_patient(4, 0, AS_OF).id


def test_as_of_anchors_the_cohort(tmp_path: Path) -> None:
    early = generate_patient(1, 3, date(2025, 1, 31))
    text = json.dumps(early.resources)
    assert "2025-02-" not in text and "2026-" not in text
    assert generate_patient(1, 3, date(2025, 1, 31)).resources == early.resources


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--patients", "-1"], "--patients"),
        (["--as-of", "2026-13-01"], "--as-of"),
        (["--max-resources-per-file", "0"], "--max-resources-per-file"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("synth", str(tmp_path / "out"), *args, "--quiet")
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_non_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    result = run_cli("synth", str(tmp_path), "--patients", "3", "--quiet")
    assert result.returncode == 2
    assert "not empty" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_out_option_and_progress_summary(tmp_path: Path) -> None:
    result = run_cli("synth", "--out", str(tmp_path / "o"), "--patients", "10", "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert "10 patients" in result.stderr
    assert (tmp_path / "o" / "manifest.json").exists()


def test_worker_processes_write_the_same_bytes(tmp_path: Path) -> None:
    serial = generate(tmp_path / "serial", 600, seed=8, max_per_file=7_000, workers=1)
    parallel = generate(tmp_path / "parallel", 600, seed=8, max_per_file=7_000, workers=2)
    assert len([f for f in serial.files if f.type == "Observation"]) > 1
    assert tree_bytes(tmp_path / "serial") == tree_bytes(tmp_path / "parallel")
    assert serial.archetypes == parallel.archetypes
