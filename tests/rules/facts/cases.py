"""The facts every rule reads: the F4 infection window and episode merging, F3 limits and
reference ranges, and units (clinical-spec §4, contract §1).
"""

from __future__ import annotations

from tests.rules.casebuilder import (
    PNEUMOCOCCAL_PNEUMONIA,
    PNEUMONIA,
    E,
    case,
    encounter,
    gap,
    ig_panel,
    iga,
    igg,
    igm,
    infection,
    k_base,
    mgap,
    ofa_active,
    severe_pnc,
    weight,
)


# ============================================================================================
# F4 window (12 calendar months, boundary date included) and episode merging
# ============================================================================================
def cases_window_merge():
    mgap("2025-10-15", 12, "2026-10-15")
    case(
        "window-12m-boundary-inside",
        "F4 window includes its boundary date: as_of 2026-10-15 - 12 months = 2025-10-15; severe "
        "pneumococcal episodes 2025-10-15 and 2026-06-01 both count -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [k_base(), severe_pnc("2025-10-15"), severe_pnc("2026-06-01")],
    )
    case(
        "window-12m-boundary-outside",
        "F4 window twin: onset 2025-10-14 is 1 day outside 12 months -> 1 episode in window, no igrt.start",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [k_base(), severe_pnc("2025-10-14"), severe_pnc("2026-06-01")],
    )
    gap("2026-03-01", "2026-03-15", 14)
    case(
        "merge-14-days-two-episodes",
        "F4 merge: onsets 2026-03-01 and 2026-03-15 are 14 days apart (not < 14) -> 2 severe "
        "pneumococcal episodes -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [k_base(), severe_pnc("2026-03-01", abatement="2026-03-10"), severe_pnc("2026-03-15")],
    )
    gap("2026-03-01", "2026-03-14", 13)
    case(
        "merge-13-days-one-episode",
        "F4 merge: onsets 2026-03-01 and 2026-03-14 are 13 days apart (< 14) -> one episode -> no "
        "igrt.start and no recurrence",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [k_base(), severe_pnc("2026-03-01", abatement="2026-03-10"), severe_pnc("2026-03-14")],
    )
    case(
        "merge-shared-encounter",
        "F4 merge: 2 severe pneumococcal records 2026-03-01 and 2026-05-01 (61 days apart) sharing one "
        "inpatient encounter are one episode -> no igrt.start, no recurrence",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [
            k_base(),
            encounter("enc-long", "2026-03-01", "2026-05-20"),
            severe_pnc("2026-03-01", enc="enc-long"),
            severe_pnc("2026-05-01", enc="enc-long"),
        ],
    )
    case(
        "merge-separate-encounters",
        "F4 merge twin: same 2 records (2026-03-01, 2026-05-01) in separate admissions are 2 episodes -> "
        "igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            encounter("enc-a", "2026-03-01", "2026-03-09"),
            encounter("enc-b", "2026-05-01", "2026-05-09"),
            severe_pnc("2026-03-01", enc="enc-a"),
            severe_pnc("2026-05-01", enc="enc-b"),
        ],
    )
    gap("2026-03-01", "2026-03-11", 10)
    gap("2026-03-11", "2026-03-21", 10)
    case(
        "merge-chain-one-episode",
        "F4 chained merge: onsets 2026-03-01, 03-11, 03-21 (10 days each, 20 first-to-last) are one "
        "episode -> no igrt.start",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [
            k_base(),
            severe_pnc("2026-03-01", abatement="2026-03-08"),
            severe_pnc("2026-03-11", abatement="2026-03-18"),
            severe_pnc("2026-03-21"),
        ],
    )
    gap("2026-03-11", "2026-03-25", 14)
    case(
        "merge-chain-broken",
        "F4 chain twin: onsets 2026-03-01, 03-11, 03-25 (last is 14 days after 03-11) -> 2 episodes -> "
        "igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            severe_pnc("2026-03-01", abatement="2026-03-08"),
            severe_pnc("2026-03-11", abatement="2026-03-18"),
            severe_pnc("2026-03-25"),
        ],
    )
    case(
        "merge-worst-attributes",
        "F4 a merged episode carries the worst attributes: severe pneumonia (no organism) 2026-03-01 + "
        "moderate pneumococcal pneumonia 2026-03-05 = one severe encapsulated episode; + severe "
        "pneumococcal 2026-07-01 -> 2 -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            infection("2026-03-01", PNEUMONIA, severity="severe"),
            infection("2026-03-05", PNEUMOCOCCAL_PNEUMONIA, severity="moderate"),
            severe_pnc("2026-07-01"),
        ],
    )


