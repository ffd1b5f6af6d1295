"""Prophylactic antibiotics: when to consider them, and when they are not routine (K-17, D-6, D-7)."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.facts import Facts
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, Rule
from igwatch.rules.replacement import start_reasons


def consider_reasons(f: Facts, p: Profile) -> tuple[list[Reason], str | None]:
    if f.igrt.current or f.prophylaxis.current:
        return [], None
    igrt_reasons = {r.code for r in start_reasons(f, p)}
    window = f"in the last {p.infection_window_months} months"
    if f.in_k and len(f.episodes) >= p.recurrent_episodes and not igrt_reasons:
        return [Reason("recurrent-infections", f"{len(f.episodes)} infection episodes {window}")], "K"
    if f.d_confirmed:
        bacterial = f.episodes_where(lambda e: e.bacterial)
        if bacterial and not igrt_reasons:
            return [
                Reason(
                    "mild-presentation",
                    f"{len(bacterial)} bacterial infection episode(s) {window}, no criterion for "
                    "Ig replacement",
                )
            ], "D"
        if igrt_reasons == {"recurrent-bacterial"} and not any(e.severe for e in f.episodes):
            return [
                Reason(
                    "alternative-first-line",
                    "recurrent bacterial infections, none severe: prophylactic antibiotics are an "
                    "alternative first line to IVIG (D-6, D-7)",
                )
            ], "D"
    return [], None


def consider(f: Facts, p: Profile) -> Fired | None:
    reasons, variant = consider_reasons(f, p)
    if not reasons:
        return None
    return Fired("prophylaxis.consider", reasons, variant=variant)


def not_routine(f: Facts, p: Profile) -> Fired | None:
    """prophylaxis.not-routine: not for isolated low IgM (K-17)."""
    if not f.in_k or not f.igm.low or len(f.episodes) >= p.recurrent_episodes or f.prophylaxis.current:
        return None
    if consider_reasons(f, p)[0]:
        return None
    return Fired(
        "prophylaxis.not-routine",
        [
            Reason(
                "isolated-low-igm",
                f"IgM {f.igm.display()} low with {len(f.episodes)} infection episode(s) in the last "
                f"{p.infection_window_months} months",
            )
        ],
    )


RULES: list[Rule] = [consider, not_routine]
