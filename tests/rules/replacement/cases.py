"""Ig replacement: the start criteria K-8a–K-8d, troughs and titration on replacement, and the
review of continuation (clinical-spec §5, igrt.*).
"""

from __future__ import annotations

from tests.rules.anti_cd20.cases import igrt_statement
from tests.rules.casebuilder import (
    A41_9,
    ALWAYS,
    AS_OF,
    HIB_INFECTION,
    J13,
    J18_9,
    PNEUMOCOCCAL_PNEUMONIA,
    PNEUMONIA,
    SEPSIS,
    SINUSITIS,
    SNOMED,
    UTI,
    E,
    admin,
    case,
    cd19,
    culture,
    d_base,
    encounter,
    gap,
    ig_panel,
    igg,
    infection,
    k_base,
    mgap,
    ofa_active,
    severe_pnc,
    statement,
    weight,
)


# ============================================================================================
# igrt.start — K-8a: >= 2 severe episodes with encapsulated bacteria in 12 months
# ============================================================================================
def cases_k8a():
    dose82 = {
        "weight_basis": "actual",
        "weight_kg": 82,
        "ivig.g_per_kg": 0.4,
        "ivig.dose_g_exact": 32.8,
        "ivig.dose_g": 35,
        "ivig.interval_weeks": 4,
        "ivig.alternative_interval_weeks": 3,
        "scig.conversion_factor": 1.0,
        "scig.weekly_g": 8,
        "scig.biweekly_g": 16,
        "trough_target_mg_dl": [600, 800],
        "titration": None,
    }
    case(
        "k8a-two-severe-pneumococcal",
        "§5 igrt.start K-8a: 2 severe pneumococcal pneumonias (2026-02-03, 2026-08-19) in 12 months on "
        "ofatumumab, IgG/IgM normal ('whatever the level'); §6 82 kg: 32.8 g -> 35 g (6.7%), SCIG 8.2->8 / 16.4->16",
        E(
            present=["igrt.start", "anti-cd20.continue", *ALWAYS],
            absent=[
                "prophylaxis.consider",
                "igrt.not-for-labs-alone",
                "igrt.mucosal-residual-risk",
                "anti-cd20.consider-discontinuation",
            ],
            reasons={"igrt.start": ["encapsulated-recurrent"]},
            priority={"igrt.start": "warning"},
            dosing=dose82,
            populations=["K"],
            applicable=True,
        ),
        [k_base(wt=82, wt_date="2026-09-30"), severe_pnc("2026-02-03"), severe_pnc("2026-08-19")],
    )
    case(
        "k8a-one-severe-pneumococcal",
        "§5 igrt.start K-8a twin: only 1 severe pneumococcal pneumonia (2026-08-19) -> no K-8a, no "
        "recurrence (prophylaxis.consider needs >= 2 episodes), no dose block",
        E(
            present=["anti-cd20.continue", *ALWAYS],
            absent=["igrt.start", "prophylaxis.consider"],
            dosing_null=True,
        ),
        [k_base(wt=82, wt_date="2026-09-30"), severe_pnc("2026-08-19")],
    )
    case(
        "k8a-second-not-encapsulated",
        "§5 K-8a needs both episodes encapsulated: severe pneumococcal pneumonia + severe UTI (no organism) "
        "-> no igrt.start; 2 episodes, no igrt.start -> prophylaxis.consider recurrent-infections (K-17)",
        E(
            present=["prophylaxis.consider"],
            absent=["igrt.start", "prophylaxis.not-routine"],
            reasons={"prophylaxis.consider": ["recurrent-infections"]},
        ),
        [k_base(), severe_pnc("2026-02-03"), infection("2026-08-19", UTI, severity="severe")],
    )
    case(
        "k8a-second-not-severe",
        "§5 K-8a needs both episodes severe: severe + moderate pneumococcal pneumonia -> no igrt.start; "
        "prophylaxis.consider (K: 2 episodes, no igrt.start)",
        E(
            present=["prophylaxis.consider"],
            absent=["igrt.start"],
            reasons={"prophylaxis.consider": ["recurrent-infections"]},
        ),
        [
            k_base(),
            severe_pnc("2026-02-03"),
            infection("2026-08-19", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
        ],
    )
    case(
        "k8a-organism-evidence-code",
        "F4 encapsulated from Condition.evidence.code (S. pneumoniae 9861002, H. influenzae 44470000) on "
        "2 severe pneumonias 233604007 -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            infection("2026-01-20", PNEUMONIA, severity="severe", organism="spn"),
            infection("2026-07-02", PNEUMONIA, severity="severe", organism="hib"),
        ],
    )
    case(
        "k8a-organism-culture-observation",
        "F4 encapsulated from a culture Observation in Condition.evidence.detail (N. meningitidis "
        "17872004, §8 list) on 2 severe J18.9 pneumonias -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            culture("cult-1", "2026-01-21", "nme"),
            culture("cult-2", "2026-07-03", "nme"),
            infection("2026-01-20", J18_9, severity="severe", culture_ref="cult-1"),
            infection("2026-07-02", J18_9, severity="severe", culture_ref="cult-2"),
        ],
    )
    case(
        "k8a-no-organism",
        "F4 twin: the same 2 severe pneumonias 233604007 with no organism are not encapsulated -> no "
        "igrt.start; prophylaxis.consider recurrent-infections",
        E(
            present=["prophylaxis.consider"],
            absent=["igrt.start"],
            reasons={"prophylaxis.consider": ["recurrent-infections"]},
        ),
        [
            k_base(),
            infection("2026-01-20", PNEUMONIA, severity="severe"),
            infection("2026-07-02", PNEUMONIA, severity="severe"),
        ],
    )
    case(
        "k8a-severe-by-inpatient-stay",
        "F4 severe = led to an inpatient encounter (class IMP): 2 pneumococcal pneumonias without "
        "coded severity, each with its own admission -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            encounter("enc-a", "2026-01-20", "2026-01-27"),
            encounter("enc-b", "2026-07-02", "2026-07-08"),
            infection("2026-01-20", PNEUMOCOCCAL_PNEUMONIA, enc="enc-a"),
            infection("2026-07-02", PNEUMOCOCCAL_PNEUMONIA, enc="enc-b"),
        ],
    )
    case(
        "k8a-outpatient-not-severe",
        "F4 twin: same 2 pneumococcal pneumonias seen in ambulatory encounters (AMB) are not severe -> no "
        "igrt.start; prophylaxis.consider",
        E(present=["prophylaxis.consider"], absent=["igrt.start"]),
        [
            k_base(),
            encounter("enc-a", "2026-01-20", "2026-01-20", "AMB"),
            encounter("enc-b", "2026-07-02", "2026-07-02", "AMB"),
            infection("2026-01-20", PNEUMOCOCCAL_PNEUMONIA, enc="enc-a"),
            infection("2026-07-02", PNEUMOCOCCAL_PNEUMONIA, enc="enc-b"),
        ],
    )
    case(
        "k8a-ocrelizumab-class-extension",
        "§1/§9.10 K rules apply to every anti-CD20: ocrelizumab + 2 severe pneumococcal pneumonias -> "
        "igrt.start encapsulated-recurrent; revision 2: anti-cd20.continue too (no K-13 reason)",
        E(
            present=["igrt.start", "anti-cd20.continue"],
            absent=["anti-cd20.consider-discontinuation"],
            reasons={"igrt.start": ["encapsulated-recurrent"]},
            populations=["K"],
        ),
        [k_base(agent="ocr", start="2024-02-01"), severe_pnc("2026-02-03"), severe_pnc("2026-08-19")],
    )
    case(
        "k8a-refuted-record",
        "F4 excludes verificationStatus refuted: 2nd severe pneumococcal pneumonia refuted -> 1 episode, "
        "no igrt.start",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [k_base(), severe_pnc("2026-02-03"), severe_pnc("2026-08-19", verification="refuted")],
    )
    case(
        "k8a-entered-in-error-record",
        "F4 excludes verificationStatus entered-in-error: 2nd episode ignored -> no igrt.start",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [k_base(), severe_pnc("2026-02-03"), severe_pnc("2026-08-19", verification="entered-in-error")],
    )
    case(
        "k8a-recorded-date",
        "F4 an infection without onset is dated by recordedDate (2026-08-19) -> 2 severe pneumococcal "
        "episodes -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [k_base(), severe_pnc("2026-02-03"), severe_pnc(None, recorded="2026-08-19")],
    )
    case(
        "k8a-hib-codes",
        "F4 organism from the code itself: 2 severe H. influenzae infections 91428005 -> igrt.start "
        "encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            infection("2026-02-14", HIB_INFECTION, severity="severe"),
            infection("2026-06-30", HIB_INFECTION, severity="severe"),
        ],
    )
    case(
        "k8a-severe-by-nature-meningitis",
        "F4 severe by nature: 2 meningitis 7180009 (no severity coded, outpatient data only) with S. pneumoniae "
        "evidence -> severe + encapsulated -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            infection("2026-01-20", (SNOMED, "7180009", "Meningitis"), organism="spn"),
            infection("2026-07-02", (SNOMED, "7180009", "Meningitis"), organism="spn"),
        ],
    )
    case(
        "k8a-severe-by-acute-encounters",
        "Contract §1 inpatient = class IMP, ACUTE or NONAC: 2 pneumococcal pneumonias with ACUTE and NONAC "
        "encounters -> severe -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            encounter("enc-a", "2026-01-20", "2026-01-27", "ACUTE"),
            encounter("enc-b", "2026-07-02", "2026-07-20", "NONAC"),
            infection("2026-01-20", PNEUMOCOCCAL_PNEUMONIA, enc="enc-a"),
            infection("2026-07-02", PNEUMOCOCCAL_PNEUMONIA, enc="enc-b"),
        ],
    )
    case(
        "k8a-emergency-not-inpatient",
        "Contract §1 twin: EMER encounters are not inpatient -> not severe -> no igrt.start",
        E(absent=["igrt.start"], present=["prophylaxis.consider"]),
        [
            k_base(),
            encounter("enc-a", "2026-01-20", "2026-01-20", "EMER"),
            encounter("enc-b", "2026-07-02", "2026-07-02", "EMER"),
            infection("2026-01-20", PNEUMOCOCCAL_PNEUMONIA, enc="enc-a"),
            infection("2026-07-02", PNEUMOCOCCAL_PNEUMONIA, enc="enc-b"),
        ],
    )
    case(
        "k8a-igm-low-suppresses-labs-only",
        "§5 with IgM 24 low and 2 severe pneumococcal episodes: igrt.start has a reason -> no "
        "not-for-labs-alone; >= 2 episodes -> no prophylaxis.not-routine; IgM low + igrt.start -> mucosal risk",
        E(
            present=["igrt.start", "igrt.mucosal-residual-risk", "risk.encapsulated-bacteria"],
            absent=["igrt.not-for-labs-alone", "prophylaxis.not-routine", "prophylaxis.consider"],
        ),
        [k_base(ig=(720, 24, 110)), severe_pnc("2026-02-14"), severe_pnc("2026-06-30")],
    )
    case(
        "k8a-and-d8a-both-populations",
        "§1/§5 both populations: IgM deficiency diagnosed 2018 before ofatumumab 2023; 2 severe pneumococcal "
        "pneumonias -> igrt.start with K-8a encapsulated-recurrent and D-8a recurrent-bacterial",
        E(
            populations=["D", "K"],
            present=["igrt.start"],
            reasons={"igrt.start": ["encapsulated-recurrent", "recurrent-bacterial"]},
        ),
        [d_base(dx_date="2018-05-01"), ofa_active(), severe_pnc("2026-02-14"), severe_pnc("2026-06-30")],
    )
    case(
        "k8a-icd10-j13",
        "Contract §1 ICD-10: 2 severe J13 (pneumonia due to S. pneumoniae) -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            infection("2026-02-14", J13, severity="severe"),
            infection("2026-06-30", J13, severity="severe"),
        ],
    )


