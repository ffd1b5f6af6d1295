"""Findings: the shared judgements several recommendations rest on, computed once per assessment.

Facts (F1–F11) say what the record holds; findings say what follows from them that more than one
rule needs: the reasons to start Ig replacement (``igrt.start``, ``igrt.not-for-labs-alone``,
``igrt.mucosal-residual-risk``, ``prophylaxis.*``), the reasons to consider stopping the agent
(``anti-cd20.*``), the prophylaxis reasons, the trough against its target, the one monitoring
schedule every monitoring rule uses (so the panel and the CD19 count fall due together), and the
dose block (clinical-spec §6). Rules read these; they never call each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from igwatch.assessment import DoseBlock, Reason
from igwatch.dates import add_months
from igwatch.dosing import dose_block
from igwatch.facts import IG_NAMES, Episode, Facts
from igwatch.knowledge.profile import Profile
from igwatch.timeline import DataIssue

TroughStatus = Literal["none", "below", "within", "above"]
ScheduleReason = Literal["never-measured", "scheduled", "trend", "overdue"]

# igrt.start reasons that make guide D's "start IVIG" wording apply to a confirmed D patient.
D_START_REASONS = frozenset(
    {
        "recurrent-bacterial",
        "impaired-specific-antibodies",
        "prophylaxis-failed",
        "life-threatening-infection",
        "antibiotic-refractory",
    }
)


@dataclass(frozen=True)
class PanelSchedule:
    """When the next complete immunoglobulin panel (and the CD19 count with it) is due."""

    due: date
    overdue: bool
    reason: ScheduleReason
    text: str
    last_panel: date | None


@dataclass(frozen=True)
class ProphylaxisFinding:
    reasons: tuple[Reason, ...] = ()
    variant: str | None = None


@dataclass(frozen=True)
class Findings:
    igrt_start_reasons: tuple[Reason, ...]
    discontinuation_reasons: tuple[Reason, ...]
    prophylaxis: ProphylaxisFinding
    trough: TroughStatus
    schedule: PanelSchedule
    dosing: DoseBlock | None
    dosing_issues: tuple[DataIssue, ...]

    @property
    def igrt_start(self) -> bool:
        return bool(self.igrt_start_reasons)

    @property
    def igrt_start_codes(self) -> frozenset[str]:
        return frozenset(r.code for r in self.igrt_start_reasons)


def episode_list(episodes: list[Episode]) -> str:
    return "; ".join(e.describe() for e in episodes)


# --------------------------------------------------------------------------- Ig replacement


def igrt_start_reasons(f: Facts, p: Profile) -> list[Reason]:
    """Every reason to start Ig replacement (K-8 a-d for population K, D-8 a-e for confirmed D);
    empty when on replacement."""
    if f.igrt.current:
        return []
    reasons: list[Reason] = []
    window = f"in the last {p.infection_window_months} months"
    if f.in_k:
        encapsulated = f.episodes_where(lambda e: e.severe and e.encapsulated)
        if len(encapsulated) >= p.recurrent_episodes:
            reasons.append(
                Reason(
                    "encapsulated-recurrent",
                    f"{len(encapsulated)} severe infections with encapsulated bacteria {window}: "
                    f"{episode_list(encapsulated)}",
                )
            )
        if f.igg_severe:
            reasons.append(
                Reason(
                    "igg-below-threshold",
                    f"IgG {f.igg.display()} is below {p.igg_replacement_threshold_mg_dl:g} mg/dL",
                )
            )
    if f.d_confirmed:
        bacterial = f.episodes_where(lambda e: e.bacterial)
        if len(bacterial) >= p.recurrent_episodes:
            reasons.append(
                Reason(
                    "recurrent-bacterial",
                    f"{len(bacterial)} bacterial infections {window}: {episode_list(bacterial)}",
                )
            )
        if f.antibody_response.status == "impaired":
            r = f.antibody_response
            detail = (
                f"{r.protective} of {r.serotypes} pneumococcal serotypes ≥ {p.pneumococcal_protective_ug_ml:g} µg/mL "
                f"on {r.set_date.isoformat()}"
                if r.set_date and r.serotypes
                else r.why
            )
            reasons.append(
                Reason("impaired-specific-antibodies", f"impaired specific antibody response: {detail}")
            )
        if f.prophylaxis.failed:
            reasons.append(
                Reason(
                    "prophylaxis-failed",
                    f"{len(f.prophylaxis.episodes_during)} infection episode(s) during antibiotic "
                    "prophylaxis",
                )
            )
    if f.in_k or f.d_confirmed:
        life_threatening = f.episodes_where(lambda e: e.life_threatening)
        if life_threatening:
            reasons.append(
                Reason(
                    "life-threatening-infection",
                    f"life-threatening infection: {episode_list(life_threatening)}",
                )
            )
        refractory = f.episodes_where(lambda e: e.antibiotic_refractory)
        if refractory:
            reasons.append(
                Reason(
                    "antibiotic-refractory",
                    "documented bacterial infection with insufficient response to antibiotics: "
                    f"{episode_list(refractory)}",
                )
            )
    return reasons


def trough_status(f: Facts, p: Profile) -> TroughStatus:
    if not f.igrt.current or f.igrt.latest_trough is None:
        return "none"
    if f.igrt.latest_trough < p.trough_target_low:
        return "below"
    return "above" if f.igrt.latest_trough > p.trough_target_high else "within"


# --------------------------------------------------------------------------- anti-CD20 therapy


def discontinuation_reasons(f: Facts, p: Profile) -> list[Reason]:
    """K-13: only these, never lab values alone; for any agent that is current."""
    if f.exposure.status != "current":
        return []
    reasons: list[Reason] = []
    opportunistic = f.episodes_where(lambda e: e.opportunistic)
    if opportunistic:
        reasons.append(
            Reason(
                "opportunistic-infection",
                f"serious opportunistic infection: {episode_list(opportunistic)}",
            )
        )
    on_igrt = [e for e in f.episodes if e.id in f.igrt.episodes_on_igrt]
    if len(on_igrt) >= p.recurrent_episodes:
        reasons.append(
            Reason(
                "recurrent-despite-igrt",
                f"{len(on_igrt)} infection episodes despite Ig replacement: {episode_list(on_igrt)}",
            )
        )
    severe = f.episodes_where(lambda e: e.severe)
    if f.igg_severe and severe:
        reasons.append(
            Reason(
                "severe-igg-with-severe-infection",
                f"IgG {f.igg.display()} below {p.igg_replacement_threshold_mg_dl:g} mg/dL with a severe "
                f"infection: {episode_list(severe)}",
            )
        )
    return reasons


# --------------------------------------------------------------------------- prophylaxis


def prophylaxis_reasons(f: Facts, p: Profile, start_codes: frozenset[str]) -> ProphylaxisFinding:
    """K-17, D-6, D-7: when prophylactic antibiotics are worth considering."""
    if f.igrt.current or f.prophylaxis.current:
        return ProphylaxisFinding()
    window = f"in the last {p.infection_window_months} months"
    if f.in_k and len(f.episodes) >= p.recurrent_episodes and not start_codes:
        return ProphylaxisFinding(
            (Reason("recurrent-infections", f"{len(f.episodes)} infection episodes {window}"),), "K"
        )
    if f.d_confirmed:
        bacterial = f.episodes_where(lambda e: e.bacterial)
        if bacterial and not start_codes:
            return ProphylaxisFinding(
                (
                    Reason(
                        "mild-presentation",
                        f"{len(bacterial)} bacterial infection episode(s) {window}, no criterion for "
                        "Ig replacement",
                    ),
                ),
                "D",
            )
        if start_codes == {"recurrent-bacterial"} and not any(e.severe for e in f.episodes):
            return ProphylaxisFinding(
                (
                    Reason(
                        "alternative-first-line",
                        "recurrent bacterial infections, none severe: prophylactic antibiotics are an "
                        "alternative first line to IVIG (D-6, D-7)",
                    ),
                ),
                "D",
            )
    return ProphylaxisFinding()


# --------------------------------------------------------------------------- monitoring


def _trend_brings_forward(f: Facts, regular: date) -> tuple[date, str] | None:
    crossings = [(t.crossing, t.kind) for t in f.trends if t.crossing is not None]
    if not crossings:
        return None
    crossing, kind = min(crossings)
    if crossing >= regular:
        return None
    return max(crossing, f.as_of), kind


def panel_schedule(f: Facts, p: Profile) -> PanelSchedule:
    """The next complete panel: never measured (due now), scheduled, brought forward by a falling
    trend (F11), or overdue. The CD19 count after stopping falls due with it."""
    panel = f.last_panel
    if panel is None:
        return PanelSchedule(
            f.as_of, False, "never-measured", "no complete IgG/IgM/IgA panel on record", None
        )
    due = add_months(panel, p.ig_panel_interval_months)
    reason: ScheduleReason = "scheduled"
    text = f"last complete panel {panel.isoformat()}; every {p.ig_panel_interval_months} months"
    forward = _trend_brings_forward(f, due)
    if forward is not None and due >= f.as_of:
        due, kind = forward
        reason = "trend"
        text = (
            f"{IG_NAMES[kind]} is falling"
            + (
                " and its trend is already below the threshold"
                if due == f.as_of
                else f" and projected to cross its threshold by {due.isoformat()}"
            )
            + ": panel brought forward"
        )
    overdue = due < f.as_of
    if overdue:
        reason = "overdue"
        text = f"last complete panel {panel.isoformat()}; due {due.isoformat()}, now overdue"
    return PanelSchedule(due, overdue, reason, text, panel)


# --------------------------------------------------------------------------- all findings


def derive_findings(f: Facts, p: Profile) -> Findings:
    start = igrt_start_reasons(f, p)
    codes = frozenset(r.code for r in start)
    trough = trough_status(f, p)
    dosing: DoseBlock | None = None
    dosing_issues: list[DataIssue] = []
    if start or f.igrt.current:
        dosing, dosing_issues = dose_block(
            f.body.weight_kg,
            f.body.height_cm,
            f.body.sex,
            p,
            titrate=trough == "below",
            on_igrt=f.igrt.current,
            current_dose_g=f.igrt.dose_g if f.igrt.current else None,
            current_interval_days=f.igrt.interval_days if f.igrt.current else None,
            route=f.igrt.route,
        )
    return Findings(
        igrt_start_reasons=tuple(start),
        discontinuation_reasons=tuple(discontinuation_reasons(f, p)),
        prophylaxis=prophylaxis_reasons(f, p, codes),
        trough=trough,
        schedule=panel_schedule(f, p),
        dosing=dosing,
        dosing_issues=tuple(dosing_issues),
    )
