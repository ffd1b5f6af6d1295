"""Stored patients: loading FHIR files into the database, and reading a patient back.

For ``igwatch load`` and the web pages (upload form, worklist, patient page):

- :func:`load_path` loads a Bundle, an NDJSON file (gzip allowed) or a bulk export directory (every
  ``*.ndjson``, ``*.ndjson.gz``, ``*.json`` and ``*.json.gz`` in it). Each file is one
  transaction: a bad file is refused with :class:`~igwatch.errors.InputRefused` naming the file
  and the place (``line N`` of an NDJSON file, ``entry N`` of a Bundle), nothing of it is
  written, and what was stored before stays. Loading a resource again replaces it (same type and
  id). Parsing is :mod:`igwatch.fhir.ingest`'s, so the same files are refused for the same reasons.
- :func:`list_patients`, :func:`patient_resources` and :func:`patient_timeline` read them back;
  ``assess(patient_timeline(db, pid), …)`` gives what ``igwatch assess`` gives on the file.
  An unknown patient is :class:`PatientNotFound` (an ``InputRefused``).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, Final, cast

from sqlalchemy import Connection, Insert, func, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from igwatch.errors import InputRefused
from igwatch.fhir.bulk import list_export
from igwatch.fhir.ingest import build_timeline
from igwatch.fhir.reader import (
    CLINICAL_TYPES,
    FHIR_TYPE,
    FULL_URL_KEY,
    bundle_places,
    ndjson_file,
    ndjson_records,
    parse_input,
    parse_json,
    patient_of,
    read_path,
    type_and_id,
    type_and_id_of,
    whole_json,
)
from igwatch.store.db import Database, clean_text
from igwatch.store.models import PatientRecord, ResourceRecord
from igwatch.timeline import Timeline

#: File names a bulk export directory is read for.
INPUT_SUFFIXES: Final = (".ndjson", ".ndjson.gz", ".json", ".json.gz")
_NDJSON_SUFFIXES: Final = (".ndjson", ".ndjson.gz", ".jsonl")
_BATCH: Final = 500
MAX_FULL_URL_BYTES: Final = 1000
_PROGRESS_EVERY: Final = 1000


class PatientNotFound(InputRefused):
    """No stored patient has this id (the web pages answer 404)."""


@dataclass(frozen=True)
class PatientRow:
    """One stored patient, as the worklist lists it (``loaded_at`` in UTC, timezone-aware)."""

    id: str
    display_name: str
    birth_date: date | None
    gender: str | None
    source: str
    loaded_at: datetime
    resources: int


@dataclass(frozen=True)
class LoadProgress:
    """Where a load is: file ``file_number`` of ``file_count``, ``resources`` read from it so far."""

    path: Path
    file_number: int
    file_count: int
    resources: int
    done: bool


@dataclass
class LoadReport:
    """What a load stored: files, Patient resources, resources (all types) and notes on what was
    skipped (no patient data in them)."""

    files: int = 0
    patients: int = 0
    resources: int = 0
    issues: list[str] = field(default_factory=list)


ProgressCallback = Callable[[LoadProgress], None]


# --------------------------------------------------------------------------- reading files


def _input_files(path: Path) -> tuple[list[Path], list[str]]:
    """The files to load and a note per file of a directory left out (manifest honoured, files
    that are not FHIR skipped: clients leave logs beside the data)."""
    if path.is_dir():
        listing = list_export(path)
        if not listing.files:
            raise InputRefused(f"{path}: no {', '.join(INPUT_SUFFIXES)} FHIR files in this directory")
        return listing.files, [f"{clean_text(str(p))}: skipped: {why}" for p, why in listing.skipped]
    if not path.exists():
        raise InputRefused(f"{path}: no such file or directory")
    return [path], []


@dataclass
class _FileInput:
    """One file's resources, read lazily (NDJSON) or at once (a Bundle)."""

    records: Iterable[tuple[list[dict[str, Any]], str]]
    full_urls: dict[str, tuple[str, str]]
    skipped: bool = False


