"""B-cell-depleting therapy: continue, consider stopping, delay a dose (K-1, K-12, K-13, K-15).

Guide K is written for ofatumumab; revision 2 applies these rules to every agent of clinical-spec §1,
each named in the summary (``{agent}`` in the catalog text) and the reasons; the engine adds the class
note for agents other than ofatumumab.
"""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.facts import Facts
from igwatch.findings import Findings, episode_list
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, recommendation


@recommendation("anti-cd20.consider-discontinuation")
def anti_cd20_consider_discontinuation(f: Facts, k: Findings, p: Profile) -> Fired | None:
    if not k.discontinuation_reasons:
        return None
    critical = any(r.code == "opportunistic-infection" for r in k.discontinuation_reasons)
    return Fired(list(k.discontinuation_reasons), priority="critical" if critical else "warning")


@recommendation("anti-cd20.continue")
def anti_cd20_continue(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """An agent current and no K-13 reason."""
    if f.exposure.status != "current" or k.discontinuation_reasons:
        return None
    text = f"on {f.exposure.named_agents} with no reason to stop (K-13)"
    if f.igm.low:
        text += f"; IgM {f.igm.display()} is low, which alone is no reason to stop"
    if f.igrt.current:
        text += "; maintain during Ig replacement"
    return Fired([Reason("no-discontinuation-reason", text)])


@recommendation("anti-cd20.delay-dose")
def anti_cd20_delay_dose(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """An agent current or starting, and an active infection (K-15)."""
    if f.exposure.status not in ("current", "starting"):
        return None
    active = f.episodes_where(lambda e: e.active)
    if not active:
        return None
    agents = f.exposure.named_agents if f.exposure.status == "current" else "the planned agent"
    return Fired([Reason("active-infection", f"active infection: {episode_list(active)}; delay {agents}")])