# ============================================================================================
# igrt.start — K-8b: IgG < 400 mg/dL
# ============================================================================================
def cases_k8b():
    case(
        "k8b-igg-399",
        "§5 igrt.start K-8b: IgG 399 mg/dL < 400 (IgM 80, IgA 130 normal, no infections) -> igrt.start "
        "igg-below-threshold, warning; not-for-labs-alone needs IgG not severe; §6 75 kg: 30.0 g -> 30 g",
        E(
            present=["igrt.start", "anti-cd20.continue"],
            absent=[
                "igrt.not-for-labs-alone",
                "igrt.mucosal-residual-risk",
                "prophylaxis.consider",
                "anti-cd20.consider-discontinuation",
                "risk.normal-igg-not-protective",
            ],
            reasons={"igrt.start": ["igg-below-threshold"]},
            priority={"igrt.start": "warning"},
            dosing={"ivig.dose_g_exact": 30.0, "ivig.dose_g": 30, "scig.weekly_g": 8, "scig.biweekly_g": 15},
        ),
        [k_base(ig=(399, 80, 130))],
    )
    case(
        "k8b-igg-400",
        "§5 K-8b twin: IgG 400 is not < 400 -> no igrt.start; IgG 400 < 700 is low -> "
        "igrt.not-for-labs-alone (K-20); no dose block",
        E(present=["igrt.not-for-labs-alone"], absent=["igrt.start"], dosing_null=True),
        [k_base(ig=(400, 80, 130))],
    )
    case(
        "k8b-igg-399-g-per-l",
        "K-8b with contract §1 units: IgG 3.99 g/L = 399 mg/dL -> igrt.start igg-below-threshold",
        E(present=["igrt.start"], reasons={"igrt.start": ["igg-below-threshold"]}),
        [ofa_active(), ig_panel("2026-08-20", 3.99, 0.80, 1.30, unit="g/L"), weight("2026-08-20", 75)],
    )
    case(
        "k8b-igg-400-g-per-l",
        "K-8b twin with units: IgG 4.00 g/L = 400 mg/dL -> no igrt.start",
        E(present=["igrt.not-for-labs-alone"], absent=["igrt.start"]),
        [ofa_active(), ig_panel("2026-08-20", 4.00, 0.80, 1.30, unit="g/L"), weight("2026-08-20", 75)],
    )
    mgap("2025-10-15", 12, AS_OF)
    case(
        "k8b-igg-age-12-months-inside",
        "F3 result age, inclusive boundary: IgG 350 dated 2025-10-15 = as_of - 12 months still counts -> "
        "igrt.start igg-below-threshold",
        E(present=["igrt.start"], reasons={"igrt.start": ["igg-below-threshold"]}),
        [ofa_active(), ig_panel("2025-10-15", 350, 80, 130), weight("2026-09-01", 75)],
    )
    case(
        "k8b-igg-age-12-months-outside",
        "F3 result age twin: IgG 350 dated 2025-10-14 is older than 12 months -> unknown for triggers -> "
        "no igrt.start",
        E(absent=["igrt.start"]),
        [ofa_active(), ig_panel("2025-10-14", 350, 80, 130), weight("2026-09-01", 75)],
    )
    case(
        "k8b-latest-igg-counts",
        "F3 latest IgG: 350 (2026-02-01) then 720 (2026-08-20) -> latest not severe -> no igrt.start",
        E(absent=["igrt.start"]),
        [
            ofa_active(),
            ig_panel("2026-02-01", 350, 80, 130),
            ig_panel("2026-08-20", 720, 80, 130),
            weight("2026-08-20", 75),
        ],
    )
    case(
        "k8b-same-date-lowest",
        "F3 several results on one date: the lowest (IgG 420 and 390 on 2026-08-20 -> 390) -> igrt.start "
        "igg-below-threshold",
        E(present=["igrt.start"], reasons={"igrt.start": ["igg-below-threshold"]}),
        [k_base(ig=(420, 80, 130)), igg("2026-08-20", 390)],
    )
    case(
        "k8b-ocrelizumab",
        "K-8b for any anti-CD20 (§9.10): ocrelizumab + IgG 380 -> igrt.start igg-below-threshold; "
        "revision 2: anti-cd20.continue (no severe infection)",
        E(
            present=["igrt.start", "anti-cd20.continue"],
            reasons={"igrt.start": ["igg-below-threshold"]},
        ),
        [k_base(agent="ocr", ig=(380, 80, 130), start="2024-02-01")],
    )
    case(
        "mucosal-igrt-start-igm-low",
        "§5 igrt.mucosal-residual-risk: igrt.start fires (IgG 399) with IgM 20 low -> IgG products do not "
        "replace IgM (D-14)",
        E(present=["igrt.start", "igrt.mucosal-residual-risk"]),
        [k_base(ig=(399, 20, 130))],
    )
    case(
        "mucosal-igrt-start-iga-low",
        "§5 igrt.mucosal-residual-risk: igrt.start fires (IgG 350) with IgA 50 low (< 70) -> present",
        E(present=["igrt.start", "igrt.mucosal-residual-risk"]),
        [k_base(ig=(350, 80, 50))],
    )


