"""Ofatumumab (Kesimpta): continue, consider stopping, delay a dose (K-1, K-12, K-13, K-15)."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.facts import Episode, Facts
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, Rule


def discontinuation_reasons(f: Facts, p: Profile) -> list[Reason]:
    """K-13: only these; never lab values alone."""
    if f.exposure.ofatumumab != "current":
        return []
    reasons: list[Reason] = []
    opportunistic = f.episodes_where(lambda e: e.opportunistic)
    if opportunistic:
        reasons.append(
            Reason(
                "opportunistic-infection",
                "serious opportunistic infection: " + "; ".join(e.describe() for e in opportunistic),
            )
        )
    on_igrt: list[Episode] = [e for e in f.episodes if e.id in f.igrt.episodes_on_igrt]
    if len(on_igrt) >= p.recurrent_episodes:
        reasons.append(
            Reason(
                "recurrent-despite-igrt",
                f"{len(on_igrt)} infection episodes despite Ig replacement: "
                + "; ".join(e.describe() for e in on_igrt),
            )
        )
    severe = f.episodes_where(lambda e: e.severe)
    if f.igg_severe and severe:
        reasons.append(
            Reason(
                "severe-igg-with-severe-infection",
                f"IgG {f.igg.display()} below {p.igg_replacement_threshold_mg_dl:g} mg/dL with a severe "
                "infection: " + "; ".join(e.describe() for e in severe),
            )
        )
    return reasons


def consider_discontinuation(f: Facts, p: Profile) -> Fired | None:
    reasons = discontinuation_reasons(f, p)
    if not reasons:
        return None
    critical = any(r.code == "opportunistic-infection" for r in reasons)
    return Fired("kesimpta.consider-discontinuation", reasons, priority="critical" if critical else "warning")


def keep(f: Facts, p: Profile) -> Fired | None:
    """kesimpta.continue: on ofatumumab and no K-13 reason."""
    if f.exposure.ofatumumab != "current" or discontinuation_reasons(f, p):
        return None
    text = "on ofatumumab with no reason to stop (K-13)"
    if f.igm.low:
        text += f"; IgM {f.igm.display()} is low, which alone is no reason to stop"
    if f.igrt.current:
        text += "; maintain during Ig replacement"
    return Fired("kesimpta.continue", [Reason("no-discontinuation-reason", text)])


def delay_dose(f: Facts, p: Profile) -> Fired | None:
    """kesimpta.delay-dose: an active infection (K-15)."""
    if f.exposure.ofatumumab not in ("current", "starting"):
        return None
    active = f.episodes_where(lambda e: e.active)
    if not active:
        return None
    return Fired(
        "kesimpta.delay-dose",
        [Reason("active-infection", "active infection: " + "; ".join(e.describe() for e in active))],
    )


RULES: list[Rule] = [keep, consider_discontinuation, delay_dose]
