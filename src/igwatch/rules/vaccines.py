"""Live vaccines: none on B-cell-depleting therapy, or after stopping until B-cell repletion (K-14)."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.dates import add_days
from igwatch.facts import Facts
from igwatch.findings import Findings
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, recommendation


def restriction_reasons(f: Facts, p: Profile) -> list[Reason]:
    """Why live vaccines are to be avoided now; empty when they are not restricted."""
    reasons: list[Reason] = []
    weeks = p.live_vaccine_weeks_before_first_dose
    if f.exposure.status == "current":
        reasons.append(Reason("on-therapy", f"on {f.exposure.named_agents}"))
    elif f.exposure.status == "starting" and (not f.exposure.exposed or f.b_cells.repleted):
        # A patient switching agents keeps the earlier agent's restriction until repletion is
        # documented (revision 2, F2); once it is, the new agent's starting advice applies as to
        # anyone starting (§5 names only "no earlier agent": silence here would be the unsafe side).
        reasons.append(
            Reason(
                "starting",
                f"{f.exposure.named_agents} is planned: give any live vaccine at least {weeks} weeks "
                "before the first dose, or postpone the start",
            )
        )
    if f.b_cells_not_repleted:
        stopped = ", ".join(a.agent for a in f.exposure.agents if a.course.status == "discontinued")
        stop = f.exposure.stop.isoformat() if f.exposure.stop else "on an unknown date"
        state = (
            "CD19 below the repletion limit"
            if f.b_cells.status == "not-repleted"
            else "B-cell repletion not documented"
        )
        reasons.append(Reason("not-repleted", f"{stopped} stopped {stop}; {state}"))
    return reasons


@recommendation("vaccine.live-avoid")
def vaccine_live_avoid(f: Facts, k: Findings, p: Profile) -> Fired | None:
    reasons = restriction_reasons(f, p)
    if not reasons:
        return None
    variant = reasons[0].code
    if f.live_vaccines_recent:
        given = "; ".join(
            f"{v.display or v.cvx} on {v.date.isoformat() if v.date else '?'}, {(first - v.date).days} days "
            f"before the first dose on {first.isoformat()}: postpone that dose to "
            f"{add_days(v.date, 7 * p.live_vaccine_weeks_before_first_dose).isoformat()} or later"
            for v, first in f.live_vaccines_recent
            if v.date is not None
        )
        reasons.append(
            Reason("live-vaccine-recent", f"live vaccine given shortly before the first dose: {given}")
        )
        variant = "live-vaccine-recent"
    if f.live_vaccines_given:
        given = "; ".join(
            f"{v.display or v.cvx} on {v.date.isoformat() if v.date else '?'}" for v in f.live_vaccines_given
        )
        reasons.append(
            Reason("live-vaccine-given", f"live vaccine given on therapy or before repletion: {given}")
        )
        variant = "live-vaccine-given"
    warned = bool(f.live_vaccines_given or f.live_vaccines_recent)
    return Fired(reasons, priority="warning" if warned else None, variant=variant)
