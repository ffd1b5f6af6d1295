"""The dose block: IVIG and SCIG arithmetic, dosing weight, rounding (clinical-spec §6)."""

from __future__ import annotations

from tests.rules.casebuilder import E, case, height, ig_panel, k_base, ofa_active, weight


# ============================================================================================
# §6 dosing arithmetic (trigger: IgG 350 < 400 on ofatumumab -> igrt.start)
# ============================================================================================
def dosing_case(slug, description, dosing, wt_obs, profile="default", gender="female", extra=(), **ekw):
    case(
        slug,
        description,
        E(present=["igrt.start"], dosing=dosing, **ekw),
        [ofa_active(), ig_panel("2026-09-01", 350, 80, 130), wt_obs, *extra],
        profile=profile,
        gender=gender,
    )


def cases_dosing():
    dosing_case(
        "dose-45-kg",
        "§6 45 kg: 18.0 g; 20 g would be 11.1% > 10% -> keep 18 g; SCIG weekly 4.5 -> 5 (half-up), "
        "biweekly 9.0 -> 9",
        {
            "weight_kg": 45,
            "ivig.dose_g_exact": 18.0,
            "ivig.dose_g": 18,
            "scig.weekly_g": 5,
            "scig.biweekly_g": 9,
        },
        weight("2026-09-01", 45),
    )
    dosing_case(
        "dose-56-25-kg-half-up-1g",
        "§6 half-up at 1 g: 56.25 kg -> 22.5 g; 5-g rounding (25 or 20) changes it 11.1% > 10% -> nearest "
        "1 g half-up = 23 (half-even: 22); SCIG 5.625 -> 6, biweekly 11.25 -> 11",
        {"ivig.dose_g_exact": 22.5, "ivig.dose_g": 23, "scig.weekly_g": 6, "scig.biweekly_g": 11},
        weight("2026-09-01", 56.25),
    )
    dosing_case(
        "dose-81-25-kg-half-up-5g",
        "§6 half-up at 5 g: 81.25 kg -> 32.5 g, halfway between 30 and 35 -> 35 (7.7% <= 10%) "
        "(half-even: 30); SCIG 8.125 -> 8, biweekly 16.25 -> 16",
        {"ivig.dose_g_exact": 32.5, "ivig.dose_g": 35, "scig.weekly_g": 8, "scig.biweekly_g": 16},
        weight("2026-09-01", 81.25),
    )
    dosing_case(
        "dose-83-kg-biweekly",
        "§6 SCIG every 2 weeks = twice the exact weekly amount, then rounded: 83 kg -> 33.2 g -> 35 g; "
        "weekly 8.3 -> 8; biweekly 16.6 -> 17 (not 2 x 8)",
        {"ivig.dose_g_exact": 33.2, "ivig.dose_g": 35, "scig.weekly_g": 8, "scig.biweekly_g": 17},
        weight("2026-09-01", 83),
    )
    dosing_case(
        "dose-70-kg",
        "§6 70 kg: 28.0 g -> 30 g (7.1%); SCIG weekly 7, biweekly 14; intervals 4 (alt 3) weeks",
        {
            "ivig.dose_g_exact": 28.0,
            "ivig.dose_g": 30,
            "ivig.interval_weeks": 4,
            "ivig.alternative_interval_weeks": 3,
            "scig.weekly_g": 7,
            "scig.biweekly_g": 14,
            "scig.conversion_factor": 1.0,
        },
        weight("2026-09-01", 70),
    )
    dosing_case(
        "dose-latest-weight",
        "F10 latest weight within 90 days: 90 kg (2026-07-20) then 75 kg (2026-09-01) -> 75 kg -> 30 g",
        {"weight_kg": 75, "ivig.dose_g": 30},
        [weight("2026-07-20", 90), weight("2026-09-01", 75)],
    )
    dosing_case(
        "dose-weight-90-days",
        "F10 weight_max_age_days 90: weight 75 kg on 2026-07-17 = as_of - 90 days still counts -> 30 g",
        {"weight_kg": 75, "ivig.dose_g": 30, "weight_basis": "actual"},
        weight("2026-07-17", 75),
    )
    dosing_case(
        "dose-weight-91-days",
        "F10 twin: weight on 2026-07-16 = 91 days is too old -> per-kg dose only, gram fields null, "
        "weight-missing (§7 warning)",
        {
            "weight_kg": None,
            "weight_basis": "none",
            "ivig.g_per_kg": 0.4,
            "ivig.dose_g": None,
            "ivig.dose_g_exact": None,
            "scig.weekly_g": None,
            "scig.biweekly_g": None,
        },
        weight("2026-07-16", 75),
        data_issue={"severity": "warning", "match": "weight-missing"},
    )
    dosing_case(
        "dose-no-weight",
        "§6 no weight at all -> weight_basis none, every gram field null, data issue weight-missing",
        {
            "weight_kg": None,
            "weight_basis": "none",
            "ivig.dose_g": None,
            "ivig.dose_g_exact": None,
            "scig.weekly_g": None,
        },
        None,
        data_issue={"severity": "warning", "match": "weight-missing"},
    )
    dosing_case(
        "dose-weight-pounds",
        "Units: weight 200 [lb_av] = 90.718474 kg -> 36.29 g -> 35 g (3.5%); SCIG 9.07 -> 9, 18.14 -> 18",
        {"ivig.dose_g": 35, "scig.weekly_g": 9, "scig.biweekly_g": 18},
        weight("2026-09-01", 200, "[lb_av]"),
    )
    dosing_case(
        "dose-weight-grams",
        "Units: weight 72500 g = 72.5 kg -> 29.0 g -> 30 g (3.4%)",
        {"weight_kg": 72.5, "ivig.dose_g_exact": 29.0, "ivig.dose_g": 30},
        weight("2026-09-01", 72500, "g"),
    )
    # stewardship profile: adjusted body weight when BMI >= 30 (Devine IBW)
    dosing_case(
        "stewardship-bmi-30-adjusted",
        "§6 stewardship: male 177.8 cm (70 in), 94.9 kg, BMI 30.02 >= 30 -> IBW 50 + 2.3 x 10 = 73; "
        "adjusted 73 + 0.4 x 21.9 = 81.76 kg -> 32.704 g -> 35 g (7.0%) (actual would give 37.96 -> 40)",
        {"weight_basis": "adjusted", "ivig.dose_g": 35},
        [weight("2026-09-01", 94.9), height("2026-09-01", 177.8)],
        profile="stewardship",
        gender="male",
    )
    dosing_case(
        "stewardship-bmi-under-30-actual",
        "§6 stewardship twin: male 177.8 cm, 94.8 kg, BMI 29.99 < 30 -> actual weight -> 37.92 g -> 40 g (5.5%)",
        {"weight_basis": "actual", "weight_kg": 94.8, "ivig.dose_g_exact": 37.92, "ivig.dose_g": 40},
        [weight("2026-09-01", 94.8), height("2026-09-01", 177.8)],
        profile="stewardship",
        gender="male",
    )
    dosing_case(
        "stewardship-adjusted-arithmetic",
        "§6 stewardship: male 177.8 cm (70 in), 95.5 kg, BMI 30.2 -> IBW 73; adjusted 73 + 0.4 x 22.5 = "
        "82.0 kg -> 32.8 g -> 35 g; SCIG 8.2 -> 8, 16.4 -> 16",
        {
            "weight_basis": "adjusted",
            "weight_kg": 82.0,
            "ivig.dose_g_exact": 32.8,
            "ivig.dose_g": 35,
            "scig.weekly_g": 8,
            "scig.biweekly_g": 16,
        },
        [weight("2026-09-01", 95.5), height("2026-09-01", 177.8)],
        profile="stewardship",
        gender="male",
    )
    dosing_case(
        "stewardship-female-inches",
        "§6 stewardship, height in [in_i]: female 64 in, 99.7 kg, BMI 37.7 -> IBW 45.5 + 2.3 x 4 = 54.7; "
        "adjusted 54.7 + 0.4 x 45 = 72.7 kg -> 29.08 g -> 30 g (3.2%); SCIG 7.27 -> 7",
        {
            "weight_basis": "adjusted",
            "weight_kg": 72.7,
            "ivig.dose_g_exact": 29.08,
            "ivig.dose_g": 30,
            "scig.weekly_g": 7,
        },
        [weight("2026-09-01", 99.7), height("2026-09-01", 64, "[in_i]")],
        profile="stewardship",
    )
    dosing_case(
        "stewardship-no-height",
        "§6 stewardship without height: actual weight 110 kg -> 44 g -> 45 g; data issue height-or-sex-missing",
        {"weight_basis": "actual", "weight_kg": 110, "ivig.dose_g": 45},
        weight("2026-09-01", 110),
        profile="stewardship",
        gender="male",
        data_issue={"severity": "warning", "match": "height-or-sex-missing"},
    )
    dosing_case(
        "stewardship-no-sex",
        "§6 stewardship without sex (Patient.gender absent): actual weight 110 kg -> 45 g; data issue",
        {"weight_basis": "actual", "ivig.dose_g": 45},
        [weight("2026-09-01", 110), height("2026-09-01", 177.8)],
        profile="stewardship",
        gender=None,
        data_issue={"severity": "warning", "match": "height-or-sex-missing"},
    )
    dosing_case(
        "default-profile-obese-actual",
        "§8 default dosing_weight = actual: male 177.8 cm, 110 kg (BMI 34.8) -> actual 110 kg -> 45 g",
        {"weight_basis": "actual", "weight_kg": 110, "ivig.dose_g": 45},
        [weight("2026-09-01", 110), height("2026-09-01", 177.8)],
        gender="male",
    )
    case(
        "dose-block-null-without-igrt",
        "§6 no dose block when igrt.start does not fire and the patient is not on IgRT",
        E(absent=["igrt.start"], dosing_null=True),
        [k_base()],
    )
