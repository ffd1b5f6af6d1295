"""Calendar arithmetic as clinical-spec §4 defines it."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta


def add_months(day: date, months: int) -> date:
    """Calendar months; a month end clamps (2026-08-31 + 6 months = 2027-02-28)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last_day))


def add_days(day: date, days: float) -> date:
    return day + timedelta(days=days)


def within_last_months(day: date, as_of: date, months: int) -> bool:
    """In the last N months, the boundary date included; never after ``as_of``."""
    return add_months(as_of, -months) <= day <= as_of


def age_in_years(birth: date, on: date) -> int:
    """Whole years, counted as calendar months are (a 29 February birthday comes on 28 February
    in other years)."""
    if on < birth:  # a birth date after the day asked about: as dateutil counts it (rare)
        return relativedelta(on, birth).years
    years = on.year - birth.year
    return years - 1 if add_months(birth, 12 * years) > on else years
