"""Monitoring: the baseline panel before a first dose and the next panel due (clinical-spec §5,
monitor.*).
"""

from __future__ import annotations

from tests.rules.anti_cd20.cases import igrt_statement, stopped_ofa
from tests.rules.casebuilder import (
    ALWAYS,
    AS_OF,
    NORMAL,
    E,
    admin,
    case,
    cd19,
    d_base,
    gap,
    ig_panel,
    iga,
    igg,
    igm,
    k_base,
    mgap,
    ofa_active,
    request,
    statement,
)


# ============================================================================================
# monitor.ig-baseline (K-2, §9.12)
# ============================================================================================
def cases_baseline():
    gap("2026-07-17", AS_OF, 90)
    case(
        "baseline-started-90-days",
        "§5 monitor.ig-baseline: ofatumumab started 2026-07-17 = as_of - 90 days (<= 90) with no panel in the "
        "180 days before -> baseline, warning",
        E(present=["monitor.ig-baseline"], priority={"monitor.ig-baseline": "warning"}),
        [ofa_active(start="2026-07-17")],
    )
    gap("2026-07-16", AS_OF, 91)
    case(
        "baseline-started-91-days",
        "§5 twin: started 2026-07-16 = 91 days ago -> no baseline card",
        E(absent=["monitor.ig-baseline"]),
        [ofa_active(start="2026-07-16")],
    )
    case(
        "baseline-plan-request",
        "F1 starting: MedicationRequest intent plan (planned 2026-10-15), no prior exposure, no panel -> "
        "ig-baseline; live-avoid 'starting'; no current-only cards (continue, ig-due, false-negative, normal-IgG)",
        E(
            populations=["K"],
            present=["monitor.ig-baseline", "vaccine.live-avoid", *ALWAYS],
            absent=[
                "anti-cd20.continue",
                "monitor.ig-due",
                "serology.false-negative-risk",
                "risk.normal-igg-not-protective",
                "monitor.bcells",
            ],
            reasons={"vaccine.live-avoid": ["starting"]},
            priority={"vaccine.live-avoid": "info"},
        ),
        [request("ofa", intent="plan", start="2026-10-15", authored="2026-10-01", every_weeks=4)],
    )
    gap("2026-09-01", "2026-10-15", 44)
    case(
        "baseline-plan-with-panel",
        "§5 twin: plan request (first exposure 2026-10-15) with a complete panel 2026-09-01, 44 days before -> "
        "no baseline card",
        E(
            absent=["monitor.ig-baseline"],
            present=["vaccine.live-avoid"],
            reasons={"vaccine.live-avoid": ["starting"]},
        ),
        [
            request("ofa", intent="plan", start="2026-10-15", authored="2026-10-01", every_weeks=4),
            ig_panel("2026-09-01", *NORMAL),
        ],
    )
    case(
        "baseline-draft-request",
        "F1 starting: a draft MedicationRequest (first exposure 2026-10-15), no panel -> ig-baseline",
        E(present=["monitor.ig-baseline"], absent=["anti-cd20.continue"]),
        [request("ofa", status="draft", intent="order", start="2026-10-15", authored="2026-10-10")],
    )
    case(
        "baseline-intended-statement",
        "F1 starting: a MedicationStatement 'intended' (start 2026-10-15), no panel -> ig-baseline",
        E(present=["monitor.ig-baseline"], absent=["anti-cd20.continue"]),
        [statement("ofa", start="2026-10-15", status="intended")],
    )
    gap("2026-03-19", "2026-09-15", 180)
    case(
        "baseline-panel-180-days-before",
        "§9.12 baseline window: started 2026-09-15, complete panel 2026-03-19 = 180 days before -> baseline "
        "done, no card",
        E(absent=["monitor.ig-baseline"]),
        [ofa_active(start="2026-09-15"), ig_panel("2026-03-19", *NORMAL)],
    )
    gap("2026-03-18", "2026-09-15", 181)
    case(
        "baseline-panel-181-days-before",
        "§9.12 twin: complete panel 2026-03-18 = 181 days before the start 2026-09-15 -> no baseline -> card",
        E(present=["monitor.ig-baseline"]),
        [ofa_active(start="2026-09-15"), ig_panel("2026-03-18", *NORMAL)],
    )
    case(
        "baseline-incomplete-panel",
        "F3 complete panel needs IgG, IgM and IgA: only IgG and IgM before the start 2026-09-15 -> card",
        E(present=["monitor.ig-baseline"]),
        [ofa_active(start="2026-09-15"), ig_panel("2026-09-01", 910, 80, None)],
    )
    case(
        "baseline-panel-spread-7-days",
        "F3 complete panel = 3 results within 7 days: IgG 2026-08-25, IgA 08-28, IgM 09-01 before the start "
        "2026-09-15 -> baseline done",
        E(absent=["monitor.ig-baseline"]),
        [
            ofa_active(start="2026-09-15"),
            igg("2026-08-25", 910),
            iga("2026-08-28", 130),
            igm("2026-09-01", 80),
        ],
    )
    case(
        "baseline-panel-spread-8-days",
        "F3 twin: IgG 2026-08-24, IgA 08-28, IgM 09-01 span 8 days -> not a complete panel -> card",
        E(present=["monitor.ig-baseline"]),
        [
            ofa_active(start="2026-09-15"),
            igg("2026-08-24", 910),
            iga("2026-08-28", 130),
            igm("2026-09-01", 80),
        ],
    )
    case(
        "baseline-ocrelizumab-admin",
        "§5 baseline is K (any anti-CD20): first ocrelizumab infusion 2026-09-01 (44 days ago), no panel -> card",
        E(present=["monitor.ig-baseline"]),
        [admin("ocr", "2026-09-01")],
    )
    case(
        "baseline-plan-after-prior-course",
        "F1 a plan counts as starting only while there is no exposure yet: ofatumumab stopped 2024-06-01, "
        "repleted (CD19 150 on 2025-01-10), new plan -> discontinued+repleted: no baseline, no live-avoid",
        E(absent=["monitor.ig-baseline", "vaccine.live-avoid", "anti-cd20.continue"], populations=["K"]),
        [
            statement("ofa", "2022-01-10", "2024-06-01", status="stopped"),
            cd19("2025-01-10", 150),
            ig_panel("2026-08-20", *NORMAL),
            request("ofa", intent="plan", start="2026-10-15", authored="2026-10-01"),
        ],
    )


