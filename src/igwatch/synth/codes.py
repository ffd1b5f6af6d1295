"""Code systems and the coded concepts the synthetic cohort uses.

igwatch's own concepts use exactly the codes of its value sets (contract §1); background
concepts (vital signs, other labs, other conditions and drugs) use common LOINC, SNOMED CT,
ICD-10-CM, RxNorm and CVX codes so that they look like real data and are skipped by igwatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

LOINC: Final = "http://loinc.org"
SNOMED: Final = "http://snomed.info/sct"
ICD10: Final = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX: Final = "http://hl7.org/fhir/sid/cvx"
UCUM: Final = "http://unitsofmeasure.org"
ACT_CODE: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBS_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
COND_CLINICAL: Final = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VERIFICATION: Final = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
COND_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/condition-category"
MRN_SYSTEM: Final = "https://synth.igwatch.invalid/mrn"
#: Tag on the records made dirty on purpose (tests find them by it; igwatch ignores meta).
SYNTH_TAG_SYSTEM: Final = "https://igwatch.dev/fhir/synth-tag"
ANTIBIOTIC_RESPONSE_URL: Final = "https://igwatch.dev/fhir/StructureDefinition/antibiotic-response"

IGG: Final = ("2465-3", "IgG [Mass/volume] in Serum or Plasma", "IgG")
IGM: Final = ("2472-9", "IgM [Mass/volume] in Serum or Plasma", "IgM")
IGA: Final = ("2458-8", "IgA [Mass/volume] in Serum or Plasma", "IgA")
CD19_ABS: Final = ("8116-6", "CD19 cells [#/volume] in Blood", "CD19 B cells, absolute")
CD19_PCT: Final = ("8117-4", "CD19 cells/100 cells in Blood", "CD19 B cells %")
WEIGHT: Final = ("29463-7", "Body weight", "Weight")
HEIGHT: Final = ("8302-2", "Body height", "Height")
BMI: Final = ("39156-5", "Body mass index (BMI) [Ratio]", "BMI")
HEART_RATE: Final = ("8867-4", "Heart rate", "Pulse")
BP_PANEL: Final = ("85354-9", "Blood pressure panel with all children optional", "Blood pressure")
SYSTOLIC: Final = ("8480-6", "Systolic blood pressure")
DIASTOLIC: Final = ("8462-4", "Diastolic blood pressure")
CULTURE: Final = ("6463-4", "Bacteria identified in Specimen by Culture", "Culture")

#: Background labs: (LOINC, display, UCUM unit, mean, sd, decimals).
BACKGROUND_LABS: Final = (
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 6.8, 1.8, 1),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 13.8, 1.4, 1),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 250.0, 55.0, 0),
    ("731-0", "Lymphocytes [#/volume] in Blood by Automated count", "10*3/uL", 1.9, 0.6, 2),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.9, 0.2, 2),
    (
        "1742-6",
        "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
        24.0,
        9.0,
        0,
    ),
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 96.0, 14.0, 0),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 139.0, 2.5, 0),
)


@dataclass(frozen=True)
class InfectionType:
    """A kind of infection: its codes, nature and how it usually runs."""

    snomed: tuple[str, str]
    icd10: tuple[str, str]
    bacterial: bool
    #: Organism implied by the code ("spn", "hib", "nmen") or None.
    organism: str | None
    #: Weights of mild / moderate / severe / life-threatening.
    severity: tuple[float, float, float, float]
    inpatient_share: float
    antibiotic_share: float
    duration_days: tuple[int, int]


INFECTIONS: Final[dict[str, InfectionType]] = {
    "sinusitis": InfectionType(
        ("36971009", "Sinusitis"),
        ("J01.90", "Acute sinusitis, unspecified"),
        False,
        None,
        (0.6, 0.38, 0.02, 0),
        0.0,
        0.6,
        (7, 21),
    ),
    "bronchitis": InfectionType(
        ("32398004", "Bronchitis"),
        ("J20.9", "Acute bronchitis, unspecified"),
        False,
        None,
        (0.6, 0.38, 0.02, 0),
        0.0,
        0.4,
        (7, 21),
    ),
    "uti": InfectionType(
        ("68566005", "Urinary tract infectious disease"),
        ("N39.0", "Urinary tract infection, site not specified"),
        False,
        None,
        (0.65, 0.33, 0.02, 0),
        0.01,
        0.9,
        (3, 10),
    ),
    "otitis": InfectionType(
        ("65363002", "Otitis media"),
        ("H66.90", "Otitis media, unspecified, unspecified ear"),
        False,
        None,
        (0.7, 0.3, 0, 0),
        0.0,
        0.6,
        (5, 14),
    ),
    "cellulitis": InfectionType(
        ("128045006", "Cellulitis"),
        ("L03.90", "Cellulitis, unspecified"),
        True,
        None,
        (0.4, 0.5, 0.1, 0),
        0.1,
        0.95,
        (7, 21),
    ),
    "pneumonia": InfectionType(
        ("233604007", "Pneumonia"),
        ("J18.9", "Pneumonia, unspecified organism"),
        False,
        None,
        (0.2, 0.5, 0.27, 0.03),
        0.35,
        0.98,
        (10, 28),
    ),
    "pneumococcal-pneumonia": InfectionType(
        ("233607000", "Pneumococcal pneumonia"),
        ("J13", "Pneumonia due to Streptococcus pneumoniae"),
        True,
        "spn",
        (0.1, 0.45, 0.4, 0.05),
        0.45,
        1.0,
        (10, 28),
    ),
    "hib-infection": InfectionType(
        ("91428005", "Haemophilus influenzae infection"),
        ("J14", "Pneumonia due to Hemophilus influenzae"),
        True,
        "hib",
        (0.2, 0.5, 0.27, 0.03),
        0.3,
        1.0,
        (7, 21),
    ),
    "pyelonephritis": InfectionType(
        ("45816000", "Pyelonephritis"),
        ("N10", "Acute pyelonephritis"),
        True,
        None,
        (0.1, 0.5, 0.38, 0.02),
        0.35,
        1.0,
        (10, 21),
    ),
    "sepsis": InfectionType(
        ("91302008", "Sepsis"),
        ("A41.9", "Sepsis, unspecified organism"),
        True,
        None,
        (0, 0, 0.6, 0.4),
        1.0,
        1.0,
        (10, 30),
    ),
    "pneumococcal-sepsis": InfectionType(
        ("448421008", "Sepsis caused by Streptococcus pneumoniae"),
        ("A40.3", "Sepsis due to Streptococcus pneumoniae"),
        True,
        "spn",
        (0, 0, 0.5, 0.5),
        1.0,
        1.0,
        (10, 30),
    ),
    "pneumococcal-meningitis": InfectionType(
        ("51169003", "Pneumococcal meningitis"),
        ("G00.1", "Pneumococcal meningitis"),
        True,
        "spn",
        (0, 0, 0.3, 0.7),
        1.0,
        1.0,
        (14, 35),
    ),
    "meningococcal": InfectionType(
        ("23511006", "Meningococcal infectious disease"),
        ("A39.0", "Meningococcal meningitis"),
        True,
        "nmen",
        (0, 0, 0.3, 0.7),
        1.0,
        1.0,
        (14, 35),
    ),
    "herpes-zoster": InfectionType(
        ("4740000", "Herpes zoster"),
        ("B02.9", "Zoster without complications"),
        False,
        None,
        (0.5, 0.45, 0.05, 0),
        0.02,
        0.0,
        (14, 35),
    ),
    "cmv": InfectionType(
        ("28944009", "Cytomegalovirus infection"),
        ("B25.9", "Cytomegaloviral disease, unspecified"),
        False,
        None,
        (0.1, 0.4, 0.45, 0.05),
        0.5,
        0.0,
        (21, 60),
    ),
    "pml": InfectionType(
        ("22255007", "Progressive multifocal leukoencephalopathy"),
        ("A81.2", "Progressive multifocal leukoencephalopathy"),
        False,
        None,
        (0, 0, 0.6, 0.4),
        1.0,
        0.0,
        (60, 200),
    ),
}

SEVERITY: Final = (
    ("255604002", "Mild"),
    ("6736007", "Moderate"),
    ("24484000", "Severe"),
    ("442452003", "Life threatening severity"),
)

ORGANISMS: Final = {
    "spn": ("9861002", "Streptococcus pneumoniae"),
    "hib": ("44470000", "Haemophilus influenzae"),
    "nmen": ("17872004", "Neisseria meningitidis"),
    "ecoli": ("112283007", "Escherichia coli"),
    "saureus": ("3092008", "Staphylococcus aureus"),
    "kpn": ("56415008", "Klebsiella pneumoniae"),
}

#: Antibiotics (RxNorm ingredient, display, usual days) by the infection they usually treat.
ANTIBIOTICS: Final = {
    "amoxicillin": ("723", "amoxicillin 500 MG Oral Capsule", 7),
    "amox-clav": ("19711", "amoxicillin 875 MG / clavulanate 125 MG Oral Tablet", 7),
    "azithromycin": ("18631", "azithromycin 250 MG Oral Tablet", 5),
    "doxycycline": ("3640", "doxycycline hyclate 100 MG Oral Capsule", 7),
    "cefuroxime": ("2194", "cefuroxime 500 MG Oral Tablet", 7),
    "ceftriaxone": ("2193", "ceftriaxone 1000 MG Injection", 7),
    "levofloxacin": ("82122", "levofloxacin 750 MG Oral Tablet", 7),
    "nitrofurantoin": ("7454", "nitrofurantoin 100 MG Oral Capsule", 5),
    "smx-tmp": ("10831", "sulfamethoxazole 800 MG / trimethoprim 160 MG Oral Tablet", 7),
    "cephalexin": ("2231", "cephalexin 500 MG Oral Capsule", 7),
}
FIRST_LINE: Final = {
    "sinusitis": ("amox-clav", "doxycycline", "amoxicillin"),
    "bronchitis": ("azithromycin", "doxycycline"),
    "uti": ("nitrofurantoin", "smx-tmp", "cephalexin"),
    "otitis": ("amoxicillin", "amox-clav"),
    "cellulitis": ("cephalexin", "smx-tmp"),
    "pneumonia": ("amox-clav", "levofloxacin", "azithromycin", "ceftriaxone"),
    "pneumococcal-pneumonia": ("ceftriaxone", "amox-clav", "levofloxacin"),
    "hib-infection": ("amox-clav", "cefuroxime", "ceftriaxone"),
    "pyelonephritis": ("ceftriaxone", "levofloxacin"),
    "sepsis": ("ceftriaxone",),
    "pneumococcal-sepsis": ("ceftriaxone",),
    "pneumococcal-meningitis": ("ceftriaxone",),
    "meningococcal": ("ceftriaxone",),
}
SECOND_LINE: Final = ("levofloxacin", "cefuroxime", "doxycycline", "amox-clav", "ceftriaxone")

#: Background conditions: (SNOMED, display, ICD-10-CM, display).
BACKGROUND_CONDITIONS: Final = (
    ("38341003", "Hypertensive disorder", "I10", "Essential (primary) hypertension"),
    ("55822004", "Hyperlipidemia", "E78.5", "Hyperlipidemia, unspecified"),
    ("195967001", "Asthma", "J45.909", "Unspecified asthma, uncomplicated"),
    ("35489007", "Depressive disorder", "F32.A", "Depression, unspecified"),
    (
        "235595009",
        "Gastroesophageal reflux disease",
        "K21.9",
        "Gastro-esophageal reflux disease without esophagitis",
    ),
    ("44054006", "Diabetes mellitus type 2", "E11.9", "Type 2 diabetes mellitus without complications"),
    ("414916001", "Obesity", "E66.9", "Obesity, unspecified"),
    ("61582004", "Allergic rhinitis", "J30.9", "Allergic rhinitis, unspecified"),
    ("396275006", "Osteoarthritis", "M19.90", "Unspecified osteoarthritis, unspecified site"),
    ("37796009", "Migraine", "G43.909", "Migraine, unspecified, not intractable, without status migrainosus"),
    ("40930008", "Hypothyroidism", "E03.9", "Hypothyroidism, unspecified"),
    ("197480006", "Anxiety disorder", "F41.9", "Anxiety disorder, unspecified"),
    ("279039007", "Low back pain", "M54.50", "Low back pain, unspecified"),
    ("73211009", "Diabetes mellitus", "E11.9", "Type 2 diabetes mellitus without complications"),
)
MS: Final = ("24700007", "Multiple sclerosis", "G35", "Multiple sclerosis")
RRMS: Final = ("426373005", "Relapsing remitting multiple sclerosis", "G35", "Multiple sclerosis")
RITUXIMAB_INDICATIONS: Final = (
    (("69896004", "Rheumatoid arthritis", "M06.9", "Rheumatoid arthritis, unspecified"), 0.3),
    (("24700007", "Multiple sclerosis", "G35", "Multiple sclerosis"), 0.3),
    (("25702006", "Neuromyelitis optica", "G36.0", "Neuromyelitis optica [Devic]"), 0.1),
    (
        (
            "195353004",
            "Granulomatosis with polyangiitis",
            "M31.30",
            "Wegener's granulomatosis without renal involvement",
        ),
        0.1,
    ),
    (
        (
            "308121000",
            "Follicular non-Hodgkin's lymphoma",
            "C82.90",
            "Follicular lymphoma, unspecified, unspecified site",
        ),
        0.2,
    ),
)
IGM_DEFICIENCY: Final = (
    "190980000",
    "Selective immunoglobulin M deficiency",
    "D80.4",
    "Selective deficiency of immunoglobulin M [IgM]",
)
SPECIFIC_ANTIBODY_DEFICIENCY_ICD: Final = (
    "D80.6",
    "Antibody deficiency with near-normal immunoglobulins or with hyperimmunoglobulinemia",
)
AUTOIMMUNE: Final = (
    ("21983002", "Hashimoto thyroiditis", "E06.3", "Autoimmune thyroiditis"),
    ("69896004", "Rheumatoid arthritis", "M06.9", "Rheumatoid arthritis, unspecified"),
    ("55464009", "Systemic lupus erythematosus", "M32.9", "Systemic lupus erythematosus, unspecified"),
    ("396331005", "Celiac disease", "K90.0", "Celiac disease"),
    ("56727007", "Vitiligo", "L80", "Vitiligo"),
    ("32273002", "Immune thrombocytopenic purpura", "D69.3", "Immune thrombocytopenic purpura"),
)
ITP: Final = ("32273002", "Immune thrombocytopenic purpura", "D69.3", "Immune thrombocytopenic purpura")
CLL: Final = (
    "92814006",
    "Chronic lymphoid leukemia",
    "C91.10",
    "Chronic lymphocytic leukemia of B-cell type not having achieved remission",
)
HYPOGAMMA: Final = ("190979003", "Hypogammaglobulinemia", "D80.1", "Nonfamilial hypogammaglobulinemia")

#: Background drugs: (RxNorm, display).
BACKGROUND_DRUGS: Final = (
    ("29046", "lisinopril 10 MG Oral Tablet"),
    ("83367", "atorvastatin 20 MG Oral Tablet"),
    ("6809", "metformin hydrochloride 500 MG Oral Tablet"),
    ("10582", "levothyroxine sodium 0.05 MG Oral Tablet"),
    ("36437", "sertraline 50 MG Oral Tablet"),
    ("7646", "omeprazole 20 MG Delayed Release Oral Capsule"),
    ("435", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler"),
    ("20610", "cetirizine hydrochloride 10 MG Oral Tablet"),
    ("2418", "cholecalciferol 1000 UNT Oral Tablet"),
    ("5640", "ibuprofen 400 MG Oral Tablet"),
    ("25480", "gabapentin 300 MG Oral Capsule"),
    ("17767", "amlodipine 5 MG Oral Tablet"),
)
MS_SYMPTOMATIC: Final = (
    ("1292", "baclofen 10 MG Oral Tablet"),
    ("4441", "fampridine 10 MG Extended Release Oral Tablet"),
)
OTHER_DMT: Final = (
    ("1373478", "dimethyl fumarate 240 MG Delayed Release Oral Capsule"),
    ("84375", "glatiramer acetate 40 MG/ML Prefilled Syringe"),
    ("354770", "natalizumab 300 MG/15ML Injection"),
    ("1012892", "fingolimod 0.5 MG Oral Capsule"),
    ("1310520", "teriflunomide 14 MG Oral Tablet"),
)
OBINUTUZUMAB: Final = ("1438166", "obinutuzumab 1000 MG/40ML Injection (Gazyva)")

IVIG_PRODUCTS: Final = (
    "Privigen (immune globulin intravenous, human) 10% liquid",
    "Octagam 10% (immune globulin intravenous, human)",
    "Gammagard Liquid (immune globulin infusion, human) 10%",
)
SCIG_PRODUCTS: Final = (
    "Hizentra (immune globulin subcutaneous, human) 20% liquid",
    "Cuvitru (immune globulin subcutaneous, human) 20%",
    "Xembify (immune globulin subcutaneous, human) 20%",
)
ROUTE_IV: Final = ("47625008", "Intravenous route")
ROUTE_SC: Final = ("34206005", "Subcutaneous route")

#: Vaccines (CVX, display).
FLU: Final = ("150", "Influenza, injectable, quadrivalent, preservative free")
COVID: Final = (
    "208",
    "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose",
)
TDAP: Final = ("115", "Tdap")
PCV20: Final = ("216", "Pneumococcal conjugate PCV20, polysaccharide CRM197 conjugate, adjuvant, PF")
PPSV23: Final = ("33", "pneumococcal polysaccharide vaccine, 23 valent")
SHINGRIX: Final = ("187", "zoster vaccine recombinant")
HEPB: Final = ("43", "hepatitis B vaccine, adult dosage")
LIVE_VACCINES: Final = (
    ("03", "measles, mumps and rubella virus vaccine (MMR)"),
    ("21", "varicella virus vaccine"),
    ("121", "zoster vaccine, live"),
    ("183", "yellow fever vaccine"),
    ("149", "influenza, live, intranasal, quadrivalent"),
    ("25", "typhoid vaccine, live, oral"),
)

#: Viral serology (LOINC, display) from the viral-serology value set.
VIRAL_SEROLOGY: Final = (
    ("16935-9", "Hepatitis B virus surface Ab [Units/volume] in Serum"),
    ("19162-7", "Varicella zoster virus IgG Ab [Presence] in Serum"),
    ("20479-2", "Measles virus IgG Ab [Presence] in Serum"),
)
POSITIVE: Final = ("10828004", "Positive")
NEGATIVE: Final = ("260385009", "Negative")

#: The 23 serotypes of the polysaccharide vaccine (Danish nomenclature).
SEROTYPES: Final = (
    "1", "2", "3", "4", "5", "6B", "7F", "8", "9N", "9V", "10A", "11A",
    "12F", "14", "15B", "17F", "18C", "19A", "19F", "20", "22F", "23F", "33F",
)  # fmt: skip

GIVEN_NAMES_F: Final = (
    "Anna",
    "Maria",
    "Emma",
    "Sofia",
    "Laura",
    "Julia",
    "Sara",
    "Olivia",
    "Mia",
    "Elena",
    "Grace",
    "Chloe",
    "Hannah",
    "Lucia",
    "Ines",
)
GIVEN_NAMES_M: Final = (
    "James",
    "Lucas",
    "Noah",
    "Daniel",
    "David",
    "Thomas",
    "Marco",
    "Jonas",
    "Samuel",
    "Adam",
    "Paul",
    "Leo",
    "Omar",
    "Mateo",
    "Erik",
)
FAMILY_NAMES: Final = (
    "Smith",
    "Müller",
    "García",
    "Rossi",
    "Johnson",
    "Nowak",
    "Dubois",
    "Jensen",
    "Silva",
    "Brown",
    "Kowalski",
    "Novak",
    "Martin",
    "Lee",
    "Nguyen",
    "Khan",
    "Berg",
    "Costa",
    "Fischer",
    "Moreau",
)