# ============================================================================================
# igrt.start — K-8c life-threatening (critical within 30 days or while active), K-8d refractory
# ============================================================================================
def cases_k8c_k8d():
    gap("2026-09-15", AS_OF, 30)
    case(
        "k8c-sepsis-30-days-critical",
        "§5 igrt.start K-8c: sepsis 91302008 (life-threatening set) onset 2026-09-15 = as_of - 30 days, "
        "resolved -> life-threatening-infection, critical (began within critical_recent_days 30)",
        E(
            present=["igrt.start"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "critical"},
        ),
        [k_base(), infection("2026-09-15", SEPSIS, abatement="2026-09-29")],
    )
    gap("2026-09-14", AS_OF, 31)
    case(
        "k8c-sepsis-31-days-warning",
        "§5 K-8c twin: sepsis onset 2026-09-14 = 31 days before as_of, resolved -> igrt.start still fires "
        "(episode in window) but warning, not critical (§9.13)",
        E(
            present=["igrt.start"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "warning"},
        ),
        [k_base(), infection("2026-09-14", SEPSIS, abatement="2026-09-28")],
    )
    gap("2026-08-01", AS_OF, 75)
    case(
        "k8c-active-life-threatening-critical",
        "§5 K-8c: pneumonia coded life-threatening 442452003, onset 2026-08-01 (75 days), still active -> "
        "critical while active; active infection -> anti-cd20.delay-dose",
        E(
            present=["igrt.start", "anti-cd20.delay-dose"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "critical", "anti-cd20.delay-dose": "warning"},
        ),
        [k_base(), infection("2026-08-01", PNEUMONIA, severity="life-threatening", clinical="active")],
    )
    gap("2026-07-16", AS_OF, 91)
    case(
        "k8c-stale-life-threatening-warning",
        "§5 K-8c twin: same record with onset 2026-07-16 (91 days): not active (F4 90 days) and > 30 days -> "
        "igrt.start warning, no delay-dose",
        E(
            present=["igrt.start"],
            absent=["anti-cd20.delay-dose"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "warning"},
        ),
        [k_base(), infection("2026-07-16", PNEUMONIA, severity="life-threatening", clinical="active")],
    )
    case(
        "k8c-icd10-sepsis",
        "F4 life-threatening set via ICD-10 A41.9 (sepsis), onset 2026-04-01 resolved -> igrt.start "
        "life-threatening-infection, warning",
        E(
            present=["igrt.start"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "warning"},
        ),
        [k_base(), infection("2026-04-01", A41_9)],
    )
    case(
        "k8c-outside-window",
        "F4 window: sepsis onset 2025-10-14 (outside 12 months) -> no igrt.start",
        E(absent=["igrt.start"]),
        [k_base(), infection("2025-10-14", SEPSIS, abatement="2025-10-30")],
    )
    case(
        "k8d-extension-insufficient",
        "§5 igrt.start K-8d: documented bacterial episode (J13, bacterial code) flagged insufficient by the "
        "antibiotic-response extension -> antibiotic-refractory",
        E(
            present=["igrt.start"],
            reasons={"igrt.start": ["antibiotic-refractory"]},
            priority={"igrt.start": "warning"},
        ),
        [k_base(), infection("2026-08-01", J13, severity="moderate", insufficient=True)],
    )
    case(
        "k8d-no-extension",
        "§5 K-8d twin: the same moderate J13 episode without the insufficient flag -> no igrt.start",
        E(absent=["igrt.start"]),
        [k_base(), infection("2026-08-01", J13, severity="moderate")],
    )
    case(
        "k8d-not-documented-bacterial",
        "F4 antibiotic-refractory needs a documented bacterial episode: sinusitis 36971009 (no organism, "
        "not a bacterial code) flagged insufficient -> no igrt.start",
        E(absent=["igrt.start"]),
        [k_base(), infection("2026-08-01", SINUSITIS, severity="moderate", insufficient=True)],
    )
    case(
        "k8d-second-course-different-drug",
        "F4 antibiotic-refractory inferred: pneumonia with H. influenzae evidence, amoxicillin then "
        "azithromycin both naming it (reasonReference) -> igrt.start antibiotic-refractory",
        E(present=["igrt.start"], reasons={"igrt.start": ["antibiotic-refractory"]}),
        [
            k_base(),
            infection(
                "2026-08-01",
                PNEUMONIA,
                severity="moderate",
                organism="hib",
                rid="inf-1",
                abatement="2026-08-25",
            ),
            statement("amox", "2026-08-01", "2026-08-08", status="completed", reason_ref="inf-1"),
            statement("azi", "2026-08-09", "2026-08-13", status="completed", reason_ref="inf-1"),
        ],
    )
    case(
        "k8d-second-course-same-drug",
        "F4 twin: two amoxicillin courses naming the same pneumonia (same drug) -> not refractory, no igrt.start",
        E(absent=["igrt.start"]),
        [
            k_base(),
            infection(
                "2026-08-01",
                PNEUMONIA,
                severity="moderate",
                organism="hib",
                rid="inf-1",
                abatement="2026-08-25",
            ),
            statement("amox", "2026-08-01", "2026-08-08", status="completed", reason_ref="inf-1"),
            statement("amox", "2026-08-09", "2026-08-16", status="completed", reason_ref="inf-1"),
        ],
    )


