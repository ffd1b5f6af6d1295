"""Calendar arithmetic (clinical-spec §4): month ends clamp; ages count whole calendar years.

The functions are written with the standard library for speed (they run many times per patient in
a population screen); dateutil's relativedelta, the reference reading, checks them."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from igwatch.dates import add_months, age_in_years, within_last_months

DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


def test_month_end_clamps() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)


def test_ages_at_birthdays() -> None:
    assert age_in_years(date(1980, 6, 15), date(2026, 6, 14)) == 45
    assert age_in_years(date(1980, 6, 15), date(2026, 6, 15)) == 46
    # A 29 February birthday comes on 28 February in other years (as calendar months count).
    assert age_in_years(date(2008, 2, 29), date(2050, 2, 27)) == 41
    assert age_in_years(date(2008, 2, 29), date(2050, 2, 28)) == 42


def test_window_includes_its_first_day() -> None:
    as_of = date(2026, 10, 15)
    assert within_last_months(date(2026, 4, 15), as_of, 6)
    assert not within_last_months(date(2026, 4, 14), as_of, 6)
    assert not within_last_months(date(2026, 10, 16), as_of, 6)


@given(DAYS, st.integers(min_value=-600, max_value=600))
def test_add_months_matches_relativedelta(day: date, months: int) -> None:
    try:
        expected = day + relativedelta(months=months)
    except (ValueError, OverflowError):
        return
    assert add_months(day, months) == expected


@given(DAYS, DAYS)
def test_age_matches_relativedelta(birth: date, on: date) -> None:
    assert age_in_years(birth, on) == relativedelta(on, birth).years
