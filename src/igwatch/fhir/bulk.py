"""Which files of a bulk FHIR export directory are FHIR data, as the Bulk Data spec lays them out.

A ``$export`` leaves a ``manifest.json`` naming its output files (``output[].url``, with their
``type``) and its error files (``error[]``, OperationOutcomes); clients add their own files beside
them (the SMART bulk client's ``log.ndjson``). When the manifest is there, its ``output`` files are
the data and nothing else is read; without one, every ``*.ndjson[.gz]`` / ``*.json[.gz]`` file is
a candidate and a file whose first record has no ``resourceType`` is not FHIR. Every file left out
is listed with the reason, so the doors (``igwatch load``, ``igwatch screen``) say so in one line
each: nothing is dropped silently.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from igwatch.errors import InputRefused
from igwatch.fhir.inflate import limit

MANIFEST: Final = "manifest.json"
DATA_SUFFIXES: Final = (".ndjson", ".ndjson.gz", ".json", ".json.gz")
_FIRST_LINE_LIMIT: Final = 1 << 20  # a first record longer than 1 MiB is not sniffed further


@dataclass(frozen=True)
class ExportListing:
    """The data files of an export (with their resource type when the manifest names it), and
    every other file with why it is not read."""

    root: Path
    files: list[Path]
    types: dict[Path, str] = field(default_factory=dict)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    from_manifest: bool = False

    def notes(self) -> list[str]:
        """One line per file left out: ``log.ndjson: skipped: not FHIR (…)``."""
        return [f"{path.name}: skipped: {reason}" for path, reason in self.skipped]


def _manifest_file(root: Path, entry: Any, where: str) -> tuple[Path, str | None]:
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        raise InputRefused(f"{root / MANIFEST}: {where}: an entry without a url")
    name = PurePosixPath(unquote(urlsplit(entry["url"]).path)).name
    path = root / name
    if not name or not path.is_file():
        raise InputRefused(
            f"{root / MANIFEST}: {where} names {name or entry['url']!r}, which is not in {root}"
        )
    rtype = entry.get("type")
    return path, rtype if isinstance(rtype, str) else None


def _from_manifest(root: Path, manifest: dict[str, Any]) -> ExportListing:
    outputs = manifest.get("output")
    if not isinstance(outputs, list):
        raise InputRefused(f"{root / MANIFEST}: no output list")
    files: list[Path] = []
    types: dict[Path, str] = {}
    for index, entry in enumerate(outputs):
        path, rtype = _manifest_file(root, entry, f"output[{index}]")
        files.append(path)
        if rtype:
            types[path] = rtype
    errors = manifest.get("error")
    error_entries: list[Any] = errors if isinstance(errors, list) else []
    error_files = {_manifest_file(root, e, f"error[{i}]")[0] for i, e in enumerate(error_entries)}
    listed = set(files) | {root / MANIFEST}
    skipped = [
        (p, "an error file of the export (OperationOutcome), not patient data")
        if p in error_files
        else (p, "not listed in manifest.json output")
        for p in sorted(root.iterdir())
        if p.is_file() and p not in listed and not p.name.startswith(".") and p.name.endswith(DATA_SUFFIXES)
    ]
    return ExportListing(root, files, types, skipped, from_manifest=True)


def _first_record(path: Path) -> object:
    """The first JSON record of an NDJSON or JSON file (None when it cannot be read)."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rb") as handle:
            if path.name.endswith((".json", ".json.gz")):
                ceiling = limit("IGWATCH_MAX_DOCUMENT_BYTES")
                text = handle.read(ceiling + 1)
                return None if len(text) > ceiling else json.loads(text)
            while line := handle.readline(_FIRST_LINE_LIMIT + 1):
                if len(line) > _FIRST_LINE_LIMIT:
                    return None  # not sniffed: the reader refuses it within its own limits
                if line.strip():
                    return json.loads(line)
    except (OSError, EOFError, ValueError, RecursionError):
        return None
    return None


def _not_fhir(path: Path) -> str | None:
    """Why a candidate file is not FHIR, or None when its first record is a resource (a file
    whose first record is FHIR is read, and refused where a later line is not)."""
    first = _first_record(path)
    if isinstance(first, dict) and isinstance(first.get("resourceType"), str):
        return None
    if isinstance(first, dict) and {"transactionTime", "output"} <= first.keys():
        return "a bulk export manifest, not FHIR data"
    if isinstance(first, dict):
        return "not FHIR (its first record has no resourceType)"
    return None  # unreadable or not JSON: read it, so the reader refuses it naming the place


def list_export(root: Path) -> ExportListing:
    """The FHIR data files of a bulk export directory (``manifest.json`` honoured)."""
    if not root.is_dir():
        raise InputRefused(f"{root}: not a directory (expected a bulk FHIR export directory)")
    manifest_path = root / MANIFEST
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_bytes())
        except (OSError, ValueError, RecursionError):
            manifest = None
        if isinstance(manifest, dict) and "output" in manifest:
            return _from_manifest(root, manifest)
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in sorted(root.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if not path.name.endswith(DATA_SUFFIXES):
            continue
        reason = _not_fhir(path)
        if reason is None:
            files.append(path)
        else:
            skipped.append((path, reason))
    return ExportListing(root, files, {}, skipped)
