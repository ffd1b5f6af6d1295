"""Revision 2 of the clinical spec, and a second pass over subtle clauses: one twin pair (or more)
per finding of the clinical review.
"""

from __future__ import annotations

import json

from tests.rules.anti_cd20.cases import igrt_statement, stopped_ofa
from tests.rules.casebuilder import (
    AS_OF,
    J13,
    NORMAL,
    SEPSIS,
    SINUSITIS,
    UTI,
    E,
    admin,
    case,
    cd19,
    d_base,
    gap,
    height,
    ig_panel,
    iga,
    igg,
    igm,
    immunization,
    infection,
    k_base,
    ofa_active,
    request,
    serotypes,
    severe_pnc,
    statement,
    weight,
)
from tests.rules.dosing.cases import dosing_case
from tests.rules.prophylaxis.cases import proph
from tests.rules.replacement.cases import k_igrt


# ============================================================================================
# Further subtle clauses (second pass over the spec)
# ============================================================================================
def cases_second_pass():
    # F3 comparators other than < and >
    case(
        "igm-comparator-le33-low",
        "F3 comparator decides: IgM '<=33' -> every possible value < 34 -> low",
        E(present=["risk.encapsulated-bacteria"]),
        [
            ofa_active(),
            igg("2026-08-20", 910),
            igm("2026-08-20", 33, comparator="<="),
            iga("2026-08-20", 130),
        ],
    )
    case(
        "igm-comparator-le34-unknown",
        "F3 comparator twin: IgM '<=34' could be 34 (not low) -> undecided -> unknown",
        E(absent=["risk.encapsulated-bacteria"]),
        [
            ofa_active(),
            igg("2026-08-20", 910),
            igm("2026-08-20", 34, comparator="<="),
            iga("2026-08-20", 130),
        ],
    )
    # F1 most active status
    case(
        "ofa-restart-current",
        "F1 most active status wins: an ofatumumab course stopped 2024-03-01 and a new active one since "
        "2026-01-05 -> current -> anti-cd20.continue, no monitor.bcells",
        E(
            present=["anti-cd20.continue"],
            absent=["monitor.bcells"],
            reasons={"vaccine.live-avoid": ["on-therapy"]},
        ),
        [
            statement("ofa", "2022-01-10", "2024-03-01", status="stopped"),
            ofa_active(start="2026-01-05"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "ocr-stopped-ofa-current",
        "F1 patient status = most active agent: ocrelizumab stopped 2023-06-01 (never repleted), ofatumumab "
        "current -> current: anti-cd20.continue, no monitor.bcells",
        E(present=["anti-cd20.continue", "vaccine.live-avoid"], absent=["monitor.bcells"]),
        [
            statement("ocr", "2020-01-10", "2023-06-01", status="stopped"),
            ofa_active(start="2023-09-01"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "starting-with-low-igm-both-populations",
        "§1 a plan is not an exposure: IgM 20 (IgG, IgA normal), no diagnosis, ofatumumab planned for "
        "2026-10-15 -> suspected IgM deficiency (D) and starting (K); panel 2026-09-10 is the baseline",
        E(
            populations=["D", "K"],
            present=["evaluate.igm-deficiency", "vaccine.live-avoid"],
            absent=["monitor.ig-baseline", "anti-cd20.continue"],
            reasons={"vaccine.live-avoid": ["starting"]},
        ),
        [
            ig_panel("2026-09-10", 1010, 20, 180),
            request("ofa", intent="plan", start="2026-10-15", authored="2026-10-01"),
        ],
    )
    # §3 records after as_of
    case(
        "cd19-after-as-of-ignored",
        "§3 records after as_of are left out: stopped 2026-04-01, CD19 150 dated 2026-11-01 -> no CD19 -> "
        "not repleted -> live-avoid",
        E(present=["vaccine.live-avoid", "monitor.bcells"]),
        [stopped_ofa(), cd19("2026-11-01", 150), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "infection-after-as-of-ignored",
        "§3 records after as_of are left out: severe pneumococcal pneumonias 2026-06-30 and 2026-11-02 (after "
        "as_of) -> 1 episode -> no igrt.start",
        E(absent=["igrt.start"]),
        [k_base(), severe_pnc("2026-06-30"), severe_pnc("2026-11-02", clinical="active")],
    )
    # Immunization must have been given
    case(
        "live-vaccine-not-done",
        "Contract §1 Immunization counts when given: MMR with status not-done on ofatumumab -> no "
        "live-vaccine-given -> info",
        E(present=["vaccine.live-avoid"], priority={"vaccine.live-avoid": "info"}),
        [
            k_base(),
            dict(
                immunization("2026-05-01", "03"),
                status="not-done",
                statusReason={"text": "patient on ofatumumab"},
            ),
        ],
    )
    # F4 merged episode active if any record is
    case(
        "delay-merged-episode-active",
        "F4 a merged episode is active if any record is: UTI 2026-09-20 resolved + UTI 2026-09-25 active "
        "(5 days apart, one episode) -> delay-dose",
        E(present=["anti-cd20.delay-dose"]),
        [
            k_base(),
            infection("2026-09-20", UTI, abatement="2026-09-24"),
            infection("2026-09-25", UTI, clinical="active"),
        ],
    )
    # F6 failed prophylaxis after the course ended
    case(
        "proph-d-completed-prophylaxis-failed",
        "F6 failure counts episodes during a prophylaxis course in the window, even if it has ended: "
        "co-trimoxazole 2025-11-01..2026-05-01 (completed), sinusitis 2026-01-10 and 2026-03-10 -> "
        "prophylaxis-failed",
        E(present=["igrt.start"], reasons={"igrt.start": ["prophylaxis-failed"]}),
        [
            d_base(),
            proph(start="2025-11-01", end="2026-05-01", status="completed"),
            infection("2026-01-10", SINUSITIS, severity="moderate"),
            infection("2026-03-10", SINUSITIS, severity="moderate"),
        ],
    )
    # review needs every population's condition
    case(
        "review-both-populations-ofa-current",
        "§5 review requires every population's condition: D+K, D part satisfied (trough 700 on target) but "
        "ofatumumab current (B cells presumed depleted) -> no review",
        E(populations=["D", "K"], present=["igrt.trough-on-target"], absent=["igrt.review-continuation"]),
        [
            d_base(ig=None, dx_date="2018-05-01"),
            ofa_active(),
            igrt_statement(start="2025-06-01", dose=25),
            ig_panel("2026-09-01", 700, 20, 120),
        ],
    )
    # IgRT record without dates
    case(
        "igrt-undated-active",
        "F1/F5 an IgRT record with no dates that is not stopped is current; data issue therapy-undated",
        E(
            present=["monitor.igg-trough"],
            absent=["igrt.start"],
            data_issue={
                "severity": "warning",
                "resource_type": "MedicationStatement",
                "match": "therapy-undated",
            },
        ),
        [
            ofa_active(),
            statement("ivig", status="active", route="iv", dose_g=30, every_weeks=4),
            ig_panel("2026-09-25", 380, 21, 90),
            weight("2026-09-01", 75),
        ],
    )
    # F10 latest height, any age
    dosing_case(
        "stewardship-old-height",
        "F10 the latest height has no age limit: height 177.8 cm from 2015, 95.5 kg male -> adjusted 82.0 kg "
        "-> 35 g",
        {"weight_basis": "adjusted", "weight_kg": 82.0, "ivig.dose_g": 35},
        [weight("2026-09-01", 95.5), height("2015-04-01", 177.8)],
        profile="stewardship",
        gender="male",
    )


# ============================================================================================
# Revision 2 of the clinical spec: one twin pair (or more) per finding of the clinical review
# ============================================================================================
def cases_revision2():
    # Finding 1 (F1): a stopped record with a start and no end has an unknown stop date.
    case(
        "r2-stopped-start-no-end",
        "F1 (revision 2) rituximab stopped, period start 2021-03-01 and no end: the start is not a stop "
        "date -> stop unknown, a 2022 CD19 of 120 documents nothing -> B cells unknown: live-avoid "
        "not-repleted, monitor.bcells, serology caution, therapy-undated",
        E(
            present=["vaccine.live-avoid", "monitor.bcells", "serology.false-negative-risk"],
            reasons={"vaccine.live-avoid": ["not-repleted"]},
            data_issue={"severity": "warning", "code": "therapy-undated"},
        ),
        [
            statement("rtx", start="2021-03-01", status="stopped"),
            cd19("2022-06-01", 120),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "r2-stopped-with-end",
        "F1 twin: rituximab stopped 2021-03-01 to 2021-09-01 (an end date) -> stop known; CD19 120 on "
        "2022-06-01 after it >= 80 -> repleted: no live-vaccine restriction, no CD19 monitoring",
        E(absent=["vaccine.live-avoid", "monitor.bcells", "serology.false-negative-risk"]),
        [
            statement("rtx", start="2021-03-01", end="2021-09-01", status="stopped"),
            cd19("2022-06-01", 120),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "r2-stopped-start-no-end-bounded",
        "F1 a stopped record without an end is bounded by a later administration of the same agent: "
        "statement from 2021-03-01 (no end) + infusion 2021-09-01 -> stop 2021-09-01; CD19 120 on "
        "2022-06-01 -> repleted",
        E(absent=["vaccine.live-avoid", "monitor.bcells"]),
        [
            statement("rtx", start="2021-03-01", status="stopped"),
            admin("rtx", "2021-09-01"),
            cd19("2022-06-01", 120),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    # Finding 2 (F2): switching agents keeps the earlier agent's B-cell status.
    for value, repleted in ((79, False), (80, True)):
        case(
            f"r2-switch-cd19-{value}",
            f"F2 (revision 2) switch: ocrelizumab 2024-05-01 to 2026-05-20, CD19 {value}/uL on 2026-09-01 "
            "(limit 80), ofatumumab planned 2026-11-01 -> "
            + (
                "repleted: the starting advice (live vaccines >= 4 weeks before the first dose), no "
                "serology caution"
                if repleted
                else "not repleted: live-avoid not-repleted (never 'starting'), serology caution, CD19 "
                "monitoring; baseline panel before the new agent"
            ),
            E(
                present=["vaccine.live-avoid", "monitor.ig-baseline"],
                absent=["serology.false-negative-risk", "monitor.bcells"],
                reasons={"vaccine.live-avoid": ["starting"]},
            )
            if repleted
            else E(
                present=[
                    "vaccine.live-avoid",
                    "serology.false-negative-risk",
                    "monitor.bcells",
                    "monitor.ig-baseline",
                ],
                reasons={"vaccine.live-avoid": ["not-repleted"]},
            ),
            [
                statement("ocr", start="2024-05-01", end="2026-05-20", status="completed"),
                cd19("2026-09-01", value),
                request("ofa", intent="plan", start="2026-11-01", authored="2026-10-01"),
                ig_panel("2026-02-20", *NORMAL),
            ],
        )
    # Finding 3 (§1, §5): every agent gets the therapy rules.
    for agent, name in (("rtx", "rituximab"), ("obi", "obinutuzumab"), ("ubl", "ublituximab")):
        case(
            f"r2-agent-{name}-active-infection",
            f"§1/§5 (revision 2) {name} current with an active UTI -> anti-cd20.delay-dose and "
            "anti-cd20.continue for this agent too",
            E(
                present=["anti-cd20.delay-dose", "anti-cd20.continue", "vaccine.live-avoid"],
                populations=["K"],
            ),
            [k_base(agent=agent, start="2025-02-01"), infection("2026-10-01", UTI, clinical="active")],
        )
    # Finding 5 (§6): never an "increase" at or above the titration ceiling.
    gap("2026-09-18", "2026-10-14", 26)
    for slug, dose, increased, at_ceiling in (
        ("above-ceiling", 60, None, True),
        ("at-ceiling", 56, None, True),
        ("one-step-below-ceiling", 49, 55, False),
    ):
        case(
            f"r2-titration-{slug}",
            f"§6 (revision 2) IVIG {dose} g every 4 weeks at 70 kg ({dose / 70:.2f} g/kg; ceiling 0.8), "
            "trough 520 below target -> "
            + (
                f"increase to {increased} g (above the current dose)"
                if increased
                else "no increase (increased_dose_g null), at the ceiling, no 3-weekly option"
            ),
            E(
                present=["igrt.trough-below-target"],
                reasons={
                    "igrt.trough-below-target": ["at-ceiling"] if at_ceiling else ["trough-below-target"]
                },
                dosing={
                    "titration.increased_dose_g": increased,
                    "titration.same_dose_interval_weeks": None,
                    "titration.at_ceiling": at_ceiling,
                    "current.dose_g": dose,
                },
            ),
            [
                ofa_active(),
                statement("ivig", start="2025-06-01", route="iv", dose_g=dose, every_weeks=4),
                admin("ivig", "2026-09-18", "iv", dose),
                ig_panel("2026-10-14", 520, 21, 90),
                weight("2026-09-01", 70),
            ],
        )
    # Finding 6 (F5): IV ceiling 1.0 g/kg per 4 weeks: a dose at it is replacement, above is not.
    for dose, replacement in ((80, True), (81, False)):
        case(
            f"r2-iv-ceiling-{dose}g",
            f"F5 IV ceiling: {dose} g every 4 weeks at 80 kg = {dose / 80:.4g} g/kg -> "
            + (
                "replacement (at the ceiling)" if replacement else "immunomodulatory, shown with a data issue"
            ),
            E(present=["monitor.igg-trough"])
            if replacement
            else E(
                absent=["monitor.igg-trough"],
                present=["serology.passive-antibodies"],
                data_issue={"severity": "info", "code": "ig-immunomodulatory-dose"},
            ),
            [k_igrt(900, dose=dose)],
        )
    # Finding 7 (F5): a restart after a gap longer than the interval + 4 weeks is a new course.
    as_of_restart = "2026-05-12"
    for restart, days, same in (("2026-04-15", 56, True), ("2026-04-16", 57, False)):
        gap("2026-02-18", restart, days)
        case(
            f"r2-restart-gap-{days}-days",
            f"F5 (revision 2) IVIG every 4 weeks 2025-10-01 .. 2026-02-18, then {restart} ({days} days "
            "later; interval 28 + 28 grace = 56) -> "
            + (
                "one course from 2025-10-01: IgG 550 on 2026-05-10 is a trough -> below target"
                if same
                else "a new course from the restart: IgG 550 on 2026-05-10 (24 days in) is no trough"
            ),
            E(present=["igrt.trough-below-target"])
            if same
            else E(
                present=["monitor.igg-trough"], absent=["igrt.trough-below-target", "igrt.trough-on-target"]
            ),
            [
                ofa_active(),
                [
                    admin("ivig", d, "iv", 30)
                    for d in (
                        "2025-10-01",
                        "2025-10-29",
                        "2025-11-26",
                        "2025-12-24",
                        "2026-01-21",
                        "2026-02-18",
                    )
                ],
                admin("ivig", restart, "iv", 30),
                ig_panel("2026-05-10", 550, 21, 90),
                weight("2026-04-01", 75),
            ],
            as_of=as_of_restart,
        )
    case(
        "r2-infection-in-gap-not-on-igrt",
        "F5 (revision 2) an infection during a two-year gap does not count on IgRT: IVIG course "
        "2024-01..2024-06, restart 2026-07-01; sinusitis 2026-03-01 and 2026-05-01 in the gap -> no "
        "recurrent-despite-igrt, no breakthrough",
        E(absent=["anti-cd20.consider-discontinuation", "igrt.breakthrough-infections"]),
        [
            ofa_active(),
            [admin("ivig", d, "iv", 30) for d in ("2024-01-10", "2024-02-07", "2024-03-06", "2024-06-01")],
            admin("ivig", "2026-07-01", "iv", 30),
            admin("ivig", "2026-07-29", "iv", 30),
            admin("ivig", "2026-08-26", "iv", 30),
            admin("ivig", "2026-09-23", "iv", 30),
            ig_panel("2026-10-14", 700, 21, 90),
            weight("2026-09-01", 75),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-05-01", SINUSITIS, severity="moderate"),
        ],
    )
    # Finding 9 (F7): titres after any immune globulin, even an immunomodulatory dose, are passive.
    for ivig_day, within in (("2026-03-01", True), ("2026-01-10", False)):
        gap(ivig_day, "2026-07-20", 141 if within else 191)
        case(
            f"r2-titres-after-high-dose-ivig-{'within' if within else 'beyond'}-180-days",
            f"F7 (revision 2) D patient, 140 g IVIG (2 g/kg at 70 kg, for ITP) on {ivig_day}; PPSV23 "
            "2026-06-15; all serotypes protective on 2026-07-20; as of 2026-08-01 -> "
            + (
                "within 180 days: not assessable, evaluate.igm-deficiency, serology.passive-antibodies"
                if within
                else "beyond 180 days: a normal response"
            ),
            E(
                present=["evaluate.igm-deficiency", "serology.passive-antibodies"],
                data_issue={"severity": "info", "code": "pneumococcal-not-assessable"},
            )
            if within
            else E(absent=["evaluate.igm-deficiency", "serology.passive-antibodies"]),
            [
                d_base(wt=70, wt_date="2026-02-20", panel_date="2026-07-20"),
                admin("ivig", ivig_day, "iv", 140),
                immunization("2026-06-15", "33"),
                serotypes("2026-07-20", [2.0] * 10),
                cd19("2026-07-20", 250),
            ],
            as_of="2026-08-01",
        )
    # Finding 11: a live vaccine shortly before the first dose.
    for days, day in ((27, "2026-10-05"), (28, "2026-10-04")):
        gap(day, "2026-11-01", days)
        case(
            f"r2-live-vaccine-{days}-days-before-first-dose",
            f"§5 (revision 2) MMR on {day}, ofatumumab planned 2026-11-01 ({days} days later) -> "
            + (
                "live-vaccine-recent: postpone the first dose, warning"
                if days < 28
                else "not recent (4 weeks): the starting advice only, info"
            ),
            E(
                present=["vaccine.live-avoid"],
                reasons={"vaccine.live-avoid": ["starting", "live-vaccine-recent"]},
                priority={"vaccine.live-avoid": "warning"},
            )
            if days < 28
            else E(
                present=["vaccine.live-avoid"],
                reasons={"vaccine.live-avoid": ["starting"]},
                priority={"vaccine.live-avoid": "info"},
            ),
            [
                request("ofa", intent="plan", start="2026-11-01", authored="2026-09-20"),
                immunization(day, "03"),
                ig_panel("2026-09-20", *NORMAL),
            ],
        )
    # Finding 11 (F11): a value already below its limit pulls no panel to today.
    case(
        "r2-trend-already-below-no-pull",
        "F11 (revision 2) IgM falling 60, 45, 30 (limit 34), last panel 2026-09-30: already below -> no "
        "crossing, the panel stays due 2027-03-30 (scheduled)",
        E(
            present=["monitor.ig-due"],
            reasons={"monitor.ig-due": ["scheduled"]},
            monitoring={"ig-panel": {"due": "2027-03-30"}},
        ),
        [
            ofa_active(),
            ig_panel("2025-10-01", 900, 60, 120),
            ig_panel("2026-04-01", 900, 45, 120),
            ig_panel("2026-09-30", 900, 30, 120),
        ],
    )
    # Finding 11: evaluate.igm-deficiency during Ig replacement asks for no vaccine response.
    case(
        "r2-evaluate-on-ivig-no-vaccine-response",
        "§5 (revision 2) confirmed IgM deficiency on IVIG, response never assessed -> evaluate with "
        "specific-antibodies-deferred, info; no specific-antibodies monitoring entry",
        E(
            present=["evaluate.igm-deficiency"],
            reasons={"evaluate.igm-deficiency": ["specific-antibodies-deferred"]},
            priority={"evaluate.igm-deficiency": "info"},
        ),
        [d_base(), igrt_statement(start="2026-01-10", dose=25), cd19("2026-08-20", 250)],
    )
    case(
        "r2-evaluate-off-ivig-asks-vaccine-response",
        "§5 twin: confirmed IgM deficiency, never on immune globulin, response never assessed -> "
        "evaluate asks for the pneumococcal response, warning",
        E(
            present=["evaluate.igm-deficiency"],
            reasons={"evaluate.igm-deficiency": ["specific-antibodies"]},
            priority={"evaluate.igm-deficiency": "warning"},
            monitoring={"specific-antibodies": {"due": AS_OF}},
        ),
        [d_base(), cd19("2026-08-20", 250)],
    )
    # Finding 11: a D patient told to start IVIG is told to draw the titres first.
    case(
        "r2-d-start-titres-first",
        "§5 (revision 2) confirmed D, 2 bacterial pneumonias, response not assessed -> igrt.start with "
        "titres-first (vaccinate and draw titres before the first dose)",
        E(present=["igrt.start"], reasons={"igrt.start": ["recurrent-bacterial", "titres-first"]}),
        [d_base(), infection("2026-02-01", J13), infection("2026-07-01", J13)],
    )
    case(
        "r2-d-start-life-threatening-no-titres-first",
        "§5 twin: confirmed D with a life-threatening sepsis -> igrt.start without titres-first",
        E(present=["igrt.start"], reasons={"igrt.start": ["life-threatening-infection"]}),
        [d_base(), infection("2026-09-20", SEPSIS, severity="life-threatening")],
    )
    # §7 (revision 2): a unit string over 64 characters is never parsed.
    for length, unreadable in ((64, False), (65, True)):
        unit = "mg/dL" + "{" + "x" * (length - 7) + "}"
        assert len(unit) == length
        case(
            f"r2-unit-{length}-characters",
            f"§7 (revision 2) IgM with a {length}-character unit string -> "
            + ("unit-unreadable (never parsed): IgM unknown" if unreadable else "read as UCUM (annotation)"),
            E(
                data_issue={"severity": "error", "code": "unit-unreadable"},
                absent=["risk.encapsulated-bacteria"],
            )
            if unreadable
            else E(present=["risk.encapsulated-bacteria"]),
            [ofa_active(), igg("2026-09-10", 900), iga("2026-09-10", 120), igm("2026-09-10", 20, unit=unit)],
        )
    # §1 (revision 2): deceased patients are not applicable.
    for slug, extra, applicable in (
        ("boolean", {"deceasedBoolean": True}, False),
        ("date-before-as-of", {"deceasedDateTime": "2026-10-14"}, False),
        ("date-on-as-of", {"deceasedDateTime": AS_OF}, False),
        ("date-after-as-of", {"deceasedDateTime": "2026-10-16"}, True),
        ("boolean-false", {"deceasedBoolean": False}, True),
    ):
        case(
            f"r2-deceased-{slug}",
            f"§1 (revision 2) deceased ({json.dumps(extra)}), as of {AS_OF}, on ofatumumab -> "
            + ("applicable (alive on as_of)" if applicable else "not applicable: deceased"),
            E(applicable=True, present=["vaccine.live-avoid"]) if applicable else E(applicable=False),
            [k_base()],
            patient_extra=extra,
        )
