"""Reading FHIR input: a Bundle, a single resource or NDJSON, gzip or not (detected by content),
flattened into one list of resource dicts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from igwatch.errors import InputRefused
from igwatch.fhir.inflate import inflate_document
from igwatch.fhir.ingest.values import as_list, as_object, as_str
from igwatch.fhir.ingest.vocabulary import FULL_URL_KEY


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
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):  # ValueError covers JSONDecodeError and over-long integers
        whole = None
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if len(lines) <= 1:
            raise InputRefused(f"{source}: not valid JSON") from None
        return _parse_ndjson(lines, source)
    if not isinstance(whole, dict):
        raise InputRefused(f"{source}: not FHIR JSON (expected a JSON object, a Bundle or a resource)")
    if not isinstance(whole.get("resourceType"), str):
        raise InputRefused(f"{source}: not FHIR JSON (no resourceType)")
    resources = resources_from_json(whole)
    if not resources:
        raise InputRefused(f"{source}: a Bundle with no resources")
    return resources


def _parse_ndjson(lines: list[tuple[int, str]], source: str) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for number, line in lines:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # ValueError covers JSONDecodeError and over-long integers
            raise InputRefused(f"{source} line {number}: not valid JSON") from None
        if not isinstance(obj, dict):
            raise InputRefused(f"{source} line {number}: not a JSON object")
        if not isinstance(obj.get("resourceType"), str):
            raise InputRefused(f"{source} line {number}: no resourceType")
        resources.extend(resources_from_json(obj))
    if not resources:
        raise InputRefused(f"{source}: no resources")
    return resources


def resources_from_json(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Flatten one parsed JSON object: a Bundle's entries (nested Bundles too), or the resource."""
    out: list[dict[str, Any]] = []
    _flatten(obj, None, out, depth=0)
    return out


def _flatten(obj: Mapping[str, Any], full_url: str | None, out: list[dict[str, Any]], depth: int) -> None:
    if depth > 32:  # absurdly nested bundles: stop rather than recurse without end
        return
    if obj.get("resourceType") == "Bundle":
        for entry in as_list(obj.get("entry")):
            entry_obj = as_object(entry)
            if entry_obj is None:
                continue
            resource = as_object(entry_obj.get("resource"))
            if resource is None or not isinstance(resource.get("resourceType"), str):
                continue
            _flatten(resource, as_str(entry_obj.get("fullUrl")), out, depth + 1)
        return
    resource = dict(obj)
    if full_url:
        resource[FULL_URL_KEY] = full_url
    out.append(resource)
