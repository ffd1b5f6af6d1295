"""Today and the dates a user types, the same for every door (CLI, CDS Hooks service, web pages).

``IGWATCH_TODAY=YYYY-MM-DD`` replaces the real today (tests, reproducible runs); a malformed value
is refused, never ignored. A typed date is strict ``YYYY-MM-DD`` within the years igwatch's
calendar arithmetic can reach back and forward from (1900–2999): an as-of date in year 1 would
take the windows before the calendar begins.
"""

from __future__ import annotations

import os
import re
from datetime import date
from typing import Final

from igwatch.errors import InputRefused

_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
EARLIEST: Final = date(1900, 1, 1)
LATEST: Final = date(2999, 12, 31)


def parse_date(value: str, where: str) -> date:
    """A strict YYYY-MM-DD date from 1900 to 2999; anything else is refused naming ``where``."""
    text = value.strip()
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            if EARLIEST <= day <= LATEST:
                return day
            raise InputRefused(f"{where} {value!r}: outside {EARLIEST.isoformat()} to {LATEST.isoformat()}")
    raise InputRefused(f"{where} {value[:40]!r}: not a valid date (YYYY-MM-DD)")


def today() -> date:
    """The real today, or ``IGWATCH_TODAY`` when set; a malformed ``IGWATCH_TODAY`` is refused."""
    override = os.environ.get("IGWATCH_TODAY", "").strip()
    if override:
        return parse_date(override, "IGWATCH_TODAY")
    return date.today()
