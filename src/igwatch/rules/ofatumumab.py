"""Ofatumumab (Kesimpta): continue, consider stopping, delay a dose (K-1, K-12, K-13, K-15)."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.facts import Facts
from igwatch.findings import Findings, episode_list
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, recommendation


@recommendation("kesimpta.consider-discontinuation")
def kesimpta_consider_discontinuation(f: Facts, k: Findings, p: Profile) -> Fired | None:
    reasons = list(k.discontinuation_reasons)
    if f.exposure.ofatumumab != "current" or not reasons:
        return None
    critical = any(r.code == "opportunistic-infection" for r in reasons)
    return Fired(reasons, priority="critical" if critical else "warning")


@recommendation("kesimpta.continue")
def kesimpta_continue(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """On ofatumumab and no K-13 reason."""
    if f.exposure.ofatumumab != "current" or k.discontinuation_reasons:
        return None
    text = "on ofatumumab with no reason to stop (K-13)"
    if f.igm.low:
        text += f"; IgM {f.igm.display()} is low, which alone is no reason to stop"
    if f.igrt.current:
        text += "; maintain during Ig replacement"
    return Fired([Reason("no-discontinuation-reason", text)])


@recommendation("kesimpta.delay-dose")
def kesimpta_delay_dose(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """An active infection (K-15)."""
    if f.exposure.ofatumumab not in ("current", "starting"):
        return None
    active = f.episodes_where(lambda e: e.active)
    if not active:
        return None
    return Fired([Reason("active-infection", f"active infection: {episode_list(active)}")])
