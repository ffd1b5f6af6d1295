"""F11 trends, beyond the guides (clinical-spec §4): the yearly slope of IgG and IgM and when it
crosses its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from igwatch.dates import add_days, add_months
from igwatch.knowledge.profile import Profile
from igwatch.timeline import LabResult


@dataclass(frozen=True)
class Trend:
    kind: str
    results: int
    slope_per_year: float
    threshold: float
    crossing: date | None
    sources: tuple[str, ...] = ()


def trend(
    labs: list[LabResult],
    kind: str,
    threshold: float,
    as_of: date,
    profile: Profile,
    exclude_from: date | None = None,
) -> Trend | None:
    """Least-squares slope per year over the last ``trend_years``; projected crossing when falling."""
    since = add_months(as_of, -12 * profile.trend_years)
    points = [
        lab
        for lab in labs
        if since <= lab.date <= as_of
        and lab.comparator is None
        and (exclude_from is None or lab.date < exclude_from)
    ]
    if len(points) < profile.trend_min_results:
        return None
    xs = [(lab.date - as_of).days / 365.25 for lab in points]
    ys = [lab.value for lab in points]
    n = len(points)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    crossing = None
    latest = max(points, key=lambda lab: lab.date)
    # Revision 2: a value already below its threshold has no crossing to project (it used to pull
    # the panel to as_of days after the last one); the limit itself already drives the rules.
    if slope < 0 and latest.value >= threshold:
        at_as_of = mean_y - slope * mean_x
        years = (threshold - at_as_of) / slope
        if years <= 0:
            crossing = as_of  # the fitted line is past the threshold though the last value is not
        else:
            try:
                crossing = add_days(as_of, round(years * 365.25))
            except OverflowError:
                crossing = None  # a near-flat trend crosses beyond the calendar: no projection
    return Trend(kind, n, round(slope, 2), threshold, crossing, tuple(lab.id for lab in points))


# --------------------------------------------------------------------------- all facts