def _read_file(path: Path, name: str, in_directory: bool) -> _FileInput:
    if path.name.endswith(_NDJSON_SUFFIXES):
        return _FileInput(ndjson_file(path, name), {})
    data = read_path(path)
    doc = whole_json(data, name)
    if doc is None:
        if data[:2] == b"\x1f\x8b":  # NDJSON by content, gzipped: read as a stream, within limits
            unzipped = gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb")
            return _FileInput(ndjson_records(cast(IO[bytes], unzipped), name, compressed=True), {})
        parse_input(data, name)  # refuses with ingest's message unless it is NDJSON by content
        return _FileInput(ndjson_records(io.BytesIO(data), name, compressed=False), {})
    if (
        in_directory
        and isinstance(doc, dict)
        and "resourceType" not in doc
        and {"transactionTime", "output"} <= doc.keys()
    ):
        return _FileInput((), {}, skipped=True)
    is_bundle = isinstance(doc, dict) and doc.get("resourceType") == "Bundle"
    places = bundle_places(doc, name) if isinstance(doc, dict) and is_bundle else []
    resources = parse_input(data, name)
    if is_bundle:
        if len(places) != len(resources):  # pragma: no cover - the two walks agree by construction
            places = [f"resource {n}" for n in range(1, len(resources) + 1)]
    else:
        places = [f"resource {n}" for n in range(1, len(resources) + 1)]
    full_urls: dict[str, tuple[str, str]] = {}
    for resource in resources:
        url = resource.get(FULL_URL_KEY)
        key = type_and_id_of(resource)
        if isinstance(url, str) and key is not None:
            full_urls.setdefault(url.strip(), key)
    return _FileInput([([r], p) for r, p in zip(resources, places, strict=True)], full_urls)


# --------------------------------------------------------------------------- identifying records


# --------------------------------------------------------------------------- writing a file


def _full_url(url: object) -> str | None:
    # Longer ones are no real URL, and would not fit a PostgreSQL index entry (about 2.7 kB).
    if not isinstance(url, str) or not url.strip():
        return None
    cleaned = clean_text(url.strip())
    return cleaned if len(cleaned.encode("utf-8")) <= MAX_FULL_URL_BYTES else None


def _upsert(dialect: str, table: Any, keys: list[str]) -> Insert:
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    columns = [c.name for c in table.__table__.columns if c.name not in keys]
    return insert.on_conflict_do_update(index_elements=keys, set_={c: insert.excluded[c] for c in columns})


class _FileWriter:
    """Writes one file's records inside the caller's transaction, in batches."""

    def __init__(
        self, connection: Connection, dialect: str, source: str, full_urls: dict[str, tuple[str, str]]
    ) -> None:
        self.connection = connection
        self.source = clean_text(source)
        self.full_urls = full_urls
        self.loaded_at = datetime.now(UTC)
        self.resource_upsert = _upsert(dialect, ResourceRecord, ["resource_type", "id"])
        self.patient_upsert = _upsert(dialect, PatientRecord, ["id"])
        self.seen: set[tuple[str, str]] = set()
        self.batch: list[dict[str, Any]] = []
        self.patients: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []  # records that may be the only patient's
        self.issues: list[str] = []
        self.count = 0
        self.patients_written = 0
        self.repeated = 0

    def add(self, resource: dict[str, Any], place: str) -> None:
        key = type_and_id_of(resource)
        if key is None:
            rtype = resource.get("resourceType")
            what = rtype if isinstance(rtype, str) and FHIR_TYPE.fullmatch(rtype) else "a resource"
            self.issues.append(f"{self.source} {place}: {what} without a valid type and id; not stored")
            return
        if key in self.seen:  # as ingest: the first record with a key is the one read
            self.repeated += 1
            return
        self.seen.add(key)
        rtype, rid = key
        clean = {k: v for k, v in resource.items() if k != FULL_URL_KEY}
        json_text = json.dumps(clean, ensure_ascii=False, separators=(",", ":"))
        try:
            json_text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a \\ud800 escape: keep it escaped
            json_text = json.dumps(clean, separators=(",", ":"))
        url = resource.get(FULL_URL_KEY)
        meta = resource.get("meta")
        last_updated = meta.get("lastUpdated") if isinstance(meta, dict) else None
        if rtype == "Patient":
            patient_id: str | None = rid
            maybe_only = False
            self._patient(resource, rid)
        else:
            patient_id, maybe_only = patient_of(resource, self.full_urls)
        row = {
            "resource_type": rtype,
            "id": rid,
            "patient_id": patient_id,
            "full_url": _full_url(url),
            "json_text": json_text,
            "last_updated": clean_text(last_updated, 64) if isinstance(last_updated, str) else None,
            "source": self.source,
            "loaded_at": self.loaded_at,
            "position": len(self.seen),
        }
        self.count += 1
        if patient_id is None and maybe_only:
            self.pending.append(row)
            return
        self.batch.append(row)
        if len(self.batch) >= _BATCH:
            self._flush()

    def _patient(self, resource: Mapping[str, Any], rid: str) -> None:
        summary = build_timeline([dict(resource)]).patient
        gender = resource.get("gender")
        self.patients.append(
            {
                "id": rid,
                "display_name": clean_text(summary.name),
                "birth_date": summary.birth_date,
                "gender": clean_text(gender, 32) if isinstance(gender, str) else None,
                "source": self.source,
                "loaded_at": self.loaded_at,
            }
        )

    def _flush(self) -> None:
        if self.batch:
            self.connection.execute(self.resource_upsert, self.batch)
            self.batch = []
        if self.patients:
            self.connection.execute(self.patient_upsert, self.patients)
            self.patients_written += len(self.patients)
            self.patients = []

    def finish(self) -> None:
        if self.repeated:
            self.issues.append(
                f"{self.source}: {self.repeated} record(s) repeat a type and id seen earlier in the file;"
                " the first was kept"
            )
        patient_ids = [key[1] for key in self.seen if key[0] == "Patient"]
        only = patient_ids[0] if len(patient_ids) == 1 else None
        for row in self.pending:
            row["patient_id"] = only
            self.batch.append(row)
        self.pending = []
        self._flush()


