"""Primary IgM deficiency: confirmed or suspected, its evaluation, and the pneumococcal response
(clinical-spec §1, F7, F8, evaluate.*).
"""

from __future__ import annotations

from tests.rules.casebuilder import (
    ALWAYS,
    AS_OF,
    HASHIMOTO,
    IGMD,
    IGMD_ICD,
    J13,
    MS,
    PNEUMOCOCCAL_PNEUMONIA,
    SAD_ICD,
    SINUSITIS,
    SLE,
    SNOMED,
    E,
    case,
    d_base,
    diagnosis,
    gap,
    ig_panel,
    iga,
    igm,
    immunization,
    infection,
    k_base,
    mgap,
    ofa_active,
    serotypes,
    statement,
    weight,
)


# ============================================================================================
# Population D: confirmed / suspected (§1, F8), evaluate.igm-deficiency, D-8 reasons
# ============================================================================================
def cases_population_d():
    mgap("2026-09-10", 6, "2027-03-10")
    case(
        "d-suspected",
        "§1 suspected IgM deficiency: IgM 22 low, IgG 1010 and IgA 180 not low, no diagnosis, never on a "
        "B-cell-depleting agent -> D; evaluate.igm-deficiency lists specific antibodies and lymphocyte subsets "
        "(due as_of); ig-due 2026-09-10 + 6 months = 2027-03-10",
        E(
            populations=["D"],
            applicable=True,
            present=["evaluate.igm-deficiency", "monitor.ig-due", "risk.encapsulated-bacteria", *ALWAYS],
            absent=[
                "igrt.start",
                "vaccine.live-avoid",
                "anti-cd20.continue",
                "prophylaxis.not-routine",
                "monitor.check-igg",
            ],
            priority={"evaluate.igm-deficiency": "warning"},
            monitoring={
                "specific-antibodies": {"due": AS_OF},
                "lymphocyte-subsets": {"due": AS_OF},
                "ig-panel": {"due": "2027-03-10", "overdue": False},
            },
        ),
        [ig_panel("2026-09-10", 1010, 22, 180)],
    )
    case(
        "d-suspected-igg-unknown",
        "§1 suspected: 'neither IgG nor IgA known to be low' holds with IgG never measured -> D; IgM low + IgG "
        "unknown -> monitor.check-igg",
        E(populations=["D"], present=["evaluate.igm-deficiency", "monitor.check-igg"]),
        [igm("2026-09-10", 22), iga("2026-09-10", 180)],
    )
    case(
        "d-not-suspected-igg-low",
        "§1 not suspected when IgG is low: IgM 22, IgG 650 (< 700), no anti-CD20, no diagnosis -> neither "
        "population -> not applicable, no recommendations",
        E(
            applicable=False,
            populations=[],
            absent=["evaluate.igm-deficiency", "monitor.infections", "education.infection-warning-signs"],
        ),
        [ig_panel("2026-09-10", 650, 22, 180)],
    )
    case(
        "d-not-suspected-iga-low",
        "§1 not suspected when IgA is low: IgM 22, IgA 60 (< 70) -> not applicable",
        E(applicable=False, populations=[]),
        [ig_panel("2026-09-10", 1010, 22, 60)],
    )
    case(
        "d-not-suspected-igm-34",
        "§1/F3 IgM 34 is not low -> not suspected -> not applicable",
        E(applicable=False, populations=[]),
        [ig_panel("2026-09-10", 1010, 34, 180)],
    )
    case(
        "d-not-suspected-obinutuzumab",
        "§1 (revision 2) obinutuzumab is a population K agent; its exposure excludes suspected IgM "
        "deficiency: IgM 22, stopped 2019 -> K only, monitor.bcells, no evaluate.igm-deficiency",
        E(
            populations=["K"],
            present=["monitor.bcells", "vaccine.live-avoid"],
            absent=["evaluate.igm-deficiency"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
        ),
        [
            statement("obi", "2019-01-10", "2019-06-30", status="completed"),
            ig_panel("2026-09-10", 1010, 22, 180),
        ],
    )
    case(
        "d-not-suspected-inebilizumab",
        "§1 (revision 2) inebilizumab (anti-CD19) is a population K agent: current -> K, continue, "
        "live-avoid on-therapy; no suspected IgM deficiency",
        E(
            populations=["K"],
            present=["anti-cd20.continue", "vaccine.live-avoid"],
            absent=["evaluate.igm-deficiency"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [statement("ine", "2022-03-01", status="active"), ig_panel("2026-09-10", 1010, 22, 180)],
    )
    case(
        "d-confirmed-snomed",
        "§1 confirmed: diagnosis SNOMED 190980000, never exposed -> D; response not assessed -> "
        "evaluate.igm-deficiency",
        E(
            populations=["D"],
            present=["evaluate.igm-deficiency", "monitor.ig-due"],
            monitoring={"specific-antibodies": {"due": AS_OF}},
        ),
        [d_base()],
    )
    case(
        "d-confirmed-icd10",
        "§1 confirmed via ICD-10 D80.4 -> D",
        E(populations=["D"], present=["evaluate.igm-deficiency"]),
        [d_base(dx=IGMD_ICD)],
    )
    case(
        "d-confirmed-no-labs",
        "§1 confirmed by diagnosis alone (no Ig results) -> D; ig-due never measured -> due as_of",
        E(
            populations=["D"],
            present=["monitor.ig-due"],
            reasons={"monitor.ig-due": ["never-measured"]},
            monitoring={"ig-panel": {"due": AS_OF, "overdue": False}},
        ),
        [diagnosis(IGMD, "2020-03-01")],
    )
    case(
        "d-confirmed-before-exposure-both",
        "§1 overlap: IgM deficiency diagnosed 2018-05-01, before the first ofatumumab 2023-09-01 -> "
        "populations D and K",
        E(
            populations=["D", "K"],
            present=["anti-cd20.continue", "evaluate.igm-deficiency", "vaccine.live-avoid"],
        ),
        [d_base(dx_date="2018-05-01"), ofa_active()],
    )
    case(
        "d-confirmed-after-exposure-k-only",
        "§1 in an exposed patient only a diagnosis dated before the first exposure counts: diagnosis "
        "2024-02-01 after ofatumumab 2023-09-01 -> K only; no D recommendations",
        E(populations=["K"], present=["anti-cd20.continue"], absent=["evaluate.igm-deficiency"]),
        [d_base(dx_date="2024-02-01"), ofa_active()],
    )
    case(
        "d-confirmed-after-exposure-no-d8",
        "§1 twin consequence: diagnosis after exposure, 2 moderate J13 episodes -> not D -> no D-8a "
        "recurrent-bacterial; K: 2 episodes -> prophylaxis.consider",
        E(
            populations=["K"],
            absent=["igrt.start"],
            present=["prophylaxis.consider"],
            reasons={"prophylaxis.consider": ["recurrent-infections"]},
        ),
        [
            d_base(dx_date="2024-02-01"),
            ofa_active(),
            infection("2026-02-01", J13, severity="moderate"),
            infection("2026-07-01", J13, severity="moderate"),
        ],
    )
    case(
        "d8a-recurrent-bacterial",
        "§5 igrt.start D-8a: confirmed, 2 bacterial episodes (pneumococcal pneumonia SNOMED 233607000, "
        "moderate) in 12 months -> recurrent-bacterial; dose 66 kg: 26.4 g -> 25 g (5.3%)",
        E(
            present=["igrt.start", "igrt.mucosal-residual-risk"],
            reasons={"igrt.start": ["recurrent-bacterial"]},
            dosing={"ivig.dose_g_exact": 26.4, "ivig.dose_g": 25, "scig.weekly_g": 7, "scig.biweekly_g": 13},
        ),
        [
            d_base(),
            infection("2026-01-15", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
            infection("2026-06-20", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
        ],
    )
    case(
        "d8a-one-bacterial",
        "§5 D-8a twin: 1 bacterial episode -> no igrt.start",
        E(absent=["igrt.start"]),
        [d_base(), infection("2026-06-20", PNEUMOCOCCAL_PNEUMONIA, severity="moderate")],
    )
    case(
        "d8a-bacterial-via-antibiotic",
        "F4 bacterial when an antibiotic course names the episode: 2 sinusitis episodes each treated with "
        "amoxicillin (reasonReference) -> 2 bacterial -> igrt.start recurrent-bacterial",
        E(present=["igrt.start"], reasons={"igrt.start": ["recurrent-bacterial"]}),
        [
            d_base(),
            infection("2026-02-01", SINUSITIS, severity="moderate", rid="sin-1"),
            infection("2026-07-01", SINUSITIS, severity="moderate", rid="sin-2"),
            statement("amox", "2026-02-01", "2026-02-10", status="completed", reason_ref="sin-1"),
            statement("amox", "2026-07-01", "2026-07-10", status="completed", reason_ref="sin-2"),
        ],
    )
    case(
        "d8a-not-bacterial",
        "F4 twin: the same 2 sinusitis episodes without antibiotics or organism are not bacterial -> no igrt.start",
        E(absent=["igrt.start"]),
        [
            d_base(),
            infection("2026-02-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "d8a-suspected-not-started",
        "§5 D reasons are for confirmed only: suspected IgM deficiency with 2 bacterial episodes -> no "
        "igrt.start; evaluate.igm-deficiency",
        E(populations=["D"], present=["evaluate.igm-deficiency"], absent=["igrt.start"]),
        [
            ig_panel("2026-09-10", 1010, 22, 180),
            weight("2026-09-10", 66),
            infection("2026-01-15", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
            infection("2026-06-20", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
        ],
    )
    case(
        "d8d-life-threatening",
        "§5 igrt.start D-8d: confirmed IgM deficiency, pneumococcal sepsis 448421008 onset 2026-06-01 resolved "
        "-> life-threatening-infection, warning (> 30 days)",
        E(
            present=["igrt.start"],
            reasons={"igrt.start": ["life-threatening-infection"]},
            priority={"igrt.start": "warning"},
        ),
        [
            d_base(),
            infection(
                "2026-06-01",
                (SNOMED, "448421008", "Sepsis due to Streptococcus pneumoniae"),
                abatement="2026-06-20",
            ),
        ],
    )
    case(
        "d8e-refractory",
        "§5 igrt.start D-8e: confirmed, J13 flagged antibiotic-response insufficient -> antibiotic-refractory",
        E(present=["igrt.start"], reasons={"igrt.start": ["antibiotic-refractory"]}),
        [d_base(), infection("2026-08-01", J13, severity="moderate", insufficient=True)],
    )
    case(
        "d-autoimmunity-sle",
        "§5 risk.autoimmunity-persistent-infection (D-13): confirmed IgM deficiency + active SLE M32.9 (under "
        "M32)",
        E(
            present=["risk.autoimmunity-persistent-infection"],
            priority={"risk.autoimmunity-persistent-infection": "info"},
        ),
        [d_base(), diagnosis(SLE, "2021-04-01")],
    )
    case(
        "d-autoimmunity-hashimoto",
        "§5 autoimmune set: Hashimoto thyroiditis E06.3 active -> risk.autoimmunity-persistent-infection",
        E(present=["risk.autoimmunity-persistent-infection"]),
        [d_base(), diagnosis(HASHIMOTO, "2019-01-01")],
    )
    case(
        "d-autoimmunity-resolved",
        "F9 needs an active condition: SLE with clinicalStatus resolved -> absent",
        E(absent=["risk.autoimmunity-persistent-infection"]),
        [d_base(), diagnosis(SLE, "2021-04-01", clinical="resolved")],
    )
    case(
        "d-autoimmunity-ms-excluded",
        "F9 multiple sclerosis itself is excluded: D+K patient whose only other condition is MS G35 -> absent",
        E(populations=["D", "K"], absent=["risk.autoimmunity-persistent-infection"]),
        [d_base(dx_date="2018-05-01"), ofa_active(), diagnosis(MS, "2023-06-01")],
    )
    case(
        "k-autoimmunity-not-d",
        "§5 risk.autoimmunity-persistent-infection is D only: K patient with active SLE -> absent",
        E(populations=["K"], absent=["risk.autoimmunity-persistent-infection"]),
        [k_base(), diagnosis(SLE, "2021-04-01")],
    )


# ============================================================================================
# F7 pneumococcal response (D-8b): < 70% of serotypes >= 1.3 ug/mL, 28-56 days after CVX 33
# ============================================================================================
IMPAIRED = [2.1, 1.9, 1.29, 3.0, 1.5, 2.2, 1.4, 0.4, 0.3, 0.9]  # 6 of 10 >= 1.3 -> 60%
NORMAL_RESP = [2.1, 1.9, 1.3, 3.0, 1.5, 2.2, 1.4, 0.4, 0.3, 0.9]  # 7 of 10 >= 1.3 -> 70%


def cases_pneumococcal():
    assert sum(v >= 1.3 for v in IMPAIRED) == 6 and sum(v >= 1.3 for v in NORMAL_RESP) == 7
    gap("2026-06-01", "2026-06-29", 28)
    case(
        "pnc-impaired-6-of-10",
        "F7 impaired: PPSV23 (CVX 33) 2026-06-01, titres 2026-06-29 (28 days) with 6/10 serotypes >= 1.3 ug/mL "
        "(60% < 70%) -> igrt.start impaired-specific-antibodies (D-8b); response assessed -> no evaluate",
        E(
            present=["igrt.start"],
            absent=["evaluate.igm-deficiency", "prophylaxis.consider"],
            reasons={"igrt.start": ["impaired-specific-antibodies"]},
            dosing={"ivig.dose_g": 25},
        ),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-06-29", IMPAIRED)],
    )
    case(
        "pnc-normal-7-of-10",
        "F7 twin: 7/10 serotypes >= 1.3 (one exactly 1.3) = 70%, not fewer -> normal -> no igrt.start, no "
        "evaluate",
        E(absent=["igrt.start", "evaluate.igm-deficiency"]),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-06-29", NORMAL_RESP)],
    )
    gap("2026-06-01", "2026-06-28", 27)
    case(
        "pnc-27-days-not-assessable",
        "F7 window 28-56 days: titres 2026-06-28 = 27 days after CVX 33 -> not assessable -> no igrt.start, "
        "evaluate.igm-deficiency; data issue pneumococcal-not-assessable",
        E(
            present=["evaluate.igm-deficiency"],
            absent=["igrt.start"],
            data_issue={"severity": "info", "match": "pneumococcal-not-assessable"},
        ),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-06-28", IMPAIRED)],
    )
    gap("2026-06-01", "2026-07-27", 56)
    case(
        "pnc-56-days-impaired",
        "F7 window: titres 2026-07-27 = 56 days after CVX 33 -> in window -> impaired -> igrt.start",
        E(
            present=["igrt.start"],
            absent=["evaluate.igm-deficiency"],
            reasons={"igrt.start": ["impaired-specific-antibodies"]},
        ),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-07-27", IMPAIRED)],
    )
    gap("2026-06-01", "2026-07-28", 57)
    case(
        "pnc-57-days-not-assessable",
        "F7 twin: titres 2026-07-28 = 57 days -> not assessable -> no igrt.start, evaluate; data issue",
        E(
            present=["evaluate.igm-deficiency"],
            absent=["igrt.start"],
            data_issue={"severity": "info", "match": "pneumococcal-not-assessable"},
        ),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-07-28", IMPAIRED)],
    )
    case(
        "pnc-no-vaccination",
        "F7/§7 titres without any pneumococcal vaccination -> not assessable + data issue "
        "pneumococcal-not-assessable (info); evaluate.igm-deficiency",
        E(
            present=["evaluate.igm-deficiency"],
            absent=["igrt.start"],
            data_issue={
                "severity": "info",
                "resource_type": "Observation",
                "match": "pneumococcal-not-assessable",
            },
        ),
        [d_base(), serotypes("2026-06-29", IMPAIRED)],
    )
    case(
        "pnc-conjugate-vaccine-only",
        "F7 only a polysaccharide vaccine (CVX 33) qualifies: PCV13 (CVX 133) 2026-06-01 -> not assessable",
        E(present=["evaluate.igm-deficiency"], absent=["igrt.start"]),
        [d_base(), immunization("2026-06-01", "133"), serotypes("2026-06-29", IMPAIRED)],
    )
    case(
        "pnc-units-mg-per-l",
        "Contract §1 serotype IgG in mg/L = ug/mL: same impaired set in mg/L -> igrt.start",
        E(present=["igrt.start"], reasons={"igrt.start": ["impaired-specific-antibodies"]}),
        [d_base(), immunization("2026-06-01", "33"), serotypes("2026-06-29", IMPAIRED, unit="mg/L")],
    )
    case(
        "pnc-within-180-days-of-igrt",
        "F7 not assessable when drawn within 180 days of Ig replacement: IVIG ended 2026-03-01, titres "
        "2026-06-29 (120 days later) -> no igrt.start; evaluate",
        E(present=["evaluate.igm-deficiency"], absent=["igrt.start"]),
        [
            d_base(),
            statement(
                "ivig", "2025-09-01", "2026-03-01", status="completed", route="iv", dose_g=25, every_weeks=4
            ),
            immunization("2026-06-01", "33"),
            serotypes("2026-06-29", IMPAIRED),
        ],
    )
    case(
        "pnc-sad-diagnosis",
        "F7 impaired when a specific antibody deficiency diagnosis (ICD-10 D80.6) is recorded -> igrt.start "
        "impaired-specific-antibodies; no evaluate",
        E(
            present=["igrt.start"],
            absent=["evaluate.igm-deficiency"],
            reasons={"igrt.start": ["impaired-specific-antibodies"]},
        ),
        [d_base(), diagnosis(SAD_ICD, "2022-05-01")],
    )
    case(
        "pnc-k-only-impaired",
        "§5 D-8b is population D only: ofatumumab patient (K) with an impaired response -> no igrt.start",
        E(populations=["K"], absent=["igrt.start"]),
        [k_base(), immunization("2026-06-01", "33"), serotypes("2026-06-29", IMPAIRED)],
    )
    case(
        "pnc-suspected-impaired",
        "§5 D-8b for confirmed only: suspected IgM deficiency with impaired response -> no igrt.start; "
        "evaluate (suspected)",
        E(populations=["D"], present=["evaluate.igm-deficiency"], absent=["igrt.start"]),
        [
            ig_panel("2026-09-10", 1010, 22, 180),
            immunization("2026-06-01", "33"),
            serotypes("2026-06-29", IMPAIRED),
        ],
    )
