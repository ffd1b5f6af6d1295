"""Terminology coverage of a bulk export: which codes a site's records use, and which igwatch reads.

Before go-live a site runs ``igwatch terminology-report EXPORT_DIR`` on its own bulk export: every
Condition, medication and vaccine code that occurs is counted and classed as recognised by code,
recognised only by its name (the name fallback; such records get a ``recognised-by-name`` info
issue), or not recognised. What is not recognised is simply other data to igwatch — unless it is
an infection, a B-cell-depleting agent, immune globulin, an antibiotic or a live vaccine, which the
site then adds to a value set file (``IGWATCH_VALUESETS_DIR``).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal, cast

from igwatch.errors import InputRefused
from igwatch.fhir import terminology as tx
from igwatch.fhir.bulk import list_export
from igwatch.fhir.inflate import bounded_lines, limit

# The value sets the ingest reads each kind by: the report judges exactly what assessments read.
from igwatch.fhir.ingest import CONDITION_SETS, VACCINE_SETS, medication_sets

Kind = Literal["condition", "medication", "vaccine"]
Status = Literal["code", "name", "missed"]
KINDS: Final[dict[str, Kind]] = {
    "Condition": "condition",
    "MedicationStatement": "medication",
    "MedicationRequest": "medication",
    "MedicationAdministration": "medication",
    "Immunization": "vaccine",
}


@dataclass(frozen=True)
class CodeLine:
    kind: Kind
    system: str
    code: str
    display: str
    count: int
    status: Status
    valuesets: tuple[str, ...]


@dataclass
class CoverageReport:
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lines: list[CodeLine] = field(default_factory=list)

    def totals(self) -> dict[str, dict[str, int]]:
        """Per kind: distinct codes and records, by status."""
        out: dict[str, Counter[str]] = {}
        for line in self.lines:
            kind = out.setdefault(line.kind, Counter())
            kind[f"codes_{line.status}"] += 1
            kind[f"records_{line.status}"] += line.count
        return {k: dict(v) for k, v in out.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "files_skipped": self.notes,
            "totals": self.totals(),
            "codes": [
                {
                    "kind": line.kind,
                    "system": line.system,
                    "code": line.code,
                    "display": line.display,
                    "records": line.count,
                    "recognised": line.status,
                    "valuesets": list(line.valuesets),
                }
                for line in self.lines
            ],
        }


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """The resources of one data file, read within the input limits (igwatch.fhir.inflate)."""
    compressed = path.name.endswith(".gz")
    opener = gzip.open if compressed else open
    with opener(path, "rb") as handle:
        if path.name.endswith((".json", ".json.gz")):
            ceiling = limit("IGWATCH_MAX_DOCUMENT_BYTES")
            data = handle.read(ceiling + 1)
            if len(data) > ceiling:
                raise InputRefused(f"{path.name}: larger than {ceiling} bytes (IGWATCH_MAX_DOCUMENT_BYTES)")
            document = json.loads(data)
            if isinstance(document, dict) and document.get("resourceType") == "Bundle":
                for entry in document.get("entry") or []:
                    if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                        yield entry["resource"]
            elif isinstance(document, dict):
                yield document
            return
        for number, line in enumerate(bounded_lines(cast(IO[bytes], handle), path.name, compressed), start=1):
            if line.strip():
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    raise InputRefused(f"{path.name} line {number}: not valid JSON") from None
                if isinstance(record, dict):
                    yield record


def _concept(resource: Mapping[str, Any], medications: Mapping[str, Any]) -> Any:
    rtype = resource.get("resourceType")
    if rtype == "Condition":
        return resource.get("code")
    if rtype == "Immunization":
        return resource.get("vaccineCode")
    concept = resource.get("medicationCodeableConcept")
    if concept is None:
        reference = (resource.get("medicationReference") or {}).get("reference")
        if isinstance(reference, str):
            concept = medications.get(reference.split("/")[-1].lstrip("#"))
    return concept


def coverage_report(export_dir: Path) -> CoverageReport:
    """Count and classify the Condition, medication and vaccine codes of a bulk export."""
    listing = list_export(export_dir)
    terminology = tx.get_terminology()
    within: dict[Kind, frozenset[str]] = {
        "condition": CONDITION_SETS,
        "medication": medication_sets(terminology),
        "vaccine": VACCINE_SETS,
    }
    medications: dict[str, Any] = {}
    counts: Counter[tuple[Kind, str, str, str]] = Counter()
    matched: dict[tuple[Kind, str, str, str], tuple[tx.ConceptMatch, ...]] = {}
    kept: list[dict[str, Any]] = []
    for path in listing.files:
        for resource in _records(path):
            rtype = resource.get("resourceType")
            if rtype == "Medication" and isinstance(resource.get("id"), str):
                medications[resource["id"]] = resource.get("code")
            elif rtype in KINDS:
                kept.append(resource)
    for resource in kept:
        kind = KINDS[resource["resourceType"]]
        concept = _concept(resource, medications)
        concept = concept if isinstance(concept, dict) else {}
        codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
        first = codings[0] if codings else {}
        # a code is listed by the record's first coding, and judged with all of its codings
        key = (
            kind,
            tx.canonical_system(first.get("system")) or "",
            str(first.get("code") or ""),
            str(first.get("display") or concept.get("text") or ""),
        )
        counts[key] += 1
        if key not in matched:
            matched[key] = terminology.match(concept, within[kind])
    report = CoverageReport(files=[p.name for p in listing.files], notes=listing.notes())
    for key, count in counts.items():
        report.lines.append(_line(*key, count, matched[key]))
    report.lines.sort(key=lambda line: (line.kind, line.status != "missed", -line.count, line.code))
    return report


def _line(
    kind: Kind, system: str, code: str, display: str, count: int, matches: tuple[tx.ConceptMatch, ...]
) -> CodeLine:
    status: Status = "missed" if not matches else ("name" if all(m.by_name for m in matches) else "code")
    return CodeLine(kind, system, code, display, count, status, tuple(sorted({m.valueset for m in matches})))
