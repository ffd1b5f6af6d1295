"""Every realism parameter of the synthetic cohort, in one place, with where each figure comes from.

The generator (:mod:`igwatch.synth.cohort`) reads only :data:`DEFAULT_REALISM`; nothing clinical
is hard-coded there. Shares are fractions of all patients (archetypes) or of the records they
qualify (dirty records). Rates are per patient-year. Immunoglobulins are in mg/dL.

Sources (paraphrased; "modelling choice" marks a figure picked to make a plausible health-system
population where no single published figure applies):

- Ofatumumab long-term data (ALITHIOS, up to ~3.5 years): mean IgM about −47% by week 168; about a
  quarter of patients had IgM below the lower limit at some point; mean IgG stayed in range and
  fell about 0.27 g/L per year. ASCLEPIOS I/II: IgM < 0.34 g/L in 14.3% (guide K, K-7).
- Ocrelizumab open-label extensions: IgM below the limit in about a quarter to a third after several
  years, IgG falling about 0.3 g/L per year; B-cell repletion median about 72 weeks after the last
  infusion. Rituximab: similar IgM falls, more secondary hypogammaglobulinaemia (IgG < 4 g/L in a
  few percent), B cells returning 6–12 months after the last dose.
- Ofatumumab label: B cells (CD19) return to the lower limit or baseline in a median of ~24 weeks
  after stopping.
- Serious infections on anti-CD20 in MS: about 2–3 per 100 patient-years; all coded infections
  in primary-care records of adults about 0.3–0.6 per patient-year (respiratory and urinary tract
  infections dominating).
- Primary selective IgM deficiency (guide D, D-2, D-3): prevalence 0.03–3%; recurrent infections
  in ~80%, autoimmunity ~20%, impaired pneumococcal responses ~45%.
- Lab practice: immunoglobulins reported in mg/dL (US) or g/L (Europe), IgM sometimes in mg/L;
  adult reference ranges IgG 700–1600 mg/dL, IgA 70–400, IgM 40–230 (some labs 0.34 g/L).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class AgentModel:
    """How one anti-CD20 agent is given and what it does to immunoglobulins and B cells."""

    rxnorm: str
    display: str
    product_text: str
    interval_weeks: int
    #: Mean fractional IgM fall at ~3.2 years (week 168) and its between-patient SD.
    igm_fall_168w: float
    igm_fall_sd: float
    #: Mean IgG fall in mg/dL per year on therapy and its SD.
    igg_fall_per_year: float
    igg_fall_sd: float
    #: Median weeks from the last dose to B-cell repletion.
    repletion_median_weeks: float
    #: Earliest start date (marketing approval), ISO date.
    approved: str


@dataclass(frozen=True)
class Realism:
    """The cohort's shape. Change a figure here, never in the generator."""

    # -- archetype shares (sum to 1; the remainder after the named ones is "general") ---------
    #: Anti-CD20 patients by agent (modelling choice: enough to exercise every K rule; a real
    #: health system has far fewer, which the screen's summary reports as measured shares).
    share_ofatumumab: float = 0.13
    share_ocrelizumab: float = 0.08
    share_rituximab: float = 0.05
    #: Ocrelizumab → ofatumumab switchers (counted inside share_ofatumumab).
    share_switch_ocr_to_ofa_of_ofa: float = 0.12
    #: Primary IgM deficiency with a recorded diagnosis / only a low IgM (suspected).
    share_igm_deficiency_confirmed: float = 0.025
    share_igm_deficiency_suspected: float = 0.025
    #: Decoys that igwatch must leave out of both populations.
    share_ms_other_dmt: float = 0.05  # MS on natalizumab, fumarates, glatiramer…
    share_obinutuzumab_low_igm: float = 0.008  # excluded from suspected IgM deficiency
    share_itp_ivig_high_dose: float = 0.006  # immunomodulatory IVIG (1 g/kg): not replacement
    share_secondary_low_igg: float = 0.01  # low IgG, normal IgM: neither population
    share_checked_normal_panel: float = 0.05  # an Ig panel done for other reasons, all normal
    share_children_of_general: float = 0.12

    # -- demographics (years; MS: mostly women, diagnosed 20–40) -------------------------------
    age_children: tuple[float, float] = (2.0, 17.9)
    age_adults: tuple[float, float] = (18.0, 88.0)
    age_ms_mean_sd: tuple[float, float] = (42.0, 10.0)
    age_ms_range: tuple[float, float] = (19.0, 72.0)
    age_cll: tuple[float, float] = (55.0, 85.0)
    share_female: float = 0.52
    share_female_ms: float = 0.7
    share_relapsing_ms: float = 0.8

    # -- anti-CD20 therapy histories ---------------------------------------------------------
    agents: dict[str, AgentModel] = field(
        default_factory=lambda: {
            "ofatumumab": AgentModel(
                "712566",
                "ofatumumab",
                "Kesimpta 20 mg/0.4 mL pen (ofatumumab)",
                4,
                0.5,
                0.15,
                27.0,
                15.0,
                24.0,
                "2020-08-20",
            ),
            "ocrelizumab": AgentModel(
                "1876366",
                "ocrelizumab",
                "Ocrevus 300 mg/10 mL (ocrelizumab) infusion",
                26,
                0.40,
                0.15,
                30.0,
                15.0,
                72.0,
                "2017-03-28",
            ),
            "rituximab": AgentModel(
                "121191",
                "rituximab",
                "rituximab 1000 mg infusion (Truxima)",
                26,
                0.45,
                0.18,
                45.0,
                25.0,
                40.0,
                "2010-01-01",
            ),
        }
    )
    #: Therapy status at as_of (fractions of anti-CD20 patients): starting (planned, no dose yet),
    #: discontinued; the rest are current. Modelling choice (label discontinuation rates 3–10%/y).
    share_starting: float = 0.04
    share_discontinued: float = 0.16
    #: Anti-CD20 records written only as text (no RxNorm code): recognised by name.
    share_therapy_text_only: float = 0.03
    #: Self-injected ofatumumab recorded as a MedicationStatement (medication reconciliation)
    #: rather than prescriptions (modelling choice).
    share_therapy_statement: float = 0.2
    #: Max years of therapy before as_of.
    max_therapy_years: float = 6.5

    # -- immunoglobulins (mg/dL) ---------------------------------------------------------------
    igg_baseline_mean: float = 1050.0
    igg_baseline_sd: float = 220.0
    igm_baseline_median: float = 95.0
    igm_baseline_log_sd: float = 0.5
    iga_baseline_median: float = 210.0
    iga_baseline_log_sd: float = 0.4
    #: Per-measurement biological + assay variation (coefficient of variation).
    measurement_cv: float = 0.07
    #: Anti-CD20 patients whose IgG falls fast (secondary hypogammaglobulinaemia), mg/dL per year.
    share_fast_igg_fall: float = 0.06
    fast_igg_fall_per_year: float = 160.0
    #: Primary IgM deficiency: IgM median and spread (mg/dL).
    igm_deficient_median: float = 20.0
    igm_deficient_log_sd: float = 0.35

    # -- panels ------------------------------------------------------------------------------
    #: Per-patient interval between Ig panels in months, with weights (MS protocols: 6–12 months;
    #: real-world adherence is patchy, hence the long ones).
    panel_interval_months: tuple[tuple[int, float], ...] = ((6, 0.45), (12, 0.30), (4, 0.08), (18, 0.17))
    panel_jitter_days: int = 35
    #: Patients whose monitoring stopped some time before as_of (lost to follow-up → overdue).
    share_panel_lapsed: float = 0.18
    #: A baseline panel within 180 days before the first dose.
    share_baseline_panel: float = 0.75
    #: A panel drawn as separate analytes on different days (no complete panel), or IgM alone.
    share_igm_only_panel: float = 0.08
    #: Unit style of the patient's lab: mg/dL, g/L, IgM in mg/L.
    lab_unit_styles: tuple[tuple[str, float], ...] = (("mg/dL", 0.6), ("g/L", 0.34), ("mg/L-igm", 0.06))
    #: Share of Ig results carrying the lab's reference range, and the IgM lower limits labs use.
    share_reference_range: float = 0.55
    igm_lab_lower_limits: tuple[tuple[float, float], ...] = ((40.0, 0.6), (34.0, 0.25), (45.0, 0.15))

    # -- B cells -----------------------------------------------------------------------------
    share_cd19_after_stop: float = 0.65
    share_cd19_on_therapy: float = 0.25
    cd19_repleted_median: float = 190.0

    # -- infections --------------------------------------------------------------------------
    #: Coded infection episodes per patient-year (primary-care adult rate ~0.3–0.6).
    infection_rate_general: float = 0.35
    infection_rate_anti_cd20: float = 0.55
    infection_rate_igm_deficiency: float = 1.4
    infection_rate_multiplier_igm_low: float = 1.4
    infection_rate_multiplier_igg_low: float = 1.7
    infection_rate_multiplier_igg_severe: float = 3.0
    infection_rate_multiplier_on_igrt: float = 0.5
    #: Years of infection history generated before as_of.
    infection_history_years: float = 3.0
    #: Infection types: key → weight (see cohort.INFECTIONS for codes, organisms and severity).
    infection_mix: tuple[tuple[str, float], ...] = (
        ("sinusitis", 0.22),
        ("bronchitis", 0.17),
        ("uti", 0.18),
        ("otitis", 0.05),
        ("cellulitis", 0.05),
        ("pneumonia", 0.14),
        ("pneumococcal-pneumonia", 0.06),
        ("hib-infection", 0.03),
        ("pyelonephritis", 0.03),
        ("sepsis", 0.025),
        ("pneumococcal-sepsis", 0.01),
        ("pneumococcal-meningitis", 0.003),
        ("meningococcal", 0.002),
        ("herpes-zoster", 0.035),
        ("cmv", 0.004),
        ("pml", 0.001),
    )
    #: Share of infection records with a coded severity; of those without, the rest is implied.
    share_severity_coded: float = 0.7
    #: Share of pneumonias with an organism identified (culture or evidence code).
    share_pneumonia_organism: float = 0.45
    #: Of identified pneumonia organisms: S. pneumoniae, H. influenzae, other.
    pneumonia_organisms: tuple[tuple[str, float], ...] = (("spn", 0.55), ("hib", 0.2), ("other", 0.25))
    #: Bacterial episodes that need a second, different antibiotic (refractory), or are flagged.
    share_second_course: float = 0.07
    share_flagged_insufficient: float = 0.01
    #: Episodes still active at as_of when they began within 30 days; stale "active" records.
    share_stale_active: float = 0.03
    #: Share of the same illness coded twice (a second Condition days later).
    share_coded_twice: float = 0.05

    # -- treatment ---------------------------------------------------------------------------
    share_igrt_anti_cd20: float = 0.04
    share_igrt_igm_deficiency: float = 0.4
    share_igrt_sc: float = 0.4
    share_igrt_stopped: float = 0.15
    #: Trough IgG on replacement = own IgG × this fraction + an increment drawn from the range
    #: (mg/dL; 0.4 g/kg every 4 weeks raises the trough by roughly 2–4.5 g/L — modelling choice).
    #: Patients with low own IgG (anti-CD20) end up near or below 600; IgM deficiency above.
    igrt_endogenous_fraction: float = 0.7
    igrt_trough_increment: tuple[float, float] = (180.0, 450.0)
    #: Own IgG (mg/dL) of anti-CD20 patients put on replacement, before their fast fall.
    igrt_k_baseline_igg: tuple[float, float] = (620.0, 850.0)
    share_prophylaxis_recurrent: float = 0.25
    #: IgG trough drawn on an IV infusion day (before the dose).
    share_trough_at_infusion: float = 0.3
    #: Weight recorded at an IV immune globulin infusion (infusion units weigh for dosing).
    share_weight_at_infusion: float = 0.7
    #: Immune-globulin administrations recorded without a dose (dose unknown).
    share_igrt_dose_missing: float = 0.05

    # -- vaccines and serology ---------------------------------------------------------------
    #: Yearly influenza vaccine uptake (adults ~50%; higher when immunocompromised), COVID,
    #: Tdap in the record's span, recombinant zoster at 50+, PCV20 before starting anti-CD20.
    share_flu_vaccine: float = 0.55
    share_flu_vaccine_immunocompromised: float = 0.75
    share_covid_vaccine: float = 0.5
    share_tdap_vaccine: float = 0.2
    share_shingrix_over_50: float = 0.35
    share_pcv_before_anti_cd20: float = 0.6
    share_serology_positive: float = 0.8
    #: Serotype panels drawn 4–8 weeks after PPSV23 (the rest without a qualifying vaccine);
    #: serotype IgG medians in µg/mL for normal and impaired responders (protective ≥ 1.3).
    share_serotypes_after_ppsv23: float = 0.85
    serotype_igg_median_normal: float = 3.5
    serotype_igg_median_impaired: float = 0.7
    #: Sub-protective responses on anti-CD20 (K-21: 87% with low-normal IgG on ocrelizumab).
    share_impaired_pneumococcal_k: float = 0.5
    #: Live vaccines given / ordered despite anti-CD20 (rare errors; modelling choice), and given
    #: to other patients (travel, catch-up MMR/varicella).
    share_live_vaccine_given_k: float = 0.015
    share_live_vaccine_ordered_k: float = 0.02
    share_live_vaccine_general: float = 0.03
    #: Pneumococcal serotype panels in the IgM-deficiency work-up (D-4) and on anti-CD20 (K-21).
    share_pneumococcal_panel_d: float = 0.6
    share_pneumococcal_panel_k: float = 0.04
    #: Impaired pneumococcal responses in IgM deficiency (D-3: ~45%).
    share_impaired_pneumococcal: float = 0.45
    share_specific_antibody_dx_d: float = 0.1
    #: Hepatitis B / VZV / measles serology before anti-CD20 (screening is label practice).
    share_viral_serology_k: float = 0.5
    #: Autoimmunity in IgM deficiency (D-2: 20%).
    share_autoimmune_d: float = 0.2
    #: Atopy in IgM deficiency (D-2: 33%).
    share_atopy_d: float = 0.33
    share_autoimmune_other: float = 0.04

    # -- background volume -------------------------------------------------------------------
    visits_per_year: float = 1.6
    background_lab_draws_per_year: float = 0.9
    background_conditions_mean: float = 1.6
    background_drugs_mean: float = 1.8
    share_weight_in_pounds: float = 0.2
    history_years_general: float = 3.0

    # -- dirty records (fractions of qualifying records) --------------------------------------
    share_unit_missing: float = 0.006
    share_entered_in_error_duplicate: float = 0.01
    share_exact_duplicate: float = 0.006
    share_implausible_value: float = 0.002
    share_undated_infection: float = 0.004
    share_undated_therapy: float = 0.004


