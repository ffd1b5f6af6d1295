"""The dose block (clinical-spec §6): IVIG and SCIG doses, trough target and titration.

Decimal arithmetic throughout and half-up rounding (27.5 g → 28 g), never banker's rounding, so
a dose is the same on every door and every platform.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from igwatch.assessment import CurrentDose, DoseBlock, IvigDose, ScigDose, Titration
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
    """§6: the current dose + one step at the same interval, capped at the titration ceiling; or,
    for IV every 4 weeks, the same dose every 3 weeks when that stays within the ceiling. Revision 2:
    an "increase" that would not exceed the current dose is no increase."""
    scale = interval_weeks / 4
    ceiling_per_kg = _d(profile.igrt_titration_max_g_per_kg)
    step = _d(profile.dose_step_g_per_kg) * weight * scale
    ceiling = ceiling_per_kg * weight * scale
    increased = min(current_dose_g + step, ceiling)
    increased_g: int | None = min(
        round_dose(increased, profile), int(ceiling.to_integral_value(rounding="ROUND_FLOOR"))
    )
    if increased_g is not None and increased_g <= current_dose_g:
        increased_g = None
    same_dose_every = None
    if route in (None, "IV") and interval_weeks == 4:
        per_4_weeks_every_3 = current_dose_g * 4 / ALTERNATIVE_IVIG_INTERVAL_WEEKS / weight
        if per_4_weeks_every_3 <= ceiling_per_kg:
            same_dose_every = ALTERNATIVE_IVIG_INTERVAL_WEEKS
    at_ceiling = increased_g is None and same_dose_every is None
    return Titration(
        increased_dose_g=increased_g,
        same_dose_interval_weeks=same_dose_every,
        at_ceiling=at_ceiling,
        ceiling_g_per_kg_per_4_weeks=float(ceiling_per_kg),
    )


def current_dose(
    dose_g: float | None, interval_days: float | None, route: str | None, weight: Decimal | None
) -> CurrentDose:
    """§6 (revision 2): the patient's own dose, in grams, interval and g/kg per 4 weeks."""
    weeks = interval_days / 7 if interval_days else None
    per_kg = None
    if dose_g and weight and weeks:
        # shown, never computed with: a float rounded to 2 places is exact enough
        per_kg = round(dose_g / float(weight) * 4 / weeks, 2)
    return CurrentDose(
        dose_g=dose_g,
        interval_weeks=round(weeks, 1) if weeks is not None else None,
        route=route,
        g_per_kg_per_4_weeks=per_kg,
        recorded=dose_g is not None,
    )


def dose_block(
    weight_kg: float | None,
    height_cm: float | None,
    sex: str | None,
    profile: Profile,
    *,
    titrate: bool = False,
    on_igrt: bool = False,
    current_dose_g: float | None = None,
    current_interval_days: float | None = None,
    route: str | None = None,
) -> tuple[DoseBlock, list[DataIssue]]:
    """The dose block; on replacement the current dose first, and with ``titrate`` the options for
    a trough below target."""
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
            current = _d(current_dose_g) if current_dose_g else per_kg * weight
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
        current=current_dose(current_dose_g, current_interval_days, route, weight) if on_igrt else None,
        weight_kg_exact=float(weight.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP).normalize())
        if weight is not None
        else None,
    )
    return block, issues
