"""B-cell-depleting therapy: keep, delay or stop the agent, the exposure and B-cell status after
stopping, live vaccines and serology (clinical-spec §5, anti-cd20.*, vaccine.*, serology.*).
"""

from __future__ import annotations

from tests.rules.casebuilder import (
    A81_2,
    ALWAYS,
    AS_OF,
    B59,
    CD19_PCT,
    NORMAL,
    PML,
    PNEUMONIA,
    SINUSITIS,
    UTI,
    E,
    admin,
    case,
    cd19,
    d_base,
    gap,
    ig_panel,
    immunization,
    infection,
    k_base,
    lab,
    request,
    statement,
)


# ============================================================================================
# anti-cd20.consider-discontinuation / anti-cd20.continue / anti-cd20.delay-dose
# ============================================================================================
def igrt_statement(start="2026-01-10", dose=30, every=4, route="iv", status="active", end=None):
    drug = "ivig" if route == "iv" else "scig"
    return statement(drug, start=start, end=end, status=status, route=route, dose_g=dose, every_weeks=every)


def cases_kesimpta():
    case(
        "kcd-pml-critical",
        "§5 anti-cd20.consider-discontinuation opportunistic-infection (K-13): PML 22255007 onset 2026-08-01 "
        "on ofatumumab -> critical; anti-cd20.continue needs no discontinuation reason",
        E(
            present=["anti-cd20.consider-discontinuation"],
            absent=["anti-cd20.continue"],
            reasons={"anti-cd20.consider-discontinuation": ["opportunistic-infection"]},
            priority={"anti-cd20.consider-discontinuation": "critical"},
        ),
        [k_base(), infection("2026-08-01", PML, clinical="active")],
    )
    case(
        "kcd-pml-coded-mild",
        "F4 (revision 2) opportunistic is always serious: PML coded mild -> consider-discontinuation "
        "opportunistic-infection, critical; no continue",
        E(
            present=["anti-cd20.consider-discontinuation", "anti-cd20.delay-dose"],
            absent=["anti-cd20.continue"],
            reasons={"anti-cd20.consider-discontinuation": ["opportunistic-infection"]},
            priority={"anti-cd20.consider-discontinuation": "critical"},
        ),
        [k_base(), infection("2026-08-01", PML, severity="mild", clinical="active")],
    )
    case(
        "kcd-pml-icd10",
        "F4 opportunistic set via ICD-10 A81.2 (PML), onset 2026-05-01 resolved -> consider-discontinuation "
        "opportunistic-infection, critical",
        E(
            present=["anti-cd20.consider-discontinuation"],
            absent=["anti-cd20.continue"],
            reasons={"anti-cd20.consider-discontinuation": ["opportunistic-infection"]},
            priority={"anti-cd20.consider-discontinuation": "critical"},
        ),
        [k_base(), infection("2026-05-01", A81_2, abatement="2026-07-01")],
    )
    case(
        "kcd-pneumocystis",
        "F4 opportunistic set: pneumocystosis ICD-10 B59, onset 2026-06-10 resolved -> "
        "consider-discontinuation opportunistic-infection",
        E(
            present=["anti-cd20.consider-discontinuation"],
            reasons={"anti-cd20.consider-discontinuation": ["opportunistic-infection"]},
        ),
        [k_base(), infection("2026-06-10", B59, abatement="2026-07-05")],
    )
    case(
        "kcd-pml-outside-window",
        "§5 serious opportunistic episode 'in the window': PML onset 2025-10-14 (outside 12 months), resolved -> "
        "no consider-discontinuation",
        E(present=["anti-cd20.continue"], absent=["anti-cd20.consider-discontinuation"]),
        [k_base(), infection("2025-10-14", PML, abatement="2026-01-10")],
    )
    case(
        "kcd-pml-ocrelizumab",
        "§1/§5 (revision 2) the therapy rules apply to every agent: active PML on ocrelizumab -> "
        "consider-discontinuation critical, delay-dose; never silence",
        E(
            present=["anti-cd20.consider-discontinuation", "anti-cd20.delay-dose"],
            absent=["anti-cd20.continue"],
            reasons={"anti-cd20.consider-discontinuation": ["opportunistic-infection"]},
            priority={"anti-cd20.consider-discontinuation": "critical"},
        ),
        [k_base(agent="ocr", start="2024-02-01"), infection("2026-08-01", PML, clinical="active")],
    )
    gap("2026-01-10", "2026-02-07", 28)
    case(
        "kcd-recurrent-despite-igrt-28-days",
        "§5 recurrent-despite-igrt (§9.7): IVIG from 2026-01-10; sinusitis 2026-02-07 (= start + 28 days) "
        "and 2026-06-01 -> 2 episodes on IgRT; trough 700 on target -> also igrt.breakthrough-infections",
        E(
            present=[
                "anti-cd20.consider-discontinuation",
                "igrt.breakthrough-infections",
                "igrt.trough-on-target",
            ],
            absent=["anti-cd20.continue", "igrt.start"],
            reasons={"anti-cd20.consider-discontinuation": ["recurrent-despite-igrt"]},
            priority={
                "anti-cd20.consider-discontinuation": "warning",
                "igrt.breakthrough-infections": "warning",
            },
        ),
        [
            k_base(ig=None),
            igrt_statement(),
            ig_panel("2026-09-01", 700, 60, 120),
            infection("2026-02-07", SINUSITIS, severity="moderate"),
            infection("2026-06-01", SINUSITIS, severity="moderate"),
        ],
    )
    gap("2026-01-10", "2026-02-06", 27)
    case(
        "kcd-recurrent-despite-igrt-27-days",
        "§5 twin: first sinusitis 2026-02-06 = start + 27 days is before the IgRT effect -> 1 episode on IgRT "
        "-> no consider-discontinuation, no breakthrough; on IgRT so no prophylaxis.consider",
        E(
            present=["anti-cd20.continue", "igrt.trough-on-target"],
            absent=[
                "anti-cd20.consider-discontinuation",
                "igrt.breakthrough-infections",
                "prophylaxis.consider",
            ],
        ),
        [
            k_base(ig=None),
            igrt_statement(),
            ig_panel("2026-09-01", 700, 60, 120),
            infection("2026-02-06", SINUSITIS, severity="moderate"),
            infection("2026-06-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "kcd-severe-igg-severe-infection",
        "§5 severe-igg-with-severe-infection (§9.7): IgG 350 < 400 and a severe pneumonia 2026-05-01 -> "
        "consider-discontinuation warning; igrt.start igg-below-threshold",
        E(
            present=["anti-cd20.consider-discontinuation", "igrt.start"],
            absent=["anti-cd20.continue"],
            reasons={
                "anti-cd20.consider-discontinuation": ["severe-igg-with-severe-infection"],
                "igrt.start": ["igg-below-threshold"],
            },
            priority={"anti-cd20.consider-discontinuation": "warning"},
        ),
        [k_base(ig=(350, 80, 130)), infection("2026-05-01", PNEUMONIA, severity="severe")],
    )
    case(
        "kcd-severe-infection-outside-window",
        "§5 twin: IgG 350 with a severe pneumonia 2025-10-14 (outside the 12-month window) -> no "
        "consider-discontinuation",
        E(present=["igrt.start"], absent=["anti-cd20.consider-discontinuation"]),
        [k_base(ig=(350, 80, 130)), infection("2025-10-14", PNEUMONIA, severity="severe")],
    )
    case(
        "kcd-igg-400-severe-infection",
        "§5 twin: IgG 400 is not severe -> no consider-discontinuation; anti-cd20.continue",
        E(present=["anti-cd20.continue"], absent=["anti-cd20.consider-discontinuation", "igrt.start"]),
        [k_base(ig=(400, 80, 130)), infection("2026-05-01", PNEUMONIA, severity="severe")],
    )
    case(
        "kcd-severe-igg-moderate-infection",
        "§5 twin: IgG 350 with a moderate pneumonia (not severe) -> no consider-discontinuation",
        E(present=["anti-cd20.continue", "igrt.start"], absent=["anti-cd20.consider-discontinuation"]),
        [k_base(ig=(350, 80, 130)), infection("2026-05-01", PNEUMONIA, severity="moderate")],
    )
    case(
        "kesimpta-continue-low-igm",
        "§5 anti-cd20.continue (K-6, K-22): ofatumumab current, IgM 28 low, no infections -> continue; "
        "not-for-labs-alone; prophylaxis.not-routine; no delay-dose without active infection",
        E(
            present=[
                "anti-cd20.continue",
                "igrt.not-for-labs-alone",
                "prophylaxis.not-routine",
                "risk.encapsulated-bacteria",
                "vaccine.live-avoid",
                "serology.false-negative-risk",
                *ALWAYS,
            ],
            absent=[
                "anti-cd20.delay-dose",
                "anti-cd20.consider-discontinuation",
                "igrt.start",
                "monitor.bcells",
                "monitor.ig-baseline",
            ],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
            priority={"anti-cd20.continue": "info", "vaccine.live-avoid": "info"},
            populations=["K"],
        ),
        [k_base(ig=(910, 28, 130))],
    )
    case(
        "kesimpta-continue-on-igrt",
        "§5 anti-cd20.continue during IgRT (K-12): ofatumumab + IVIG, no discontinuation reason -> continue",
        E(
            present=["anti-cd20.continue", "monitor.igg-trough"],
            absent=["anti-cd20.consider-discontinuation"],
        ),
        [k_base(ig=None), igrt_statement(), ig_panel("2026-09-25", 650, 21, 90)],
    )

    # delay-dose: active infection (F4: active/recurrence/relapse, no abatement, onset within 90 days)
    case(
        "delay-active-uti",
        "§5 anti-cd20.delay-dose (K-15): active UTI onset 2026-09-20, no abatement -> delay the dose; continue "
        "may fire with it",
        E(
            present=["anti-cd20.delay-dose", "anti-cd20.continue"],
            priority={"anti-cd20.delay-dose": "warning"},
        ),
        [k_base(), infection("2026-09-20", UTI, severity="moderate", clinical="active")],
    )
    case(
        "delay-resolved-infection",
        "F4 twin: UTI onset 2026-09-20 resolved with abatement 2026-10-01 -> not active, no delay-dose",
        E(present=["anti-cd20.continue"], absent=["anti-cd20.delay-dose"]),
        [k_base(), infection("2026-09-20", UTI, severity="moderate", abatement="2026-10-01")],
    )
    gap("2026-07-17", AS_OF, 90)
    case(
        "delay-active-90-days",
        "F4 active_infection_max_days: unresolved UTI onset 2026-07-17 = as_of - 90 days -> still active -> "
        "delay-dose",
        E(present=["anti-cd20.delay-dose"]),
        [k_base(), infection("2026-07-17", UTI, severity="moderate", clinical="active")],
    )
    case(
        "delay-stale-91-days",
        "F4 twin: unresolved UTI onset 2026-07-16 = 91 days -> not active (no delay-dose) and a data issue "
        "infection-unresolved-stale (§7 warning)",
        E(
            absent=["anti-cd20.delay-dose"],
            data_issue={
                "severity": "warning",
                "resource_type": "Condition",
                "match": "infection-unresolved-stale",
            },
        ),
        [k_base(), infection("2026-07-16", UTI, severity="moderate", clinical="active")],
    )
    case(
        "delay-recurrence-status",
        "F4 active includes clinicalStatus recurrence: sinusitis recurrence onset 2026-10-01 -> delay-dose",
        E(present=["anti-cd20.delay-dose"]),
        [k_base(), infection("2026-10-01", SINUSITIS, severity="moderate", clinical="recurrence")],
    )
    case(
        "delay-refuted-not-active",
        "F4 refuted infections are not episodes: active UTI marked refuted -> no delay-dose",
        E(absent=["anti-cd20.delay-dose"]),
        [k_base(), infection("2026-09-20", UTI, clinical="active", verification="refuted")],
    )
    case(
        "delay-starting",
        "§5 delay-dose fires for ofatumumab starting too: plan request (start 2026-10-15) + active UTI -> "
        "delay-dose; not current -> no anti-cd20.continue",
        E(present=["anti-cd20.delay-dose"], absent=["anti-cd20.continue"]),
        [
            request("ofa", intent="plan", start="2026-10-15", authored="2026-10-01"),
            ig_panel("2026-09-01", *NORMAL),
            infection("2026-10-05", UTI, severity="moderate", clinical="active"),
        ],
    )
    case(
        "delay-ocrelizumab",
        "§5 (revision 2) delay-dose for every agent: ocrelizumab + active UTI -> delay-dose",
        E(
            present=["anti-cd20.delay-dose", "anti-cd20.continue"],
            priority={"anti-cd20.delay-dose": "warning"},
        ),
        [k_base(agent="ocr", start="2024-02-01"), infection("2026-09-20", UTI, clinical="active")],
    )
    case(
        "delay-discontinued",
        "§5 delay-dose needs ofatumumab current or starting: stopped 2026-04-01 + active UTI -> none",
        E(absent=["anti-cd20.delay-dose", "anti-cd20.continue"]),
        [
            statement("ofa", "2023-09-01", "2026-04-01", status="stopped"),
            ig_panel("2026-08-20", *NORMAL),
            infection("2026-09-20", UTI, clinical="active"),
        ],
    )


# ============================================================================================
# F1 exposure status, F2 B cells after stopping, vaccines, serology
# ============================================================================================
def stopped_ofa(end="2026-04-01"):
    return statement("ofa", "2023-09-01", end, status="stopped")


def cases_exposure_bcells():
    gap("2026-08-20", AS_OF, 56)
    case(
        "ofa-admin-56-days-current",
        "F1 administration within ofatumumab 4 + 4 grace weeks: last dose 2026-08-20 = as_of - 56 days -> "
        "current -> anti-cd20.continue, live-avoid on-therapy",
        E(
            present=["anti-cd20.continue", "vaccine.live-avoid", "serology.false-negative-risk"],
            absent=["monitor.bcells"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [
            admin("ofa", "2026-06-25"),
            admin("ofa", "2026-07-23"),
            admin("ofa", "2026-08-20"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    gap("2026-08-19", AS_OF, 57)
    case(
        "ofa-admin-57-days-discontinued",
        "F1 twin: last ofatumumab dose 2026-08-19 = 57 days > 8 weeks -> discontinued (stop 2026-08-19), no "
        "CD19 after -> B cells unknown = not repleted -> monitor.bcells, live-avoid not-repleted",
        E(
            present=[
                "vaccine.live-avoid",
                "monitor.bcells",
                "serology.false-negative-risk",
                "monitor.ig-due",
            ],
            absent=["anti-cd20.continue", "risk.normal-igg-not-protective"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
        ),
        [
            admin("ofa", "2026-06-24"),
            admin("ofa", "2026-07-22"),
            admin("ofa", "2026-08-19"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    gap("2026-03-19", AS_OF, 210)
    case(
        "ocr-admin-210-days-current",
        "F1 ocrelizumab 26 + 4 weeks = 210 days: last infusion 2026-03-19 -> current -> live-avoid "
        "on-therapy, normal-IgG card; revision 2: anti-cd20.continue for ocrelizumab too",
        E(
            present=[
                "vaccine.live-avoid",
                "serology.false-negative-risk",
                "risk.normal-igg-not-protective",
                "monitor.ig-due",
                "anti-cd20.continue",
            ],
            absent=["monitor.bcells"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [admin("ocr", "2025-09-19"), admin("ocr", "2026-03-19"), ig_panel("2026-08-20", *NORMAL)],
    )
    gap("2026-03-18", AS_OF, 211)
    case(
        "ocr-admin-211-days-discontinued",
        "F1 twin: last ocrelizumab infusion 2026-03-18 = 211 days -> discontinued, B cells unknown -> "
        "monitor.bcells, live-avoid not-repleted; no normal-IgG card (needs current)",
        E(
            present=["vaccine.live-avoid", "monitor.bcells"],
            absent=["risk.normal-igg-not-protective"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
        ),
        [admin("ocr", "2025-09-18"), admin("ocr", "2026-03-18"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ofa-request-active-current",
        "F1 an active MedicationRequest (intent order) is current -> anti-cd20.continue",
        E(
            present=["anti-cd20.continue", "vaccine.live-avoid"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [
            request("ofa", start="2023-09-01", authored="2023-08-20", every_weeks=4),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "ofa-on-hold-current",
        "F1 an on-hold statement is current -> anti-cd20.continue",
        E(present=["anti-cd20.continue", "vaccine.live-avoid"]),
        [statement("ofa", start="2023-09-01", status="on-hold"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ofa-undated-active-current",
        "F1 a record with no dates that is not stopped is current -> anti-cd20.continue",
        E(present=["anti-cd20.continue"]),
        [statement("ofa", status="active"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ofa-request-completed-discontinued",
        "F1 a completed request (boundsPeriod.end 2026-03-01) -> discontinued, no CD19 -> not repleted",
        E(
            present=["vaccine.live-avoid", "monitor.bcells"],
            absent=["anti-cd20.continue"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
        ),
        [
            request("ofa", status="completed", start="2023-09-01", end="2026-03-01", authored="2023-08-20"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "ofa-not-taken-ignored",
        "F1 ignored: a not-taken statement is no exposure; normal Ig, no diagnosis -> not applicable",
        E(applicable=False, populations=[], absent=["anti-cd20.continue", "monitor.infections"]),
        [statement("ofa", start="2023-09-01", status="not-taken"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ofa-entered-in-error-ignored",
        "F1 ignored: an entered-in-error statement is no exposure -> not applicable",
        E(applicable=False, populations=[]),
        [statement("ofa", start="2023-09-01", status="entered-in-error"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ofa-cancelled-request-ignored",
        "F1 ignored: a cancelled request with no administration -> not applicable",
        E(applicable=False, populations=[]),
        [
            request("ofa", status="cancelled", start="2026-09-01", authored="2026-08-25"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "ublituximab-by-name",
        "§1 ublituximab is an anti-CD20 (K), recognised by name 'Briumvi' -> live-avoid on-therapy; "
        "revision 2: anti-cd20.continue",
        E(
            present=["vaccine.live-avoid", "anti-cd20.continue"],
            populations=["K"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [statement("ubl", start="2025-03-01"), ig_panel("2026-08-20", *NORMAL)],
    )

    # B cells after stopping (F2)
    case(
        "cd19-79-not-repleted",
        "F2 after stopping (2026-04-01): latest CD19 79 cells/uL < 80 -> not repleted -> live-avoid "
        "not-repleted, monitor.bcells, serology.false-negative-risk, monitor.ig-due",
        E(
            present=[
                "vaccine.live-avoid",
                "monitor.bcells",
                "serology.false-negative-risk",
                "monitor.ig-due",
            ],
            absent=["anti-cd20.continue"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
            priority={"vaccine.live-avoid": "info", "monitor.bcells": "info"},
            monitoring={"cd19": {}, "ig-panel": {"due": "2027-03-01", "overdue": False}},
        ),
        [stopped_ofa(), cd19("2026-09-01", 79), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-80-repleted",
        "F2 twin: CD19 80 >= 80 -> repleted -> no live-avoid, no monitor.bcells, no false-negative card, no "
        "panel due (K only, not D); still population K",
        E(
            present=ALWAYS,
            absent=["vaccine.live-avoid", "monitor.bcells", "serology.false-negative-risk", "monitor.ig-due"],
            populations=["K"],
            applicable=True,
        ),
        [stopped_ofa(), cd19("2026-09-01", 80), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-lab-range-repleted",
        "F2 the lab's referenceRange.low wins: CD19 60 with low 55 cells/uL -> repleted (although < 80)",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-09-01", 60, ref_low=55), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-lab-range-not-repleted",
        "F2 the lab's referenceRange.low wins: CD19 90 with low 100 cells/uL -> not repleted (although >= 80)",
        E(present=["vaccine.live-avoid", "monitor.bcells"], reasons={"vaccine.live-avoid": ["not-repleted"]}),
        [stopped_ofa(), cd19("2026-09-01", 90, ref_low=100), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-on-stop-date",
        "F2 only CD19 dated strictly after the stop date: CD19 150 on the stop date 2026-04-01 -> unknown -> "
        "not repleted",
        E(present=["vaccine.live-avoid", "monitor.bcells"], reasons={"vaccine.live-avoid": ["not-repleted"]}),
        [stopped_ofa(), cd19("2026-04-01", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-day-after-stop",
        "F2 twin: CD19 150 on 2026-04-02, the day after stopping -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-04-02", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-latest-low",
        "F2 the latest CD19 decides: 150 (2026-06-01) then 50 (2026-09-01) -> not repleted",
        E(present=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-06-01", 150), cd19("2026-09-01", 50), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-latest-high",
        "F2 the latest CD19 decides: 50 (2026-06-01) then 150 (2026-09-01) -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-06-01", 50), cd19("2026-09-01", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-none-after-stop",
        "F2 no CD19 after stopping -> unknown, treated as not repleted -> live-avoid (§9.4 safe side)",
        E(present=["vaccine.live-avoid", "monitor.bcells"], reasons={"vaccine.live-avoid": ["not-repleted"]}),
        [stopped_ofa(), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-percent-only",
        "Contract §1: CD19 % (8117-4) is shown, not used for repletion: 15% after stopping -> unknown -> "
        "live-avoid",
        E(present=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), lab(CD19_PCT, "2026-09-01", 15, "%"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-10e9-per-l-repleted",
        "Units: CD19 0.12 x10*9/L = 120 cells/uL -> repleted (read as /uL it would be 0.12)",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-09-01", 0.12, "10*9/L"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-10e9-per-l-not-repleted",
        "Units twin: CD19 0.05 x10*9/L = 50 cells/uL -> not repleted",
        E(present=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-09-01", 0.05, "10*9/L"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-10e6-per-l",
        "Units: CD19 120 x10*6/L = 120 cells/uL -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-09-01", 120, "10*6/L"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "cd19-10e3-per-ul",
        "Units: CD19 0.12 x10*3/uL = 120 cells/uL -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-09-01", 0.12, "10*3/uL"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "stop-date-latest-administration",
        "F1 stop date = latest of end dates and administrations: statement ended 2026-04-01 but a dose was "
        "given 2026-05-01 -> stop 2026-05-01; CD19 150 on 2026-04-15 is not after it -> not repleted",
        E(present=["vaccine.live-avoid", "monitor.bcells"], absent=["anti-cd20.continue"]),
        [stopped_ofa(), admin("ofa", "2026-05-01"), cd19("2026-04-15", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "stop-date-latest-administration-repleted",
        "F1/F2 twin: same, CD19 150 on 2026-05-02 (after the last dose) -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells", "anti-cd20.continue"]),
        [stopped_ofa(), admin("ofa", "2026-05-01"), cd19("2026-05-02", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "stopped-undated-therapy-issue",
        "F1 a stopped statement with no dates: discontinued, stop date unknown -> B cells unknown even with "
        "CD19 150 -> live-avoid, monitor.bcells; data issue therapy-undated (§7 warning)",
        E(
            present=["vaccine.live-avoid", "monitor.bcells"],
            absent=["anti-cd20.continue"],
            data_issue={
                "severity": "warning",
                "resource_type": "MedicationStatement",
                "match": "therapy-undated",
            },
        ),
        [statement("ofa", status="stopped"), cd19("2026-09-01", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "rituximab-long-ago-is-k",
        "§1 population K includes having stopped an anti-CD20: rituximab completed 2019, IgM 20 -> K (not D: "
        "exposed); no CD19 -> live-avoid not-repleted",
        E(
            populations=["K"],
            present=["vaccine.live-avoid"],
            absent=["evaluate.igm-deficiency"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
        ),
        [
            statement("rtx", "2018-01-10", "2019-06-30", status="completed"),
            ig_panel("2026-08-20", 900, 20, 120),
        ],
    )

    # vaccines (K-14)
    case(
        "live-vaccine-after-stop",
        "§5 vaccine.live-avoid live-vaccine-given: MMR (CVX 03) on 2026-07-01 after stopping 2026-04-01, no "
        "documented repletion -> warning",
        E(
            present=["vaccine.live-avoid"],
            reasons={"vaccine.live-avoid": ["live-vaccine-given"]},
            priority={"vaccine.live-avoid": "warning"},
        ),
        [stopped_ofa(), immunization("2026-07-01", "03"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "live-vaccine-on-therapy",
        "§5 live-vaccine-given while on therapy: zoster live (CVX 121) 2026-05-01 on ofatumumab -> warning",
        E(
            present=["vaccine.live-avoid"],
            reasons={"vaccine.live-avoid": ["live-vaccine-given"]},
            priority={"vaccine.live-avoid": "warning"},
        ),
        [k_base(), immunization("2026-05-01", "121")],
    )
    case(
        "live-vaccine-by-name",
        "Contract §1 live vaccine name fallback: 'Varivax' (no code) 2026-05-01 on ofatumumab -> "
        "live-vaccine-given, warning",
        E(
            present=["vaccine.live-avoid"],
            reasons={"vaccine.live-avoid": ["live-vaccine-given"]},
            priority={"vaccine.live-avoid": "warning"},
        ),
        [k_base(), immunization("2026-05-01", None, text_only="Varivax (varicella virus vaccine live)")],
    )
    case(
        "inactivated-vaccine-on-therapy",
        "§5 twin: recombinant zoster (CVX 187, not live) on ofatumumab -> live-avoid stays info",
        E(present=["vaccine.live-avoid"], priority={"vaccine.live-avoid": "info"}),
        [k_base(), immunization("2026-05-01", "187")],
    )
    case(
        "live-vaccine-before-therapy",
        "§5 twin: MMR 2023-01-10, before ofatumumab started 2023-09-01 -> not given on therapy -> info",
        E(present=["vaccine.live-avoid"], priority={"vaccine.live-avoid": "info"}),
        [k_base(), immunization("2023-01-10", "03")],
    )
    case(
        "live-vaccine-after-repletion",
        "§5 stopped 2026-04-01, CD19 150 on 2026-06-01 (repleted), MMR 2026-07-01 -> repleted: no live-avoid",
        E(absent=["vaccine.live-avoid"]),
        [
            stopped_ofa(),
            cd19("2026-06-01", 150),
            immunization("2026-07-01", "03"),
            ig_panel("2026-09-01", *NORMAL),
        ],
    )
    case(
        "live-avoid-not-for-d-only",
        "§5 vaccine.live-avoid and serology.false-negative-risk are K only: confirmed IgM deficiency, never "
        "on anti-CD20 -> absent",
        E(
            populations=["D"],
            absent=[
                "vaccine.live-avoid",
                "serology.false-negative-risk",
                "monitor.bcells",
                "anti-cd20.continue",
                "prophylaxis.not-routine",
                "risk.normal-igg-not-protective",
            ],
        ),
        [d_base()],
    )
