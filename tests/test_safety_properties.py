"""Safety properties that must hold for any patient (hypothesis builds random timelines)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from igwatch.engine import assess
from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import load_profile
from igwatch.timeline import (
    Diagnosis,
    Infection,
    LabResult,
    MedicationRecord,
    Patient,
    Timeline,
    Vaccination,
)

AS_OF = date(2026, 10, 15)
PROFILE = load_profile()
days_back = st.integers(min_value=-30, max_value=6 * 365)


def _day(back: int) -> date:
    return AS_OF - timedelta(days=back)


@st.composite
def labs(draw: st.DrawFn) -> list[LabResult]:
    out = []
    for i in range(draw(st.integers(0, 8))):
        kind = draw(
            st.sampled_from(["igg", "igm", "iga", "cd19-absolute", "weight", "pneumococcal-serotype"])
        )
        value = draw(st.floats(min_value=0, max_value=2000, allow_nan=False))
        comparator = draw(st.sampled_from([None, None, None, "<", ">"]))
        low = draw(st.sampled_from([None, None, 40.0, 600.0]))
        out.append(LabResult(f"Observation/l{i}", kind, _day(draw(days_back)), value, comparator, low))
    return out


@st.composite
def medications(draw: st.DrawFn) -> list[MedicationRecord]:
    out = []
    for i in range(draw(st.integers(0, 6))):
        category, agent = draw(
            st.sampled_from(
                [
                    ("anti-cd20", "ofatumumab"),
                    ("anti-cd20", "ocrelizumab"),
                    ("anti-cd20", "rituximab"),
                    ("immune-globulin", "immune-globulin"),
                    ("antibiotic", "amoxicillin"),
                    ("anti-cd20", "obinutuzumab"),
                    ("anti-cd20", "inebilizumab"),
                    ("anti-cd20", "ublituximab"),
                ]
            )
        )
        resource = draw(
            st.sampled_from(["MedicationStatement", "MedicationRequest", "MedicationAdministration"])
        )
        status = draw(
            st.sampled_from(
                [
                    None,
                    "active",
                    "completed",
                    "stopped",
                    "intended",
                    "draft",
                    "on-hold",
                    "entered-in-error",
                    "unknown",
                ]
            )
        )
        start = draw(st.one_of(st.none(), days_back.map(_day)))
        end = draw(st.one_of(st.none(), days_back.map(_day)))
        out.append(
            MedicationRecord(
                f"{resource}/m{i}",
                resource,
                category,
                agent,
                agent,
                status,  # type: ignore[arg-type]
                intent=draw(st.sampled_from([None, "order", "plan"])),
                start=start,
                end=end,
                dose_g=draw(st.sampled_from([None, 30.0, 56.0, 60.0, 150.0])),
                interval_days=draw(st.sampled_from([None, 7.0, 21.0, 28.0])),
                route=draw(st.sampled_from([None, "IV", "SC"])),
                start_is_dose_date=draw(st.booleans()),
            )
        )
    return out


@st.composite
def infections(draw: st.DrawFn) -> list[Infection]:
    out = []
    for i in range(draw(st.integers(0, 5))):
        out.append(
            Infection(
                f"Condition/c{i}",
                "infection",
                _day(draw(days_back)),
                None,
                draw(st.one_of(st.none(), days_back.map(_day))),
                draw(st.sampled_from([None, "active", "resolved"])),
                draw(st.sampled_from([None, "confirmed", "refuted"])),
                draw(st.sampled_from([None, "mild", "severe", "life-threatening"])),
                frozenset(
                    draw(
                        st.sets(
                            st.sampled_from(
                                [
                                    "bacterial-infection",
                                    "severe-by-nature",
                                    "life-threatening-by-nature",
                                    "opportunistic-infection",
                                ]
                            )
                        )
                    )
                ),
                frozenset(
                    draw(st.sets(st.sampled_from(["streptococcus-pneumoniae", "haemophilus-influenzae"])))
                ),
                inpatient=draw(st.booleans()),
                antibiotic_response_insufficient=draw(st.booleans()),
            )
        )
    return out


@st.composite
def timelines(draw: st.DrawFn) -> Timeline:
    vaccinations = [
        Vaccination(
            f"Immunization/v{i}",
            _day(draw(days_back)),
            "completed",
            "vaccine",
            draw(st.sampled_from(["121", "33", "150"])),
            draw(st.booleans()),
            pneumococcal_polysaccharide=draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    diagnoses = [
        Diagnosis(
            f"Condition/d{i}",
            draw(st.sampled_from(["selective-igm-deficiency", "autoimmune", "specific-antibody-deficiency"])),
            "dx",
            _day(draw(days_back)),
            None,
            None,
            "active",
            None,
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    return Timeline(
        Patient("p", date(1980, 1, 1), draw(st.sampled_from([None, "male", "female"]))),
        labs=draw(labs()),
        infections=draw(infections()),
        diagnoses=diagnoses,
        medications=draw(medications()),
        vaccinations=vaccinations,
    )


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(timelines())
def test_exposed_without_documented_repletion_always_gets_live_vaccine_advice(timeline: Timeline) -> None:
    assessment = assess(timeline, AS_OF, PROFILE)
    exposure = assessment.to_dict()["facts"]["anti_cd20"]
    b_cells = assessment.to_dict()["facts"]["b_cells"]["status"]
    if exposure["status"] in ("current", "discontinued", "starting") and b_cells != "repleted":
        assert "vaccine.live-avoid" in assessment.recommendation_ids


@SETTINGS
@given(timelines())
def test_every_recommendation_is_reasoned_and_cited(timeline: Timeline) -> None:
    assessment = assess(timeline, AS_OF, PROFILE)
    statements = knowledge().statements
    for rec in assessment.recommendations:
        assert rec.statements and all(s in statements for s in rec.statements), rec.id
        assert rec.reasons, rec.id
        assert len(rec.summary) < 140, rec.summary
    if not assessment.applicable:
        assert assessment.recommendations == []


@SETTINGS
@given(timelines())
def test_no_therapy_decision_on_lab_values_alone(timeline: Timeline) -> None:
    """Stopping ofatumumab needs an infection (K-6, K-13); starting Ig replacement without any
    infection only on the lab criteria the guides name (K-8b IgG < 400, D-8b impaired antibodies)."""
    assessment = assess(timeline, AS_OF, PROFILE)
    episodes = assessment.to_dict()["facts"]["infection_episodes"]
    stop = assessment.recommendation("anti-cd20.consider-discontinuation")
    if stop is not None:
        assert episodes
    start = assessment.recommendation("igrt.start")
    if start is not None and not episodes:
        assert {r.code for r in start.reasons} <= {
            "igg-below-threshold",
            "impaired-specific-antibodies",
            "prophylaxis-failed",
        }


@SETTINGS
@given(timelines())
def test_output_is_ordered_and_json_ready(timeline: Timeline) -> None:
    import json

    assessment = assess(timeline, AS_OF, PROFILE)
    order = {"critical": 0, "warning": 1, "info": 2}
    ranks = [order[r.priority] for r in assessment.recommendations]
    assert ranks == sorted(ranks)
    json.dumps(assessment.to_dict())


@SETTINGS
@given(timelines())
def test_no_live_vaccine_before_the_first_dose_advice_after_any_agent(timeline: Timeline) -> None:
    """Revision 2 (F2): a patient ever given an agent and not documented repleted is never told to
    give live vaccines before the (new) first dose."""
    assessment = assess(timeline, AS_OF, PROFILE)
    live = assessment.recommendation("vaccine.live-avoid")
    agents = assessment.to_dict()["facts"]["anti_cd20"]["agents"]
    ever_given = any(a["course"]["status"] in ("current", "discontinued") for a in agents)
    if (
        ever_given
        and assessment.to_dict()["facts"]["b_cells"]["status"] != "repleted"
        and assessment.applicable
    ):
        assert live is not None
        assert "starting" not in {r.code for r in live.reasons}
        assert "before the first dose, or postpone" not in live.summary


IGNORED = {"entered-in-error", "not-taken", "not-done", "cancelled"}


@SETTINGS
@given(timelines())
def test_no_immune_globulin_record_is_absent_from_the_facts(timeline: Timeline) -> None:
    """Revision 2 (F5): every immune globulin record in force is in the facts, as replacement (any
    course) or as an immunomodulatory dose."""
    assessment = assess(timeline, AS_OF, PROFILE)
    igrt = assessment.to_dict()["facts"]["ig_replacement"]
    shown = set(igrt["replacement_records"]) | set(igrt["immunomodulatory_records"])
    for record in timeline.medications:
        begin = record.start or record.authored
        if record.category != "immune-globulin" or (record.status or "") in IGNORED:
            continue
        if begin is not None and begin > AS_OF and record.status not in ("intended", "draft"):
            continue  # after as_of: left out by definition (§3)
        if record.status in ("intended", "draft") or record.intent in ("plan", "proposal"):
            continue  # planned, not given
        assert record.id in shown, record


@SETTINGS
@given(timelines())
def test_a_titration_increase_is_always_above_the_current_dose(timeline: Timeline) -> None:
    assessment = assess(timeline, AS_OF, PROFILE)
    dosing = assessment.dosing
    if dosing is None or dosing.titration is None or dosing.titration.increased_dose_g is None:
        return
    current = dosing.current.dose_g if dosing.current and dosing.current.dose_g else dosing.ivig.dose_g_exact
    assert current is not None and dosing.titration.increased_dose_g > current


@SETTINGS
@given(timelines())
def test_the_bottom_line_never_reassures(timeline: Timeline) -> None:
    """§5 (revision 2): the bottom line never says nothing needs attention, and names an active
    infection, a serious opportunistic infection and a live-vaccine restriction when they hold."""
    assessment = assess(timeline, AS_OF, PROFILE)
    if not assessment.applicable:
        return
    line = assessment.bottom_line.lower()
    assert "nothing urgent" not in line and "routine monitoring" not in line
    episodes = assessment.to_dict()["facts"]["infection_episodes"]
    if any(e["opportunistic"] for e in episodes):
        assert "opportunistic" in line
    if any(e["active"] and not e["opportunistic"] for e in episodes):
        assert "active infection" in line
    if assessment.recommendation("vaccine.live-avoid") is not None:
        assert "live vaccine" in line
