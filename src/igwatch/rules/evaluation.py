"""Evaluation of IgM deficiency and patient education (D-4, D-17, K-16)."""

from __future__ import annotations

from igwatch.assessment import MonitoringEntry, Reason
from igwatch.dates import add_days, add_months
from igwatch.facts import Facts
from igwatch.findings import Findings
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, recommendation
from igwatch.rules.actions import CD19, PANEL, order_tests


def _vaccine_response_interpretable_from(f: Facts, p: Profile) -> str | None:
    """When immune globulin keeps a vaccine response from being judged (K-19): from when it can be."""
    if not f.igrt.immune_globulin_within(f.as_of, p.passive_antibody_days):
        return None
    last = f.igrt.last_immune_globulin
    if f.igrt.current or last is None or last >= f.as_of:
        return f"{p.passive_antibody_days} days after the last immune globulin dose"
    return add_days(last, p.passive_antibody_days).isoformat()


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
    unconfirmed = status == "suspected" and f.igm_deficiency.low_igm_results < 2
    if unconfirmed or f.last_panel is None or f.last_panel < recent:
        why = (
            "confirm the isolated low IgM with a second result"
            if unconfirmed
            else f"no complete panel in the last {p.ig_result_max_age_months} months"
        )
        missing.append(Reason("repeat-immunoglobulins", f"repeat IgG, IgA and IgM: {why}"))
        actions.append(order_tests(f.patient_id, "Immunoglobulins: IgG, IgM, IgA", PANEL))
    deferred_until = None
    if response in ("not-assessed", "not-assessable"):
        deferred_until = _vaccine_response_interpretable_from(f, p)
        if deferred_until is not None:
            missing.append(
                Reason(
                    "specific-antibodies-deferred",
                    "pneumococcal vaccine response: cannot be judged while immune globulin is current or "
                    f"recent (passive antibodies, K-19); interpretable from {deferred_until}",
                )
            )
        else:
            why = (
                "none on record"
                if response == "not-assessed"
                else f"not assessable ({f.antibody_response.why})"
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
    return Fired(
        [head, *missing],
        priority="info" if deferred_until is not None else None,
        monitoring=monitoring,
        actions=actions,
    )


@recommendation("education.infection-warning-signs")
def education_infection_warning_signs(f: Facts, k: Findings, p: Profile) -> Fired | None:
    return Fired(
        [Reason("always", "fever, respiratory and urinary symptoms: seek care early")],
    )
