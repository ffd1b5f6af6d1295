"""Prophylactic antibiotics: when to consider them, and when they are not routine (K-17, D-6, D-7)."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.facts import Facts
from igwatch.findings import Findings
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, recommendation


@recommendation("prophylaxis.consider")
def prophylaxis_consider(f: Facts, k: Findings, p: Profile) -> Fired | None:
    if not k.prophylaxis.reasons:
        return None
    return Fired(list(k.prophylaxis.reasons), variant=k.prophylaxis.variant)


@recommendation("prophylaxis.not-routine")
def prophylaxis_not_routine(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """Not for isolated low IgM (K-17)."""
    if not f.igm.low or len(f.episodes) >= p.recurrent_episodes or f.prophylaxis.current:
        return None
    if k.prophylaxis.reasons:
        return None
    return Fired(
        [
            Reason(
                "isolated-low-igm",
                f"IgM {f.igm.display()} low with {len(f.episodes)} infection episode(s) in the last "
                f"{p.infection_window_months} months",
            )
        ]
    )
