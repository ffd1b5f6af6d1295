"""Immunoglobulin replacement: when to start, troughs, breakthrough infections, review, residual risk."""

from __future__ import annotations

from igwatch.assessment import Reason
from igwatch.dates import add_months
from igwatch.facts import IG_NAMES, Facts
from igwatch.findings import D_START_REASONS, Findings, episode_list
from igwatch.knowledge.profile import Profile
from igwatch.rules import Fired, recommendation
from igwatch.rules.actions import order_ivig


@recommendation("igrt.start")
def igrt_start(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """Consider (K) or start (D) IVIG/SCIG, with the dose block and the IVIG order."""
    if not k.igrt_start:
        return None
    codes = k.igrt_start_codes
    reasons = list(k.igrt_start_reasons)
    severe = f.episodes_where(lambda e: e.severe)
    if f.d_confirmed and codes & D_START_REASONS:
        variant = "D"
        untested = f.antibody_response.status in ("not-assessed", "not-assessable")
        if (
            untested
            and "life-threatening-infection" not in codes
            and not f.igrt.immune_globulin_within(f.as_of, p.passive_antibody_days)
        ):
            # Titres drawn after the first dose would show infused antibodies for months (K-19).
            variant = "D-titres-first"
            reasons.append(
                Reason(
                    "titres-first",
                    "specific antibody response not yet assessed: where the clinical situation allows, "
                    "give a pneumococcal polysaccharide vaccine and draw serotype titres 4-8 weeks later, "
                    f"before the first dose (immune globulin makes them uninterpretable for "
                    f"{p.passive_antibody_days} days)",
                )
            )
    elif codes == {"igg-below-threshold"} and not severe:
        variant = "K-verify"  # lab value alone: verify infection history first (K-20)
    else:
        variant = "K"
        if codes == {"igg-below-threshold"}:
            # A severe infection on record is the clinical impact K-20 asks about: name it.
            reasons = [
                Reason(r.code, f"{r.text}; with a severe infection in the window: {episode_list(severe)}")
                for r in reasons
            ]
    critical = any(
        e.life_threatening and (e.active or (f.as_of - e.onset).days <= p.critical_recent_days)
        for e in f.episodes
    )
    dose = k.dosing.ivig if k.dosing else None
    actions = [order_ivig(f.patient_id, dose.dose_g, dose.interval_weeks)] if dose and dose.dose_g else []
    return Fired(reasons, priority="critical" if critical else "warning", variant=variant, actions=actions)


@recommendation("igrt.not-for-labs-alone")
def igrt_not_for_labs_alone(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """An Ig is low but no replacement criterion (K-20, K-6, K-4)."""
    if f.igrt.current or f.igg_severe or k.igrt_start:
        return None
    low = [ig for ig in (f.igg, f.igm, f.iga) if ig.low]
    if not low:
        return None
    text = ", ".join(f"{IG_NAMES[ig.kind]} {ig.display()} below {ig.limit:g}" for ig in low)
    return Fired([Reason("low-without-criteria", f"{text}; no infection criterion for replacement")])


def _trough_text(f: Facts) -> str:
    date = f.igrt.latest_trough_date.isoformat() if f.igrt.latest_trough_date else "undated"
    return f"latest trough IgG {f.igrt.latest_trough:g} mg/dL ({date})"


@recommendation("igrt.trough-below-target")
def igrt_trough_below_target(f: Facts, k: Findings, p: Profile) -> Fired | None:
    if k.trough != "below":
        return None
    reasons = [
        Reason(
            "trough-below-target",
            f"{_trough_text(f)} is below the target {p.trough_target_low:g}-{p.trough_target_high:g}",
        )
    ]
    titration = k.dosing.titration if k.dosing else None
    if titration is None or not titration.at_ceiling:
        return Fired(reasons, variant="titrate")
    current = k.dosing.current if k.dosing else None
    per_kg = (
        f"{current.g_per_kg_per_4_weeks:g} g/kg per 4 weeks"
        if current and current.g_per_kg_per_4_weeks is not None
        else "its g/kg cannot be computed"
    )
    reasons.append(
        Reason(
            "at-ceiling",
            f"the current dose ({per_kg}) is at or above the titration ceiling of "
            f"{titration.ceiling_g_per_kg_per_4_weeks:g} g/kg per 4 weeks: no increase; review adherence, "
            "protein loss, infections and the product",
        )
    )
    return Fired(reasons, variant="at-ceiling")


@recommendation("igrt.trough-on-target")
def igrt_trough_on_target(f: Facts, k: Findings, p: Profile) -> Fired | None:
    if k.trough not in ("within", "above"):
        return None
    above = k.trough == "above"
    return Fired(
        [
            Reason(
                "above-target" if above else "within-target",
                f"{_trough_text(f)}, {k.trough} the target {p.trough_target_low:g}-{p.trough_target_high:g}",
            )
        ],
        variant=k.trough,
    )


@recommendation("igrt.breakthrough-infections")
def igrt_breakthrough_infections(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """Recurrent infections on replacement with the trough on target."""
    if k.trough not in ("within", "above"):
        return None
    on = [e for e in f.episodes if e.id in f.igrt.episodes_on_igrt]
    if len(on) < p.recurrent_episodes:
        return None
    return Fired(
        [
            Reason(
                "recurrent-on-igrt",
                f"{len(on)} infection episodes on Ig replacement with {_trough_text(f)}: {episode_list(on)}",
            )
        ]
    )


@recommendation("igrt.review-continuation")
def igrt_review_continuation(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """6 months on replacement without infection, levels recovered (K-11, D-17)."""
    if not f.igrt.current or f.igrt.start is None or add_months(f.igrt.start, 6) > f.as_of:
        return None
    six_months_ago = add_months(f.as_of, -6)
    if any(e.onset >= six_months_ago for e in f.episodes):
        return None
    if f.in_k and not (f.igm.not_low and f.iga.not_low and f.b_cells.repleted):
        return None
    if f.in_d and k.trough not in ("within", "above"):
        return None
    return Fired(
        [
            Reason(
                "no-infections",
                f"on Ig replacement since {f.igrt.start.isoformat()}; no infection episode since "
                f"{six_months_ago.isoformat()}",
            )
        ]
    )


@recommendation("igrt.mucosal-residual-risk")
def igrt_mucosal_residual_risk(f: Facts, k: Findings, p: Profile) -> Fired | None:
    """IgG products do not replace IgM/IgA (D-14, D-15, D-16)."""
    if not (f.igrt.current or k.igrt_start):
        return None
    low = [ig for ig in (f.igm, f.iga) if ig.low]
    if not low:
        return None
    return Fired(
        [Reason("igm-or-iga-low", ", ".join(f"{IG_NAMES[ig.kind]} {ig.display()} low" for ig in low))]
    )
