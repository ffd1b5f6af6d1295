"""Risk statements: encapsulated bacteria (K-5), normal IgG not protective (K-21), autoimmunity (D-13)."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.facts import Facts
from igwatch.findings import Findings
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, recommendation


@recommendation("risk.encapsulated-bacteria")
def risk_encapsulated_bacteria(f: Facts, k: Findings, p: Profile) -> Fired | None:
    if not f.igm.low:
        return None
    return Fired([Reason("igm-low", f"IgM {f.igm.display()} below {f.igm.limit:g}")])


@recommendation("risk.normal-igg-not-protective")
def risk_normal_igg_not_protective(f: Facts, k: Findings, p: Profile) -> Fired | None:
    if f.exposure.status != "current" or not f.igg.not_low:
        return None
    reasons = [Reason("igg-not-low", f"IgG {f.igg.display()} is not low, on {f.exposure.named_agents}")]
    if f.igrt.immune_globulin_within(f.as_of, p.passive_antibody_days):
        # Titres would show infused antibodies (K-19): not suggested in this period.
        return Fired(reasons, variant="no-titres")
    return Fired(reasons, variant="titres")


@recommendation("risk.autoimmunity-persistent-infection")
def risk_autoimmunity_persistent_infection(f: Facts, k: Findings, p: Profile) -> Fired | None:
    if not f.autoimmune:
        return None
    names = ", ".join(d.display or d.id for d in f.autoimmune)
    return Fired([Reason("autoimmune-condition", names)])