def _load_file(
    db: Database,
    connection: Connection,
    path: Path,
    number: int,
    count: int,
    in_directory: bool,
    progress: ProgressCallback | None,
) -> tuple[int, int, list[str]] | None:
    """(patients, resources, issues) written from one file in the load's transaction; None when
    the file was skipped."""
    name = clean_text(str(path))
    source = _read_file(path, name, in_directory)
    if source.skipped:
        return None
    writer = _FileWriter(connection, db.dialect, name, source.full_urls)
    next_report = _PROGRESS_EVERY
    for resources, place in source.records:
        for resource in resources:
            writer.add(resource, place)
        if progress is not None and writer.count >= next_report:
            next_report = writer.count + _PROGRESS_EVERY
            progress(LoadProgress(path, number, count, writer.count, done=False))
    writer.finish()
    if progress is not None:
        progress(LoadProgress(path, number, count, writer.count, done=True))
    return writer.patients_written, writer.count, writer.issues


def load_path(db: Database, path: str | Path, progress: ProgressCallback | None = None) -> LoadReport:
    """Load a Bundle, an NDJSON file or a bulk export directory, in one transaction: all of it
    or nothing.

    A directory is read as a bulk export (``manifest.json`` honoured; a file that is not FHIR,
    such as a client's log, is skipped with a note). ``progress`` (optional) is called every
    thousand resources and at the end of each file. A bad file raises :class:`InputRefused`
    naming it and the place, and nothing of the load is stored.
    """
    root = Path(path)
    files, notes = _input_files(root)
    in_directory = root.is_dir()
    report = LoadReport()
    report.issues.extend(notes)
    with db.engine.begin() as connection:  # one transaction for the whole load
        for number, file in enumerate(files, start=1):
            try:
                stored = _load_file(db, connection, file, number, len(files), in_directory, progress)
            except InputRefused as refusal:
                if len(files) > 1:
                    raise InputRefused(f"{refusal} (nothing of this load was stored)") from None
                raise
            if stored is None:
                report.issues.append(
                    f"{clean_text(str(file))}: skipped: a bulk export manifest, not FHIR data"
                )
                if progress is not None:
                    progress(LoadProgress(file, number, len(files), 0, done=True))
                continue
            patients, resources, issues = stored
            report.files += 1
            report.patients += patients
            report.resources += resources
            report.issues.extend(issues)
    return report