# ============================================================================================
# F3 limits, reference ranges, comparators, latest/lowest, ignored results
# ============================================================================================
def cases_limits():
    low_igm = ["risk.encapsulated-bacteria", "prophylaxis.not-routine", "igrt.not-for-labs-alone"]
    case(
        "igm-33-low",
        "F3 IgM limit 34 mg/dL (K-7): IgM 33 is low -> risk.encapsulated-bacteria, prophylaxis.not-routine, "
        "igrt.not-for-labs-alone",
        E(
            present=low_igm,
            absent=["igrt.start", "prophylaxis.consider"],
            priority={
                "risk.encapsulated-bacteria": "info",
                "prophylaxis.not-routine": "info",
                "igrt.not-for-labs-alone": "info",
            },
        ),
        [k_base(ig=(910, 33, 130))],
    )
    case(
        "igm-34-not-low",
        "F3 twin: IgM 34 is not below 34 -> not low; IgG/IgA normal -> none of the low-IgM recommendations",
        E(present=["anti-cd20.continue"], absent=[*low_igm, "monitor.check-igg"]),
        [k_base(ig=(910, 34, 130))],
    )
    case(
        "igg-699-low",
        "F3 IgG limit 700 (§8): IgG 699 low (not severe) -> igrt.not-for-labs-alone; "
        "risk.normal-igg-not-protective needs IgG not low",
        E(present=["igrt.not-for-labs-alone"], absent=["igrt.start", "risk.normal-igg-not-protective"]),
        [k_base(ig=(699, 80, 130))],
    )
    case(
        "igg-700-not-low",
        "F3 twin: IgG 700 is not low -> risk.normal-igg-not-protective (K-21); no not-for-labs-alone",
        E(present=["risk.normal-igg-not-protective"], absent=["igrt.not-for-labs-alone", "igrt.start"]),
        [k_base(ig=(700, 80, 130))],
    )
    case(
        "iga-69-low",
        "F3 IgA limit 70 (§8): IgA 69 low -> igrt.not-for-labs-alone",
        E(present=["igrt.not-for-labs-alone"], absent=["igrt.start", "risk.encapsulated-bacteria"]),
        [k_base(ig=(910, 80, 69))],
    )
    case(
        "iga-70-not-low",
        "F3 twin: IgA 70 is not low; IgG/IgM normal -> no igrt.not-for-labs-alone",
        E(absent=["igrt.not-for-labs-alone", "igrt.start"]),
        [k_base(ig=(910, 80, 70))],
    )
    case(
        "igm-reference-range-low-wins",
        "F3/§9.5 the lab's own range wins: IgM 40 with referenceRange.low 45 mg/dL -> low -> "
        "risk.encapsulated-bacteria",
        E(present=["risk.encapsulated-bacteria", "prophylaxis.not-routine"]),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 40, ref_low=45), iga("2026-08-20", 130)],
    )
    case(
        "igm-reference-range-not-low",
        "F3 twin: IgM 30 with referenceRange.low 25 mg/dL -> not low (range beats the 34 default)",
        E(absent=["risk.encapsulated-bacteria", "prophylaxis.not-routine", "igrt.not-for-labs-alone"]),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 30, ref_low=25), iga("2026-08-20", 130)],
    )
    case(
        "igg-reference-range-g-per-l",
        "F3 range in g/L: IgG 6.5 g/L (650 mg/dL) with referenceRange.low 6.0 g/L -> not low -> "
        "risk.normal-igg-not-protective; no not-for-labs-alone",
        E(present=["risk.normal-igg-not-protective"], absent=["igrt.not-for-labs-alone"]),
        [
            ofa_active(),
            igg("2026-08-20", 6.5, "g/L", ref_low=6.0),
            igm("2026-08-20", 0.8, "g/L"),
            iga("2026-08-20", 1.3, "g/L"),
        ],
    )
    case(
        "igm-comparator-lt5",
        "F3 comparator decides: IgM '<5' mg/dL, 5 <= 34 -> low -> risk.encapsulated-bacteria",
        E(present=["risk.encapsulated-bacteria"]),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 5, comparator="<"), iga("2026-08-20", 130)],
    )
    case(
        "igm-comparator-lt34",
        "F3 comparator boundary: IgM '<34', 34 <= 34 -> every possible value is below the limit -> low",
        E(present=["risk.encapsulated-bacteria"]),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 34, comparator="<"), iga("2026-08-20", 130)],
    )
    case(
        "igm-comparator-lt35-unknown",
        "F3 comparator twin: IgM '<35', 35 > 34 -> undecided -> unknown (not low)",
        E(absent=["risk.encapsulated-bacteria", "prophylaxis.not-routine"]),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 35, comparator="<"), iga("2026-08-20", 130)],
    )
    case(
        "igg-comparator-gt900",
        "F3 comparator: IgG '>900', 900 >= 700 -> not low -> risk.normal-igg-not-protective",
        E(present=["risk.normal-igg-not-protective"], absent=["igrt.not-for-labs-alone"]),
        [ofa_active(), igg("2026-08-20", 900, comparator=">"), igm("2026-08-20", 80), iga("2026-08-20", 130)],
    )
    case(
        "igg-comparator-gt700",
        "F3 comparator boundary: IgG '>700', 700 >= 700 -> not low",
        E(present=["risk.normal-igg-not-protective"]),
        [ofa_active(), igg("2026-08-20", 700, comparator=">"), igm("2026-08-20", 80), iga("2026-08-20", 130)],
    )
    case(
        "igg-comparator-gt600-unknown",
        "F3 comparator twin: IgG '>600', 600 < 700 -> undecided -> unknown: no normal-IgG card, not severe",
        E(absent=["risk.normal-igg-not-protective", "igrt.start", "igrt.not-for-labs-alone"]),
        [ofa_active(), igg("2026-08-20", 600, comparator=">"), igm("2026-08-20", 80), iga("2026-08-20", 130)],
    )
    case(
        "igm-latest-counts",
        "F3 latest IgM: 20 (2026-02-01) then 50 (2026-08-20) -> not low",
        E(absent=["risk.encapsulated-bacteria", "prophylaxis.not-routine"]),
        [ofa_active(), ig_panel("2026-02-01", 900, 20, 130), ig_panel("2026-08-20", 910, 50, 130)],
    )
    case(
        "igm-same-date-lowest",
        "F3 several results on one date: IgM 40 and 30 on 2026-08-20 -> the lowest, 30, is low",
        E(present=["risk.encapsulated-bacteria"]),
        [k_base(ig=(910, 40, 130)), igm("2026-08-20", 30)],
    )
    case(
        "igm-after-as-of-ignored",
        "§3 records after as_of are left out: IgM 20 dated 2026-11-01 > as_of 2026-10-15 ignored; latest "
        "IgM 80 -> not low",
        E(absent=["risk.encapsulated-bacteria"]),
        [k_base(), igm("2026-11-01", 20)],
    )
    case(
        "igm-entered-in-error-ignored",
        "§7 results entered-in-error are ignored without an issue: IgM 20 (2026-09-10, entered-in-error) -> "
        "latest usable IgM 80 -> not low",
        E(absent=["risk.encapsulated-bacteria"]),
        [k_base(), igm("2026-09-10", 20, status="entered-in-error")],
    )
    case(
        "igm-cancelled-ignored",
        "§7 cancelled results are ignored: IgM 20 (2026-09-10, cancelled) -> not low",
        E(absent=["risk.encapsulated-bacteria"]),
        [k_base(), igm("2026-09-10", 20, status="cancelled")],
    )
    case(
        "igm-issued-date",
        "Contract §1 dates: an IgM with only 'issued' is dated by it -> IgM 20 (issued 2026-09-10) low",
        E(present=["risk.encapsulated-bacteria"]),
        [k_base(), igm("2026-09-10T09:30:00Z", 20, date_field="issued")],
    )
    case(
        "igm-effective-period",
        "Contract §1 dates: effectivePeriod.start when no effectiveDateTime -> IgM 20 on 2026-09-10 low",
        E(present=["risk.encapsulated-bacteria"]),
        [k_base(), igm("2026-09-10", 20, date_field="effectivePeriod")],
    )

    # monitor.check-igg
    case(
        "check-igg-never-measured",
        "§5 monitor.check-igg (K-8b): IgM 20 low and IgG never measured -> check IgG, warning",
        E(present=["monitor.check-igg"], priority={"monitor.check-igg": "warning"}),
        [ofa_active(), igm("2026-08-20", 20), iga("2026-08-20", 130)],
    )
    case(
        "check-igg-measured",
        "§5 twin: IgM 20 low with IgG 910 measured -> no check-igg",
        E(absent=["monitor.check-igg"]),
        [k_base(ig=(910, 20, 130))],
    )
    case(
        "check-igg-old-igg-inside",
        "F3 inclusive 12-month age: IgG 910 dated 2025-10-15 (= as_of - 12 months) still known -> no check-igg",
        E(absent=["monitor.check-igg"]),
        [ofa_active(), igg("2025-10-15", 910), igm("2026-08-20", 20), iga("2026-08-20", 130)],
    )
    case(
        "check-igg-old-igg-outside",
        "F3 twin: IgG dated 2025-10-14 is older than 12 months -> unknown -> check-igg",
        E(present=["monitor.check-igg"]),
        [ofa_active(), igg("2025-10-14", 910), igm("2026-08-20", 20), iga("2026-08-20", 130)],
    )
    case(
        "check-igg-igm-normal",
        "§5 check-igg needs IgM low: IgM 80, IgG never measured -> no check-igg",
        E(absent=["monitor.check-igg"]),
        [ofa_active(), igm("2026-08-20", 80), iga("2026-08-20", 130)],
    )


