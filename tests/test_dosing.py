"""The dose block (clinical-spec §6) at its boundaries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from igwatch.dates import add_months
from igwatch.dosing import dose_block, round_dose, round_half_up
from igwatch.knowledge.profile import load_profile

DEFAULT = load_profile()
STEWARDSHIP = load_profile("stewardship")


@pytest.mark.parametrize(
    ("weight", "exact", "rounded", "weekly", "biweekly"),
    [
        (82, 32.8, 35, 8, 16),  # 35 is 6.7% from 32.8: rounded to 5 g
        (66, 26.4, 25, 7, 13),  # 25 is 5.3% off
        (45, 18.0, 18, 5, 9),  # 20 would be 11.1% off: stays 18
        (70, 28.0, 30, 7, 14),
        (68.75, 27.5, 30, 7, 14),  # 30 is 9.1% from 27.5: allowed
        (56.25, 22.5, 23, 6, 11),  # 25 would be 11.1% off: nearest gram, 22.5 half-up → 23
    ],
)
def test_ivig_and_scig(weight: float, exact: float, rounded: int, weekly: int, biweekly: int) -> None:
    block, issues = dose_block(weight, None, None, DEFAULT)
    assert block.weight_basis == "actual" and not issues
    assert block.ivig.dose_g_exact == exact
    assert block.ivig.dose_g == rounded
    assert (block.scig.weekly_g, block.scig.biweekly_g) == (weekly, biweekly)
    assert block.ivig.interval_weeks == 4 and block.ivig.alternative_interval_weeks == 3


def test_rounding_is_half_up_not_bankers() -> None:
    assert round_half_up(Decimal("27.5")) == 28
    assert round_half_up(Decimal("26.5")) == 27
    assert round_dose(Decimal("22.5"), DEFAULT) == 23  # 25 is 11.1% off: nearest gram, half-up
    assert round_dose(Decimal("12.5"), DEFAULT) == 13  # banker's rounding would give 12
    assert round_dose(Decimal("23"), DEFAULT) == 25  # 8.7%


def test_rounding_boundary_exactly_ten_percent_rounds() -> None:
    # 50 g exact → 50; 45.4545 → 45 (1%); exactly 10%: 22.7272…→ 25 is 10.0% → allowed only when ≤ 10%
    assert round_dose(Decimal(25) / Decimal("1.1"), DEFAULT) == 25


def test_no_weight_gives_per_kg_only_and_a_data_issue() -> None:
    block, issues = dose_block(None, None, None, DEFAULT)
    assert block.weight_basis == "none"
    assert block.ivig.dose_g is None and block.ivig.dose_g_exact is None and block.scig.weekly_g is None
    assert block.ivig.g_per_kg == 0.4
    assert [i.code for i in issues] == ["weight-missing"]


def test_adjusted_weight_when_obese_under_stewardship() -> None:
    # 165 cm = 64.96 in; female IBW = 45.5 + 2.3 × 4.96 = 56.9 kg; BMI 120/1.65² = 44.1
    block, issues = dose_block(120, 165, "female", STEWARDSHIP)
    assert block.weight_basis == "adjusted" and not issues
    ideal = 45.5 + 2.3 * (165 / 2.54 - 60)
    assert block.weight_kg == pytest.approx(ideal + 0.4 * (120 - ideal), abs=0.05)


def test_bmi_just_under_30_keeps_actual_weight() -> None:
    # 1.70 m: BMI 30 at 86.7 kg
    under, _ = dose_block(86.6, 170, "male", STEWARDSHIP)
    at, _ = dose_block(86.7, 170, "male", STEWARDSHIP)
    assert under.weight_basis == "actual"
    assert at.weight_basis == "adjusted"


def test_adjusted_weight_needs_height_and_sex() -> None:
    block, issues = dose_block(120, None, "female", STEWARDSHIP)
    assert block.weight_basis == "actual"
    assert [i.code for i in issues] == ["height-or-sex-missing"]


def test_titration_adds_a_step_and_offers_three_weekly() -> None:
    block, _ = dose_block(
        80,
        None,
        None,
        DEFAULT,
        titrate=True,
        on_igrt=True,
        current_dose_g=30,
        current_interval_days=28,
        route="IV",
    )
    assert block.titration is not None
    assert block.titration.increased_dose_g == 40  # 30 + 0.1 × 80 = 38 → 40 (5.3%)
    assert block.titration.same_dose_interval_weeks == 3


def test_titration_never_exceeds_the_ceiling() -> None:
    # 0.8 g/kg × 50 kg = 40 g per 4 weeks; from 38 g a step of 5 g would pass it
    block, _ = dose_block(
        50,
        None,
        None,
        DEFAULT,
        titrate=True,
        on_igrt=True,
        current_dose_g=38,
        current_interval_days=28,
        route="IV",
    )
    assert block.titration is not None and block.titration.increased_dose_g == 40
    # the same 38 g every 3 weeks would be 1.01 g/kg per 4 weeks: above the ceiling, not offered
    assert block.titration.same_dose_interval_weeks is None


def _titration(weight: float, current_g: float) -> dict[str, object]:
    block, _ = dose_block(
        weight,
        None,
        None,
        DEFAULT,
        titrate=True,
        on_igrt=True,
        current_dose_g=current_g,
        current_interval_days=28,
        route="IV",
    )
    return block.to_dict()["titration"]  # type: ignore[no-any-return]


def test_no_increase_above_the_ceiling() -> None:
    # 60 g every 4 weeks at 70 kg is 0.86 g/kg per 4 weeks, above the 0.8 ceiling (review finding:
    # "raise the dose to 55 g" was a cut); every 3 weeks would be 1.14 g/kg per 4 weeks
    titration = _titration(70, 60)
    assert titration["increased_dose_g"] is None
    assert titration["same_dose_interval_weeks"] is None
    assert titration["at_ceiling"] is True and titration["ceiling_g_per_kg_per_4_weeks"] == 0.8


def test_no_increase_at_the_ceiling_and_one_step_below_it() -> None:
    at = _titration(70, 56)  # 0.8 g/kg: the capped step would not exceed the current dose
    assert at["increased_dose_g"] is None and at["at_ceiling"] is True
    below = _titration(70, 49)  # 0.7 g/kg: 49 + 7 = 56, capped at 56, rounded to 55 > 49
    assert below["increased_dose_g"] == 55 and below["at_ceiling"] is False


def test_the_current_dose_comes_with_its_g_per_kg() -> None:
    block, _ = dose_block(70, None, None, DEFAULT, on_igrt=True, current_dose_g=60, current_interval_days=28)
    assert block.to_dict()["current"] == {
        "dose_g": 60,
        "interval_weeks": 4.0,
        "route": None,
        "g_per_kg_per_4_weeks": 0.86,
        "recorded": True,
    }


def test_trough_target_follows_the_profile() -> None:
    block, _ = dose_block(70, None, None, load_profile("trough-500-700"))
    assert block.to_dict()["trough_target_mg_dl"] == [500, 700]


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [("2026-08-31", 6, "2027-02-28"), ("2026-09-15", 6, "2027-03-15"), ("2024-02-29", 12, "2025-02-28")],
)
def test_calendar_months_clamp_month_ends(start: str, months: int, expected: str) -> None:
    from datetime import date

    assert add_months(date.fromisoformat(start), months).isoformat() == expected
