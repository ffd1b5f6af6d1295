"""Reading FHIR input, for every door: the one reader ingest, the store and the screen share.

- :func:`parse_input` turns bytes (a Bundle, a single resource or NDJSON, gzip or not; detected by
  content) into a flat list of resource dicts. Nested Bundles are flattened; a resource from a
  Bundle entry with a ``fullUrl`` keeps it under :data:`FULL_URL_KEY`, so ``urn:uuid:``
  references resolve from the list alone.
- :func:`ndjson_records` reads an NDJSON stream line by line within the size limits, for files
  too big to hold; :func:`first_bad_line` names the first line of an export that is not FHIR.
- :func:`patient_of` says which patient a resource is about, from its ``subject`` / ``patient``
  reference (ingest resolves the same references against the whole input).

Refusals name the input and the place (``file line N: …``) and are :class:`InputRefused`.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final, TypeGuard, cast

import orjson

from igwatch.errors import InputRefused
from igwatch.fhir.inflate import TooLarge, bounded_lines, inflate_document
from igwatch.gc_tuning import collector_paused

#: Key under which :func:`parse_input` keeps a resource's Bundle ``entry.fullUrl``.
FULL_URL_KEY: Final = "__igwatch_fullUrl"
#: Absurdly nested Bundles stop here rather than recurse without end.
MAX_BUNDLE_DEPTH: Final = 32
FHIR_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")
FHIR_TYPE: Final = re.compile(r"[A-Z][A-Za-z]{0,63}")
PATIENT_FIELDS: Final = ("subject", "patient")
MEDICATION_TYPES: Final[frozenset[str]] = frozenset(
    {"MedicationStatement", "MedicationRequest", "MedicationAdministration"}
)
#: The clinical record types igwatch reads: without a subject they belong to the input's only
#: patient (when it has exactly one).
CLINICAL_TYPES: Final = frozenset(
    {"Observation", "Condition", "Immunization", "ServiceRequest", *MEDICATION_TYPES}
)


# --------------------------------------------------------------------------- whole inputs

# JSON values that are never objects: they skip the Mapping ABC check, which is slow for them.
_NOT_OBJECT_TYPES: Final = frozenset({type(None), str, int, float, bool, list})


def as_str(value: object) -> str | None:
    """A JSON string without its surrounding spaces; None for anything else or an empty one."""
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return None


def is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    """A JSON object: a dict, or any other mapping (the plain JSON values skip the ABC check)."""
    if type(value) is dict:
        return True
    if type(value) in _NOT_OBJECT_TYPES:
        return False
    return isinstance(value, Mapping)


def read_path(path: str | Path) -> bytes:
    """The bytes of an input file; a missing or unreadable file is refused, naming the path."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise InputRefused(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InputRefused(f"{p}: is a directory, not a FHIR file") from None
    except OSError as exc:
        raise InputRefused(f"{p}: cannot be read ({exc.strerror or exc})") from None


UTF8_BOM: Final = b"\xef\xbb\xbf"
# Every byte → "0" for a digit, " " otherwise: in the translated text, nineteen zeros in a row mark
# a number orjson might not read exactly (it keeps integers to 64 bits and turns longer ones into
# floats), so the standard module reads that document instead.
_DIGITS_AS_ZEROS: Final = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_NUMBER: Final = b"0" * 19


def parse_json(data: bytes) -> Any:
    """``json.loads(data)`` for UTF-8 JSON without a BOM, read by orjson where it gives the same
    value: about twice as fast (``benchmarks/assess.py``). Every document orjson refuses (what the
    standard module is lenient about: NaN, lone surrogates, numbers too large for a float) and
    every one with a number of 19 digits or more is read by the standard module, so the value, or
    the error, is always that of ``json.loads``."""
    if _LONG_NUMBER not in data.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


@collector_paused()
def parse_input(data: bytes, source: str) -> list[dict[str, Any]]:
    """The resources in ``data`` (a Bundle, one resource, or NDJSON; gzip allowed), flattened.

    ``source`` names the input in refusal messages (e.g. the file name). Resources from Bundle
    entries keep their ``fullUrl`` under :data:`FULL_URL_KEY`.
    """
    if data[:2] == b"\x1f\x8b":
        data = inflate_document(data, source)  # within a limit: a small file cannot exhaust memory
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputRefused(f"{source}: not FHIR JSON (not UTF-8 text)") from None
    if not text.strip():
        raise InputRefused(f"{source}: empty input, not FHIR JSON")
    body = data.removeprefix(UTF8_BOM)
    try:
        whole = parse_json(body)
    except (ValueError, RecursionError):  # ValueError covers JSONDecodeError and over-long integers
        # NDJSON lines end at a line feed only: U+2028 and other Unicode line breaks are allowed
        # inside JSON strings, where str.splitlines would cut a record in two.
        return _parse_ndjson(body.splitlines(), source)
    if not isinstance(whole, dict):
        raise InputRefused(f"{source}: not FHIR JSON (expected a JSON object, a Bundle or a resource)")
    if not isinstance(whole.get("resourceType"), str):
        raise InputRefused(f"{source}: not FHIR JSON (no resourceType)")
    resources = resources_from_json(whole)
    if not resources:
        raise InputRefused(f"{source}: a Bundle with no resources")
    return resources


