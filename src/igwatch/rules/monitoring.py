"""Monitoring: baseline and regular immunoglobulins, troughs on replacement, B cells, infections."""

from __future__ import annotations

from datetime import date

from igwatch.assessment import MonitoringEntry, Reason
from igwatch.dates import add_days, add_months
from igwatch.facts import IG_NAMES, Facts
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, Rule
from igwatch.rules.actions import CD19, IGG, PANEL, order_tests


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "never"


def baseline(f: Facts, p: Profile) -> Fired | None:
    """monitor.ig-baseline: starting anti-CD20, or started recently, without a baseline panel (K-2)."""
    if f.exposure.status == "starting":
        why = "anti-CD20 therapy is planned"
    elif (
        f.exposure.first_exposure is not None
        and (f.as_of - f.exposure.first_exposure).days <= p.baseline_recent_days
    ):
        why = f"anti-CD20 therapy started {f.exposure.first_exposure.isoformat()}"
    else:
        return None
    reference = f.exposure.baseline_reference or f.as_of
    panel = f.last_panel
    window_start = add_days(reference, -p.baseline_window_days)
    if panel is not None and window_start <= panel <= reference:
        return None
    return Fired(
        "monitor.ig-baseline",
        [
            Reason(
                "no-baseline",
                f"{why}; no complete IgG/IgM/IgA panel in the {p.baseline_window_days} days before "
                f"{reference.isoformat()} (last complete panel: {_iso(panel)})",
            )
        ],
        actions=[order_tests(f.patient_id, "Baseline immunoglobulins: IgG, IgM, IgA", PANEL)],
    )


def _trend_brings_forward(f: Facts, regular: date) -> tuple[date, str] | None:
    crossings = [(t.crossing, t.kind) for t in f.trends if t.crossing is not None]
    if not crossings:
        return None
    crossing, kind = min(crossings)
    if crossing >= regular:
        return None
    return max(crossing, f.as_of), kind


def ig_due(f: Facts, p: Profile) -> Fired | None:
    """monitor.ig-due: the next complete panel (K-2, K-1, D-17)."""
    k_due = f.in_k and f.anti_cd20_restricts
    d_due = f.in_d and not f.igrt.current
    if not (k_due or d_due):
        return None
    panel = f.last_panel
    if panel is None:
        entry = MonitoringEntry("ig-panel", f.as_of, False, None)
        return Fired(
            "monitor.ig-due",
            [Reason("never-measured", "no complete IgG/IgM/IgA panel on record")],
            variant="never-measured",
            monitoring=[entry],
            actions=[order_tests(f.patient_id, "Immunoglobulins: IgG, IgM, IgA", PANEL)],
        )
    due = add_months(panel, p.ig_panel_interval_months)
    reason = Reason(
        "scheduled", f"last complete panel {panel.isoformat()}; every {p.ig_panel_interval_months} months"
    )
    variant = "scheduled"
    forward = _trend_brings_forward(f, due)
    if forward is not None and due >= f.as_of:
        due, kind = forward
        reason = Reason(
            "trend",
            f"{IG_NAMES[kind]} is falling"
            + (
                " and its trend is already below the threshold"
                if due == f.as_of
                else f" and projected to cross its threshold by {due.isoformat()}"
            )
            + ": panel brought forward",
        )
        variant = "trend"
    overdue = due < f.as_of
    if overdue:
        reason = Reason(
            "overdue", f"last complete panel {panel.isoformat()}; due {due.isoformat()}, now overdue"
        )
        variant = "overdue"
    return Fired(
        "monitor.ig-due",
        [reason],
        priority="warning" if overdue else "info",
        variant=variant,
        monitoring=[MonitoringEntry("ig-panel", due, overdue, panel)],
        actions=[order_tests(f.patient_id, "Immunoglobulins: IgG, IgM, IgA", PANEL)] if overdue else [],
    )


def check_igg(f: Facts, p: Profile) -> Fired | None:
    """monitor.check-igg: IgM low and IgG unknown (K-8b: check IgG even when IgM is the main abnormality)."""
    if not (f.in_k or f.in_d) or not f.igm.low or f.igg.known:
        return None
    why = "not measured" if f.igg.value is None else f"last result {f.igg.display()} is not usable"
    return Fired(
        "monitor.check-igg",
        [Reason("igg-unknown", f"IgM low ({f.igm.display()}); IgG {why}")],
        actions=[order_tests(f.patient_id, "IgG", IGG)],
    )


def igg_trough(f: Facts, p: Profile) -> Fired | None:
    """monitor.igg-trough: monthly trough IgG while on replacement (K-3, D-17)."""
    if not f.igrt.current:
        return None
    if f.igrt.start is None:
        # An undated course cannot anchor the interval, and an IgG of unknown relation to the start
        # cannot count as on-replacement: the safe reading is that a trough is due now.
        return Fired(
            "monitor.igg-trough",
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
        variant = "never-measured"
    elif overdue:
        reason = Reason("overdue", f"last IgG {last.isoformat()}; due {due.isoformat()}, now overdue")
        variant = "overdue"
    else:
        reason = Reason(
            "scheduled", f"last IgG {last.isoformat()}; every {p.igrt_monitor_interval_days} days"
        )
        variant = "scheduled"
    return Fired(
        "monitor.igg-trough",
        [reason],
        priority="warning" if overdue else "info",
        variant=variant,
        monitoring=[MonitoringEntry("igg-trough", due, overdue, f.igrt.latest_trough_date)],
        actions=[order_tests(f.patient_id, "Trough IgG (before the next dose)", IGG)],
    )


def bcells(f: Facts, p: Profile) -> Fired | None:
    """monitor.bcells: after stopping anti-CD20, CD19 with each panel until repletion (K-2, K-14)."""
    if not f.b_cells_not_repleted:
        return None
    stop = f.exposure.stop
    if f.b_cells.status == "not-repleted":
        text = (
            f"CD19 {f.b_cells.latest_cd19:g} cells/µL on {_iso(f.b_cells.latest_cd19_date)}, below "
            f"{f.b_cells.threshold:g}"
        )
    else:
        text = "no CD19 count after the stop date" if stop else "stop date unknown: repletion cannot be dated"
    panel_due = add_months(f.last_panel, p.ig_panel_interval_months) if f.last_panel else f.as_of
    return Fired(
        "monitor.bcells",
        [Reason(f.b_cells.status, f"anti-CD20 stopped {_iso(stop)}; {text}")],
        monitoring=[MonitoringEntry("cd19", panel_due, panel_due < f.as_of, f.last_cd19)],
        actions=[order_tests(f.patient_id, "CD19 B-cell count", CD19)],
    )


def infections(f: Facts, p: Profile) -> Fired | None:
    """monitor.infections: always, for a patient in either population (K-4, D-11, K-21)."""
    if not (f.in_k or f.in_d):
        return None
    episodes = f.episodes
    severe = sum(1 for e in episodes if e.severe)
    encapsulated = sum(1 for e in episodes if e.encapsulated)
    text = (
        f"{len(episodes)} infection episode(s) in the last {p.infection_window_months} months "
        f"({severe} severe, {encapsulated} with encapsulated bacteria)"
    )
    if episodes:
        text += ": " + "; ".join(e.describe() for e in episodes)
    return Fired("monitor.infections", [Reason("episodes", text)])


RULES: list[Rule] = [baseline, ig_due, check_igg, igg_trough, bcells, infections]
