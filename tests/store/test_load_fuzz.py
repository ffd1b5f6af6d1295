"""Mutated NDJSON never leaves part of a file in the store, and is only ever refused with
InputRefused (never another exception), on SQLite and on PostgreSQL."""

from __future__ import annotations

import copy
import gzip
import itertools
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from igwatch.errors import InputRefused
from igwatch.store import Database, load_path
from tests.store.helpers import renamed, snapshot, vignette, write_ndjson

BASE = renamed(vignette("p02-k-two-severe-hib")["bundle"], "f-")
BASE_LINES = [json.dumps(r) for r in BASE]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
odd_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=70) | st.sampled_from(
    ["", "\x00", "a b", "x" * 65, "ok-id", "../Patient/1", "\ud800"]
)


def _as_object(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@st.composite
def mutated_ndjson(draw: st.DrawFn) -> bytes:
    lines = list(BASE_LINES)
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(0, len(lines) - 1))
        operation = draw(st.sampled_from(["cut", "insert", "value", "field", "blank", "drop"]))
        if operation == "cut":
            lines[n] = lines[n][: draw(st.integers(0, len(lines[n])))]
        elif operation == "insert":
            at = draw(st.integers(0, len(lines[n])))
            lines[n] = lines[n][:at] + draw(st.text(max_size=5)) + lines[n][at:]
        elif operation == "value":
            lines[n] = json.dumps(draw(json_values))
        elif operation == "field":
            resource = _as_object(lines[n])
            key = draw(
                st.sampled_from(["id", "resourceType", "subject", "patient", "meta", "gender", "name"])
            )
            resource[key] = draw(odd_text | json_values)
            lines[n] = json.dumps(resource, ensure_ascii=draw(st.booleans()))
        elif operation == "blank":
            lines[n] = " "
        else:
            del lines[n]
            if not lines:
                lines = [BASE_LINES[0]]
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = gzip.compress(data)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
    return data


def _rows_from(db: Database, source: str) -> int:
    with db.engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM fhir_resources WHERE source = :s"), {"s": source}
            ).scalar()
            or 0
        )


def test_mutated_ndjson_is_stored_whole_or_refused(db: Database, tmp_path: Path) -> None:
    load_path(db, write_ndjson(tmp_path / "base.ndjson", BASE))
    counter = itertools.count()
    max_examples = 60 if db.dialect == "sqlite" else 25

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=mutated_ndjson())
    def check(data: bytes) -> None:
        path = tmp_path / f"mutated-{next(counter)}.ndjson"
        path.write_bytes(data)
        before = snapshot(db)
        try:
            report = load_path(db, path)
        except InputRefused as refusal:
            message = str(refusal)
            assert message.startswith(str(path))
            assert "\n" not in message
            assert snapshot(db) == before
            return
        # Stored whole: every resource the report counts is there, from this file.
        assert _rows_from(db, str(path)) == report.resources

    check()


@st.composite
def mutated_bundle(draw: st.DrawFn) -> bytes:
    entries: list[Any] = [
        {"fullUrl": f"urn:uuid:{n:08d}-0000-4000-8000-000000000000", "resource": r}
        for n, r in enumerate(copy.deepcopy(BASE))
    ]
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(0, len(entries) - 1))
        operation = draw(st.sampled_from(["entry", "field", "fullUrl", "nest"]))
        if operation == "entry":
            entries[n] = draw(json_values)
        elif operation == "fullUrl" and isinstance(entries[n], dict):
            entries[n]["fullUrl"] = draw(odd_text | json_values)
        elif operation == "nest":
            entries[n] = {"resource": {"resourceType": "Bundle", "entry": [entries[n]]}}
        elif isinstance(entries[n], dict) and isinstance(entries[n].get("resource"), dict):
            key = draw(
                st.sampled_from(["id", "resourceType", "subject", "patient", "meta", "gender", "birthDate"])
            )
            entries[n]["resource"][key] = draw(odd_text | json_values)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    return json.dumps(bundle, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def test_mutated_bundle_is_stored_whole_or_refused(db: Database, tmp_path: Path) -> None:
    load_path(db, write_ndjson(tmp_path / "base.ndjson", BASE))
    counter = itertools.count()

    @settings(
        max_examples=40 if db.dialect == "sqlite" else 15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=mutated_bundle())
    def check(data: bytes) -> None:
        path = tmp_path / f"mutated-{next(counter)}.json"
        path.write_bytes(data)
        before = snapshot(db)
        try:
            report = load_path(db, path)
        except InputRefused as refusal:
            assert str(refusal).startswith(str(path))
            assert snapshot(db) == before
            return
        assert _rows_from(db, str(path)) == report.resources

    check()