def _parse_ndjson(lines: list[bytes], source: str) -> list[dict[str, Any]]:
    """The resources of NDJSON text already refused as one JSON document. Written for speed: it
    reads every record of a real export, so plain checks stand in for the shared helpers."""

    def refused(number: int, problem: str) -> InputRefused:
        if _records_in(lines) <= 1:  # one line, and not JSON as a whole either
            return InputRefused(f"{source}: not valid JSON")
        return InputRefused(f"{source} line {number}: {problem}")

    resources: list[dict[str, Any]] = []
    records = 0
    for number, line in enumerate(lines, start=1):
        if not line or line.isspace():
            continue
        records += 1
        try:
            obj = parse_json(line)
        except (ValueError, RecursionError):  # ValueError covers JSONDecodeError and over-long integers
            raise refused(number, "not valid JSON") from None
        if type(obj) is not dict:
            raise refused(number, "not a JSON object")
        rtype = obj.get("resourceType")
        if type(rtype) is not str:
            raise refused(number, "no resourceType")
        if rtype == "Bundle":
            resources.extend(resources_from_json(obj))
        else:
            resources.append(obj)
    if records <= 1:
        raise InputRefused(f"{source}: not valid JSON")
    if not resources:
        raise InputRefused(f"{source}: no resources")
    return resources


def _records_in(lines: list[bytes]) -> int:
    return sum(1 for line in lines if line and not line.isspace())