# ============================================================================================
# Units (contract §1): values chosen so that a unit read as mg/dL would flip the result
# ============================================================================================
def cases_units():
    case(
        "unit-ig-g-per-l",
        "Units: IgG 9.1 g/L = 910, IgM 0.8 g/L = 80, IgA 1.3 g/L = 130 mg/dL -> all normal (read as mg/dL "
        "IgG would be severe)",
        E(
            present=["risk.normal-igg-not-protective"],
            absent=["igrt.start", "igrt.not-for-labs-alone", "risk.encapsulated-bacteria"],
        ),
        [ofa_active(), ig_panel("2026-08-20", 9.1, 0.8, 1.3, unit="g/L")],
    )
    case(
        "unit-igg-mg-per-l",
        "Units: IgG 3500 mg/L = 350 mg/dL -> severe -> igrt.start igg-below-threshold",
        E(present=["igrt.start"], reasons={"igrt.start": ["igg-below-threshold"]}),
        [
            ofa_active(),
            igg("2026-08-20", 3500, "mg/L"),
            igm("2026-08-20", 800, "mg/L"),
            iga("2026-08-20", 1300, "mg/L"),
            weight("2026-08-20", 75),
        ],
    )
    case(
        "unit-igm-mg-per-l",
        "Units: IgM 250 mg/L = 25 mg/dL -> low -> risk.encapsulated-bacteria",
        E(present=["risk.encapsulated-bacteria"]),
        [
            ofa_active(),
            igg("2026-08-20", 9100, "mg/L"),
            igm("2026-08-20", 250, "mg/L"),
            iga("2026-08-20", 1300, "mg/L"),
        ],
    )
    case(
        "unit-ig-g-per-dl",
        "Units: IgG 0.91 g/dL = 910, IgM 0.06 g/dL = 60, IgA 0.13 g/dL = 130 mg/dL -> all normal",
        E(
            present=["risk.normal-igg-not-protective"],
            absent=["igrt.start", "igrt.not-for-labs-alone", "risk.encapsulated-bacteria"],
        ),
        [ofa_active(), ig_panel("2026-08-20", 0.91, 0.06, 0.13, unit="g/dL")],
    )
    case(
        "unit-ig-mg-per-ml",
        "Units: IgG 9.1 mg/mL = 910, IgM 0.8 mg/mL = 80, IgA 1.3 mg/mL = 130 mg/dL -> all normal",
        E(
            present=["risk.normal-igg-not-protective"],
            absent=["igrt.start", "igrt.not-for-labs-alone", "risk.encapsulated-bacteria"],
        ),
        [ofa_active(), ig_panel("2026-08-20", 9.1, 0.8, 1.3, unit="mg/mL")],
    )
    case(
        "unit-igm-g-per-l-low",
        "Units: IgM 0.25 g/L = 25 mg/dL low with IgG 9.1 g/L normal -> risk.encapsulated-bacteria",
        E(present=["risk.encapsulated-bacteria"], absent=["igrt.start"]),
        [ofa_active(), ig_panel("2026-08-20", 9.1, 0.25, 1.3, unit="g/L")],
    )
