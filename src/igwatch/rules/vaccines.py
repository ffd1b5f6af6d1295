"""Live vaccines: none on anti-CD20 therapy, or after stopping until B-cell repletion (K-14)."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.facts import Facts
from igwatch.findings import Findings
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, recommendation


def restriction_reasons(f: Facts) -> list[Reason]:
    """Why live vaccines are to be avoided now; empty when they are not restricted."""
    reasons: list[Reason] = []
    agent = f.exposure.primary_agent or "anti-CD20 therapy"
    if f.exposure.status == "current":
        reasons.append(Reason("on-therapy", f"on {agent}"))
    elif f.exposure.status == "starting":
        reasons.append(
            Reason(
                "starting",
                f"{agent} is planned: give any live vaccine at least 4 weeks before the "
                "first dose, or postpone the start",
            )
        )
    if f.b_cells_not_repleted or (
        f.exposure.status == "starting" and f.exposure.exposed and not f.b_cells.repleted
    ):
        stop = f.exposure.stop.isoformat() if f.exposure.stop else "on an unknown date"
        state = (
            "CD19 below the repletion limit"
            if f.b_cells.status == "not-repleted"
            else "B-cell repletion not documented"
        )
        reasons.append(Reason("not-repleted", f"anti-CD20 therapy stopped {stop}; {state}"))
    return reasons


@recommendation("vaccine.live-avoid")
def vaccine_live_avoid(f: Facts, k: Findings, p: Profile) -> Fired | None:
    reasons = restriction_reasons(f)
    if not reasons:
        return None
    priority = None
    if f.live_vaccines_given:
        given = "; ".join(
            f"{v.display or v.cvx} on {v.date.isoformat() if v.date else '?'}" for v in f.live_vaccines_given
        )
        reasons.append(
            Reason("live-vaccine-given", f"live vaccine given on therapy or before repletion: {given}")
        )
        priority = "warning"
    variant = "live-vaccine-given" if f.live_vaccines_given else reasons[0].code
    return Fired(reasons, priority=priority, variant=variant)  # type: ignore[arg-type]
