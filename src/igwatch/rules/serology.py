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
    """Any immune globulin, replacement or immunomodulatory (revision 2, K-19: "received IVIG")."""
    if f.igrt.current:
        return Fired([Reason("on-igrt", "on Ig replacement")])
    last = f.igrt.last_immune_globulin
    if last is None or add_days(last, p.passive_antibody_days) < f.as_of:
        return None
    what = "immune globulin" + (" (immunomodulatory dose)" if f.igrt.immunomodulatory_records else "")
    running = " (still running)" if last >= f.as_of else ""
    return Fired(
        [
            Reason(
                "recent-igrt",
                f"last {what} {last.isoformat()}{running}, within {p.passive_antibody_days} days",
            )
        ]
    )