# ============================================================================================
# monitor.ig-due: last complete panel + 6 calendar months (clamped), overdue when past
# ============================================================================================
def cases_ig_due():
    mgap("2026-08-31", 6, "2027-02-28")
    case(
        "due-month-end-clamp",
        "F4 calendar months clamp: complete panel 2026-08-31 + 6 months = 2027-02-28 -> ig-panel due "
        "2027-02-28, not overdue, info, scheduled",
        E(
            present=["monitor.ig-due"],
            priority={"monitor.ig-due": "info"},
            reasons={"monitor.ig-due": ["scheduled"]},
            monitoring={"ig-panel": {"due": "2027-02-28", "overdue": False, "last_done": "2026-08-31"}},
        ),
        [k_base(panel_date="2026-08-31")],
    )
    mgap("2023-08-31", 6, "2024-02-29")
    case(
        "due-leap-year-clamp",
        "F4 clamp into a leap February: panel 2023-08-31 + 6 months = 2024-02-29 (as_of 2023-10-15, in the "
        "past so that no record is after the real today)",
        E(
            present=["monitor.ig-due"],
            monitoring={"ig-panel": {"due": "2024-02-29", "overdue": False, "last_done": "2023-08-31"}},
        ),
        [k_base(panel_date="2023-08-31", wt_date="2023-08-31", start="2021-09-01")],
        as_of="2023-10-15",
    )
    mgap("2026-09-15", 6, "2027-03-15")
    case(
        "due-plain-six-months",
        "§4 example: panel 2026-09-15 + 6 months = 2027-03-15",
        E(monitoring={"ig-panel": {"due": "2027-03-15", "overdue": False}}),
        [k_base(panel_date="2026-09-15")],
    )
    mgap("2026-04-14", 6, "2026-10-14")
    case(
        "due-overdue-by-one-day",
        "§5 ig-due overdue: panel 2026-04-14 + 6 months = 2026-10-14 < as_of 2026-10-15 -> overdue, warning",
        E(
            present=["monitor.ig-due"],
            priority={"monitor.ig-due": "warning"},
            reasons={"monitor.ig-due": ["overdue"]},
            monitoring={"ig-panel": {"due": "2026-10-14", "overdue": True, "last_done": "2026-04-14"}},
        ),
        [k_base(panel_date="2026-04-14")],
    )
    mgap("2026-04-15", 6, "2026-10-15")
    case(
        "due-on-as-of",
        "§5 twin: panel 2026-04-15 + 6 months = 2026-10-15 = as_of -> due today, not past -> not overdue, info",
        E(
            present=["monitor.ig-due"],
            priority={"monitor.ig-due": "info"},
            monitoring={"ig-panel": {"due": "2026-10-15", "overdue": False}},
        ),
        [k_base(panel_date="2026-04-15")],
    )
    case(
        "due-datetime-calendar-date",
        "Contract §1 a date-time counts by its calendar date: panel at 2026-04-15T08:00:00Z -> due 2026-10-15, "
        "not overdue",
        E(monitoring={"ig-panel": {"due": "2026-10-15", "overdue": False}}),
        [ofa_active(), ig_panel("2026-04-15T08:00:00Z", *NORMAL)],
    )
    case(
        "due-never-measured",
        "§5 ig-due never measured: ofatumumab since 2023, no Ig results -> due as_of 2026-10-15, not overdue, "
        "reason never-measured, last_done null",
        E(
            present=["monitor.ig-due"],
            reasons={"monitor.ig-due": ["never-measured"]},
            monitoring={"ig-panel": {"due": "2026-10-15", "overdue": False, "last_done": None}},
        ),
        [ofa_active()],
    )
    mgap("2026-05-08", 6, "2026-11-08")
    case(
        "due-panel-spread-7-days",
        "F3 complete panel within 7 days, dated by the latest: IgG 2026-05-01, IgA 05-05, IgM 05-08 -> panel "
        "2026-05-08 + 6 months = 2026-11-08",
        E(monitoring={"ig-panel": {"due": "2026-11-08", "overdue": False}}),
        [
            ofa_active(),
            ig_panel("2026-01-10", *NORMAL),
            igg("2026-05-01", 900),
            iga("2026-05-05", 125),
            igm("2026-05-08", 78),
        ],
    )
    mgap("2026-01-10", 6, "2026-07-10")
    case(
        "due-panel-spread-8-days",
        "F3 twin: IgG 2026-05-01, IgA 05-05, IgM 05-09 span 8 days -> not complete; last complete panel "
        "2026-01-10 + 6 months = 2026-07-10 -> overdue",
        E(
            present=["monitor.ig-due"],
            monitoring={"ig-panel": {"due": "2026-07-10", "overdue": True}},
            priority={"monitor.ig-due": "warning"},
            reasons={"monitor.ig-due": ["overdue"]},
        ),
        [
            ofa_active(),
            ig_panel("2026-01-10", *NORMAL),
            igg("2026-05-01", 900),
            iga("2026-05-05", 125),
            igm("2026-05-09", 78),
        ],
    )
    mgap("2026-03-10", 6, "2026-09-10")
    case(
        "due-incomplete-latest",
        "§5 due counts from the last complete panel: panel 2026-03-10, then IgM alone 2026-09-01 -> due "
        "2026-09-10, overdue",
        E(monitoring={"ig-panel": {"due": "2026-09-10", "overdue": True}}),
        [ofa_active(), ig_panel("2026-03-10", *NORMAL), igm("2026-09-01", 75)],
    )
    mgap("2026-08-01", 6, "2027-02-01")
    case(
        "due-discontinued-not-repleted",
        "§5 ig-due for discontinued + not repleted (K-2): stopped 2026-04-01, CD19 25, panel 2026-08-01 -> due "
        "2027-02-01",
        E(
            present=["monitor.ig-due", "monitor.bcells"],
            monitoring={"ig-panel": {"due": "2027-02-01", "overdue": False}},
        ),
        [stopped_ofa(), cd19("2026-08-01", 25), ig_panel("2026-08-01", 880, 45, 120)],
    )
    mgap("2026-06-30", 6, "2026-12-30")
    case(
        "due-d-not-on-igrt",
        "§5 ig-due for population D not on IgRT (D-17): confirmed IgM deficiency, panel 2026-06-30 -> due "
        "2026-12-30",
        E(
            populations=["D"],
            present=["monitor.ig-due"],
            monitoring={"ig-panel": {"due": "2026-12-30", "overdue": False}},
        ),
        [d_base(panel_date="2026-06-30")],
    )
    case(
        "due-d-on-igrt-absent",
        "§5 twin: population D only and on IgRT -> no ig-due (the trough schedule applies instead)",
        E(populations=["D"], present=["monitor.igg-trough"], absent=["monitor.ig-due"]),
        [d_base(panel_date="2026-06-30"), igrt_statement(start="2025-06-01", dose=25)],
    )
    gap("2026-02-20", "2026-05-22", 91)
    gap("2026-05-22", "2026-08-21", 91)
    case(
        "due-trend-igm-falling",
        "F11 trend: IgM 100, 70, 40 on 2026-02-20, 05-22, 08-21 (91 days apart, linear) projects 34 mg/dL "
        "~18 days after 08-21, before as_of -> due brought forward to as_of 2026-10-15 (never before as_of), "
        "reason trend; regular date would be 2027-02-21",
        E(
            present=["monitor.ig-due"],
            reasons={"monitor.ig-due": ["trend"]},
            monitoring={"ig-panel": {"due": "2026-10-15"}},
        ),
        [
            ofa_active(),
            ig_panel("2026-02-20", 900, 100, 130),
            ig_panel("2026-05-22", 900, 70, 130),
            ig_panel("2026-08-21", 900, 40, 130),
        ],
    )
    gap("2026-07-03", "2026-08-02", 30)
    gap("2026-08-02", "2026-09-01", 30)
    gap("2026-09-01", "2026-12-02", 92)
    case(
        "due-trend-igm-future-crossing",
        "F11 trend: IgM 110, 95, 80 on 2026-07-03, 08-02, 09-01 (-0.5 mg/dL per day) projects 34 mg/dL on "
        "~2026-12-02, between as_of and the regular date 2027-03-01 -> ig-due brought forward, reason trend",
        E(
            present=["monitor.ig-due"],
            reasons={"monitor.ig-due": ["trend"]},
            monitoring={"ig-panel": {"overdue": False}},
        ),
        [
            ofa_active(),
            ig_panel("2026-07-03", 900, 110, 130),
            ig_panel("2026-08-02", 900, 95, 130),
            ig_panel("2026-09-01", 900, 80, 130),
        ],
    )
    mgap("2026-08-21", 6, "2027-02-21")
    case(
        "due-trend-two-results-only",
        "F11 twin: only 2 IgM results (70, 40) < trend_min_results 3 -> no trend; due 2026-08-21 + 6 months = "
        "2027-02-21",
        E(monitoring={"ig-panel": {"due": "2027-02-21", "overdue": False}}),
        [ofa_active(), ig_panel("2026-05-22", 900, 70, 130), ig_panel("2026-08-21", 900, 40, 130)],
    )
    case(
        "due-trend-flat",
        "F11 twin: 3 IgM results 80, 80, 80 are not falling -> no trend; due 2027-02-21",
        E(monitoring={"ig-panel": {"due": "2027-02-21", "overdue": False}}),
        [
            ofa_active(),
            ig_panel("2026-02-20", 900, 80, 130),
            ig_panel("2026-05-22", 900, 80, 130),
            ig_panel("2026-08-21", 900, 80, 130),
        ],
    )
    case(
        "due-not-for-repleted-k",
        "§5 ig-due not for K discontinued + repleted (and not D): stopped 2025-06-01, CD19 150 2026-01-10",
        E(absent=["monitor.ig-due", "monitor.bcells"], populations=["K"]),
        [
            statement("ofa", "2022-01-10", "2025-06-01", status="stopped"),
            cd19("2026-01-10", 150),
            ig_panel("2026-03-01", *NORMAL),
        ],
    )