DEFAULT_REALISM = Realism()

#: The archetypes igwatch is about (populations K and D); their shares sum to the in-scope share.
IN_SCOPE_SHARES = (
    "share_ofatumumab",
    "share_ocrelizumab",
    "share_rituximab",
    "share_igm_deficiency_confirmed",
    "share_igm_deficiency_suspected",
)
#: The near misses that come with them (other MS therapies, obinutuzumab, immunomodulatory IVIG):
#: scaled with them, since they live in the same clinics.
NEAR_MISS_SHARES = ("share_ms_other_dmt", "share_obinutuzumab_low_igm", "share_itp_ivig_high_dose")


def in_scope_share(realism: Realism = DEFAULT_REALISM) -> float:
    return float(sum(getattr(realism, name) for name in IN_SCOPE_SHARES))


def with_in_scope_share(share: float, realism: Realism = DEFAULT_REALISM) -> Realism:
    """The cohort with ``share`` of its patients in scope (a health system: about 0.01; multiple
    sclerosis is about 0.3% of people, half of them on anti-CD20 therapy, plus rituximab in
    rheumatology and haematology). The in-scope archetypes keep their proportions to one another,
    and their near misses shrink or grow with them; the rest is the general population."""
    if not 0 < share <= 0.5:
        raise ValueError("the in-scope share must be above 0 and at most 0.5")
    factor = share / in_scope_share(realism)
    changes = {name: getattr(realism, name) * factor for name in (*IN_SCOPE_SHARES, *NEAR_MISS_SHARES)}
    return replace(realism, **changes)