def resources_from_json(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Flatten one parsed JSON object: a Bundle's entries (nested Bundles too), or the resource."""
    out: list[dict[str, Any]] = []
    _flatten(obj, None, out, depth=0)
    return out


def _flatten(obj: Mapping[str, Any], full_url: str | None, out: list[dict[str, Any]], depth: int) -> None:
    if depth > MAX_BUNDLE_DEPTH:
        return
    if obj.get("resourceType") == "Bundle":
        for entry in _entries(obj):
            if not is_object(entry):
                continue
            resource = entry.get("resource")
            if not is_object(resource) or not isinstance(resource.get("resourceType"), str):
                continue
            _flatten(resource, as_str(entry.get("fullUrl")), out, depth + 1)
        return
    if full_url or type(obj) is not dict:
        resource = dict(obj)  # a copy: the caller's object is not written to
        if full_url:
            resource[FULL_URL_KEY] = full_url
        out.append(resource)
    else:
        out.append(obj)  # nothing to add: the parsed object itself, not a copy of every resource


def _entries(bundle: Mapping[str, Any]) -> list[Any]:
    entries = bundle.get("entry")
    return entries if isinstance(entries, list) else []


# --------------------------------------------------------------------------- streams


def ndjson_records(
    stream: IO[bytes], name: str, compressed: bool
) -> Iterator[tuple[list[dict[str, Any]], str]]:
    """The resources of each NDJSON line, with ``line N``; refusals word it as ingest does."""
    number = 0
    found = False
    try:
        for number, raw in enumerate(bounded_lines(stream, name, compressed), start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise InputRefused(f"{name} line {number}: not FHIR JSON (not UTF-8 text)") from None
            if not line.strip():
                continue
            try:
                obj = parse_json(raw.removeprefix(UTF8_BOM) if number == 1 else raw)
            except (ValueError, RecursionError):
                raise InputRefused(f"{name} line {number}: not valid JSON") from None
            if not isinstance(obj, dict):
                raise InputRefused(f"{name} line {number}: not a JSON object")
            if not isinstance(obj.get("resourceType"), str):
                raise InputRefused(f"{name} line {number}: no resourceType")
            found = True
            yield resources_from_json(obj), f"line {number}"
    except (OSError, EOFError, zlib.error) as error:
        if compressed:
            raise InputRefused(f"{name}: not a valid gzip file (broken after line {number})") from None
        raise InputRefused(f"{name}: cannot be read ({getattr(error, 'strerror', None) or error})") from None
    if not found:
        raise InputRefused(f"{name}: no resources")


def ndjson_file(path: Path, name: str) -> Iterator[tuple[list[dict[str, Any]], str]]:
    try:
        raw = path.open("rb")
    except OSError as error:
        raise InputRefused(f"{name}: cannot be read ({error.strerror or error})") from None
    with raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        if compressed:
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield from ndjson_records(cast(IO[bytes], unzipped), name, compressed=True)
        else:
            yield from ndjson_records(raw, name, compressed=False)


def whole_json(data: bytes, name: str) -> object | None:
    """``data`` as one JSON document, or None when it is not one (NDJSON, broken, not text)."""
    try:
        if data[:2] == b"\x1f\x8b":
            data = inflate_document(data, name)
        doc: object = json.loads(data.decode("utf-8-sig"))
    except TooLarge:
        raise
    except (InputRefused, OSError, EOFError, zlib.error, ValueError, RecursionError):
        return None
    return doc


def first_bad_line(paths: list[Path]) -> str | None:
    """The first problem in these NDJSON files as ``file line N: …``, or None if every line is a
    FHIR resource: read with the same reader, so it is worded as any other refusal."""
    for path in paths:
        try:
            for _ in ndjson_file(path, path.name):
                pass
        except InputRefused as refused:
            return str(refused)
    return None


# --------------------------------------------------------------------------- Bundles


def bundle_places(bundle: Mapping[str, Any], name: str) -> list[str]:
    """The place of each resource ``resources_from_json`` takes from ``bundle``, in its order.

    Ingest skips a Bundle entry that is not an object; a store must not drop data silently, so
    such an entry (or an entry whose resource is not a FHIR resource) refuses the file.
    """
    places: list[str] = []
    _walk_entries(bundle, name, "", 0, places)
    return places


def _walk_entries(obj: Mapping[str, Any], name: str, place: str, depth: int, places: list[str]) -> None:
    # The same walk as ingest's flattening, so places line up with its resources.
    if depth > MAX_BUNDLE_DEPTH:
        return
    if obj.get("resourceType") != "Bundle":
        places.append(place)
        return
    entries = obj.get("entry")
    if entries is None:
        return
    prefix = f"{place} > " if place else ""
    if not isinstance(entries, list):
        raise InputRefused(f"{name} {prefix}entry: not a list of entries")
    for number, entry in enumerate(entries, start=1):
        where = f"{prefix}entry {number}"
        if not isinstance(entry, dict):
            raise InputRefused(f"{name} {where}: not a JSON object")
        resource = entry.get("resource")
        if resource is None:
            continue  # e.g. a transaction's DELETE: a request and no resource
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise InputRefused(f"{name} {where}: its resource is not a FHIR resource (no resourceType)")
        _walk_entries(resource, name, where, depth + 1, places)


# --------------------------------------------------------------------------- which patient


def type_and_id_of(resource: Mapping[str, Any]) -> tuple[str, str] | None:
    """(type, id) of a resource; a Bundle entry without ``id`` takes it from its ``fullUrl``."""
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not FHIR_TYPE.fullmatch(rtype):
        return None
    rid = resource.get("id")
    if isinstance(rid, str) and FHIR_ID.fullmatch(rid.strip()):
        return rtype, rid.strip()
    if rid is not None:
        return None
    url = resource.get(FULL_URL_KEY)
    if not isinstance(url, str):
        return None
    url = url.strip()
    if url.startswith("urn:uuid:"):
        candidate = url[len("urn:uuid:") :]
    else:
        parts = url.split("/_history/")[0].rstrip("/").split("/")
        candidate = parts[-1] if len(parts) >= 2 and parts[-2] == rtype else ""
    return (rtype, candidate) if FHIR_ID.fullmatch(candidate) else None


def reference_text(reference: object) -> str | None:
    """The target of a Reference object, or of a reference given as a bare string."""
    if isinstance(reference, str):
        return as_str(reference)
    return as_str(reference.get("reference")) if is_object(reference) else None


def type_and_id(reference: str) -> tuple[str, str] | None:
    """``Type/id`` of a relative or absolute reference (``_history`` dropped), else None."""
    if reference.startswith(("urn:", "#")):
        return None
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2 and FHIR_TYPE.fullmatch(parts[-2]) and FHIR_ID.fullmatch(parts[-1]):
        return parts[-2], parts[-1]
    return None


def patient_of(
    resource: Mapping[str, Any], full_urls: Mapping[str, tuple[str, str]]
) -> tuple[str | None, bool]:
    """The patient a record is about, and whether it may be the file's only patient's.

    Mirrors ingest's reading of ``subject`` / ``patient``: a ``Patient/<id>`` reference (relative,
    absolute or through a Bundle ``fullUrl``) names the patient; a reference that cannot be checked
    (an unknown ``urn:uuid:``, a contained one) or no reference on a clinical record means the
    file's only patient, if it has exactly one.
    """
    refs = [resource[f] for f in PATIENT_FIELDS if resource.get(f) is not None]
    if not refs:
        return None, resource.get("resourceType") in CLINICAL_TYPES
    names_a_patient = False
    for ref in refs:
        text = reference_text(ref)
        if text is None or text.startswith("#"):
            continue
        target = full_urls.get(text)
        if target is not None:
            if target[0] == "Patient":
                return target[1], False
            continue
        key = type_and_id(text)
        if key is not None and key[0] == "Patient":
            return key[1], False
        if "Patient/" in text and not text.startswith("urn:"):
            names_a_patient = True
    return None, not names_a_patient
