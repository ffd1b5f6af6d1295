"""What the data says about itself: data issues (clinical-spec §7), references, patients not in
scope, and input refused.
"""

from __future__ import annotations

import json

from tests.rules.anti_cd20.cases import stopped_ofa
from tests.rules.casebuilder import (
    CATALOG,
    DRUG,
    MS,
    NORMAL,
    PNEUMOCOCCAL_PNEUMONIA,
    SINUSITIS,
    E,
    bundle,
    case,
    cd19,
    diagnosis,
    encounter,
    ig_panel,
    iga,
    igg,
    igm,
    infection,
    k_base,
    ofa_active,
    raw_case,
    severe_pnc,
    statement,
    weight,
)


# ============================================================================================
# §7 data issues
# ============================================================================================
def cases_data_issues():
    case(
        "di-unit-missing",
        "§7 unit-missing: IgM 20 with no unit -> error, value ignored -> not low",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "unit-missing"},
        ),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 20, no_unit=True), iga("2026-08-20", 130)],
    )
    case(
        "di-unit-unconvertible-igm",
        "§7 unit-unconvertible: IgM 0.2 mmol/L (not a mass concentration) -> error, ignored",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "unit-unconvertible"},
        ),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", 0.2, "mmol/L"), iga("2026-08-20", 130)],
    )
    case(
        "di-unit-unconvertible-igg",
        "§7 unit-unconvertible: IgG 350 '%' -> error, ignored -> IgG unknown -> no igrt.start",
        E(
            absent=["igrt.start"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "unit-unconvertible"},
        ),
        [
            ofa_active(),
            igg("2026-08-20", 350, "%"),
            igm("2026-08-20", 80),
            iga("2026-08-20", 130),
            weight("2026-08-20", 75),
        ],
    )
    case(
        "di-unit-unconvertible-cd19",
        "§7 CD19 needs a count: CD19 150 mg/dL after stopping -> error, ignored -> B cells unknown -> live-avoid",
        E(
            present=["vaccine.live-avoid", "monitor.bcells"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "unit-unconvertible"},
        ),
        [stopped_ofa(), cd19("2026-09-01", 150, "mg/dL"), ig_panel("2026-09-01", *NORMAL)],
    )
    case(
        "di-implausible-igg",
        "§7 value-implausible: IgG 12000 mg/dL > 10000 -> error, ignored -> IgG unknown -> no normal-IgG card",
        E(
            absent=["risk.normal-igg-not-protective"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "value-implausible"},
        ),
        [ofa_active(), igg("2026-08-20", 12000), igm("2026-08-20", 80), iga("2026-08-20", 130)],
    )
    case(
        "di-implausible-igg-after-conversion",
        "§7 plausibility after conversion: IgG 150 g/L = 15000 mg/dL -> value-implausible",
        E(
            absent=["risk.normal-igg-not-protective"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "value-implausible"},
        ),
        [
            ofa_active(),
            igg("2026-08-20", 150, "g/L"),
            igm("2026-08-20", 0.8, "g/L"),
            iga("2026-08-20", 1.3, "g/L"),
        ],
    )
    case(
        "di-implausible-igm-negative",
        "§7 value-implausible: IgM -5 mg/dL (< 0) -> error, ignored -> not low",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "value-implausible"},
        ),
        [ofa_active(), igg("2026-08-20", 910), igm("2026-08-20", -5), iga("2026-08-20", 130)],
    )
    case(
        "di-implausible-weight",
        "§7 value-implausible: weight 500 kg > 400 -> ignored -> no usable weight -> gram fields null",
        E(
            present=["igrt.start"],
            dosing={"ivig.dose_g": None},
            data_issue={"severity": "error", "resource_type": "Observation", "match": "value-implausible"},
        ),
        [ofa_active(), ig_panel("2026-09-01", 350, 80, 130), weight("2026-09-01", 500)],
    )
    case(
        "di-date-missing-lab",
        "§7 date-missing: IgM 20 with no effective date or issued -> error, ignored -> not low",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "error", "resource_type": "Observation", "match": "date-missing"},
        ),
        [ofa_active(), igg("2026-08-20", 910), igm(None, 20), iga("2026-08-20", 130)],
    )
    case(
        "di-date-missing-infection",
        "§7 date-missing: a severe pneumococcal pneumonia without onset or recordedDate is ignored -> 1 dated "
        "episode -> no igrt.start",
        E(
            absent=["igrt.start"],
            data_issue={"severity": "error", "resource_type": "Condition", "match": "date-missing"},
        ),
        [k_base(), severe_pnc("2026-02-03"), severe_pnc(None, abatement=None)],
    )
    case(
        "di-date-future",
        "§7 date-future: IgM 20 dated 2099-01-01 (after the real today) -> warning, ignored (after as_of) -> not low",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "warning", "resource_type": "Observation", "match": "date-future"},
        ),
        [k_base(), igm("2099-01-01", 20)],
    )
    case(
        "di-pediatric-no-range",
        "F3 patient under 18 (born 2012-03-01, 14 y) on rituximab: IgM 20 without a reference range -> "
        "unknown, data issue pediatric-no-reference-range (adult limits not applied)",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={
                "severity": "warning",
                "resource_type": "Observation",
                "match": "pediatric-no-reference-range",
            },
        ),
        [
            statement("rtx", start="2025-01-10"),
            igg("2026-08-20", 800, ref_low=600),
            igm("2026-08-20", 20),
            iga("2026-08-20", 100, ref_low=50),
        ],
        birth="2012-03-01",
    )
    case(
        "di-pediatric-with-range",
        "F3 twin: the child's IgM 20 with the lab's range low 30 -> low -> risk.encapsulated-bacteria",
        E(present=["risk.encapsulated-bacteria"]),
        [
            statement("rtx", start="2025-01-10"),
            igg("2026-08-20", 800, ref_low=600),
            igm("2026-08-20", 20, ref_low=30),
            iga("2026-08-20", 100, ref_low=50),
        ],
        birth="2012-03-01",
    )
    case(
        "di-age-17-no-range",
        "F3 under 18: born 2008-10-16 -> 17 on the result date and at as_of -> IgM 20 without range unknown",
        E(
            absent=["risk.encapsulated-bacteria"],
            data_issue={"severity": "warning", "match": "pediatric-no-reference-range"},
        ),
        [
            statement("rtx", start="2025-01-10"),
            igg("2026-08-20", 800, ref_low=600),
            igm("2026-08-20", 20),
            iga("2026-08-20", 100, ref_low=50),
        ],
        birth="2008-10-16",
    )
    case(
        "di-age-18-adult-limits",
        "F3 twin: born 2008-06-01 -> 18 -> adult limit 34 applies -> IgM 20 low",
        E(present=["risk.encapsulated-bacteria"]),
        [
            statement("rtx", start="2025-01-10"),
            igg("2026-08-20", 800, ref_low=600),
            igm("2026-08-20", 20),
            iga("2026-08-20", 100, ref_low=50),
        ],
        birth="2008-06-01",
    )
    case(
        "di-recognised-by-name",
        "Contract §1 name fallback: ofatumumab only as text 'Kesimpta (ofatumumab) ...' -> recognised, "
        "anti-cd20.continue; info issue recognised-by-name",
        E(
            present=["anti-cd20.continue"],
            data_issue={
                "severity": "info",
                "resource_type": "MedicationStatement",
                "match": "recognised-by-name",
            },
        ),
        [statement("ofa-name", start="2023-09-01"), ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "di-stale-infection-not-active",
        "§7 infection-unresolved-stale: sinusitis 'active' since 2026-05-01 (167 days) -> not active, warning",
        E(
            absent=["anti-cd20.delay-dose"],
            data_issue={
                "severity": "warning",
                "resource_type": "Condition",
                "match": "infection-unresolved-stale",
            },
        ),
        [k_base(), infection("2026-05-01", SINUSITIS, clinical="active")],
    )


# ============================================================================================
# References, not applicable, refused input
# ============================================================================================
def cases_misc():
    contained = statement("ofa", start="2023-09-01", med_ref="#kes")
    contained["contained"] = [{"resourceType": "Medication", "id": "kes", "code": DRUG["ofa"]}]
    case(
        "ref-contained-medication",
        "Contract §1 references: MedicationStatement -> contained Medication (#kes) coded RxNorm 712566 -> "
        "ofatumumab current -> anti-cd20.continue",
        E(present=["anti-cd20.continue"]),
        [contained, ig_panel("2026-08-20", *NORMAL)],
    )
    case(
        "ref-medication-reference",
        "Contract §1 references: medicationReference Medication/med-kes (RxNorm 712566) in the bundle -> "
        "anti-cd20.continue",
        E(present=["anti-cd20.continue"]),
        [
            {"resourceType": "Medication", "id": "med-kes", "code": DRUG["ofa"]},
            statement("ofa", start="2023-09-01", med_ref="Medication/med-kes"),
            ig_panel("2026-08-20", *NORMAL),
        ],
    )
    case(
        "ref-urn-uuid",
        "Contract §1 references resolve through urn:uuid fullUrls: 2 pneumococcal pneumonias with inpatient "
        "encounters referenced by urn:uuid -> severe -> igrt.start encapsulated-recurrent",
        E(present=["igrt.start"], reasons={"igrt.start": ["encapsulated-recurrent"]}),
        [
            k_base(),
            encounter("enc-a", "2026-01-20", "2026-01-27"),
            encounter("enc-b", "2026-07-02", "2026-07-08"),
            infection("2026-01-20", PNEUMOCOCCAL_PNEUMONIA, enc="enc-a"),
            infection("2026-07-02", PNEUMOCOCCAL_PNEUMONIA, enc="enc-b"),
        ],
        urn=True,
    )
    case(
        "not-applicable",
        "§1 neither population: normal immunoglobulins, no anti-CD20, no diagnosis -> applicable false, no "
        "recommendations at all",
        E(applicable=False, populations=[], absent=CATALOG, dosing_null=True),
        [ig_panel("2026-09-10", 1010, 95, 180), weight("2026-09-10", 70)],
    )
    case(
        "not-applicable-ms-only",
        "§1 an MS patient on no anti-CD20 agent with no Ig results -> not applicable",
        E(
            applicable=False,
            populations=[],
            absent=["monitor.infections", "education.infection-warning-signs"],
        ),
        [diagnosis(MS, "2020-01-01")],
    )
    case(
        "not-applicable-reports-data-issues",
        "§1 not applicable still reports the data issues: IgM with no unit -> unit-missing error",
        E(
            applicable=False,
            data_issue={"severity": "error", "resource_type": "Observation", "match": "unit-missing"},
        ),
        [igg("2026-09-10", 1010), igm("2026-09-10", 95, no_unit=True), iga("2026-09-10", 180)],
    )

    raw_case(
        "refuse-not-json",
        "§7/contract §2 refused input: not JSON -> exit 2, one message, no stack trace",
        "IgG 399 mg/dL, IgM 20 mg/dL, IgA 110 mg/dL -- lab printout, not FHIR\n",
    )
    raw_case(
        "refuse-no-resource-type",
        "§7 refused input: a JSON object without resourceType -> exit 2",
        json.dumps(
            {
                "patient": {"id": "x", "birthDate": "1984-05-12"},
                "labs": [{"test": "IgM", "value": 20, "unit": "mg/dL"}],
            },
            indent=1,
        ),
    )
    raw_case(
        "refuse-bundle-without-patient",
        "§7 refused input: a Bundle with no Patient -> exit 2",
        json.dumps(
            bundle(
                "v-refuse-bundle-without-patient", [ig_panel("2026-09-10", 1010, 22, 180)], with_patient=False
            ),
            indent=1,
            sort_keys=True,
        ),
    )
    raw_case(
        "refuse-two-patients",
        "§7/contract §2 refused input: a Bundle with two Patients and no --patient -> exit 2",
        json.dumps(
            bundle("v-refuse-two-patients", [ig_panel("2026-09-10", 1010, 22, 180)], extra_patient=True),
            indent=1,
            sort_keys=True,
        ),
    )
    raw_case("refuse-empty-file", "§7 refused input: an empty file is not FHIR -> exit 2", "")