# --------------------------------------------------------------------------- reading back


def list_patients(db: Database) -> list[PatientRow]:
    """Every stored patient, by id, with the number of resources stored about them."""
    counts = (
        select(ResourceRecord.patient_id, func.count().label("n"))
        .group_by(ResourceRecord.patient_id)
        .subquery()
    )
    query = (
        select(PatientRecord, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.patient_id == PatientRecord.id)
        .order_by(PatientRecord.id)
    )
    with db.session() as session:
        return [
            PatientRow(
                id=p.id,
                display_name=p.display_name,
                birth_date=p.birth_date,
                gender=p.gender,
                source=p.source,
                # SQLite hands back naive datetimes; they were written in UTC.
                loaded_at=p.loaded_at if p.loaded_at.tzinfo else p.loaded_at.replace(tzinfo=UTC),
                resources=int(n),
            )
            for p, n in session.execute(query)
        ]


def has_patient(db: Database, patient_id: str) -> bool:
    """Whether the store holds this patient (so the web app has a page for them)."""
    with db.session() as session:
        return session.get(PatientRecord, patient_id) is not None


def _own_rows(db: Database, patient_id: str) -> list[tuple[str, str | None]]:
    query = (
        select(ResourceRecord.json_text, ResourceRecord.full_url)
        .where(ResourceRecord.patient_id == patient_id)
        .order_by(ResourceRecord.loaded_at, ResourceRecord.position, ResourceRecord.resource_type)
    )
    with db.engine.connect() as connection:
        return [(row[0], row[1]) for row in connection.execute(query)]


def patient_resources(db: Database, patient_id: str) -> list[dict[str, Any]]:
    """The stored resources about one patient (their Patient first when loaded first), as FHIR
    JSON; empty for an unknown patient."""
    return [parse_json(text.encode()) for text, _url in _own_rows(db, patient_id)]


def _references(value: object, out: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                out.add(item.strip())
            else:
                _references(item, out)
    elif isinstance(value, list):
        for item in value:
            _references(item, out)


def patient_timeline(db: Database, patient_id: str) -> Timeline:
    """The patient's :class:`Timeline`, built by ingest from the stored resources and the shared
    ones they reference (a Medication, say). :class:`PatientNotFound` for an unknown patient."""
    with db.session() as session:
        if session.get(PatientRecord, patient_id) is None:
            raise PatientNotFound(f"patient {patient_id}: not in the database")
    resources: list[dict[str, Any]] = []
    for text, url in _own_rows(db, patient_id):
        resource = parse_json(text.encode())
        if url:
            resource[FULL_URL_KEY] = url
        resources.append(resource)
    references: set[str] = set()
    _references(resources, references)
    keys = sorted({k for k in map(type_and_id, references) if k is not None})
    urls = sorted(references)
    shared: list[dict[str, Any]] = []
    if keys or urls:
        with db.engine.connect() as connection:
            for start in range(0, max(len(keys), len(urls)), _BATCH):
                conditions = []
                if keys[start : start + _BATCH]:
                    conditions.append(
                        tuple_(ResourceRecord.resource_type, ResourceRecord.id).in_(
                            keys[start : start + _BATCH]
                        )
                    )
                if urls[start : start + _BATCH]:
                    conditions.append(ResourceRecord.full_url.in_(urls[start : start + _BATCH]))
                query = select(
                    ResourceRecord.resource_type,
                    ResourceRecord.id,
                    ResourceRecord.json_text,
                    ResourceRecord.full_url,
                ).where(ResourceRecord.patient_id.is_(None), or_(*conditions))
                for rtype, _rid, text, url in connection.execute(query):
                    if rtype in CLINICAL_TYPES:
                        # Another record without a patient is not this patient's lab or condition.
                        continue
                    resource = parse_json(text.encode())
                    if url:
                        resource[FULL_URL_KEY] = url
                    shared.append(resource)
    unique_shared = list({(r["resourceType"], r.get("id"), r.get(FULL_URL_KEY)): r for r in shared}.values())
    # The patient's own Patient is the only one in the list (its id may come from a fullUrl).
    return build_timeline([*resources, *unique_shared])
