"""Reading serology: false negatives on anti-CD20 (K-18), passive antibodies after IVIG (K-19)."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.dates import add_days
from igwatch.facts import Facts
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, Rule


def false_negative_risk(f: Facts, p: Profile) -> Fired | None:
    if not f.in_k or not f.anti_cd20_restricts:
        return None
    why = "on anti-CD20 therapy" if f.exposure.status == "current" else "B cells not known to be repleted"
    return Fired("serology.false-negative-risk", [Reason("b-cell-depletion", why)])


def passive_antibodies(f: Facts, p: Profile) -> Fired | None:
    if not (f.in_k or f.in_d) or f.igrt.status in ("none", "starting"):
        return None
    if f.igrt.current:
        return Fired("serology.passive-antibodies", [Reason("on-igrt", "on Ig replacement")])
    last = max((d for d in (f.igrt.last_administration, f.igrt.stop) if d is not None), default=None)
    if last is None or add_days(last, p.passive_antibody_days) < f.as_of:
        return None
    return Fired(
        "serology.passive-antibodies",
        [
            Reason(
                "recent-igrt",
                f"last Ig replacement {last.isoformat()}, within {p.passive_antibody_days} days",
            )
        ],
    )


RULES: list[Rule] = [false_negative_risk, passive_antibodies]
