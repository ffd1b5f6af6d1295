"""F11 trend projection at its edges: falling, already crossed, and nearly flat."""

from __future__ import annotations

from datetime import date, timedelta

from igwatch.facts import trend
from igwatch.knowledge.profile import load_profile
from igwatch.timeline import LabResult

AS_OF = date(2026, 10, 15)


def _labs(values: list[float]) -> list[LabResult]:
    start = AS_OF - timedelta(days=180 * (len(values) - 1))
    return [
        LabResult(id=f"o{i}", kind="igg", date=start + timedelta(days=180 * i), value=value)
        for i, value in enumerate(values)
    ]


def test_falling_trend_projects_a_crossing_after_as_of() -> None:
    result = trend(_labs([900, 800, 700]), "igg", 400, AS_OF, load_profile("default"))
    assert result is not None and result.crossing is not None
    assert result.slope_per_year < 0
    assert result.crossing > AS_OF


def test_trend_already_below_threshold_has_no_crossing() -> None:
    # Revision 2 (F11): the latest value is below 400 already: nothing to project, no date moved.
    result = trend(_labs([500, 420, 380]), "igg", 400, AS_OF, load_profile("default"))
    assert result is not None and result.crossing is None


def test_trend_still_above_threshold_projects_its_crossing() -> None:
    result = trend(_labs([600, 520, 440]), "igg", 400, AS_OF, load_profile("default"))
    assert result is not None and result.crossing is not None and result.crossing > AS_OF


def test_nearly_flat_falling_trend_has_no_crossing_instead_of_crashing() -> None:
    # A fall of a billionth of a mg/dL a year would cross 400 mg/dL after date.max.
    values = [900.0, 900.0 - 1e-9, 900.0 - 2e-9]
    result = trend(_labs(values), "igg", 400, AS_OF, load_profile("default"))
    assert result is not None
    assert result.slope_per_year <= 0
    assert result.crossing is None
