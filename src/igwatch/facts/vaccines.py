"""Live vaccines given on B-cell-depleting therapy, or shortly before a first dose (revision 2)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from igwatch.dates import add_days
from igwatch.facts.b_cells import repletion_documented_by
from igwatch.facts.exposure import AntiCD20Exposure
from igwatch.knowledge.profile import Profile
from igwatch.timeline import Timeline, Vaccination


def _live_vaccinations_given(timeline: Timeline, as_of: date) -> Iterable[Vaccination]:
    """Live vaccines recorded as given (not ordered, not in error), dated on or before ``as_of``."""
    for vaccination in timeline.vaccinations:
        if not vaccination.live or vaccination.ordered or vaccination.date is None:
            continue
        if (vaccination.status or "completed").lower() in ("entered-in-error", "not-done"):
            continue
        if vaccination.date <= as_of:
            yield vaccination


def live_vaccines_on_therapy(
    timeline: Timeline, as_of: date, profile: Profile, exposure: AntiCD20Exposure
) -> list[Vaccination]:
    """Live vaccines given on anti-CD20 therapy, or after stopping before documented repletion."""
    if exposure.first_exposure is None:
        return []
    given = []
    for vaccination in _live_vaccinations_given(timeline, as_of):
        if vaccination.date is None or vaccination.date < exposure.first_exposure:
            continue
        stop = exposure.stop
        if (
            stop is not None
            and vaccination.date > stop
            and repletion_documented_by(timeline, profile, stop, vaccination.date)
        ):
            continue
        given.append(vaccination)
    return given


def live_vaccines_before_first_dose(
    timeline: Timeline, as_of: date, profile: Profile, exposure: AntiCD20Exposure
) -> list[tuple[Vaccination, date]]:
    """Live vaccines given less than ``live_vaccine_weeks_before_first_dose`` weeks before an
    agent's first dose, planned or given (revision 2, ``live-vaccine-recent``). A first dose given
    more than ``baseline_recent_days`` ago is history: postponing it is no longer possible."""
    recent_from = add_days(as_of, -profile.baseline_recent_days)
    first_doses = [d for d in exposure.first_doses if d >= recent_from]
    limit = 7 * profile.live_vaccine_weeks_before_first_dose
    found = []
    for vaccination in _live_vaccinations_given(timeline, as_of):
        assert vaccination.date is not None
        before = [d for d in first_doses if 0 < (d - vaccination.date).days < limit]
        if before:
            found.append((vaccination, min(before)))
    return found
