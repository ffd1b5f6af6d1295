"""Clinical spec revision 2: what a clinician reads (bottom line, summaries, reasons, text output)
for the cases of the clinical review. The cases are the project's vignettes; the vignette checker
covers ids, reasons and priorities, these tests the words."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from igwatch import assess, load_profile
from igwatch.fhir.ingest import build_timeline, resources_from_json
from igwatch.render.text import assessment_text

CASES = Path(__file__).parent / "vignettes" / "cases"
PROFILE = load_profile("default")


def _bundle(name: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((CASES / f"{name}.json").read_text())
    return case


def _assess(name: str, extra: list[dict[str, Any]] = ()) -> Any:  # type: ignore[assignment]
    case = _bundle(name)
    resources = resources_from_json(case["bundle"]) + list(extra)
    return assess(build_timeline(resources), date.fromisoformat(case["as_of"]), PROFILE)


def _rec(assessment: Any, rec_id: str) -> Any:
    rec = assessment.recommendation(rec_id)
    assert rec is not None, f"{rec_id} did not fire: {assessment.recommendation_ids}"
    return rec


def test_switching_agents_is_not_starting() -> None:
    assessment = _assess("v-r2-switch-cd19-79")
    live = _rec(assessment, "vaccine.live-avoid")
    texts = " ".join(r.text for r in live.reasons)
    assert "before the first dose" not in texts and "before the first dose" not in live.summary
    assert "ocrelizumab stopped 2026-05-20" in texts and "unknown" not in texts
    assert "nothing" not in assessment.bottom_line.lower()
    assert "no live vaccines" in assessment.bottom_line


def test_pml_on_ocrelizumab_names_the_agent_and_the_class() -> None:
    assessment = _assess("v-kcd-pml-ocrelizumab")
    stop = _rec(assessment, "anti-cd20.consider-discontinuation")
    assert stop.priority == "critical"
    assert stop.summary.startswith("Consider discontinuing ocrelizumab")
    assert assessment.bottom_line.startswith("CRITICAL: Consider discontinuing ocrelizumab")
    assert "serious opportunistic infection" in assessment.bottom_line
    assert stop.class_note and "this patient: ocrelizumab" in stop.class_note
    assert stop.class_note in stop.detail
    text = assessment_text(assessment, width=200)
    assert "Guide K is written for ofatumumab" in text
    assert "Anti-cd20" not in text and "Primary igm" not in text


def test_above_the_ceiling_shows_the_current_dose_and_no_increase() -> None:
    assessment = _assess("v-r2-titration-above-ceiling")
    below = _rec(assessment, "igrt.trough-below-target")
    assert "no dose increase" in below.summary
    assert any("0.86 g/kg per 4 weeks" in r.text for r in below.reasons)
    text = assessment_text(assessment, width=200)
    assert "raise the dose" not in text.lower()
    assert text.index("Current dose") < text.index("IVIG (starting dose, for reference)")
    assert "60 g IV every 4 weeks (0.86 g/kg per 4 weeks)" in text


def test_the_dose_arithmetic_uses_the_weight_it_multiplied() -> None:
    from igwatch.dosing import dose_block
    from igwatch.render.words import dose_lines

    block, _ = dose_block(56.25, None, None, PROFILE)
    rows = dict(dose_lines(block))
    assert "0.4 g/kg × 56.25 kg = 22.5 g" in rows["IVIG"]


def test_no_titres_suggested_on_immune_globulin() -> None:
    on_ivig = _assess("v-kcd-recurrent-despite-igrt-28-days")
    assert "titres" not in _rec(on_ivig, "risk.normal-igg-not-protective").summary
    off = _assess("v-ocr-admin-210-days-current")
    assert "titres" in _rec(off, "risk.normal-igg-not-protective").summary


def test_evaluation_on_ivig_says_when_the_response_can_be_judged() -> None:
    assessment = _assess("v-r2-evaluate-on-ivig-no-vaccine-response")
    evaluate = _rec(assessment, "evaluate.igm-deficiency")
    assert evaluate.priority == "info"
    assert "specific-antibodies" not in {m.test for m in assessment.monitoring}
    assert any("interpretable from" in r.text for r in evaluate.reasons)
    assert not any(r.code == "repeat-immunoglobulins" for r in evaluate.reasons)  # recent panel


def test_d_start_says_draw_the_titres_first() -> None:
    start = _rec(_assess("v-r2-d-start-titres-first"), "igrt.start")
    assert start.summary.startswith("Start Ig replacement") and "titres" in start.summary


def test_stopped_record_without_end_asks_for_the_last_dose() -> None:
    assessment = _assess("v-r2-stopped-start-no-end")
    assert assessment.facts.exposure.stop_unknown is True
    issue = next(i for i in assessment.data_issues if i.code == "therapy-undated")
    assert "date of the last dose" in issue.message
    bcells = _rec(assessment, "monitor.bcells")
    assert "rituximab stopped on an unknown date" in bcells.reasons[0].text


def test_deceased_is_not_applicable() -> None:
    assessment = _assess("v-r2-deceased-date-before-as-of")
    assert not assessment.applicable and assessment.applicable_reason == "deceased"
    assert assessment.bottom_line == "Not applicable: deceased."


@pytest.mark.parametrize(
    "name",
    ["v-r2-switch-cd19-79", "v-kcd-pml-ocrelizumab", "v-r2-titration-above-ceiling", "v-k8b-igg-399"],
)
def test_the_bottom_line_never_says_nothing_is_urgent(name: str) -> None:
    assert "nothing urgent" not in _assess(name).bottom_line


def _observation(rid: str, loinc: str, day: str, quantity: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "effectiveDateTime": day,
        "valueQuantity": quantity,
    }


def _without_cd19(name: str, extra: list[dict[str, Any]]) -> Any:
    case = _bundle(name)
    kept = [
        r
        for r in resources_from_json(case["bundle"])
        if not any(c.get("code") == "8116-6" for c in (r.get("code") or {}).get("coding", []))
    ]
    return assess(build_timeline(kept + extra), date.fromisoformat(case["as_of"]), PROFILE)


def test_an_unreadable_cd19_count_is_not_called_missing() -> None:
    unreadable = _observation("cd19-x", "8116-6", "2026-09-01", {"value": 150, "unit": "furlongs"})
    text = _rec(_without_cd19("v-r2-switch-cd19-79", [unreadable]), "monitor.bcells").reasons[0].text
    assert "no usable CD19 count after the stop date (1 could not be read" in text
    none = _rec(_without_cd19("v-r2-switch-cd19-79", []), "monitor.bcells").reasons[0].text
    assert none.endswith("no CD19 count after the stop date")


def test_k_verify_is_not_said_beside_a_severe_infection() -> None:
    severe = {
        "resourceType": "Condition",
        "id": "severe-pneumonia",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "233604007"}], "text": "Pneumonia"},
        "severity": {"coding": [{"system": "http://snomed.info/sct", "code": "24484000"}]},
        "onsetDateTime": "2026-08-01",
        "clinicalStatus": {"coding": [{"code": "resolved"}]},
    }
    verify = _rec(_assess("v-k8b-igg-399"), "igrt.start")
    assert "verify infection history" in verify.summary
    named = _rec(_assess("v-k8b-igg-399", [severe]), "igrt.start")
    assert "verify infection history" not in named.summary
    assert any("with a severe infection in the window: Pneumonia" in r.text for r in named.reasons)
