"""A patient name of megabytes is cut where igwatch shows it (the worklist, pages, cards)."""

from __future__ import annotations

from igwatch.fhir.ingest import MAX_NAME_CHARS, build_timeline


def test_a_huge_name_is_cut_with_an_ellipsis() -> None:
    patient = {"resourceType": "Patient", "id": "p", "name": [{"text": "N" * 48_000_000}]}
    name = build_timeline([patient]).patient.name
    assert len(name) == MAX_NAME_CHARS and name.endswith("…")


def test_an_ordinary_name_is_whole() -> None:
    patient = {"resourceType": "Patient", "id": "p", "name": [{"given": ["Robin"], "family": "Example"}]}
    assert build_timeline([patient]).patient.name == "Robin Example"
