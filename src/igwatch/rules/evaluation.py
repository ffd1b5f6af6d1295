"""Evaluation of IgM deficiency and patient education (D-4, D-17, K-16)."""

from __future__ import annotations

from igwatch.assessment import MonitoringEntry, Reason
from igwatch.dates import add_months
from igwatch.facts import Facts
from igwatch.findings import Findings
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, recommendation
from igwatch.rules.actions import CD19, PANEL, order_tests


@recommendation("evaluate.igm-deficiency")
def evaluate_igm_deficiency(f: Facts, k: Findings, p: Profile) -> Fired | None:
    status = f.igm_deficiency.status
    response = f.antibody_response.status
    if not (
        status == "suspected" or (status == "confirmed" and response in ("not-assessed", "not-assessable"))
    ):
        return None
    missing: list[Reason] = []
    monitoring: list[MonitoringEntry] = []
    actions = []
    recent = add_months(f.as_of, -p.ig_result_max_age_months)
    if status == "suspected" or f.last_panel is None or f.last_panel < recent:
        missing.append(
            Reason("repeat-immunoglobulins", "repeat IgG, IgA and IgM to confirm an isolated low IgM")
        )
        actions.append(order_tests(f.patient_id, "Immunoglobulins: IgG, IgM, IgA", PANEL))
    if response in ("not-assessed", "not-assessable"):
        why = (
            "none on record" if response == "not-assessed" else f"not assessable ({f.antibody_response.why})"
        )
        missing.append(
            Reason(
                "specific-antibodies",
                f"pneumococcal antibody response after polysaccharide vaccination: {why}",
            )
        )
        monitoring.append(
            MonitoringEntry("specific-antibodies", f.as_of, False, f.antibody_response.set_date)
        )
    if f.last_lymphocyte_subsets is None or f.last_lymphocyte_subsets < recent:
        missing.append(Reason("lymphocyte-subsets", "lymphocyte subpopulations (including CD19 B cells)"))
        monitoring.append(MonitoringEntry("lymphocyte-subsets", f.as_of, False, f.last_lymphocyte_subsets))
        actions.append(order_tests(f.patient_id, "Lymphocyte subsets (CD19)", CD19))
    if not missing:
        return None
    head = Reason(
        status,
        "suspected IgM deficiency: " + f.igm_deficiency.why
        if status == "suspected"
        else "confirmed IgM deficiency without an assessed specific antibody response",
    )
    return Fired([head, *missing], monitoring=monitoring, actions=actions)


@recommendation("education.infection-warning-signs")
def education_infection_warning_signs(f: Facts, k: Findings, p: Profile) -> Fired | None:
    return Fired(
        [Reason("always", "fever, respiratory and urinary symptoms: seek care early")],
    )
