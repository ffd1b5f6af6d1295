"""Deterministic synthetic cohorts in FHIR R4: a bulk export or one Bundle per patient.

Public function::

    generate(out_dir, patients, seed, fmt="ndjson", gzip=False, max_per_file=250_000,
             as_of=date(2026, 10, 15), progress=None, realism=DEFAULT_REALISM,
             workers=None) -> SynthReport

``progress(n)`` is called after each chunk of ``n`` patients; ``workers`` processes render
patients in parallel (the bytes written do not depend on it). One patient alone:
``generate_patient(seed, index, as_of) -> SynthPatient(id, archetype, resources)``.

Layout of ``fmt="ndjson"`` (a FHIR Bulk Data export):

- one resource type per file: ``Patient.ndjson``, ``Encounter.ndjson``, ``Observation.ndjson`` …;
  a type with more than ``max_per_file`` resources is split into ``Observation.000.ndjson``,
  ``Observation.001.ndjson`` … (each holding at most ``max_per_file`` lines); ``.ndjson.gz``
  with ``gzip=True``;
- ``manifest.json``: ``transactionTime`` (``as_of`` at midnight UTC), ``request``,
  ``requiresAccessToken`` (false), ``output`` (``type``, ``url`` = the file name relative to the
  directory, ``count``) sorted by type and part, ``error`` (empty).

Layout of ``fmt="bundles"``: ``<patient-id>.json`` (or ``.json.gz``), a ``collection`` Bundle of
that patient's resources, the Patient first, each entry with a ``fullUrl``.

Resource types written: Patient, Encounter, Observation (Ig panels, CD19, pneumococcal serotype
IgG, cultures, viral serology, vital signs incl. weight/height, other labs), Condition,
MedicationRequest, MedicationAdministration, MedicationStatement, Immunization, ServiceRequest.
References are ``Type/id`` (``Patient/<patient-id>``). Patient ids are ``syn<seed>-<index:07d>``;
other ids start with the patient id. A few records appear twice with the same id (an export
that sent a record twice: keep the first, as igwatch's ingest does) or as an entered-in-error
copy. Records made dirty on purpose carry
``meta.tag`` with system ``https://igwatch.dev/fhir/synth-tag`` (code ``dirty-…``).

Determinism: the same arguments give byte-identical files; patient ``i`` depends only on
``(seed, i, as_of)`` (:func:`igwatch.synth.cohort.generate_patient`), and nothing is dated after
``as_of``. Generation streams patient by patient with bounded memory. The realism figures
(shares, rates, distributions, with their sources) are in :mod:`igwatch.synth.params`.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any, Final, Literal

from igwatch.errors import InputRefused
from igwatch.synth.cohort import SynthPatient, generate_patient, patient_id
from igwatch.synth.params import DEFAULT_REALISM, Realism
from igwatch.synth.writer import BundleWriter, LineBlock, NdjsonWriter, OutputFile, bundle_bytes, dumps

__all__ = [
    "DEFAULT_AS_OF",
    "DEFAULT_MAX_PER_FILE",
    "SynthPatient",
    "SynthReport",
    "default_workers",
    "dumps",
    "generate",
    "generate_patient",
    "patient_id",
]

SynthFormat = Literal["ndjson", "bundles"]
DEFAULT_AS_OF: Final = date(2026, 10, 15)
DEFAULT_MAX_PER_FILE: Final = 250_000
BASE_URL: Final = "https://synth.igwatch.invalid/fhir"
#: Patients rendered per chunk (the unit of progress and of work for a worker process).
CHUNK: Final = 250
PARALLEL_MIN_PATIENTS: Final = 5_000


@dataclass
class SynthReport:
    """What :func:`generate` wrote."""

    out_dir: Path
    patients: int
    seed: int
    format: str
    as_of: date
    files: list[OutputFile] = field(default_factory=list)
    resources: dict[str, int] = field(default_factory=dict)
    archetypes: dict[str, int] = field(default_factory=dict)
    bytes_written: int = 0
    seconds: float = 0.0

    @property
    def total_resources(self) -> int:
        return sum(self.resources.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "patients": self.patients,
            "seed": self.seed,
            "format": self.format,
            "as_of": self.as_of.isoformat(),
            "files": len(self.files),
            "resources": dict(sorted(self.resources.items())),
            "archetypes": dict(sorted(self.archetypes.items())),
            "bytes_written": self.bytes_written,
            "seconds": round(self.seconds, 3),
        }


def _prepare(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputRefused(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise InputRefused(f"{out_dir}: directory is not empty (choose a new or empty directory)")
    out_dir.mkdir(parents=True, exist_ok=True)


@dataclass
class _Chunk:
    """Patients ``[start, stop)`` rendered: JSON lines per type (ndjson) or one Bundle each."""

    start: int
    stop: int
    archetypes: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    lines: dict[str, LineBlock] = field(default_factory=dict)
    bundles: list[tuple[str, bytes]] = field(default_factory=list)


def _render(seed: int, start: int, stop: int, as_of: date, realism: Realism, fmt: str) -> _Chunk:
    chunk = _Chunk(start, stop)
    for index in range(start, stop):
        patient = generate_patient(seed, index, as_of, realism)
        chunk.archetypes[patient.archetype] += 1
        if fmt == "ndjson":
            for resource in patient.resources:
                rtype = resource["resourceType"]
                block = chunk.lines.get(rtype)
                if block is None:
                    block = chunk.lines[rtype] = LineBlock()
                block.append(dumps(resource))
            continue
        chunk.counts.update(r["resourceType"] for r in patient.resources)
        chunk.bundles.append((patient.id, bundle_bytes(patient.id, patient.resources, BASE_URL)))
    return chunk


def _chunks(
    seed: int, patients: int, as_of: date, realism: Realism, fmt: str, workers: int
) -> Iterator[_Chunk]:
    """Rendered chunks in patient order; with workers > 1, rendered by a process pool with a
    bounded number of chunks in flight (memory stays flat, order stays fixed)."""
    bounds = [(lo, min(lo + CHUNK, patients)) for lo in range(0, patients, CHUNK)]
    if workers <= 1 or len(bounds) <= 1:
        for lo, hi in bounds:
            yield _render(seed, lo, hi, as_of, realism, fmt)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        in_flight: deque[AsyncResult[_Chunk]] = deque()
        pending = iter(bounds)
        for lo, hi in itertools.islice(pending, 2 * workers):
            in_flight.append(pool.apply_async(_render, (seed, lo, hi, as_of, realism, fmt)))
        while in_flight:
            chunk = in_flight.popleft().get()
            following = next(pending, None)
            if following is not None:
                in_flight.append(pool.apply_async(_render, (seed, *following, as_of, realism, fmt)))
            yield chunk


def default_workers(patients: int) -> int:
    """Worker processes worth starting: one for small cohorts, else the CPUs (at most 8)."""
    if patients < PARALLEL_MIN_PATIENTS:
        return 1
    return max(1, min(8, os.cpu_count() or 1))


def generate(
    out_dir: str | Path,
    patients: int,
    seed: int = 0,
    fmt: SynthFormat = "ndjson",
    gzip: bool = False,
    max_per_file: int = DEFAULT_MAX_PER_FILE,
    as_of: date = DEFAULT_AS_OF,
    progress: Callable[[int], None] | None = None,
    realism: Realism = DEFAULT_REALISM,
    workers: int | None = None,
) -> SynthReport:
    """Write a synthetic cohort of ``patients`` patients into the new or empty ``out_dir``.

    ``progress`` is called with the number of patients written since its previous call.
    ``workers`` processes render patients (None: :func:`default_workers`); the files are the
    same whatever the number. Refuses (:class:`InputRefused`) a non-empty directory, a negative
    count, a bad format or split size.
    """
    if patients < 0:
        raise InputRefused(f"--patients {patients}: must be 0 or more")
    if fmt not in ("ndjson", "bundles"):
        raise InputRefused(f"--format {fmt!r}: must be ndjson or bundles")
    if max_per_file < 1:
        raise InputRefused(f"--max-resources-per-file {max_per_file}: must be at least 1")
    if workers is not None and workers < 1:
        raise InputRefused(f"--workers {workers}: must be at least 1")
    out = Path(out_dir)
    _prepare(out)
    began = time.perf_counter()
    report = SynthReport(out, patients, seed, fmt, as_of)
    counts: Counter[str] = Counter()
    archetypes: Counter[str] = Counter()
    chunks = _chunks(seed, patients, as_of, realism, fmt, workers or default_workers(patients))
    if fmt == "ndjson":
        writer = NdjsonWriter(out, compress=gzip, max_per_file=max_per_file)
        try:
            for chunk in chunks:
                archetypes.update(chunk.archetypes)
                # Types in sorted order so that file parts rotate identically on every run.
                for rtype in sorted(chunk.lines):
                    writer.write_block(rtype, chunk.lines[rtype])
                    counts[rtype] += len(chunk.lines[rtype].ends)
                if progress is not None:
                    progress(chunk.stop - chunk.start)
        except BaseException:
            writer.abort()
            raise
        report.files = writer.close()
        report.bytes_written = writer.bytes_written
        manifest = _manifest(report.files, patients, seed, as_of)
        data = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        (out / "manifest.json").write_text(data, encoding="utf-8")
    else:
        bundles = BundleWriter(out, compress=gzip)
        for chunk in chunks:
            archetypes.update(chunk.archetypes)
            counts.update(chunk.counts)
            for pid, data_bytes in chunk.bundles:
                bundles.write_bundle(pid, data_bytes)
            if progress is not None:
                progress(chunk.stop - chunk.start)
        report.files = bundles.close()
        report.bytes_written = bundles.bytes_written
    report.resources = dict(counts)
    report.archetypes = dict(archetypes)
    report.seconds = time.perf_counter() - began
    return report


def _manifest(files: list[OutputFile], patients: int, seed: int, as_of: date) -> dict[str, Any]:
    return {
        "transactionTime": f"{as_of.isoformat()}T00:00:00Z",
        "request": f"{BASE_URL}/$export?_synthPatients={patients}&_synthSeed={seed}&_synthAsOf={as_of.isoformat()}",
        "requiresAccessToken": False,
        "output": [{"type": f.type, "url": f.url, "count": f.count} for f in files],
        "error": [],
    }
