"""The summary figures on a tiny cohort whose answers are known by hand."""

from __future__ import annotations

import math

import pytest

from igwatch.knowledge.profile import load_profile
from igwatch.population.summary import build_summary, poisson_interval, wilson_interval


def row(
    pid: str,
    *,
    ofa: str = "none",
    igm: str = "unknown",
    igg: str = "unknown",
    episodes: int = 0,
    recs: str = "",
) -> dict[str, object]:
    return {
        "patient_id": pid,
        "in_scope": True,
        "populations": "K",
        "recommendations": recs,
        "ofatumumab_status": ofa,
        "igm_state": igm,
        "igg_state": igg,
        "infection_episodes": episodes,
        "top_priority": "info",
    }


def test_wilson_interval_known_values() -> None:
    # 14 of 100: the Wilson score interval is 8.53%–22.14%
    low, high = wilson_interval(14, 100)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.0853, 0.2214)
    low, high = wilson_interval(0, 10)  # type: ignore[misc]
    assert low == 0.0 and round(high, 4) == 0.2775
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize(
    ("count", "low", "high"),
    [(0, 0.0, 3.6889), (1, 0.0253, 5.5716), (10, 4.7954, 18.3904), (100, 81.3639, 121.6268)],
)
def test_exact_poisson_interval_known_values(count: int, low: float, high: float) -> None:
    got = poisson_interval(count)
    assert math.isclose(got[0], low, abs_tol=1e-3) and math.isclose(got[1], high, abs_tol=1e-3)


def test_summary_on_a_known_cohort() -> None:
    rows = [
        row("a", ofa="current", igm="low", igg="low", episodes=2, recs="igrt.start;monitor.ig-due"),
        row("b", ofa="current", igm="not-low", igg="not-low", episodes=0, recs="monitor.ig-due"),
        row("c", ofa="current", igm="not-low", igg="not-low", episodes=1, recs="monitor.ig-due"),
        row("d", ofa="current", igm="unknown", igg="unknown", episodes=0),
        row("e", ofa="none", igm="low", igg="not-low", episodes=1),
        {**row("f"), "in_scope": False, "populations": ""},
    ]
    profile = load_profile("default")
    summary = build_summary(
        rows, patients_read=10, patients_screened=6, profile=profile, as_of="2026-10-15", engine="duckdb"
    )
    assert summary["patients_in_scope"] == 5
    assert summary["recommendation_counts"] == {"monitor.ig-due": 3, "igrt.start": 1} or summary[
        "recommendation_counts"
    ] == {"igrt.start": 1, "monitor.ig-due": 3}
    igm = summary["real_world"]["igm_below_limit_on_ofatumumab"]
    assert (igm["patients_on_ofatumumab"], igm["with_known_igm"], igm["below_limit"]) == (4, 3, 1)
    assert igm["share"] == round(1 / 3, 4)
    low, high = wilson_interval(1, 3)  # type: ignore[misc]
    assert igm["ci95"] == [round(low, 4), round(high, 4)]
    # one year of person-time each (12-month window): IgG low = patient a, 2 episodes in 1 year
    years = profile.infection_window_months / 12
    by_igg = summary["real_world"]["infection_rates"]["by_igg"]
    assert by_igg["low"]["patients"] == 1 and by_igg["low"]["episodes"] == 2
    assert by_igg["low"]["per_100_patient_years"] == round(200 / years, 3)
    assert by_igg["not-low"] == {
        "patients": 3,
        "episodes": 2,
        "patient_years": round(3 * years, 3),
        "per_100_patient_years": round(200 / (3 * years), 3),
        "ci95": [round(x * 100 / (3 * years), 3) for x in poisson_interval(2)],
    }
    assert by_igg["unknown_patients"] == 1
    by_igm = summary["real_world"]["infection_rates"]["by_igm"]
    assert (by_igm["low"]["patients"], by_igm["low"]["episodes"]) == (2, 3)
