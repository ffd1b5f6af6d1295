"""Input is read as a stream within limits (contract §1): a small gzip file inflating to far more
than it is, or an NDJSON line without end, is refused in one line, the store unchanged, and
memory stays bounded (the limits are environment settings, set small here)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from igwatch.errors import InputRefused
from igwatch.fhir.inflate import TooLarge, limit
from igwatch.fhir.ingest import parse_input
from igwatch.store import Database, list_patients, load_path

PATIENT = {"resourceType": "Patient", "id": "p1"}


def _bomb(path: Path, inflated_mib: int) -> Path:
    """A gzip file of ``inflated_mib`` MiB of spaces after one resource: a few hundred KiB."""
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(json.dumps(PATIENT).encode() + b"\n")
        chunk = b" " * (1 << 20)
        for _ in range(inflated_mib):
            out.write(chunk)
    return path


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGWATCH_MAX_LINE_BYTES", str(4 << 20))
    monkeypatch.setenv("IGWATCH_MAX_INFLATED_BYTES", str(32 << 20))
    monkeypatch.setenv("IGWATCH_MAX_DOCUMENT_BYTES", str(8 << 20))


def test_limits_are_settings_with_safe_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IGWATCH_MAX_LINE_BYTES", raising=False)
    assert limit("IGWATCH_MAX_LINE_BYTES") == 64 << 20
    monkeypatch.setenv("IGWATCH_MAX_LINE_BYTES", "not a number")
    assert limit("IGWATCH_MAX_LINE_BYTES") == 64 << 20
    monkeypatch.setenv("IGWATCH_MAX_LINE_BYTES", "1024")
    assert limit("IGWATCH_MAX_LINE_BYTES") == 1024


# Peak memory of this process's own image: VmHWM (getrusage's ru_maxrss survives execve, so it
# would carry the forking test worker's peak).
MEASURE = """
import sys
from igwatch.cli import main
try:
    main(["load", sys.argv[1], "--db", sys.argv[2]])
except SystemExit as stop:
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print(stop.code, int(hwm.split()[1]) // 1024)
"""


def test_an_ndjson_gzip_bomb_is_refused_with_memory_bounded(tmp_path: Path) -> None:
    """`igwatch load` of a file under 1 MiB inflating to 512 MiB, in a fresh process whose peak
    memory is measured: refused (exit 2) without inflating it. (The line limit is 16 MiB here so
    that the bound on memory does not depend on how the reader buffers one 64 MiB line.)"""
    bomb = _bomb(tmp_path / "Patient.ndjson.gz", inflated_mib=512)
    assert bomb.stat().st_size < 1 << 20
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(bomb), f"sqlite:///{tmp_path / 'bomb.db'}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "IGWATCH_MAX_LINE_BYTES": str(16 << 20)},
    )
    code, peak_mib = (int(v) for v in done.stdout.split())
    assert code == 2, done.stderr
    assert "line 2: longer than 16 MiB (IGWATCH_MAX_LINE_BYTES)" in done.stderr
    assert peak_mib < 400, peak_mib  # the interpreter and igwatch (~150 MiB) plus one bounded line


def test_many_short_lines_past_the_inflated_ceiling_are_refused(
    small_limits: None, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a lower ceiling than the other tests': each blank line is a step of the reader's loop
    monkeypatch.setenv("IGWATCH_MAX_INFLATED_BYTES", str(4 << 20))
    path = tmp_path / "Patient.ndjson.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(json.dumps(PATIENT).encode() + b"\n")
        out.write(b"\n" * (5 << 20))  # blank lines: each short, 5 MiB in all
    with pytest.raises(TooLarge, match=r"inflates past 4 MiB \(IGWATCH_MAX_INFLATED_BYTES\)"):
        load_path(db, path)
    assert list_patients(db) == []


def test_a_json_gzip_bomb_is_refused_by_assess_and_load(
    small_limits: None, db: Database, tmp_path: Path
) -> None:
    bomb = tmp_path / "bundle.json.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        out.write(b'{"resourceType": "Bundle", "type": "collection", "entry": []' + b" " * (64 << 20) + b"}")
    data = bomb.read_bytes()
    with pytest.raises(InputRefused, match=r"inflates past 8 MiB \(IGWATCH_MAX_DOCUMENT_BYTES\)"):
        parse_input(data, "bundle.json.gz")
    with pytest.raises(InputRefused, match="inflates past 8 MiB"):
        load_path(db, bomb)


def test_a_plain_ndjson_line_without_end_is_refused(small_limits: None, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "Observation.ndjson"
    path.write_bytes(json.dumps(PATIENT).encode() + b"\n" + b"x" * (5 << 20))
    with pytest.raises(TooLarge, match="line 2: longer than 4 MiB"):
        load_path(db, path)
