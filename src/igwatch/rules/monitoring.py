"""Monitoring: baseline and regular immunoglobulins, troughs on replacement, B cells, infections."""

from __future__ import annotations

from datetime import date

from igwatch.assessment import MonitoringEntry, Reason
from igwatch.dates import add_days
from igwatch.facts import Facts
from igwatch.findings import Findings
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, recommendation
from igwatch.rules.actions import CD19, IGG, PANEL, order_tests


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "never"


@recommendation("monitor.ig-baseline")
def monitor_ig_baseline(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """Before each agent's first dose, or in its first days, a baseline panel (K-2). Per agent:
    a patient switching agents needs one before the new agent too (revision 2)."""
    starting = [a for a in f.exposure.agents if a.course.status == "starting" and a.course.planned_start]
    given = [
        a
        for a in f.exposure.agents
        if a.course.status in ("current", "discontinued") and a.course.start is not None
    ]
    if starting:
        first = min(starting, key=lambda a: a.course.planned_start or f.as_of)
        reference = first.course.planned_start or f.as_of
        why = f"{first.agent} is planned (first dose {reference.isoformat()})"
    elif given:
        newest = max(given, key=lambda a: a.course.start or f.as_of)
        reference = newest.course.start or f.as_of
        if (f.as_of - reference).days > p.baseline_recent_days:
            return None
        why = f"{newest.agent} started {reference.isoformat()}"
    else:
        return None
    panel = f.last_panel
    window_start = add_days(reference, -p.baseline_window_days)
    if panel is not None and window_start <= panel <= reference:
        return None
    return Fired(
        [
            Reason(
                "no-baseline",
                f"{why}; no complete IgG/IgM/IgA panel in the {p.baseline_window_days} days before "
                f"{reference.isoformat()} (last complete panel: {_iso(panel)})",
            )
        ],
        actions=[order_tests(f.patient_id, "Baseline immunoglobulins: IgG, IgM, IgA", PANEL)],
    )


@recommendation("monitor.ig-due")
def monitor_ig_due(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """The next complete panel (K-2, K-1, D-17), on the one schedule (findings)."""
    k_due = f.in_k and f.anti_cd20_restricts
    d_due = f.in_d and not f.igrt.current
    if not (k_due or d_due):
        return None
    schedule = k.schedule
    order = [order_tests(f.patient_id, "Immunoglobulins: IgG, IgM, IgA", PANEL)]
    if schedule.reason == "never-measured":
        return Fired(
            [Reason("never-measured", schedule.text)],
            variant="never-measured",
            monitoring=[MonitoringEntry("ig-panel", schedule.due, False, None)],
            actions=order,
        )
    return Fired(
        [Reason(schedule.reason, schedule.text)],
        priority="warning" if schedule.overdue else "info",
        variant=schedule.reason,
        monitoring=[MonitoringEntry("ig-panel", schedule.due, schedule.overdue, schedule.last_panel)],
        actions=order if schedule.overdue else [],
    )


@recommendation("monitor.check-igg")
def monitor_check_igg(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """IgM low and IgG unknown (K-8b: check IgG even when IgM is the main abnormality)."""
    if not f.igm.low or f.igg.known:
        return None
    why = "not measured" if f.igg.value is None else f"last result {f.igg.display()} is not usable"
    return Fired(
        [Reason("igg-unknown", f"IgM low ({f.igm.display()}); IgG {why}")],
        actions=[order_tests(f.patient_id, "IgG", IGG)],
    )


@recommendation("monitor.igg-trough")
def monitor_igg_trough(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """Monthly trough IgG while on replacement (K-3, D-17)."""
    if not f.igrt.current:
        return None
    if f.igrt.start is None:
        # An undated course cannot anchor the interval, and an IgG of unknown relation to the start
        # cannot count as on-replacement: the safe reading is that a trough is due now.
        return Fired(
            [
                Reason(
                    "start-unknown",
                    "Ig replacement is current but its start date is unknown; trough IgG due now",
                )
            ],
            variant="start-unknown",
            monitoring=[MonitoringEntry("igg-trough", f.as_of, False, f.igrt.latest_trough_date)],
            actions=[order_tests(f.patient_id, "Trough IgG (before the next dose)", IGG)],
        )
    last = f.igrt.latest_igg_since_start
    due = add_days(last or f.igrt.start, p.igrt_monitor_interval_days)
    overdue = due < f.as_of
    if last is None:
        reason = Reason("never-measured", f"no IgG since Ig replacement started {f.igrt.start.isoformat()}")
    elif overdue:
        reason = Reason("overdue", f"last IgG {last.isoformat()}; due {due.isoformat()}, now overdue")
    else:
        reason = Reason(
            "scheduled", f"last IgG {last.isoformat()}; every {p.igrt_monitor_interval_days} days"
        )
    return Fired(
        [reason],
        priority="warning" if overdue else "info",
        variant=reason.code,
        monitoring=[MonitoringEntry("igg-trough", due, overdue, f.igrt.latest_trough_date)],
        actions=[order_tests(f.patient_id, "Trough IgG (before the next dose)", IGG)],
    )


@recommendation("monitor.bcells")
def monitor_bcells(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """After stopping anti-CD20, CD19 with each panel until repletion (K-2, K-14): due with the
    panel, on the same schedule."""
    if not f.b_cells_not_repleted:
        return None
    stop = f.exposure.stop
    if f.b_cells.status == "not-repleted":
        text = (
            f"CD19 {f.b_cells.latest_cd19:g} cells/µL on {_iso(f.b_cells.latest_cd19_date)}, below "
            f"{f.b_cells.threshold:g}"
        )
    elif stop is None:
        text = "stop date unknown: repletion cannot be dated"
    elif f.b_cells.unusable_counts:
        text = (
            f"no usable CD19 count after the stop date ({f.b_cells.unusable_counts} could not be read: "
            "see the data issues)"
        )
    else:
        text = "no CD19 count after the stop date"
    stopped = ", ".join(a.agent for a in f.exposure.agents if a.course.status == "discontinued")
    schedule = k.schedule
    # due with the next panel; a count already drawn since that date is not overdue
    overdue = schedule.overdue and not (f.last_cd19 is not None and f.last_cd19 >= schedule.due)
    return Fired(
        [
            Reason(
                f.b_cells.status,
                f"{stopped} stopped {stop.isoformat() if stop else 'on an unknown date'}; {text}",
            )
        ],
        monitoring=[MonitoringEntry("cd19", schedule.due, overdue, f.last_cd19)],
        actions=[order_tests(f.patient_id, "CD19 B-cell count", CD19)],
    )


@recommendation("monitor.infections")
def monitor_infections(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """Always, for a patient in either population (K-4, D-11, K-21)."""
    episodes = f.episodes
    severe = sum(1 for e in episodes if e.severe)
    encapsulated = sum(1 for e in episodes if e.encapsulated)
    text = (
        f"{len(episodes)} infection episode(s) in the last {p.infection_window_months} months "
        f"({severe} severe, {encapsulated} with encapsulated bacteria)"
    )
    if episodes:
        text += ": " + "; ".join(e.describe() for e in episodes)
    return Fired([Reason("episodes", text)])
