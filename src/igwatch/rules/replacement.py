"""Immunoglobulin replacement: when to start, troughs, breakthrough infections, review, residual risk."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.dates import add_months
from igwatch.facts import IG_NAMES, Episode, Facts
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, Rule
from igwatch.rules.actions import order_ivig


def _list(episodes: list[Episode]) -> str:
    return "; ".join(e.describe() for e in episodes)


def start_reasons(f: Facts, p: Profile) -> list[Reason]:
    """Every reason to start Ig replacement (K-8 a-d for population K, D-8 a-e for confirmed D).

    Shared by the rules that depend on whether ``igrt.start`` fires; empty when on replacement.
    """
    if f.igrt.current:
        return []
    reasons: list[Reason] = []
    window = f"in the last {p.infection_window_months} months"
    life_threatening = f.episodes_where(lambda e: e.life_threatening)
    refractory = f.episodes_where(lambda e: e.antibiotic_refractory)
    if f.in_k:
        encapsulated = f.episodes_where(lambda e: e.severe and e.encapsulated)
        if len(encapsulated) >= p.recurrent_episodes:
            reasons.append(
                Reason(
                    "encapsulated-recurrent",
                    f"{len(encapsulated)} severe infections with encapsulated bacteria {window}: "
                    f"{_list(encapsulated)}",
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
                    f"{len(bacterial)} bacterial infections {window}: {_list(bacterial)}",
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
    if (f.in_k or f.d_confirmed) and life_threatening:
        reasons.append(
            Reason("life-threatening-infection", f"life-threatening infection: {_list(life_threatening)}")
        )
    if (f.in_k or f.d_confirmed) and refractory:
        reasons.append(
            Reason(
                "antibiotic-refractory",
                f"documented bacterial infection with insufficient response to antibiotics: "
                f"{_list(refractory)}",
            )
        )
    return reasons


def start(f: Facts, p: Profile) -> Fired | None:
    """igrt.start: consider (K) or start (D) IVIG/SCIG, with the dose block."""
    reasons = start_reasons(f, p)
    if not reasons:
        return None
    codes = {r.code for r in reasons}
    if f.d_confirmed and codes & {
        "recurrent-bacterial",
        "impaired-specific-antibodies",
        "prophylaxis-failed",
        "life-threatening-infection",
        "antibiotic-refractory",
    }:
        variant = "D"
    elif codes == {"igg-below-threshold"}:
        variant = "K-verify"  # lab value alone: verify infection history first (K-20)
    else:
        variant = "K"
    critical = any(
        e.life_threatening and (e.active or (f.as_of - e.onset).days <= p.critical_recent_days)
        for e in f.episodes
    )
    return Fired("igrt.start", reasons, priority="critical" if critical else "warning", variant=variant)


def not_for_labs_alone(f: Facts, p: Profile) -> Fired | None:
    """igrt.not-for-labs-alone: an Ig is low but no replacement criterion (K-20, K-6, K-4)."""
    if not (f.in_k or f.in_d) or f.igrt.current or f.igg_severe or start_reasons(f, p):
        return None
    low = [ig for ig in (f.igg, f.igm, f.iga) if ig.low]
    if not low:
        return None
    text = ", ".join(f"{IG_NAMES[ig.kind]} {ig.display()} below {ig.limit:g}" for ig in low)
    return Fired(
        "igrt.not-for-labs-alone",
        [Reason("low-without-criteria", f"{text}; no infection criterion for replacement")],
    )


def _trough_text(f: Facts) -> str:
    date = f.igrt.latest_trough_date.isoformat() if f.igrt.latest_trough_date else "undated"
    return f"latest trough IgG {f.igrt.latest_trough:g} mg/dL ({date})"


def trough_below(f: Facts, p: Profile) -> Fired | None:
    if not f.igrt.current or f.igrt.latest_trough is None or f.igrt.latest_trough >= p.trough_target_low:
        return None
    return Fired(
        "igrt.trough-below-target",
        [
            Reason(
                "trough-below-target",
                f"{_trough_text(f)} is below the target {p.trough_target_low:g}-{p.trough_target_high:g}",
            )
        ],
    )


def trough_on_target(f: Facts, p: Profile) -> Fired | None:
    if not f.igrt.current or f.igrt.latest_trough is None or f.igrt.latest_trough < p.trough_target_low:
        return None
    above = f.igrt.latest_trough > p.trough_target_high
    return Fired(
        "igrt.trough-on-target",
        [
            Reason(
                "above-target" if above else "within-target",
                f"{_trough_text(f)}, {'above' if above else 'within'} the target {p.trough_target_low:g}-{p.trough_target_high:g}",
            )
        ],
        variant="above" if above else "within",
    )


def breakthrough(f: Facts, p: Profile) -> Fired | None:
    """igrt.breakthrough-infections: recurrent infections on replacement with the trough on target."""
    if not f.igrt.current or f.igrt.latest_trough is None or f.igrt.latest_trough < p.trough_target_low:
        return None
    on = [e for e in f.episodes if e.id in f.igrt.episodes_on_igrt]
    if len(on) < p.recurrent_episodes:
        return None
    return Fired(
        "igrt.breakthrough-infections",
        [
            Reason(
                "recurrent-on-igrt",
                f"{len(on)} infection episodes on Ig replacement with {_trough_text(f)}: {_list(on)}",
            )
        ],
    )


def review_continuation(f: Facts, p: Profile) -> Fired | None:
    """igrt.review-continuation: 6 months on replacement without infection, levels recovered (K-11, D-17)."""
    if not f.igrt.current or f.igrt.start is None or add_months(f.igrt.start, 6) > f.as_of:
        return None
    six_months_ago = add_months(f.as_of, -6)
    if any(e.onset >= six_months_ago for e in f.episodes):
        return None
    if not (f.in_k or f.in_d):
        return None
    if f.in_k and not (f.igm.not_low and f.iga.not_low and f.b_cells.repleted):
        return None
    if f.in_d and (f.igrt.latest_trough is None or f.igrt.latest_trough < p.trough_target_low):
        return None
    return Fired(
        "igrt.review-continuation",
        [
            Reason(
                "no-infections",
                f"on Ig replacement since {f.igrt.start.isoformat()}; no infection episode since "
                f"{six_months_ago.isoformat()}",
            )
        ],
    )


def mucosal_residual_risk(f: Facts, p: Profile) -> Fired | None:
    """igrt.mucosal-residual-risk: IgG products do not replace IgM/IgA (D-14, D-15, D-16)."""
    if not (f.igrt.current or start_reasons(f, p)):
        return None
    low = [ig for ig in (f.igm, f.iga) if ig.low]
    if not low:
        return None
    return Fired(
        "igrt.mucosal-residual-risk",
        [Reason("igm-or-iga-low", ", ".join(f"{IG_NAMES[ig.kind]} {ig.display()} low" for ig in low))],
    )


RULES: list[Rule] = [
    start,
    not_for_labs_alone,
    trough_below,
    trough_on_target,
    breakthrough,
    review_continuation,
    mucosal_residual_risk,
]


def ivig_action(f: Facts, dose_g: int | None, interval_weeks: int) -> list[dict[str, object]]:
    """The IVIG order suggested with igrt.start, when a dose could be computed."""
    return [order_ivig(f.patient_id, dose_g, interval_weeks)] if dose_g else []
