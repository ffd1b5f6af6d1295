"""Risk statements: encapsulated bacteria (K-5), normal IgG not protective (K-21), autoimmunity (D-13)."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.facts import Facts
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, Rule


def encapsulated_bacteria(f: Facts, p: Profile) -> Fired | None:
    if not (f.in_k or f.in_d) or not f.igm.low:
        return None
    return Fired(
        "risk.encapsulated-bacteria", [Reason("igm-low", f"IgM {f.igm.display()} below {f.igm.limit:g}")]
    )


def normal_igg_not_protective(f: Facts, p: Profile) -> Fired | None:
    if f.exposure.status != "current" or not f.igg.not_low:
        return None
    return Fired(
        "risk.normal-igg-not-protective",
        [Reason("igg-not-low", f"IgG {f.igg.display()} is not low, on anti-CD20 therapy")],
    )


def autoimmunity(f: Facts, p: Profile) -> Fired | None:
    if not f.in_d or not f.autoimmune:
        return None
    names = ", ".join(d.display or d.id for d in f.autoimmune)
    return Fired("risk.autoimmunity-persistent-infection", [Reason("autoimmune-condition", names)])


RULES: list[Rule] = [encapsulated_bacteria, normal_igg_not_protective, autoimmunity]
