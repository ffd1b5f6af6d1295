"""The realism parameters are one consistent structure: shares are fractions, mixes are positive,
and the archetype shares leave a majority of patients outside both populations."""

from __future__ import annotations

from dataclasses import fields

from igwatch.synth.params import DEFAULT_REALISM, Realism


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
