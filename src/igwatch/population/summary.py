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


def _stratum(rows: list[Mapping[str, Any]], key: str, years_each: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for state in ("low", "not-low"):
        chosen = [r for r in rows if r.get(key) == state]
        out[state] = _rate(
            sum(int(r.get("infection_episodes") or 0) for r in chosen), len(chosen), years_each
        )
    out["unknown_patients"] = sum(1 for r in rows if r.get(key) not in ("low", "not-low"))
    return out


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
    assessed = list(rows)
    in_scope = [r for r in assessed if r.get("in_scope")]
    catalog = knowledge().catalog
    counts: Counter[str] = Counter()
    for r in in_scope:
        counts.update(x for x in str(r.get("recommendations") or "").split(";") if x)
    ordered = {
        rid: counts[rid] for rid in sorted(counts, key=lambda x: catalog[x].order if x in catalog else 10**6)
    }
    populations: Counter[str] = Counter(str(r.get("populations") or "") for r in in_scope)
    ofa = [r for r in in_scope if r.get("ofatumumab_status") == "current"]
    ofa_known = [r for r in ofa if r.get("igm_state") in ("low", "not-low")]
    below = sum(1 for r in ofa_known if r.get("igm_state") == "low")
    interval = wilson_interval(below, len(ofa_known))
    years_each = profile.infection_window_months / 12.0
    return {
        "as_of": as_of,
        "profile": profile.name,
        "engine": engine,
        "patients_read": patients_read,
        "patients_screened": patients_screened,
        "patients_assessed": len(assessed),
        "patients_in_scope": len(in_scope),
        "populations": {
            "K": sum(n for p, n in populations.items() if "K" in p.split(";")),
            "D": sum(n for p, n in populations.items() if "D" in p.split(";")),
            "both": populations.get("D;K", 0),
        },
        "patients_not_assessable": sum(1 for r in assessed if r.get("assessment_error")),
        "assessment_errors": dict(
            Counter(str(r["assessment_error"]).split(":")[0] for r in assessed if r.get("assessment_error"))
        ),
        "recommendation_counts": ordered,
        "top_priority_counts": dict(
            Counter(str(r.get("top_priority")) for r in in_scope if r.get("top_priority"))
        ),
        "overdue": {
            "ig_panel": sum(1 for r in in_scope if r.get("ig_panel_overdue")),
            "igg_trough": sum(1 for r in in_scope if r.get("igg_trough_overdue")),
        },
        "real_world": {
            "igm_below_limit_on_ofatumumab": {
                "patients_on_ofatumumab": len(ofa),
                "with_known_igm": len(ofa_known),
                "below_limit": below,
                "share": round(below / len(ofa_known), 4) if ofa_known else None,
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
                "by_igg": _stratum(in_scope, "igg_state", years_each),
                "by_igm": _stratum(in_scope, "igm_state", years_each),
            },
        },
    }


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
