"""The dose block (clinical-spec §6): IVIG and SCIG doses, trough target and titration.

Decimal arithmetic throughout and half-up rounding (27.5 g → 28 g), never banker's rounding, so
a dose is the same on every door and every platform.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from igwatch.assessment import DoseBlock, IvigDose, ScigDose, Titration
from igwatch.knowledge.profile import Profile
from igwatch.timeline import DataIssue

CM_PER_INCH = Decimal("2.54")
DEVINE_BASE_KG = {"male": Decimal(50), "female": Decimal("45.5")}
DEVINE_KG_PER_INCH = Decimal("2.3")
ADJUSTED_FACTOR = Decimal("0.4")
OBESE_BMI = Decimal(30)
ALTERNATIVE_IVIG_INTERVAL_WEEKS = 3


def _d(value: float) -> Decimal:
    return Decimal(str(value))


def round_half_up(value: Decimal, step: Decimal = Decimal(1)) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def round_dose(exact: Decimal, profile: Profile) -> int:
    """To the nearest ``dose_rounding_g`` when that changes the dose by at most
    ``dose_rounding_max_pct`` of the exact dose, else to the nearest gram."""
    vial = round_half_up(exact, Decimal(profile.dose_rounding_g))
    if exact > 0 and abs(vial - exact) / exact * 100 <= _d(profile.dose_rounding_max_pct):
        return int(vial)
    return int(round_half_up(exact))


def dosing_weight(
    weight_kg: float | None, height_cm: float | None, sex: str | None, profile: Profile
) -> tuple[Decimal | None, str, list[DataIssue]]:
    """The weight to dose on, its basis (actual, adjusted, none) and any data issue."""
    if weight_kg is None:
        return (
            None,
            "none",
            [
                DataIssue(
                    "warning",
                    "weight-missing",
                    f"a dose is needed and no weight within {profile.weight_max_age_days} days: record a weight; "
                    "only the per-kg dose is shown",
                )
            ],
        )
    actual = _d(weight_kg)
    if profile.dosing_weight != "adjusted-if-obese":
        return actual, "actual", []
    if height_cm is None or sex not in DEVINE_BASE_KG:
        return (
            actual,
            "actual",
            [
                DataIssue(
                    "warning",
                    "height-or-sex-missing",
                    "adjusted body weight needs height and sex: dosed on actual weight",
                )
            ],
        )
    height_m = _d(height_cm) / 100
    bmi = actual / (height_m * height_m)
    if bmi < OBESE_BMI:
        return actual, "actual", []
    inches = _d(height_cm) / CM_PER_INCH
    ideal = DEVINE_BASE_KG[sex] + DEVINE_KG_PER_INCH * (inches - 60)
    adjusted = ideal + ADJUSTED_FACTOR * (actual - ideal)
    return adjusted, "adjusted", []


def _titration(
    weight: Decimal, current_dose_g: Decimal, interval_weeks: Decimal, route: str | None, profile: Profile
) -> Titration:
    scale = interval_weeks / 4
    step = _d(profile.dose_step_g_per_kg) * weight * scale
    ceiling = _d(profile.igrt_titration_max_g_per_kg) * weight * scale
    increased = min(current_dose_g + step, ceiling)
    increased_g = min(round_dose(increased, profile), int(ceiling.to_integral_value(rounding="ROUND_FLOOR")))
    same_dose_every = (
        ALTERNATIVE_IVIG_INTERVAL_WEEKS if route in (None, "IV") and interval_weeks == 4 else None
    )
    return Titration(increased_dose_g=increased_g, same_dose_interval_weeks=same_dose_every)


def dose_block(
    weight_kg: float | None,
    height_cm: float | None,
    sex: str | None,
    profile: Profile,
    *,
    titrate_from_g: float | None = None,
    titrate: bool = False,
    current_interval_days: float | None = None,
    route: str | None = None,
) -> tuple[DoseBlock, list[DataIssue]]:
    """The dose block; with ``titrate`` the titration options for a trough below target."""
    weight, basis, issues = dosing_weight(weight_kg, height_cm, sex, profile)
    per_kg = _d(profile.ivig_g_per_kg)
    interval = profile.ivig_interval_weeks
    exact = dose = weekly = biweekly = None
    if weight is not None:
        exact_d = per_kg * weight
        exact = float(exact_d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        dose = round_dose(exact_d, profile)
        weekly_d = exact_d * _d(profile.scig_conversion_factor) / interval
        weekly = int(round_half_up(weekly_d))
        biweekly = int(round_half_up(weekly_d * 2))
    titration = None
    if titrate:
        if weight is None:
            titration = Titration(None, ALTERNATIVE_IVIG_INTERVAL_WEEKS if route in (None, "IV") else None)
        else:
            interval_weeks = (_d(current_interval_days) / 7) if current_interval_days else Decimal(interval)
            current = _d(titrate_from_g) if titrate_from_g else per_kg * weight
            titration = _titration(
                weight, current, interval_weeks.quantize(Decimal("0.01")).normalize(), route, profile
            )
    block = DoseBlock(
        weight_kg=float(weight.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
        if weight is not None
        else None,
        weight_basis=basis,  # type: ignore[arg-type]
        ivig=IvigDose(profile.ivig_g_per_kg, exact, dose, interval, ALTERNATIVE_IVIG_INTERVAL_WEEKS),
        scig=ScigDose(profile.scig_conversion_factor, weekly, biweekly),
        trough_target_mg_dl=profile.trough_target_mg_dl,
        titration=titration,
    )
    return block, issues
