"""Finding the NDJSON files of a bulk FHIR export, and naming a bad line precisely.

A bulk export directory holds one resource type per file, a type possibly split over several
files: ``Observation.ndjson``, ``Observation_2.ndjson``, ``Observation.002.ndjson``,
``1.Observation.ndjson``, each optionally ``.gz``. Files of types igwatch does not read are left
unread. Policy for a corrupt line (the same as ``igwatch assess`` on an NDJSON file): the input is
refused, naming the file and the line; nothing is written.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from igwatch.errors import InputRefused
from igwatch.fhir.bulk import list_export

_FILE_RE: Final = re.compile(r"^(?:\d+[._-])?([A-Z][A-Za-z]+)(?:[._-]\d+)*\.ndjson(?:\.gz)?$")


@dataclass(frozen=True)
class Export:
    """The NDJSON files of an export, by resource type (only types with files), and a note for
    every data file left out (not FHIR, not in the manifest, not NDJSON)."""

    root: Path
    files: dict[str, list[Path]]
    notes: tuple[str, ...] = ()

    def of(self, resource_type: str) -> list[Path]:
        return self.files.get(resource_type, [])

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for paths in self.files.values() for p in paths)

    def signature(self, resource_type: str) -> str:
        """Changes when a file of the type is added, removed or rewritten (name, size, mtime)."""
        digest = hashlib.sha256()
        for path in self.of(resource_type):
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()


def _natural(path: Path) -> tuple[object, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name))


def find_export(root: Path, wanted: frozenset[str] | set[str] | None = None) -> Export:
    """The NDJSON files under ``root`` (not recursive), grouped by resource type: the manifest's
    output files when there is a ``manifest.json`` (their ``type`` from it), else every NDJSON
    file whose first record is FHIR (the type from the file name).

    Refuses a missing directory, a path that is not a directory, and a directory with no NDJSON.
    """
    if not root.exists():
        raise InputRefused(f"{root}: no such directory")
    listing = list_export(root)
    notes = listing.notes()
    files: dict[str, list[Path]] = {}
    any_ndjson = False
    for path in listing.files:
        match = _FILE_RE.match(path.name)
        rtype = listing.types.get(path) or (match.group(1) if match else None)
        if not path.name.endswith((".ndjson", ".ndjson.gz")) or rtype is None:
            reason = "not NDJSON" if rtype is not None else "its resource type is not in its name"
            notes.append(f"{path.name}: skipped: {reason} (the screen reads NDJSON by type)")
            continue
        any_ndjson = True
        if wanted is None or rtype in wanted:
            files.setdefault(rtype, []).append(path)
    if not any_ndjson:
        raise InputRefused(f"{root}: no NDJSON files (expected e.g. Patient.ndjson, Observation.ndjson)")
    ordered = {rtype: sorted(paths, key=_natural) for rtype, paths in sorted(files.items())}
    return Export(root, ordered, tuple(notes))
