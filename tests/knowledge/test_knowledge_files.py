"""Consistency of the knowledge data files with the source documents and clinical-spec §2, §5, §8.

The statement texts are checked against the verbatim source documents shipped in
``igwatch/knowledge/sources``: a statement's text must occur in its source once whitespace is
normalised, allowing only the document's own citation groups ("1, 2") where the statement text
drops them (after a sentence, a bullet or a clause). Each piece of text between two dropped
citations therefore occurs verbatim, and the dropped numbers must be the statement's citations.
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import cache
from importlib.resources import files
from typing import Any

import pytest

KNOWLEDGE = files("igwatch") / "knowledge"

K_IDS = [f"K-{n}" for n in range(1, 23)]
D_IDS = [f"D-{n}" for n in range(1, 18)]

# clinical-spec §5: id -> statements column, in catalog order.
CATALOG_STATEMENTS: dict[str, list[str]] = {
    "monitor.ig-baseline": ["K-2"],
    "monitor.ig-due": ["K-2", "K-1", "D-17"],
    "monitor.check-igg": ["K-8"],
    "monitor.igg-trough": ["K-3", "D-17"],
    "monitor.bcells": ["K-2", "K-14"],
    "monitor.infections": ["K-4", "D-11", "K-21"],
    "igrt.start": ["K-8", "K-1", "K-9", "K-20", "D-8", "D-5", "D-1", "D-9", "D-10", "D-17"],
    "igrt.not-for-labs-alone": ["K-20", "K-6", "K-4"],
    "igrt.trough-below-target": ["K-10", "K-3", "D-12"],
    "igrt.trough-on-target": ["K-10", "K-11"],
    "igrt.breakthrough-infections": ["K-3", "D-12", "D-11", "D-15"],
    "igrt.review-continuation": ["K-11", "D-17"],
    "igrt.mucosal-residual-risk": ["D-14", "D-15", "D-16"],
    "igrt.order-dose": ["K-9", "D-9"],  # order hooks only (contract §4)
    "igrt.order-indication": ["K-20", "K-8", "D-8"],  # order hooks only (contract §4)
    "prophylaxis.consider": ["K-17", "D-6", "D-7", "D-17"],
    "prophylaxis.not-routine": ["K-17"],
    "anti-cd20.continue": ["K-1", "K-6", "K-7", "K-12", "K-22"],
    "anti-cd20.consider-discontinuation": ["K-13"],
    "anti-cd20.delay-dose": ["K-15"],
    "vaccine.live-avoid": ["K-14"],
    "serology.false-negative-risk": ["K-18"],
    "serology.passive-antibodies": ["K-19"],
    "education.infection-warning-signs": ["K-16"],
    "evaluate.igm-deficiency": ["D-4", "D-17", "D-2", "D-3"],
    "risk.encapsulated-bacteria": ["K-5"],
    "risk.normal-igg-not-protective": ["K-21"],
    "risk.autoimmunity-persistent-infection": ["D-13"],
}

# clinical-spec §5 "pop." column (qualifiers such as "on IgRT" live in `scope`).
CATALOG_POPULATION: dict[str, str] = {
    "monitor.ig-baseline": "K",
    "monitor.ig-due": "K, D",
    "monitor.check-igg": "K, D",
    "monitor.igg-trough": "any",
    "monitor.bcells": "K",
    "monitor.infections": "any",
    "igrt.start": "any",
    "igrt.not-for-labs-alone": "any",
    "igrt.trough-below-target": "any",
    "igrt.trough-on-target": "any",
    "igrt.breakthrough-infections": "any",
    "igrt.review-continuation": "any",
    "igrt.mucosal-residual-risk": "any",
    "igrt.order-dose": "any",
    "igrt.order-indication": "any",
    "prophylaxis.consider": "any",
    "prophylaxis.not-routine": "K",
    "anti-cd20.continue": "K",
    "anti-cd20.consider-discontinuation": "K",
    "anti-cd20.delay-dose": "K",
    "vaccine.live-avoid": "K",
    "serology.false-negative-risk": "K",
    "serology.passive-antibodies": "any",
    "education.infection-warning-signs": "any",
    "evaluate.igm-deficiency": "D",
    "risk.encapsulated-bacteria": "any",
    "risk.normal-igg-not-protective": "K",
    "risk.autoimmunity-persistent-infection": "D",
}

CATALOG_BASE_PRIORITY: dict[str, str] = {
    "monitor.ig-baseline": "warning",
    "monitor.check-igg": "warning",
    "igrt.start": "warning",
    "igrt.trough-below-target": "warning",
    "igrt.breakthrough-infections": "warning",
    "igrt.order-dose": "warning",
    "igrt.order-indication": "warning",
    "anti-cd20.consider-discontinuation": "warning",
    "anti-cd20.delay-dose": "warning",
    "evaluate.igm-deficiency": "warning",
}  # every other id: info

MONITOR_CODES = ["scheduled", "overdue", "never-measured", "trend"]
REASON_CODES: dict[str, list[str]] = {
    "igrt.start": [
        "encapsulated-recurrent",
        "igg-below-threshold",
        "life-threatening-infection",
        "antibiotic-refractory",
        "recurrent-bacterial",
        "impaired-specific-antibodies",
        "prophylaxis-failed",
        "titres-first",  # igwatch's code for §5's "draw the titres first" wording
    ],
    "anti-cd20.consider-discontinuation": [
        "opportunistic-infection",
        "recurrent-despite-igrt",
        "severe-igg-with-severe-infection",
    ],
    "prophylaxis.consider": ["recurrent-infections", "mild-presentation", "alternative-first-line"],
    "monitor.ig-due": MONITOR_CODES,
    "monitor.igg-trough": ["scheduled", "overdue", "never-measured", "start-unknown", "trend"],
    "vaccine.live-avoid": [
        "on-therapy",
        "starting",
        "not-repleted",
        "live-vaccine-given",
        "live-vaccine-recent",
    ],
    "igrt.trough-below-target": ["trough-below-target", "at-ceiling"],  # §6 revision 2: at the ceiling
    "igrt.order-dose": ["dose-above", "dose-below", "weight-missing"],
}

REQUIRED_VARIANTS: dict[str, set[str]] = {
    "igrt.start": {"K", "D", "K-verify", "D-titres-first"},
    "risk.normal-igg-not-protective": {"titres", "no-titres"},
    "monitor.ig-due": {"scheduled", "overdue", "never-measured", "trend"},
    "monitor.igg-trough": {"scheduled", "overdue", "never-measured", "start-unknown"},
    "vaccine.live-avoid": {
        "on-therapy",
        "not-repleted",
        "starting",
        "live-vaccine-given",
        "live-vaccine-recent",
        "order",
        "order-starting",
    },
    "igrt.trough-on-target": {"within", "above"},
    "igrt.trough-below-target": {"titrate", "at-ceiling"},
    "prophylaxis.consider": {"K", "D"},
    "igrt.order-dose": {"dose-above", "dose-below", "weight-missing"},
}

# clinical-spec §8 profile keys.
PROFILE_KEYS = {
    "igm_lln_mg_dl",
    "igg_lln_mg_dl",
    "iga_lln_mg_dl",
    "igg_replacement_threshold_mg_dl",
    "ig_result_max_age_months",
    "ig_panel_interval_months",
    "baseline_window_days",
    "baseline_recent_days",
    "igrt_monitor_interval_days",
    "infection_window_months",
    "episode_merge_days",
    "recurrent_episodes",
    "encapsulated_organisms",
    "active_infection_max_days",
    "critical_recent_days",
    "anti_cd20_interval_weeks",
    "anti_cd20_grace_weeks",
    "bcell_repletion_cd19_per_ul",
    "prophylaxis_min_days",
    "prophylaxis_failure_episodes",
    "pneumococcal_protective_ug_ml",
    "pneumococcal_protective_fraction",
    "pneumococcal_response_window_days",
    "passive_antibody_days",
    "igrt_max_g_per_kg_per_4_weeks",
    "igrt_max_g_per_kg_per_4_weeks_sc",
    "trough_max_days_before_dose",
    "live_vaccine_weeks_before_first_dose",
    "igrt_effect_days",
    "igrt_titration_max_g_per_kg",
    "trough_min_days_after_start",
    "weight_max_age_days",
    "ivig_g_per_kg",
    "ivig_interval_weeks",
    "scig_conversion_factor",
    "dose_rounding_g",
    "dose_rounding_max_pct",
    "dose_step_g_per_kg",
    "dosing_weight",
    "trough_target_mg_dl",
    "trend_min_results",
    "trend_years",
    "max_patient_view_cards",
    "order_dose_tolerance_pct",
}

AREAS = {
    "monitoring",
    "replacement",
    "prophylaxis",
    "anti-cd20",
    "vaccines",
    "serology",
    "education",
    "evaluation",
    "risk",
}
POPULATIONS = {"K", "D", "K, D", "any"}
PRIORITIES = {"info", "warning", "critical"}
CLASS_NOTE = "Guide K is written for ofatumumab; igwatch applies it to all B-cell-depleting agents (same label precautions)."

CITATION_GROUP = r"(\d+(?:,\s*\d+)*)"
STATEMENT_REF = re.compile(r"\b([KD]-\d+)\b")


@cache
def statements_doc() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((KNOWLEDGE / "statements.json").read_text(encoding="utf-8"))
    return data


@cache
def catalog() -> list[dict[str, Any]]:
    data = tomllib.loads((KNOWLEDGE / "catalog.toml").read_text(encoding="utf-8"))
    recs: list[dict[str, Any]] = data["recommendation"]
    return recs


@cache
def source_text(key: str) -> str:
    doc = next(d for d in statements_doc()["documents"] if d["key"] == key)
    return (KNOWLEDGE / doc["source_file"]).read_text(encoding="utf-8")


def statements() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = statements_doc()["statements"]
    return result


def statement_ids() -> list[str]:
    return [s["id"] for s in statements()]


def normalise(text: str) -> str:
    return " ".join(text.split())


def citation_numbers(group: str) -> list[int]:
    return [int(n) for n in re.split(r",\s*", group)]


def find_in_source(text: str, source: str) -> re.Match[str] | None:
    """Find `text` in `source`, whitespace-insensitively, allowing a citation group between words.

    Every gap between two words of `text` may hide one citation group of the source, and one may
    follow the last word; each such group is a capture group of the returned match.
    """
    words = [re.escape(w) for w in normalise(text).split(" ")]
    gap = r"\s+(?:" + CITATION_GROUP + r"\s+)?"
    pattern = r"(?<!\S)" + gap.join(words) + r"(?:\s+" + CITATION_GROUP + r")?(?!\S)"
    return re.search(pattern, source)


# --------------------------------------------------------------------------- statements.json


def test_documents() -> None:
    docs = statements_doc()["documents"]
    assert [d["key"] for d in docs] == ["K", "D"]
    expected_files = {"K": "000_f15fb8d47d851a76.txt", "D": "002_0d5158b803b0ed73.txt"}
    for doc in docs:
        assert doc["file"] == expected_files[doc["key"]]
        source = source_text(doc["key"])
        assert source.splitlines()[0] == doc["title"]


def test_statement_ids_exact_and_ordered() -> None:
    assert statement_ids() == K_IDS + D_IDS


@pytest.mark.parametrize("statement", statements(), ids=statement_ids())
def test_statement_shape(statement: dict[str, Any]) -> None:
    assert statement["document"] == statement["id"].split("-")[0]
    for field in ("section", "text", "summary"):
        assert isinstance(statement[field], str)
        assert statement[field].strip()
    assert isinstance(statement["citations"], list)
    assert all(type(c) is int for c in statement["citations"])
    assert len(statement["citations"]) == len(set(statement["citations"]))
    assert "[" not in statement["summary"], "summary keeps no bracketed citations"
    if "bullet_citations" in statement:
        assert len(statement["bullet_citations"]) == len(statement["bullets"])
        for cits in statement["bullet_citations"]:
            assert cits
            assert all(type(c) is int for c in cits)


@pytest.mark.parametrize("statement", statements(), ids=statement_ids())
def test_statement_text_is_verbatim(statement: dict[str, Any]) -> None:
    source = source_text(statement["document"])
    match = find_in_source(statement["text"], source)
    assert match is not None, f"{statement['id']}: text not found in the source"
    dropped: list[int] = []
    for group in match.groups():
        if group is not None:
            dropped.extend(citation_numbers(group))
    expected = set(statement["citations"])
    for cits in statement.get("bullet_citations", []):
        expected.update(cits)
    assert set(dropped) == expected, f"{statement['id']}: citations dropped from the text {dropped}"
    # Each piece between dropped citations occurs verbatim (whitespace-normalised).
    pieces = re.split(r"\s+" + CITATION_GROUP.replace("(", "(?:", 1) + r"(?=\s|$)", match.group(0))
    for piece in pieces:
        assert normalise(piece) in normalise(source)


@pytest.mark.parametrize("statement", statements(), ids=statement_ids())
def test_statement_section_heading(statement: dict[str, Any]) -> None:
    source = source_text(statement["document"])
    lines = source.splitlines()
    assert statement["section"] in lines, f"{statement['id']}: section is not a line of the source"
    heading_at = source.index(statement["section"] + "\n")
    match = find_in_source(statement["text"], source)
    assert match is not None
    assert heading_at < match.start()


@pytest.mark.parametrize(
    "statement",
    [s for s in statements() if "bullets" in s],
    ids=[s["id"] for s in statements() if "bullets" in s],
)
def test_bullets(statement: dict[str, Any]) -> None:
    source = source_text(statement["document"])
    text_lines = statement["text"].splitlines()
    assert [line.removeprefix("- ") for line in text_lines if line.startswith("- ")] == statement["bullets"]
    for i, bullet in enumerate(statement["bullets"]):
        if "bullet_citations" in statement:
            cits = r",\s*".join(str(c) for c in statement["bullet_citations"][i])
            pattern = r"^- " + re.escape(bullet) + r"\s+" + cits + r"$"
        else:
            pattern = r"^- " + re.escape(bullet) + r"$"
        assert re.search(pattern, source, re.MULTILINE), f"{statement['id']} bullet {i + 1}"


def test_specific_statement_mapping() -> None:
    by_id = {s["id"]: s for s in statements()}
    assert by_id["K-8"]["text"].startswith(
        "Consider IVIG or SCIG replacement therapy in the following scenarios:"
    )
    assert len(by_id["K-8"]["bullets"]) == 4
    assert by_id["K-8"]["citations"] == [3, 1]
    assert by_id["K-13"]["text"].startswith("Consider discontinuing Kesimpta only if:")
    assert len(by_id["K-13"]["bullets"]) == 3
    assert by_id["D-8"]["text"].startswith("IVIG therapy should be initiated for:")
    assert by_id["D-8"]["bullet_citations"] == [[2], [1], [3], [2], [2]]
    assert by_id["D-9"]["text"] == "Recommended dosing:"
    assert "K-9" in by_id["D-9"]["note"]
    assert by_id["D-1"]["citations"] == []
    assert by_id["D-17"]["citations"] == []
    assert by_id["K-9"]["citations"] == [4]
    assert by_id["D-10"]["citations"] == [5, 4]


# --------------------------------------------------------------------------- catalog.toml


def recommendation_ids() -> list[str]:
    return [r["id"] for r in catalog()]


def test_catalog_ids_exact_and_ordered() -> None:
    assert recommendation_ids() == list(CATALOG_STATEMENTS)


@pytest.mark.parametrize("rec", catalog(), ids=recommendation_ids())
def test_recommendation_fields(rec: dict[str, Any]) -> None:
    for field in (
        "id",
        "area",
        "population",
        "title",
        "summary",
        "fires_when",
        "detail",
        "priority",
        "priority_rule",
    ):
        assert isinstance(rec[field], str), field
        assert rec[field].strip(), field
    assert rec["area"] in AREAS
    assert (
        rec["area"]
        == {
            "monitor": "monitoring",
            "igrt": "replacement",
            "prophylaxis": "prophylaxis",
            "anti-cd20": "anti-cd20",
            "vaccine": "vaccines",
            "serology": "serology",
            "education": "education",
            "evaluate": "evaluation",
            "risk": "risk",
        }[rec["id"].split(".")[0]]
    )
    assert rec["population"] in POPULATIONS
    assert rec["population"] == CATALOG_POPULATION[rec["id"]]
    assert rec["priority"] in PRIORITIES
    assert rec["priority"] == CATALOG_BASE_PRIORITY.get(rec["id"], "info")
    assert rec["priority_rule"].startswith(rec["priority"])
    assert len(rec["title"]) <= 60


@pytest.mark.parametrize("rec", catalog(), ids=recommendation_ids())
def test_recommendation_statements(rec: dict[str, Any]) -> None:
    known = set(statement_ids())
    assert rec["statements"] == CATALOG_STATEMENTS[rec["id"]]
    assert set(rec["statements"]) <= known
    # The detail names statements inline; they must be among the entry's statements.
    assert STATEMENT_REF.findall(rec["detail"]), "detail names its statements"
    assert set(STATEMENT_REF.findall(rec["detail"])) <= set(rec["statements"])


@pytest.mark.parametrize("rec", catalog(), ids=recommendation_ids())
def test_recommendation_parameters(rec: dict[str, Any]) -> None:
    assert isinstance(rec["parameters"], list)
    assert set(rec["parameters"]) <= PROFILE_KEYS
    assert len(rec["parameters"]) == len(set(rec["parameters"]))


@pytest.mark.parametrize("rec", catalog(), ids=recommendation_ids())
def test_recommendation_reasons(rec: dict[str, Any]) -> None:
    assert rec["reason_codes"] == REASON_CODES.get(rec["id"], [])
    if rec["reason_codes"]:
        texts = rec["reason_text"]
        assert set(texts) == set(rec["reason_codes"])
        assert all(isinstance(t, str) and t.strip() and "\n" not in t for t in texts.values())
    else:
        assert "reason_text" not in rec


@pytest.mark.parametrize("rec", catalog(), ids=recommendation_ids())
def test_summaries_short(rec: dict[str, Any]) -> None:
    texts = {"summary": rec["summary"], **rec.get("summary_variants", {})}
    for key, text in texts.items():
        assert isinstance(text, str)
        assert "\n" not in text, key
        assert 0 < len(text) < 140, f"{rec['id']} {key}: {len(text)} characters"


def test_required_variants() -> None:
    by_id = {r["id"]: r for r in catalog()}
    for rec_id, keys in REQUIRED_VARIANTS.items():
        assert set(by_id[rec_id].get("summary_variants", {})) == keys, rec_id
    for rec_id, rec in by_id.items():
        if rec_id not in REQUIRED_VARIANTS:
            assert "summary_variants" not in rec, rec_id


def test_monitoring_variants_take_a_due_date() -> None:
    by_id = {r["id"]: r for r in catalog()}
    for rec_id in ("monitor.ig-due", "monitor.igg-trough"):
        for key, text in by_id[rec_id]["summary_variants"].items():
            assert not text.endswith((".", ":", ";", ",")), f"{rec_id} {key}"
            assert len(text + " — due 2027-02-20") < 140


@pytest.mark.parametrize("rec", catalog(), ids=recommendation_ids())
def test_class_note(rec: dict[str, Any]) -> None:
    if rec["population"] in {"K", "K, D", "any"}:
        assert rec["class_note"] == CLASS_NOTE
    else:
        assert "class_note" not in rec


def test_wording_never_stronger_than_the_guides() -> None:
    by_id = {r["id"]: r for r in catalog()}
    start = by_id["igrt.start"]["summary_variants"]
    assert start["K"].startswith("Consider")
    assert start["D"].startswith("Start")
    stop = by_id["anti-cd20.consider-discontinuation"]
    assert stop["summary"].startswith("Consider")
    assert "never a reason to stop" in stop["detail"]
    assert "not a reason to stop" in by_id["anti-cd20.continue"]["summary"]
    for rec in catalog():
        for text in (rec["summary"], *rec.get("summary_variants", {}).values()):
            lowered = text.lower()
            assert "discontinue ofatumumab" not in lowered
            assert "stop ofatumumab" not in lowered
