"""Calendar arithmetic as clinical-spec §4 defines it."""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta


def add_months(day: date, months: int) -> date:
    """Calendar months; a month end clamps (2026-08-31 + 6 months = 2027-02-28)."""
    return day + relativedelta(months=months)


def add_days(day: date, days: float) -> date:
    return day + timedelta(days=days)


def within_last_months(day: date, as_of: date, months: int) -> bool:
    """In the last N months, the boundary date included; never after ``as_of``."""
    return add_months(as_of, -months) <= day <= as_of


def age_in_years(birth: date, on: date) -> int:
    return relativedelta(on, birth).years
