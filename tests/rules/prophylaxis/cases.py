"""Antibiotic prophylaxis: when to consider it, when it failed, and when it is not routine
(clinical-spec §5, prophylaxis.*).
"""

from __future__ import annotations

from tests.rules.casebuilder import J13, SINUSITIS, E, case, d_base, infection, k_base, statement


# ============================================================================================
# Prophylaxis (K-17, D-6, D-8c, D-17) and prophylaxis.not-routine
# ============================================================================================
def proph(start="2026-01-01", drug="sxt", reason_text="prophylaxis", end=None, status="active"):
    return statement(drug, start=start, end=end, status=status, reason_text=reason_text)


def cases_prophylaxis():
    case(
        "proph-k-two-episodes",
        "§5 prophylaxis.consider K: 2 moderate sinusitis episodes (2026-01-10, 2026-06-01), no igrt.start -> "
        "recurrent-infections; consider fires so no not-routine (IgM 20 low)",
        E(
            present=["prophylaxis.consider"],
            absent=["igrt.start", "prophylaxis.not-routine"],
            reasons={"prophylaxis.consider": ["recurrent-infections"]},
            priority={"prophylaxis.consider": "info"},
        ),
        [
            k_base(ig=(910, 20, 130)),
            infection("2026-01-10", SINUSITIS, severity="moderate"),
            infection("2026-06-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "proph-k-two-episodes-with-igrt-start",
        "§5 K prophylaxis.consider needs no igrt.start: IgG 350 (K-8b) + 2 moderate sinusitis -> igrt.start, no "
        "prophylaxis.consider",
        E(
            present=["igrt.start"],
            absent=["prophylaxis.consider"],
            reasons={"igrt.start": ["igg-below-threshold"]},
        ),
        [
            k_base(ig=(350, 80, 130)),
            infection("2026-01-10", SINUSITIS, severity="moderate"),
            infection("2026-06-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "proph-k-one-episode",
        "§5 twin: 1 episode (< 2) with IgM 20 low -> prophylaxis.not-routine, no consider",
        E(present=["prophylaxis.not-routine"], absent=["prophylaxis.consider"]),
        [k_base(ig=(910, 20, 130)), infection("2026-06-01", SINUSITIS, severity="moderate")],
    )
    case(
        "proph-k-on-prophylaxis",
        "§5 not-routine and consider exclude patients on prophylaxis: co-trimoxazole 'prophylaxis' since "
        "2026-01-01, IgM 20, no episodes -> neither",
        E(absent=["prophylaxis.not-routine", "prophylaxis.consider"]),
        [k_base(ig=(910, 20, 130)), proph()],
    )
    case(
        "proph-k-long-course-no-reason",
        "F6 prophylaxis = a course lasting >= 28 days naming no infection: azithromycin active since "
        "2026-06-01 (136 days), no reason -> on prophylaxis -> no not-routine",
        E(absent=["prophylaxis.not-routine", "prophylaxis.consider"]),
        [k_base(ig=(910, 20, 130)), proph(start="2026-06-01", drug="azi", reason_text=None)],
    )
    case(
        "proph-k-short-course-not-prophylaxis",
        "F6 twin: a completed 10-day amoxicillin course without reason is not prophylaxis -> not-routine",
        E(present=["prophylaxis.not-routine"]),
        [
            k_base(ig=(910, 20, 130)),
            proph(start="2026-06-01", end="2026-06-10", drug="amox", reason_text=None, status="completed"),
        ],
    )
    case(
        "proph-k-igm-normal-no-not-routine",
        "§5 not-routine needs IgM low: IgM 80, no episodes -> absent",
        E(absent=["prophylaxis.not-routine", "prophylaxis.consider"]),
        [k_base()],
    )
    case(
        "proph-k-failure-no-igrt",
        "§5 D-8c prophylaxis-failed is D only: K patient (ofatumumab) on prophylaxis with 2 sinusitis episodes "
        "-> no igrt.start; on prophylaxis -> no consider",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [
            k_base(),
            proph(),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "proph-d-mild-presentation",
        "§5 prophylaxis.consider D (confirmed): 1 bacterial episode (moderate J13), no igrt.start -> "
        "mild-presentation (D-6)",
        E(
            populations=["D"],
            present=["prophylaxis.consider"],
            absent=["igrt.start", "prophylaxis.not-routine"],
            reasons={"prophylaxis.consider": ["mild-presentation"]},
        ),
        [d_base(), infection("2026-05-01", J13, severity="moderate")],
    )
    case(
        "proph-d-non-bacterial",
        "§5 twin: 1 sinusitis without organism or antibiotic (not bacterial) -> no consider",
        E(absent=["prophylaxis.consider", "igrt.start"]),
        [d_base(), infection("2026-05-01", SINUSITIS, severity="moderate")],
    )
    case(
        "proph-d-alternative-first-line",
        "§5 D-8a + alternative first line: 2 moderate J13 episodes (bacterial) -> igrt.start recurrent-bacterial "
        "(only reason, no severe episode) -> prophylaxis.consider alternative-first-line (D-6, D-7)",
        E(
            present=["igrt.start", "prophylaxis.consider"],
            reasons={
                "igrt.start": ["recurrent-bacterial"],
                "prophylaxis.consider": ["alternative-first-line"],
            },
        ),
        [
            d_base(),
            infection("2026-02-01", J13, severity="moderate"),
            infection("2026-07-01", J13, severity="moderate"),
        ],
    )
    case(
        "proph-d-recurrent-with-severe",
        "§5 twin: one of the 2 bacterial episodes severe -> igrt.start recurrent-bacterial, no alternative first "
        "line",
        E(
            present=["igrt.start"],
            absent=["prophylaxis.consider"],
            reasons={"igrt.start": ["recurrent-bacterial"]},
        ),
        [
            d_base(),
            infection("2026-02-01", J13, severity="severe"),
            infection("2026-07-01", J13, severity="moderate"),
        ],
    )
    case(
        "proph-d-failed-two-episodes",
        "§5 igrt.start D-8c prophylaxis-failed: co-trimoxazole prophylaxis since 2026-01-01, 2 sinusitis "
        "episodes during it (2026-03-01, 07-01) -> start IgRT",
        E(
            present=["igrt.start"],
            absent=["prophylaxis.consider"],
            reasons={"igrt.start": ["prophylaxis-failed"]},
        ),
        [
            d_base(),
            proph(),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
    case(
        "proph-d-failed-one-severe",
        "§5 D-8c (§9.8): 1 severe sinusitis during prophylaxis -> prophylaxis-failed",
        E(present=["igrt.start"], reasons={"igrt.start": ["prophylaxis-failed"]}),
        [d_base(), proph(), infection("2026-07-01", SINUSITIS, severity="severe")],
    )
    case(
        "proph-d-one-moderate-not-failed",
        "§5 twin: 1 moderate sinusitis during prophylaxis -> not failed, no igrt.start; on prophylaxis -> no "
        "consider",
        E(absent=["igrt.start", "prophylaxis.consider"]),
        [d_base(), proph(), infection("2026-07-01", SINUSITIS, severity="moderate")],
    )
    case(
        "proph-d-episode-before-prophylaxis",
        "F6 failure counts episodes with onset during prophylaxis: prophylaxis from 2026-05-01, sinusitis "
        "2026-03-01 (before) and 2026-07-01 (during) -> 1 -> not failed",
        E(absent=["igrt.start"]),
        [
            d_base(),
            proph(start="2026-05-01"),
            infection("2026-03-01", SINUSITIS, severity="moderate"),
            infection("2026-07-01", SINUSITIS, severity="moderate"),
        ],
    )
