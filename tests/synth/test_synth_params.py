"""The realism parameters are one consistent structure: shares are fractions, mixes are positive,
and the archetype shares leave a majority of patients outside both populations."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from igwatch.cli import app
from igwatch.synth.cohort import ARCHETYPES
from igwatch.synth.params import DEFAULT_REALISM, Realism

DEMO_DAY = date(2026, 10, 15)
IN_SCOPE_ARCHETYPES = ARCHETYPES[:5]  # the archetypes of populations K and D


def test_shares_are_fractions_and_mixes_positive() -> None:
    for f in fields(Realism):
        value = getattr(DEFAULT_REALISM, f.name)
        if f.name.startswith("share_"):
            assert 0.0 <= value <= 1.0, f.name
        if isinstance(value, tuple) and value and isinstance(value[0], tuple):
            assert all(weight > 0 for _, weight in value), f.name


def test_archetype_shares_leave_a_majority_in_neither_population() -> None:
    r = DEFAULT_REALISM
    in_k_or_d = (
        r.share_ofatumumab
        + r.share_ocrelizumab
        + r.share_rituximab
        + r.share_igm_deficiency_confirmed
        + r.share_igm_deficiency_suspected
    )
    decoys = (
        r.share_ms_other_dmt
        + r.share_obinutuzumab_low_igm
        + r.share_itp_ivig_high_dose
        + r.share_secondary_low_igg
        + r.share_checked_normal_panel
    )
    assert in_k_or_d < 0.5
    assert in_k_or_d + decoys < 1.0


def test_agents_follow_the_published_direction() -> None:
    ofatumumab = DEFAULT_REALISM.agents["ofatumumab"]
    # About -47% IgM by week 168 and about 0.27 g/L (27 mg/dL) IgG per year.
    assert 0.4 <= ofatumumab.igm_fall_168w <= 0.55
    assert 20 <= ofatumumab.igg_fall_per_year <= 35
    assert ofatumumab.interval_weeks == 4
    assert all(a.interval_weeks == 26 for n, a in DEFAULT_REALISM.agents.items() if n != "ofatumumab")


def test_a_real_prevalence_keeps_the_proportions_and_shrinks_the_near_misses() -> None:
    from igwatch.synth.params import in_scope_share, with_in_scope_share

    real = with_in_scope_share(0.01)
    assert abs(in_scope_share(real) - 0.01) < 1e-12
    ratio = real.share_ofatumumab / DEFAULT_REALISM.share_ofatumumab
    assert abs(real.share_rituximab / DEFAULT_REALISM.share_rituximab - ratio) < 1e-12
    assert abs(real.share_ms_other_dmt / DEFAULT_REALISM.share_ms_other_dmt - ratio) < 1e-12
    assert real.share_checked_normal_panel == DEFAULT_REALISM.share_checked_normal_panel


def test_the_cli_makes_a_one_percent_cohort(tmp_path: Path) -> None:
    from igwatch.synth.cohort import generate_patient
    from igwatch.synth.params import with_in_scope_share

    real = with_in_scope_share(0.01)
    archetypes = [generate_patient(7, n, DEMO_DAY, real).archetype for n in range(4000)]
    in_scope = sum(a in IN_SCOPE_ARCHETYPES for a in archetypes)
    assert 20 <= in_scope <= 65  # 1 % of 4,000 is 40
    done = CliRunner().invoke(
        app, ["synth", str(tmp_path / "c"), "--patients", "5", "--in-scope-share", "0.9"]
    )
    assert done.exit_code == 2 and "at most 0.5" in done.output