# ============================================================================================
# On IgRT: troughs (F5), titration (§6), monitoring, immunomodulatory dosing, passive antibodies
# ============================================================================================
def k_igrt(
    trough=None,
    trough_date="2026-09-25",
    wt=80,
    dose=30,
    every=4,
    route="iv",
    start="2026-01-10",
    igm_v=21,
    iga_v=90,
):
    """Ofatumumab since 2023 + Ig replacement since `start`; weight on 2026-09-01; a panel whose IgG is
    the trough."""
    out = [
        ofa_active(),
        statement(
            "ivig" if route == "iv" else "scig", start=start, route=route, dose_g=dose, every_weeks=every
        ),
    ]
    if trough is not None:
        out += ig_panel(trough_date, trough, igm_v, iga_v)
    if wt:
        out.append(weight("2026-09-01", wt))
    return out


def cases_igrt():
    case(
        "trough-599-below-target",
        "§5 igrt.trough-below-target: trough 599 < 600 (K-10); §6 titration 30 g + 0.1 g/kg x 80 kg = 38 g -> "
        "40 g (5.3%), or 30 g every 3 weeks; trough due 2026-09-25 + 30 days = 2026-10-25",
        E(
            present=["igrt.trough-below-target", "monitor.igg-trough", "serology.passive-antibodies"],
            absent=["igrt.trough-on-target", "igrt.start", "igrt.not-for-labs-alone"],
            priority={"igrt.trough-below-target": "warning", "monitor.igg-trough": "info"},
            reasons={"monitor.igg-trough": ["scheduled"]},
            monitoring={"igg-trough": {"due": "2026-10-25", "overdue": False, "last_done": "2026-09-25"}},
            dosing={
                "titration.increased_dose_g": 40,
                "titration.same_dose_interval_weeks": 3,
                "trough_target_mg_dl": [600, 800],
                "weight_kg": 80,
                "ivig.dose_g_exact": 32.0,
                "ivig.dose_g": 30,
            },
        ),
        [k_igrt(599)],
    )
    case(
        "trough-600-on-target",
        "§5 twin: trough 600 >= 600 -> igrt.trough-on-target (info), no titration block",
        E(
            present=["igrt.trough-on-target", "monitor.ig-due"],
            absent=["igrt.trough-below-target"],
            priority={"igrt.trough-on-target": "info"},
            dosing={"titration": None},
        ),
        [k_igrt(600)],
    )
    case(
        "trough-500-700-profile-499",
        "Profile trough-500-700 (K-10 alternative): trough 499 < 500 -> below target; target [500, 700]",
        E(
            present=["igrt.trough-below-target"],
            absent=["igrt.trough-on-target"],
            dosing={"trough_target_mg_dl": [500, 700]},
        ),
        [k_igrt(499)],
        profile="trough-500-700",
    )
    case(
        "trough-500-700-profile-500",
        "Profile trough-500-700 twin: trough 500 -> on target (would be below under the default 600)",
        E(
            present=["igrt.trough-on-target"],
            absent=["igrt.trough-below-target"],
            dosing={"trough_target_mg_dl": [500, 700]},
        ),
        [k_igrt(500)],
        profile="trough-500-700",
    )
    case(
        "trough-850-above-range",
        "§5 trough-on-target covers 'above the range' too: trough 850 > 800 -> on target, not below",
        E(present=["igrt.trough-on-target"], absent=["igrt.trough-below-target"]),
        [k_igrt(850)],
    )
    gap("2026-01-10", "2026-04-09", 89)
    case(
        "trough-89-days-not-a-trough",
        "F5 trough = IgG >= 90 days after the start: IgG 550 on 2026-04-09 = start 2026-01-10 + 89 days is not "
        "a trough -> neither trough recommendation",
        E(present=["monitor.igg-trough"], absent=["igrt.trough-below-target", "igrt.trough-on-target"]),
        [k_igrt(550, trough_date="2026-04-09")],
    )
    gap("2026-01-10", "2026-04-10", 90)
    case(
        "trough-90-days-is-a-trough",
        "F5 twin: IgG 550 on 2026-04-10 = start + 90 days is a trough -> below target",
        E(present=["igrt.trough-below-target"]),
        [k_igrt(550, trough_date="2026-04-10")],
    )
    gap("2026-09-18", "2026-09-25", 7)
    case(
        "trough-7-days-after-iv",
        "F5 trough not within 7 days after an IV dose: infusions 2026-08-21 and 09-18, IgG 550 on 09-25 "
        "(7 days after) -> not a trough -> neither trough recommendation",
        E(
            present=["monitor.igg-trough"],
            absent=["igrt.trough-below-target", "igrt.trough-on-target"],
            monitoring={"igg-trough": {"due": "2026-10-25"}},
        ),
        [
            k_igrt(550, trough_date="2026-09-25"),
            admin("ivig", "2026-08-21", "iv", 30),
            admin("ivig", "2026-09-18", "iv", 30),
        ],
    )
    gap("2026-09-18", "2026-09-26", 8)
    case(
        "trough-8-days-after-iv",
        "F5 (revision 2) mid-cycle: IgG 550 on 2026-09-26 = 8 days after the 09-18 infusion, 20 days before "
        "the next (due 10-16) -> a mid-cycle level, not a trough -> neither trough recommendation",
        E(present=["monitor.igg-trough"], absent=["igrt.trough-below-target", "igrt.trough-on-target"]),
        [
            k_igrt(550, trough_date="2026-09-26"),
            admin("ivig", "2026-08-21", "iv", 30),
            admin("ivig", "2026-09-18", "iv", 30),
        ],
    )
    # Revision 2 twins on trough timing: 4-weekly IVIG 2026-08-21 and 09-18, next dose due 10-16.
    gap("2026-09-18", "2026-10-16", 28)
    for days_before, day, is_trough in (
        (8, "2026-10-08", False),
        (7, "2026-10-09", True),
        (6, "2026-10-10", True),
    ):
        gap(day, "2026-10-16", days_before)
        case(
            f"trough-iv-{days_before}-days-before-next-dose",
            f"F5 (revision 2) IV trough = on a dose day or within 7 days before the next dose: IgG 550 on "
            f"{day}, {days_before} days before the dose due 2026-10-16 -> "
            + ("a trough -> below target" if is_trough else "mid-cycle, not a trough"),
            E(present=["igrt.trough-below-target"])
            if is_trough
            else E(
                present=["monitor.igg-trough"], absent=["igrt.trough-below-target", "igrt.trough-on-target"]
            ),
            [
                k_igrt(550, trough_date=day),
                admin("ivig", "2026-08-21", "iv", 30),
                admin("ivig", "2026-09-18", "iv", 30),
            ],
        )
    case(
        "trough-iv-on-the-dose-day",
        "F5 an IV trough drawn on a dose day (before the dose) counts: IgG 550 on 2026-09-18, the infusion "
        "day -> below target",
        E(present=["igrt.trough-below-target"]),
        [
            k_igrt(550, trough_date="2026-09-18"),
            admin("ivig", "2026-08-21", "iv", 30),
            admin("ivig", "2026-09-18", "iv", 30),
        ],
    )
    case(
        "trough-iv-statement-only-timing-unknown",
        "F5 (revision 2) IV course recorded by a statement only: the IgG counts as a trough, with a "
        "trough-timing-unknown info data issue",
        E(
            present=["igrt.trough-below-target"],
            data_issue={"severity": "info", "code": "trough-timing-unknown"},
        ),
        [k_igrt(550, trough_date="2026-09-25")],
    )
    gap("2026-09-14", "2026-10-14", 30)
    case(
        "trough-latest-trough-not-latest-igg",
        "F5 the latest *trough* decides: trough 550 on 2026-08-01, then IgG 900 on 2026-09-25, 7 days after an "
        "infusion (not a trough) -> below target",
        E(present=["igrt.trough-below-target"], absent=["igrt.trough-on-target"]),
        [
            k_igrt(550, trough_date="2026-08-01"),
            admin("ivig", "2026-09-18", "iv", 30),
            igg("2026-09-25", 900),
        ],
    )
    case(
        "trough-monitoring-overdue",
        "§5 monitor.igg-trough: latest IgG on/after start 2026-09-14 + 30 days = 2026-10-14 < as_of -> overdue, "
        "warning",
        E(
            present=["monitor.igg-trough"],
            priority={"monitor.igg-trough": "warning"},
            reasons={"monitor.igg-trough": ["overdue"]},
            monitoring={"igg-trough": {"due": "2026-10-14", "overdue": True, "last_done": "2026-09-14"}},
        ),
        [k_igrt(700, trough_date="2026-09-14")],
    )
    case(
        "trough-monitoring-due-today",
        "§5 twin: latest IgG 2026-09-15 + 30 = 2026-10-15 = as_of -> not overdue, info",
        E(
            present=["monitor.igg-trough"],
            priority={"monitor.igg-trough": "info"},
            monitoring={"igg-trough": {"due": "2026-10-15", "overdue": False}},
        ),
        [k_igrt(700, trough_date="2026-09-15")],
    )
    gap("2026-09-01", "2026-10-01", 30)
    case(
        "trough-monitoring-no-igg-since-start",
        "§5 monitor.igg-trough with no IgG since the start: IVIG from 2026-09-01 (IgG 380 on 2026-08-20 is "
        "before it) -> due start + 30 = 2026-10-01 -> overdue",
        E(
            present=["monitor.igg-trough"],
            absent=["igrt.start"],
            monitoring={"igg-trough": {"due": "2026-10-01", "overdue": True}},
        ),
        [k_igrt(None, start="2026-09-01"), ig_panel("2026-08-20", 380, 21, 90)],
    )
    gap("2026-10-08", "2026-11-07", 30)
    gap("2026-10-01", "2026-10-08", 7)
    case(
        "trough-monitoring-uses-any-igg",
        "§5 trough due counts from the latest IgG on/after the start, trough or not: IgG 2026-10-08 (7 days "
        "after an infusion on 10-01) -> due 2026-11-07",
        E(monitoring={"igg-trough": {"due": "2026-11-07", "overdue": False}}),
        [
            k_igrt(650, trough_date="2026-09-01"),
            admin("ivig", "2026-10-01", "iv", 30),
            igg("2026-10-08", 900),
        ],
    )

    # §6 titration arithmetic
    case(
        "titration-cap",
        "§6 titration cap 0.8 g/kg per 4 weeks: 75 kg, current 55 g q4w, trough 550 -> 55 + 7.5 = 62.5 g > "
        "cap 60 g -> 60 g",
        E(present=["igrt.trough-below-target"], dosing={"titration.increased_dose_g": 60}),
        [k_igrt(550, wt=75, dose=55)],
    )
    case(
        "titration-half-up-5g",
        "§6 titration rounded half-up like a starting dose: 75 kg, current 25 g q4w -> 25 + 7.5 = 32.5 g; "
        "nearest 5 g half-up = 35 (7.7%) (half-even would give 30)",
        E(
            present=["igrt.trough-below-target"],
            dosing={"titration.increased_dose_g": 35, "titration.same_dose_interval_weeks": 3},
        ),
        [k_igrt(550, wt=75, dose=25)],
    )
    case(
        "titration-no-recorded-dose",
        "§6 current dose = computed starting dose when none is recorded: 75 kg -> 30.0 g; + 7.5 = 37.5 g -> "
        "40 g (half-up, 6.7%)",
        E(present=["igrt.trough-below-target"], dosing={"titration.increased_dose_g": 40}),
        [
            ofa_active(),
            statement("ivig", start="2026-01-10", route="iv"),
            ig_panel("2026-09-25", 550, 21, 90),
            weight("2026-09-01", 75),
        ],
    )
    case(
        "titration-scig-weekly",
        "§6 titration scaled to the interval: SCIG 8 g weekly, 80 kg, trough 550 -> 8 + 0.1 x 80 x 1/4 = 10 g",
        E(present=["igrt.trough-below-target"], dosing={"titration.increased_dose_g": 10}),
        [k_igrt(550, dose=8, every=1, route="sc")],
    )
    case(
        "titration-iv-every-3-weeks",
        "§6 titration scaled to the interval: IVIG 20 g every 3 weeks, 80 kg -> 20 + 0.1 x 80 x 3/4 = 26 g -> "
        "nearest 5 = 25 g (3.8%)",
        E(present=["igrt.trough-below-target"], dosing={"titration.increased_dose_g": 25}),
        [k_igrt(550, dose=20, every=3)],
    )

    # F5 immunomodulatory dosing is not replacement
    case(
        "igrt-1-0-g-per-kg-replacement",
        "F5 IgRT limit 1.0 g/kg per 4 weeks: 80 g q4w at 80 kg = 1.0 (not above) -> replacement -> on IgRT",
        E(present=["monitor.igg-trough", "igrt.trough-on-target"]),
        [k_igrt(1200, dose=80)],
    )
    case(
        "igrt-1-0125-g-per-kg-immunomodulatory",
        "F5 twin: 81 g q4w at 80 kg = 1.0125 g/kg > 1.0 -> immunomodulatory, not replacement -> not on IgRT",
        E(
            absent=[
                "monitor.igg-trough",
                "igrt.trough-on-target",
                "igrt.trough-below-target",
                "igrt.review-continuation",
            ]
        ),
        [k_igrt(1200, dose=81)],
    )
    case(
        "igrt-scig-weekly-above-limit",
        "F5 (revision 2) SC ceiling 1.4: SCIG 21 g weekly at 80 kg = 84 g/4 weeks = 1.05 g/kg -> an ordinary "
        "SC replacement dose (the review found it told to *start* replacement) -> on IgRT, no igrt.start",
        E(present=["monitor.igg-trough", "igrt.trough-on-target"], absent=["igrt.start"]),
        [k_igrt(1200, dose=21, every=1, route="sc")],
    )
    case(
        "igrt-scig-weekly-at-sc-ceiling",
        "F5 (revision 2) twin: SCIG 28 g weekly at 80 kg = 112 g/4 weeks = 1.4 g/kg, not above the SC "
        "ceiling 1.4 -> replacement",
        E(present=["monitor.igg-trough", "igrt.trough-on-target"]),
        [k_igrt(1200, dose=28, every=1, route="sc")],
    )
    case(
        "igrt-scig-weekly-above-sc-ceiling",
        "F5 (revision 2) twin: SCIG 29 g weekly at 80 kg = 116 g/4 weeks = 1.45 g/kg > 1.4 -> "
        "immunomodulatory: shown with ig-immunomodulatory-dose, not replacement; serology.passive-antibodies",
        E(
            present=["serology.passive-antibodies"],
            absent=["monitor.igg-trough", "igrt.trough-on-target"],
            data_issue={"severity": "info", "code": "ig-immunomodulatory-dose"},
        ),
        [k_igrt(1200, dose=29, every=1, route="sc")],
    )
    case(
        "igrt-high-dose-without-weight",
        "F5 without a weight a recorded dose counts as replacement: 160 g q4w, no weight -> on IgRT; §6 gram "
        "fields null + weight-missing",
        E(
            present=["monitor.igg-trough"],
            dosing={
                "weight_kg": None,
                "weight_basis": "none",
                "ivig.dose_g": None,
                "ivig.dose_g_exact": None,
                "scig.weekly_g": None,
                "scig.biweekly_g": None,
                "ivig.g_per_kg": 0.4,
            },
            data_issue={"severity": "warning", "match": "weight-missing"},
        ),
        [k_igrt(1200, dose=160, wt=None)],
    )

    # F5 current by administrations (IV 4 weeks, SC 1 week, + 4 weeks grace)
    case(
        "igrt-iv-admin-56-days",
        "F5 current by administrations: last IVIG 2026-08-20 = 56 days <= 4 + 4 weeks -> on IgRT",
        E(present=["monitor.igg-trough", "serology.passive-antibodies"], absent=["igrt.start"]),
        [
            ofa_active(),
            ig_panel("2026-08-10", 450, 21, 90),
            weight("2026-09-01", 75),
            admin("ivig", "2026-06-25", "iv", 30),
            admin("ivig", "2026-07-23", "iv", 30),
            admin("ivig", "2026-08-20", "iv", 30),
        ],
    )
    case(
        "igrt-iv-admin-57-days",
        "F5 twin: last IVIG 2026-08-19 = 57 days -> not on IgRT (IgG 450 not severe); passive antibodies "
        "within 180 days",
        E(present=["serology.passive-antibodies"], absent=["monitor.igg-trough", "igrt.trough-below-target"]),
        [
            ofa_active(),
            ig_panel("2026-08-10", 450, 21, 90),
            weight("2026-09-01", 75),
            admin("ivig", "2026-06-24", "iv", 30),
            admin("ivig", "2026-07-22", "iv", 30),
            admin("ivig", "2026-08-19", "iv", 30),
        ],
    )
    gap("2026-09-10", AS_OF, 35)
    case(
        "igrt-sc-admin-35-days",
        "F5 SC default interval 1 week + 4 weeks grace = 35 days: last SCIG 2026-09-10 -> on IgRT",
        E(present=["monitor.igg-trough"]),
        [
            ofa_active(),
            ig_panel("2026-08-10", 650, 21, 90),
            weight("2026-09-01", 75),
            admin("scig", "2026-08-27", "sc", 8),
            admin("scig", "2026-09-03", "sc", 8),
            admin("scig", "2026-09-10", "sc", 8),
        ],
    )
    case(
        "igrt-sc-admin-36-days",
        "F5 twin: last SCIG 2026-09-09 = 36 days -> not on IgRT",
        E(absent=["monitor.igg-trough"], present=["serology.passive-antibodies"]),
        [
            ofa_active(),
            ig_panel("2026-08-10", 650, 21, 90),
            weight("2026-09-01", 75),
            admin("scig", "2026-08-26", "sc", 8),
            admin("scig", "2026-09-02", "sc", 8),
            admin("scig", "2026-09-09", "sc", 8),
        ],
    )
    case(
        "igrt-blocks-igrt-start",
        "§5 igrt.start is for patients not on IgRT: on IVIG with trough 380 (< 400) -> no igrt.start, trough "
        "below target",
        E(present=["igrt.trough-below-target"], absent=["igrt.start", "igrt.not-for-labs-alone"]),
        [k_igrt(380)],
    )

    # serology.passive-antibodies (K-19, §9.11: 180 days)
    gap("2026-04-18", AS_OF, 180)
    case(
        "passive-antibodies-180-days",
        "§5 serology.passive-antibodies: IVIG ended 2026-04-18 = as_of - 180 days -> within 180 -> present; "
        "not on IgRT",
        E(
            present=["serology.passive-antibodies"],
            absent=["monitor.igg-trough"],
            priority={"serology.passive-antibodies": "info"},
        ),
        [
            k_base(),
            statement(
                "ivig", "2025-06-01", "2026-04-18", status="completed", route="iv", dose_g=30, every_weeks=4
            ),
        ],
    )
    gap("2026-04-17", AS_OF, 181)
    case(
        "passive-antibodies-181-days",
        "§5 twin: IVIG ended 2026-04-17 = 181 days -> no passive-antibodies card",
        E(absent=["serology.passive-antibodies", "monitor.igg-trough"]),
        [
            k_base(),
            statement(
                "ivig", "2025-06-01", "2026-04-17", status="completed", route="iv", dose_g=30, every_weeks=4
            ),
        ],
    )
    case(
        "passive-antibodies-never",
        "§5 no Ig replacement ever -> no passive-antibodies card",
        E(absent=["serology.passive-antibodies"]),
        [k_base()],
    )

    # igrt.breakthrough-infections (D-only patient so kesimpta.* is out of the picture)
    case(
        "breakthrough-on-target",
        "§5 igrt.breakthrough-infections: IgM deficiency on IVIG from 2025-11-01; sinusitis 2026-03-01 and "
        "2026-07-01 (both >= start + 28 days), trough 700 on target -> warning",
        E(
            present=["igrt.breakthrough-infections", "igrt.trough-on-target"],
            absent=["anti-cd20.consider-discontinuation", "igrt.review-continuation", "prophylaxis.consider"],
            priority={"igrt.breakthrough-infections": "warning"},
        ),
        [
            d_base(ig=None),
            igrt_statement(start="2025-11-01", dose=25),
            ig_panel("2026-09-01", 700, 20, 120),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "breakthrough-below-target",
        "§5 twin: same 2 episodes with trough 550 (below target) -> no breakthrough card; trough-below-target",
        E(present=["igrt.trough-below-target"], absent=["igrt.breakthrough-infections"]),
        [
            d_base(ig=None),
            igrt_statement(start="2025-11-01", dose=25),
            ig_panel("2026-09-01", 550, 20, 120),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "breakthrough-one-episode",
        "§5 twin: 1 episode on IgRT (< 2) with trough on target -> no breakthrough card",
        E(present=["igrt.trough-on-target"], absent=["igrt.breakthrough-infections"]),
        [
            d_base(ig=None),
            igrt_statement(start="2025-11-01", dose=25),
            ig_panel("2026-09-01", 700, 20, 120),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "breakthrough-ocrelizumab",
        "§5 breakthrough for any population; revision 2: consider-discontinuation for every agent: "
        "ocrelizumab + IVIG, 2 episodes on IgRT, trough on target -> both, recurrent-despite-igrt",
        E(
            present=["igrt.breakthrough-infections", "anti-cd20.consider-discontinuation"],
            absent=["anti-cd20.continue"],
            reasons={"anti-cd20.consider-discontinuation": ["recurrent-despite-igrt"]},
        ),
        [
            statement("ocr", start="2024-02-01"),
            igrt_statement(start="2025-11-01"),
            weight("2026-09-01", 75),
            ig_panel("2026-09-01", 700, 60, 120),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )


# ============================================================================================
# igrt.review-continuation (K-11, D-17) and igrt.mucosal-residual-risk
# ============================================================================================
def cases_review():
    def d_on_igrt(trough=700, start="2025-06-01", extra=()):
        return [
            d_base(ig=None),
            igrt_statement(start=start, dose=25),
            ig_panel("2026-09-01", trough, 20, 120),
            *extra,
        ]

    case(
        "review-d-on-target",
        "§5 igrt.review-continuation: IgM deficiency (D only) on IVIG since 2025-06-01 (>= 6 months), no "
        "episode in 6 months, trough 700 on target -> review; IgM low on IgRT -> mucosal-residual-risk",
        E(
            present=[
                "igrt.review-continuation",
                "igrt.trough-on-target",
                "igrt.mucosal-residual-risk",
                "monitor.igg-trough",
                "serology.passive-antibodies",
            ],
            absent=["igrt.start", "monitor.ig-due", "igrt.breakthrough-infections"],
            priority={"igrt.review-continuation": "info", "igrt.mucosal-residual-risk": "info"},
            populations=["D"],
        ),
        d_on_igrt(),
    )
    case(
        "review-d-below-target",
        "§5 twin: D requires the latest trough on target; trough 550 -> no review",
        E(present=["igrt.trough-below-target"], absent=["igrt.review-continuation"]),
        d_on_igrt(trough=550),
    )
    mgap("2026-04-15", 6, AS_OF)
    case(
        "review-episode-on-6-month-boundary",
        "§5 'no episode in 6 months' (boundary included): sinusitis on 2026-04-15 = as_of - 6 months -> "
        "counts -> no review",
        E(absent=["igrt.review-continuation"]),
        d_on_igrt(extra=[infection("2026-04-15", SINUSITIS, severity="moderate")]),
    )
    case(
        "review-episode-before-6-months",
        "§5 twin: sinusitis on 2026-04-14 is before the 6-month window -> review",
        E(present=["igrt.review-continuation"]),
        d_on_igrt(extra=[infection("2026-04-14", SINUSITIS, severity="moderate")]),
    )
    case(
        "review-igrt-exactly-6-months",
        "§5 on IgRT >= 6 months: IVIG since 2026-04-15, + 6 months = 2026-10-15 = as_of -> review "
        "(trough 700 on 2026-09-01 is 139 days after the start)",
        E(present=["igrt.review-continuation"]),
        d_on_igrt(start="2026-04-15"),
    )
    case(
        "review-igrt-under-6-months",
        "§5 twin: IVIG since 2026-04-16, + 6 months = 2026-10-16 > as_of -> no review yet",
        E(absent=["igrt.review-continuation"], present=["igrt.trough-on-target"]),
        d_on_igrt(start="2026-04-16"),
    )

    def k_repleted_on_igrt(igm_v=50, iga_v=100, cd19_v=150):
        return [
            statement("ofa", "2023-09-01", "2025-12-01", status="stopped"),
            cd19("2026-08-01", cd19_v),
            igrt_statement(start="2025-09-01"),
            weight("2026-09-01", 75),
            ig_panel("2026-09-01", 750, igm_v, iga_v),
        ]

    case(
        "review-k-repleted",
        "§5 review for K: ofatumumab stopped 2025-12-01, CD19 150 (repleted), IgM 50 and IgA 100 not low, IVIG "
        "since 2025-09-01, no episodes -> review; no mucosal risk (IgM, IgA not low)",
        E(
            populations=["K"],
            present=["igrt.review-continuation"],
            absent=["igrt.mucosal-residual-risk", "monitor.bcells", "vaccine.live-avoid", "monitor.ig-due"],
        ),
        k_repleted_on_igrt(),
    )
    case(
        "review-k-igm-low",
        "§5 twin: IgM 30 low -> K condition fails -> no review; IgM low on IgRT -> mucosal-residual-risk",
        E(present=["igrt.mucosal-residual-risk"], absent=["igrt.review-continuation"]),
        k_repleted_on_igrt(igm_v=30),
    )
    case(
        "review-k-iga-low",
        "§5 twin: IgA 60 low -> no review; mucosal-residual-risk",
        E(present=["igrt.mucosal-residual-risk"], absent=["igrt.review-continuation"]),
        k_repleted_on_igrt(iga_v=60),
    )
    case(
        "review-k-not-repleted",
        "§5 twin: CD19 50 after stopping -> not repleted -> no review; monitor.bcells",
        E(present=["monitor.bcells"], absent=["igrt.review-continuation"]),
        k_repleted_on_igrt(cd19_v=50),
    )
    case(
        "review-k-ofatumumab-current",
        "§5 twin: ofatumumab current -> B cells presumed depleted -> no review",
        E(absent=["igrt.review-continuation"], present=["anti-cd20.continue"]),
        [
            ofa_active(),
            igrt_statement(start="2025-09-01"),
            weight("2026-09-01", 75),
            ig_panel("2026-09-01", 750, 50, 100),
        ],
    )
    case(
        "mucosal-not-without-igrt",
        "§5 mucosal-residual-risk needs IgRT or igrt.start: IgM 20 low, no reason to start -> absent",
        E(present=["igrt.not-for-labs-alone"], absent=["igrt.mucosal-residual-risk", "igrt.start"]),
        [k_base(ig=(910, 20, 130))],
    )
