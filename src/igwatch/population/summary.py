"""``summary.json`` and ``summary.md``: counts per recommendation and real-world figures beside the
trial ones (contract §5).

- **IgM below the limit on ofatumumab.** Among patients currently on ofatumumab whose latest IgM
  (on or before the as-of date) is known, the share whose IgM is low — below the laboratory's
  lower limit when the result carries one, else the profile's (34 mg/dL = 0.34 g/L by default).
  Beside it, the trial figure of K-7: 14.3% developed IgM < 0.34 g/L (at any time in the trials,
  where this is the latest value: the real-world share is a point prevalence). 95% CI: Wilson
  score interval.
- **Infections by IgG and IgM stratum.** Patients in scope are split by their latest IgG (then
  IgM) state, low or not low (unknown left out and counted). Each contributes the profile's
  infection window (``infection_window_months``) as person-time, and its infection episodes in
  that window (episodes as the engine merges them). Rate per 100 patient-years with an exact
  Poisson (Garwood) 95% CI (Byar's approximation above 300 episodes).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import Profile

Z95: Final = 1.959963984540054
TRIAL_IGM_SHARE: Final = 0.143
TRIAL_IGM_LIMIT_G_L: Final = 0.34


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion; None when ``n`` is 0."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _poisson_cdf(k: int, mean: float) -> float:
    """P(X ≤ k) for X ~ Poisson(mean), summed in log space so large counts do not underflow."""
    if k < 0:
        return 0.0
    if mean <= 0:
        return 1.0
    log_mean = math.log(mean)
    logs = [-mean + i * log_mean - math.lgamma(i + 1) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * math.fsum(math.exp(x - top) for x in logs))


def _solve(function: Any, target: float, low: float, high: float) -> float:
    """The mean where the decreasing ``function`` crosses ``target`` (bisection)."""
    for _ in range(100):
        middle = (low + high) / 2
        if function(middle) > target:
            low = middle
        else:
            high = middle
        if high - low <= 1e-9 * max(1.0, high):
            break
    return (low + high) / 2


EXACT_POISSON_MAX: Final = 300


def poisson_interval(count: int, alpha: float = 0.05) -> tuple[float, float]:
    """Confidence interval for a Poisson count: exact (Garwood: the means at which seeing at
    least / at most ``count`` has probability alpha/2) up to :data:`EXACT_POISSON_MAX`, Byar's
    approximation above it (within 0.1% of exact there, and constant time)."""
    if count > EXACT_POISSON_MAX and alpha == 0.05:
        k = float(count)
        lower = k * (1 - 1 / (9 * k) - Z95 / (3 * math.sqrt(k))) ** 3
        upper = (k + 1) * (1 - 1 / (9 * (k + 1)) + Z95 / (3 * math.sqrt(k + 1))) ** 3
        return lower, upper
    bound = count + 20 * math.sqrt(count + 1) + 20
    lower = 0.0 if count == 0 else _solve(lambda m: _poisson_cdf(count - 1, m), 1 - alpha / 2, 0.0, bound)
    upper = _solve(lambda m: _poisson_cdf(count, m), alpha / 2, 0.0, bound)
    return lower, upper


def _rate(episodes: int, patients: int, years_each: float) -> dict[str, Any]:
    person_years = patients * years_each
    if person_years <= 0:
        return {
            "patients": patients,
            "episodes": episodes,
            "patient_years": 0.0,
            "per_100_patient_years": None,
            "ci95": None,
        }
    low, high = poisson_interval(episodes)
    scale = 100.0 / person_years
    return {
        "patients": patients,
        "episodes": episodes,
        "patient_years": round(person_years, 3),
        "per_100_patient_years": round(episodes * scale, 3),
        "ci95": [round(low * scale, 3), round(high * scale, 3)],
    }


@dataclass
class _Stratum:
    """Patients and infection episodes of one IgG or IgM state."""

    patients: Counter[str] = field(default_factory=Counter)
    episodes: Counter[str] = field(default_factory=Counter)
    unknown: int = 0

    def add(self, state: Any, episodes: int) -> None:
        if state in ("low", "not-low"):
            self.patients[state] += 1
            self.episodes[state] += episodes
        else:
            self.unknown += 1

    def rates(self, years_each: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            state: _rate(self.episodes[state], self.patients[state], years_each)
            for state in ("low", "not-low")
        }
        out["unknown_patients"] = self.unknown
        return out


@dataclass
class SummaryCounts:
    """The summary's figures, counted one worklist row at a time so a screen of any size keeps
    only counters, never the rows."""

    assessed: int = 0
    in_scope: int = 0
    deceased: int = 0
    recommendations: Counter[str] = field(default_factory=Counter)
    populations: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    top_priorities: Counter[str] = field(default_factory=Counter)
    overdue_ig_panel: int = 0
    overdue_igg_trough: int = 0
    on_ofatumumab: int = 0
    ofatumumab_known_igm: int = 0
    ofatumumab_igm_below: int = 0
    by_igg: _Stratum = field(default_factory=_Stratum)
    by_igm: _Stratum = field(default_factory=_Stratum)

    def add(self, row: Mapping[str, Any]) -> None:
        self.assessed += 1
        if row.get("assessment_error"):
            self.errors[str(row["assessment_error"]).split(":")[0]] += 1
        self.deceased += bool(row.get("deceased"))
        if not row.get("in_scope"):
            return
        self.in_scope += 1
        self.recommendations.update(x for x in str(row.get("recommendations") or "").split(";") if x)
        self.populations[str(row.get("populations") or "")] += 1
        if row.get("top_priority"):
            self.top_priorities[str(row["top_priority"])] += 1
        self.overdue_ig_panel += bool(row.get("ig_panel_overdue"))
        self.overdue_igg_trough += bool(row.get("igg_trough_overdue"))
        if row.get("ofatumumab_status") == "current":
            self.on_ofatumumab += 1
            if row.get("igm_state") in ("low", "not-low"):
                self.ofatumumab_known_igm += 1
                self.ofatumumab_igm_below += row.get("igm_state") == "low"
        episodes = int(row.get("infection_episodes") or 0)
        self.by_igg.add(row.get("igg_state"), episodes)
        self.by_igm.add(row.get("igm_state"), episodes)

    def summary(
        self, *, patients_read: int, patients_screened: int, profile: Profile, as_of: str, engine: str
    ) -> dict[str, Any]:
        """The summary of the screen (``summary.json``)."""
        catalog = knowledge().catalog
        counts = self.recommendations
        ordered = {
            rid: counts[rid]
            for rid in sorted(counts, key=lambda x: catalog[x].order if x in catalog else 10**6)
        }
        populations = self.populations
        known, below = self.ofatumumab_known_igm, self.ofatumumab_igm_below
        interval = wilson_interval(below, known)
        years_each = profile.infection_window_months / 12.0
        return {
            "as_of": as_of,
            "profile": profile.name,
            "engine": engine,
            "patients_read": patients_read,
            "patients_screened": patients_screened,
            "patients_assessed": self.assessed,
            "patients_in_scope": self.in_scope,
            "patients_deceased": self.deceased,
            "populations": {
                "K": sum(n for p, n in populations.items() if "K" in p.split(";")),
                "D": sum(n for p, n in populations.items() if "D" in p.split(";")),
                "both": populations.get("D;K", 0),
            },
            "patients_not_assessable": sum(self.errors.values()),
            "assessment_errors": dict(self.errors),
            "recommendation_counts": ordered,
            "top_priority_counts": dict(self.top_priorities),
            "overdue": {"ig_panel": self.overdue_ig_panel, "igg_trough": self.overdue_igg_trough},
            "real_world": {
                "igm_below_limit_on_ofatumumab": {
                    "patients_on_ofatumumab": self.on_ofatumumab,
                    "with_known_igm": known,
                    "below_limit": below,
                    "share": round(below / known, 4) if known else None,
                    "ci95": [round(interval[0], 4), round(interval[1], 4)] if interval else None,
                    "ci_method": "Wilson score interval",
                    "definition": "latest IgM on or before as-of below the laboratory's lower limit, else the profile's (igm_lln_mg_dl)",
                    "profile_limit_mg_dl": profile.igm_lln_mg_dl,
                    "trial": {
                        "share": TRIAL_IGM_SHARE,
                        "limit_g_l": TRIAL_IGM_LIMIT_G_L,
                        "statement": "K-7",
                        "definition": "developed IgM below 0.34 g/L at any time in the trials",
                    },
                },
                "infection_rates": {
                    "window_months": profile.infection_window_months,
                    "person_time": "each patient in scope contributes the infection window",
                    "ci_method": "exact Poisson (Garwood) interval; Byar's approximation above 300 episodes",
                    "by_igg": self.by_igg.rates(years_each),
                    "by_igm": self.by_igm.rates(years_each),
                },
            },
        }


def build_summary(
    rows: Iterable[Mapping[str, Any]],
    *,
    patients_read: int,
    patients_screened: int,
    profile: Profile,
    as_of: str,
    engine: str,
) -> dict[str, Any]:
    """The summary of a screen from every assessed patient's worklist row."""
    counts = SummaryCounts()
    for row in rows:
        counts.add(row)
    return counts.summary(
        patients_read=patients_read,
        patients_screened=patients_screened,
        profile=profile,
        as_of=as_of,
        engine=engine,
    )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """A short human summary of ``summary.json``."""
    rw = summary["real_world"]
    igm = rw["igm_below_limit_on_ofatumumab"]
    ci = igm["ci95"]
    lines = [
        f"# Population screen, as of {summary['as_of']} (profile {summary['profile']})",
        "",
        f"- Patients read: {summary['patients_read']:,}; with relevant records: {summary['patients_screened']:,}; "
        f"in scope (population K or D): {summary['patients_in_scope']:,} "
        f"(K {summary['populations']['K']:,}, D {summary['populations']['D']:,}, both {summary['populations']['both']:,})",
        f"- Overdue: Ig panel {summary['overdue']['ig_panel']:,}, IgG trough {summary['overdue']['igg_trough']:,}",
        f"- Not assessable (engine error; listed on the worklist for manual review): "
        f"{summary['patients_not_assessable']:,}",
        "",
        "## IgM below the limit on ofatumumab",
        "",
        "| | share | 95% CI | n |",
        "|---|---|---|---|",
        f"| this population (latest IgM) | {_pct(igm['share'])} | "
        f"{'—' if ci is None else _pct(ci[0]) + '–' + _pct(ci[1])} (Wilson) | {igm['with_known_igm']:,} |",
        f"| trials (K-7, ever < 0.34 g/L) | {_pct(igm['trial']['share'])} | | |",
        "",
        f"## Infection episodes per 100 patient-years ({rw['infection_rates']['window_months']}-month window, exact Poisson CI)",
        "",
        "| stratum | patients | episodes | rate | 95% CI |",
        "|---|---|---|---|---|",
    ]
    for label, key in (("IgG", "by_igg"), ("IgM", "by_igm")):
        for state in ("low", "not-low"):
            r = rw["infection_rates"][key][state]
            rate = "—" if r["per_100_patient_years"] is None else f"{r['per_100_patient_years']:.1f}"
            rci = "—" if r["ci95"] is None else f"{r['ci95'][0]:.1f}–{r['ci95'][1]:.1f}"
            lines.append(f"| {label} {state} | {r['patients']:,} | {r['episodes']:,} | {rate} | {rci} |")
    lines += ["", "## Recommendations", "", "| id | patients |", "|---|---|"]
    lines += [f"| {rid} | {n:,} |" for rid, n in summary["recommendation_counts"].items()]
    return "\n".join(lines) + "\n"


def write_summary(summary: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "summary.json"
    md_path = out_dir / "summary.md"
    json_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(summary_markdown(summary), encoding="utf-8")
    return json_path, md_path
