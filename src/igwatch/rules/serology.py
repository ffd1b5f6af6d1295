"""Reading serology: false negatives on anti-CD20 (K-18), passive antibodies after IVIG (K-19)."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.dates import add_days
from igwatch.facts import Facts
from igwatch.findings import Findings
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, recommendation


@recommendation("serology.false-negative-risk")
def serology_false_negative_risk(f: Facts, k: Findings, p: Profile) -> Fired | None:
    if not f.anti_cd20_restricts:
        return None
    why = "on anti-CD20 therapy" if f.exposure.status == "current" else "B cells not known to be repleted"
    return Fired([Reason("b-cell-depletion", why)])


@recommendation("serology.passive-antibodies")
def serology_passive_antibodies(f: Facts, k: Findings, p: Profile) -> Fired | None:
    if f.igrt.status in ("none", "starting"):
        return None
    if f.igrt.current:
        return Fired([Reason("on-igrt", "on Ig replacement")])
    last = max((d for d in (f.igrt.last_administration, f.igrt.stop) if d is not None), default=None)
    if last is None or add_days(last, p.passive_antibody_days) < f.as_of:
        return None
    return Fired(
        [
            Reason(
                "recent-igrt",
                f"last Ig replacement {last.isoformat()}, within {p.passive_antibody_days} days",
            )
        ],
    )
