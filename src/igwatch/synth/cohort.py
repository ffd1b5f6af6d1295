"""One synthetic patient at a time: archetype, clinical course, and the FHIR R4 resources.

:func:`generate_patient` is pure: the same ``(seed, index, as_of, realism)`` always gives the same
resources, and patients do not depend on each other (each has its own ``random.Random`` seeded
from ``seed`` and ``index``), so a cohort can be generated in any order or in parallel.
Nothing is dated after ``as_of``. Every figure comes from :mod:`igwatch.synth.params`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Final, TypeVar

from igwatch.synth import codes as c
from igwatch.synth.params import DEFAULT_REALISM, AgentModel, Realism

Resource = dict[str, Any]
T = TypeVar("T")

#: Archetypes, in the order their shares are laid out on [0, 1).
ARCHETYPES: Final = (
    "ofatumumab",
    "ocrelizumab",
    "rituximab",
    "igm-deficiency-confirmed",
    "igm-deficiency-suspected",
    "ms-other-dmt",
    "obinutuzumab-low-igm",
    "itp-ivig",
    "secondary-low-igg",
    "checked-normal-panel",
    "general",
)
YEAR: Final = 365.25
WEEK_168_YEARS: Final = 168 * 7 / YEAR
#: Time constant (years) of the IgM fall on anti-CD20 and of the recovery after stopping.
IGM_FALL_TAU_YEARS: Final = 2.0
RECOVERY_TAU_YEARS: Final = 1.5


@dataclass
class SynthPatient:
    """One generated patient: its id, archetype and resources (Patient first)."""

    id: str
    archetype: str
    resources: list[Resource] = field(default_factory=list)


def patient_id(seed: int, index: int) -> str:
    return f"syn{seed}-{index:07d}"


def patient_rng(seed: int, index: int) -> random.Random:
    # A string seed is hashed (SHA-512) by random, so nearby (seed, index) pairs are unrelated.
    return random.Random(f"igwatch-synth:{seed}:{index}")


def generate_patient(seed: int, index: int, as_of: date, realism: Realism = DEFAULT_REALISM) -> SynthPatient:
    """The patient number ``index`` of the cohort ``seed``, as of ``as_of``."""
    builder = _PatientBuilder(seed, index, as_of, realism)
    builder.build()
    return SynthPatient(builder.pid, builder.archetype, builder.out)


# --------------------------------------------------------------------------------------------
# small helpers


def _weighted(rng: random.Random, options: Sequence[tuple[T, float]]) -> T:
    total = sum(w for _, w in options)
    x = rng.random() * total
    for value, weight in options:
        x -= weight
        if x < 0:
            return value
    return options[-1][0]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit = math.exp(-lam)
    k, p = 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


@lru_cache(maxsize=4096)
def _concept(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    # Shared between resources (never mutated): saves building the same concept a million times.
    concept: dict[str, Any] = {"coding": [_coding(system, code, display)]}
    if text:
        concept["text"] = text
    return concept


def _dt(day: date, minutes: int) -> str:
    return f"{day.isoformat()}T{minutes // 60:02d}:{minutes % 60:02d}:00Z"


def _q(value: float, unit: str, code: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": c.UCUM, "code": code or unit}


def _round(value: float, digits: int) -> float | int:
    rounded = round(value, digits)
    return int(rounded) if digits == 0 else rounded


_CLINICAL_ACTIVE: Final = {"coding": [_coding(c.COND_CLINICAL, "active", "Active")]}
_CLINICAL_RESOLVED: Final = {"coding": [_coding(c.COND_CLINICAL, "resolved", "Resolved")]}
_CONFIRMED: Final = {"coding": [_coding(c.COND_VERIFICATION, "confirmed", "Confirmed")]}
_PROBLEM: Final = [{"coding": [_coding(c.COND_CATEGORY, "problem-list-item", "Problem List Item")]}]
_DIAGNOSIS: Final = [{"coding": [_coding(c.COND_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")]}]
_LAB: Final = [{"coding": [_coding(c.OBS_CATEGORY, "laboratory", "Laboratory")]}]
_VITALS: Final = [{"coding": [_coding(c.OBS_CATEGORY, "vital-signs", "Vital Signs")]}]
_CLASSES: Final = {
    "AMB": _coding(c.ACT_CODE, "AMB", "ambulatory"),
    "EMER": _coding(c.ACT_CODE, "EMER", "emergency"),
    "IMP": _coding(c.ACT_CODE, "IMP", "inpatient encounter"),
}


@dataclass
class _Therapy:
    agent: str
    model: AgentModel
    start: date
    stop: date | None  # None: current (or starting when ``planned``)
    planned: bool = False


# --------------------------------------------------------------------------------------------
# the builder


class _PatientBuilder:
    def __init__(self, seed: int, index: int, as_of: date, realism: Realism) -> None:
        self.rng = patient_rng(seed, index)
        self.r = realism
        self.as_of = as_of
        self.pid = patient_id(seed, index)
        self.subject = {"reference": f"Patient/{self.pid}"}
        self.out: list[Resource] = []
        self.counter = 0
        self.archetype = self._choose_archetype()
        self.therapies: list[_Therapy] = []
        self.igrt_start: date | None = None
        self.igrt_stop: date | None = None
        self.igrt_route = "IV"
        self.igrt_increment = 0.0
        self.monitor_start: date | None = None
        self.baseline = False
        self.frailty = self.rng.gammavariate(0.8, 1 / 0.8)

    # -- ids and emission --------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{self.pid}-{prefix}{self.counter}"

    def emit(self, resource: Resource) -> Resource:
        self.out.append(resource)
        return resource

    def tag_dirty(self, resource: Resource, what: str) -> None:
        resource["meta"] = {"tag": [{"system": c.SYNTH_TAG_SYSTEM, "code": f"dirty-{what}"}]}

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def days_before(self, low: float, high: float) -> date:
        return self.as_of - timedelta(days=int(self.rng.uniform(low, high)))

    # -- archetype ---------------------------------------------------------------------------

    def _choose_archetype(self) -> str:
        r = self.r
        shares = (
            r.share_ofatumumab,
            r.share_ocrelizumab,
            r.share_rituximab,
            r.share_igm_deficiency_confirmed,
            r.share_igm_deficiency_suspected,
            r.share_ms_other_dmt,
            r.share_obinutuzumab_low_igm,
            r.share_itp_ivig_high_dose,
            r.share_secondary_low_igg,
            r.share_checked_normal_panel,
        )
        x = self.rng.random()
        for name, share in zip(ARCHETYPES, shares, strict=False):
            if x < share:
                return name
            x -= share
        return "general"

    # -- the whole patient -------------------------------------------------------------------

    def build(self) -> None:
        rng, r = self.rng, self.r
        arche = self.archetype
        self.is_k = arche in ("ofatumumab", "ocrelizumab", "rituximab")
        self.is_d = arche.startswith("igm-deficiency")
        child = arche == "general" and self.chance(r.share_children_of_general)
        if child:
            age = rng.uniform(*r.age_children)
        elif arche in ("ofatumumab", "ocrelizumab", "ms-other-dmt"):
            age = min(max(rng.gauss(*r.age_ms_mean_sd), r.age_ms_range[0]), r.age_ms_range[1])
        elif arche in ("obinutuzumab-low-igm",):
            age = rng.uniform(*r.age_cll)
        else:
            age = rng.uniform(*r.age_adults)
        self.sex = (
            "female"
            if rng.random()
            < (
                r.share_female_ms
                if arche in ("ofatumumab", "ocrelizumab", "ms-other-dmt")
                else r.share_female
            )
            else "male"
        )
        self.birth = self.as_of - timedelta(days=int(age * YEAR))
        self.child = age < 18
        if self.child:
            self.height_cm = 80 + (age - 2) * 5.8 + rng.gauss(0, 6)
            self.weight_kg = max(11.0, 10 + (age - 2) * 3.4 + rng.gauss(0, 4))
        else:
            self.height_cm = rng.gauss(177, 7) if self.sex == "male" else rng.gauss(163, 7)
            self.weight_kg = max(42.0, rng.gauss(85, 16) if self.sex == "male" else rng.gauss(71, 15))
        self.unit_style = _weighted(rng, r.lab_unit_styles)
        self.igm_lln = _weighted(rng, r.igm_lab_lower_limits)
        self.has_ranges = rng.random() < r.share_reference_range or self.child
        self.history_start = self.as_of - timedelta(
            days=int(r.history_years_general * YEAR * rng.uniform(0.6, 1.6))
        )

        # baseline immunoglobulins
        self.igg0 = max(620.0, rng.gauss(r.igg_baseline_mean, r.igg_baseline_sd))
        self.igm0 = max(45.0, r.igm_baseline_median * math.exp(rng.gauss(0, r.igm_baseline_log_sd)))
        self.iga0 = max(80.0, r.iga_baseline_median * math.exp(rng.gauss(0, r.iga_baseline_log_sd)))
        if self.child:
            self.igg0 *= 0.85
            self.igm0 *= 0.9
            self.iga0 *= 0.6
        self.igm_fall = 0.0
        self.igg_fall_per_year = 0.0

        self.patient()
        if self.is_k:
            self.anti_cd20()
        elif self.is_d:
            self.igm_deficiency()
        else:
            self.other_archetype()
        if self.igrt_start is not None:
            self.plan_igrt()
        self.background()
        self.infections()
        if self.igrt_start is not None:
            self.igrt_records()
        self.panels()
        self.b_cells()
        self.vaccines()
        self.dirty_extras()

    # -- Patient -----------------------------------------------------------------------------

    def patient(self) -> None:
        rng = self.rng
        given = rng.choice(c.GIVEN_NAMES_F if self.sex == "female" else c.GIVEN_NAMES_M)
        family = rng.choice(c.FAMILY_NAMES)
        self.emit(
            {
                "resourceType": "Patient",
                "id": self.pid,
                "identifier": [{"system": c.MRN_SYSTEM, "value": f"MRN{rng.randrange(10**7, 10**8)}"}],
                "name": [{"family": family, "given": [given]}],
                "gender": self.sex,
                "birthDate": self.birth.isoformat(),
            }
        )

    # -- archetypes --------------------------------------------------------------------------

    def anti_cd20(self) -> None:
        rng, r = self.rng, self.r
        agent_name = self.archetype
        model = r.agents[agent_name]
        approved = date.fromisoformat(model.approved)
        earliest = max(approved, self.as_of - timedelta(days=int(r.max_therapy_years * YEAR)))
        status = "current"
        x = rng.random()
        if x < r.share_starting:
            status = "starting"
        elif x < r.share_starting + r.share_discontinued:
            status = "discontinued"
        if (
            agent_name == "ofatumumab"
            and status != "starting"
            and self.chance(r.share_switch_ocr_to_ofa_of_ofa)
        ):
            ocr = r.agents["ocrelizumab"]
            ocr_start = max(date.fromisoformat(ocr.approved), self.as_of - timedelta(days=int(6 * YEAR)))
            ocr_start = ocr_start + timedelta(days=rng.randrange(0, 400))
            ocr_stop = min(
                ocr_start + timedelta(days=rng.randrange(200, 1200)), self.as_of - timedelta(days=200)
            )
            if ocr_stop > ocr_start:
                self.therapies.append(_Therapy("ocrelizumab", ocr, ocr_start, ocr_stop))
                earliest = max(earliest, ocr_stop + timedelta(days=rng.randrange(30, 180)))
        span = max((self.as_of - earliest).days, 30)
        if status == "starting":
            start = self.as_of + timedelta(days=rng.randrange(7, 45))
            self.therapies.append(_Therapy(agent_name, model, start, None, planned=True))
        else:
            # recent starts are over-represented a little: a growing treated population
            start = earliest + timedelta(days=int(span * (1 - rng.random() ** 1.3)))
            start = min(start, self.as_of - timedelta(days=14))
            stop: date | None = None
            if status == "discontinued":
                stop = start + timedelta(days=int((self.as_of - start).days * rng.uniform(0.2, 0.95)))
                stop = min(stop, self.as_of - timedelta(days=30))
                if stop <= start:
                    stop = None
            self.therapies.append(_Therapy(agent_name, model, start, stop))
        self.igm_fall = min(0.9, max(0.05, rng.gauss(model.igm_fall_168w, model.igm_fall_sd)))
        self.igg_fall_per_year = max(0.0, rng.gauss(model.igg_fall_per_year, model.igg_fall_sd))
        if self.chance(r.share_fast_igg_fall):
            self.igg_fall_per_year = r.fast_igg_fall_per_year * rng.uniform(0.7, 1.5)
        first = self.therapies[0]
        self.history_start = min(self.history_start, first.start - timedelta(days=int(rng.uniform(200, 700))))
        self.monitor_start = first.start - timedelta(days=rng.randrange(7, 170))
        self.baseline = self.chance(r.share_baseline_panel)
        # indication
        if agent_name == "rituximab":
            indication = _weighted(rng, c.RITUXIMAB_INDICATIONS)
        else:
            indication = c.RRMS if self.chance(r.share_relapsing_ms) else c.MS
        self.condition(
            indication, self.history_start - timedelta(days=rng.randrange(100, 3000)), problem=True
        )
        if (agent_name != "rituximab" or indication[0] == "24700007") and self.chance(0.35):
            self.drug_course(rng.choice(c.MS_SYMPTOMATIC), self.history_start, None)
        for therapy in self.therapies:
            self.therapy_records(therapy)
        if self.chance(r.share_igrt_anti_cd20) and not first.planned:
            self.igrt_start = max(
                first.start + timedelta(days=120), self.as_of - timedelta(days=rng.randrange(60, 900))
            )
            if self.igrt_start >= self.as_of - timedelta(days=30):
                self.igrt_start = self.as_of - timedelta(days=60)
            # replacement on anti-CD20 is mostly for secondary hypogammaglobulinaemia
            self.igg0 = min(self.igg0, rng.uniform(*r.igrt_k_baseline_igg))
            self.igg_fall_per_year = r.fast_igg_fall_per_year * rng.uniform(0.7, 1.5)
        if self.chance(r.share_autoimmune_other):
            self.condition(rng.choice(c.AUTOIMMUNE), self.history_start, problem=True)

    def therapy_records(self, therapy: _Therapy) -> None:
        rng, r = self.rng, self.r
        model = therapy.model
        text_only = self.chance(r.share_therapy_text_only)

        def drug() -> dict[str, Any]:
            if text_only:
                return {"text": model.product_text}
            return _concept(c.RXNORM, model.rxnorm, model.display, model.product_text)

        if therapy.planned:
            intent_plan = self.chance(0.6)
            self.emit(
                {
                    "resourceType": "MedicationRequest",
                    "id": self.new_id("mr"),
                    "status": "active" if intent_plan else "draft",
                    "intent": "plan" if intent_plan else "order",
                    "medicationCodeableConcept": drug(),
                    "subject": self.subject,
                    "authoredOn": self.days_before(1, 20).isoformat(),
                    "dosageInstruction": [
                        {
                            "text": "as directed",
                            "timing": {"repeat": {"boundsPeriod": {"start": therapy.start.isoformat()}}},
                        }
                    ],
                }
            )
            return
        end = therapy.stop
        if model.interval_weeks <= 4:
            if self.chance(r.share_therapy_statement):
                # recorded at medication reconciliation, not prescribed here
                period: dict[str, str] = {"start": therapy.start.isoformat()}
                if end is not None:
                    period["end"] = end.isoformat()
                self.emit(
                    {
                        "resourceType": "MedicationStatement",
                        "id": self.new_id("ms"),
                        "status": "active" if end is None else "stopped",
                        "medicationCodeableConcept": drug(),
                        "subject": self.subject,
                        "effectivePeriod": period,
                        "dateAsserted": min(self.as_of, therapy.start + timedelta(days=30)).isoformat(),
                        "dosage": [
                            {
                                "text": "20 mg subcutaneously every 4 weeks",
                                "route": _concept(c.SNOMED, *c.ROUTE_SC),
                            }
                        ],
                    }
                )
                return
            # self-injected monthly: yearly prescriptions
            period_start = therapy.start
            limit = end or self.as_of
            while period_start <= limit:
                period_end = period_start + timedelta(days=365)
                last = period_end >= limit
                status = "active" if last and end is None else ("stopped" if last else "completed")
                bounds: dict[str, str] = {"start": period_start.isoformat()}
                if status != "active":
                    bounds["end"] = (end if last and end else period_end).isoformat()
                self.emit(
                    {
                        "resourceType": "MedicationRequest",
                        "id": self.new_id("mr"),
                        "status": status,
                        "intent": "order",
                        "medicationCodeableConcept": drug(),
                        "subject": self.subject,
                        "authoredOn": period_start.isoformat(),
                        "dosageInstruction": [
                            {
                                "text": "20 mg subcutaneously every 4 weeks",
                                "timing": {
                                    "repeat": {
                                        "boundsPeriod": bounds,
                                        "frequency": 1,
                                        "period": 4,
                                        "periodUnit": "wk",
                                    }
                                },
                                "route": _concept(c.SNOMED, *c.ROUTE_SC),
                            }
                        ],
                    }
                )
                period_start = period_end + timedelta(days=1)
            return
        # infusions every ~6 months
        day = therapy.start
        limit = end or self.as_of
        first = True
        while day <= limit:
            self.emit(
                {
                    "resourceType": "MedicationAdministration",
                    "id": self.new_id("ma"),
                    "status": "completed",
                    "medicationCodeableConcept": drug(),
                    "subject": self.subject,
                    "effectiveDateTime": _dt(day, 540 + rng.randrange(0, 300)),
                    "dosage": {
                        "route": _concept(c.SNOMED, *c.ROUTE_IV),
                        "dose": _q(
                            300
                            if first and therapy.agent == "ocrelizumab"
                            else 600
                            if therapy.agent == "ocrelizumab"
                            else 1000,
                            "mg",
                        ),
                    },
                }
            )
            first = False
            day = day + timedelta(days=model.interval_weeks * 7 + rng.randrange(-10, 25))
        request: Resource = {
            "resourceType": "MedicationRequest",
            "id": self.new_id("mr"),
            "status": "active" if end is None else "stopped",
            "intent": "order",
            "medicationCodeableConcept": drug(),
            "subject": self.subject,
            "authoredOn": therapy.start.isoformat(),
            "dosageInstruction": [
                {
                    "text": "intravenous infusion every 6 months",
                    "timing": {
                        "repeat": {
                            "boundsPeriod": {
                                "start": therapy.start.isoformat(),
                                **({"end": end.isoformat()} if end else {}),
                            },
                            "frequency": 1,
                            "period": 6,
                            "periodUnit": "mo",
                        }
                    },
                }
            ],
        }
        self.emit(request)

    def igm_deficiency(self) -> None:
        rng, r = self.rng, self.r
        self.igm0 = max(3.0, r.igm_deficient_median * math.exp(rng.gauss(0, r.igm_deficient_log_sd)))
        self.igm0 = min(self.igm0, self.igm_lln * 0.85)
        self.igg0 = max(self.igg0, 760.0)
        self.iga0 = max(self.iga0, 95.0)
        self.frailty *= 1.3
        diagnosed = self.archetype == "igm-deficiency-confirmed"
        self.history_start = self.as_of - timedelta(days=int(rng.uniform(2.5, 6) * YEAR))
        self.monitor_start = self.history_start + timedelta(days=rng.randrange(0, 200))
        self.baseline = True
        if diagnosed:
            dx_day = self.monitor_start + timedelta(days=rng.randrange(30, 400))
            self.condition(c.IGM_DEFICIENCY, min(dx_day, self.as_of - timedelta(days=20)), problem=True)
            if self.chance(r.share_specific_antibody_dx_d):
                self.condition(
                    (None, None, *c.SPECIFIC_ANTIBODY_DEFICIENCY_ICD),
                    min(dx_day + timedelta(days=60), self.as_of),
                    problem=True,
                )
            if self.chance(r.share_igrt_igm_deficiency):
                self.igrt_start = self.as_of - timedelta(days=int(rng.uniform(120, 4 * YEAR)))
        if self.chance(r.share_autoimmune_d):
            self.condition(
                rng.choice(c.AUTOIMMUNE),
                self.history_start - timedelta(days=rng.randrange(0, 2000)),
                problem=True,
            )
        if self.chance(r.share_atopy_d):  # D-2
            self.condition(c.BACKGROUND_CONDITIONS[7], self.history_start, problem=True)

    def other_archetype(self) -> None:
        rng = self.rng
        arche = self.archetype
        self.monitor_start = None
        self.baseline = False
        if arche == "ms-other-dmt":
            self.condition(
                c.RRMS, self.history_start - timedelta(days=rng.randrange(100, 3000)), problem=True
            )
            self.drug_course(rng.choice(c.OTHER_DMT), self.history_start, None)
            if self.chance(0.3):
                self.monitor_start = self.history_start + timedelta(days=rng.randrange(0, 300))
        elif arche == "obinutuzumab-low-igm":
            self.condition(c.CLL, self.history_start - timedelta(days=rng.randrange(100, 2000)), problem=True)
            start = self.history_start + timedelta(days=rng.randrange(30, 300))
            for k in range(6):
                day = start + timedelta(days=28 * k)
                if day > self.as_of:
                    break
                self.emit(
                    {
                        "resourceType": "MedicationAdministration",
                        "id": self.new_id("ma"),
                        "status": "completed",
                        "medicationCodeableConcept": _concept(c.RXNORM, *c.OBINUTUZUMAB),
                        "subject": self.subject,
                        "effectiveDateTime": _dt(day, 600),
                        "dosage": {"route": _concept(c.SNOMED, *c.ROUTE_IV), "dose": _q(1000, "mg")},
                    }
                )
            self.igm0 = rng.uniform(8, 28)
            self.monitor_start = start + timedelta(days=rng.randrange(100, 400))
        elif arche == "itp-ivig":
            self.condition(c.ITP, self.history_start, problem=True)
            day = self.days_before(20, 700)
            # weighed for the dose on the day (which also tells igwatch the dose is 1 g/kg)
            self.vital(c.WEIGHT, day, 590, _q(round(self.weight_kg, 1), "kg"), None)
            for k in range(2):  # 1 g/kg on two consecutive days: immunomodulatory
                self.emit(
                    {
                        "resourceType": "MedicationAdministration",
                        "id": self.new_id("ma"),
                        "status": "completed",
                        "medicationCodeableConcept": {"text": rng.choice(c.IVIG_PRODUCTS)},
                        "subject": self.subject,
                        "effectiveDateTime": _dt(day + timedelta(days=k), 600),
                        "dosage": {
                            "route": _concept(c.SNOMED, *c.ROUTE_IV),
                            "dose": _q(float(round(self.weight_kg)), "g"),
                        },
                    }
                )
        elif arche == "secondary-low-igg":
            self.condition(c.HYPOGAMMA if self.chance(0.5) else c.CLL, self.history_start, problem=True)
            self.igg0 = rng.uniform(430, 660)
            self.igm0 = max(self.igm0, 70.0)
            self.iga0 = max(self.iga0, 90.0)
            self.monitor_start = self.history_start + timedelta(days=rng.randrange(0, 300))
        elif arche == "checked-normal-panel":
            self.igm0 = max(self.igm0, 60.0)
            self.monitor_start = self.days_before(30, 900)
        if self.chance(self.r.share_autoimmune_other):
            self.condition(rng.choice(c.AUTOIMMUNE), self.history_start, problem=True)

    # -- immunoglobulin levels ---------------------------------------------------------------

    def exposure_years(self, day: date) -> tuple[float, float]:
        """Years on anti-CD20 up to ``day`` and years since stopping (0 while on it)."""
        on = 0.0
        since_stop = 0.0
        for therapy in self.therapies:
            if therapy.planned or therapy.start >= day:
                continue
            end = therapy.stop if therapy.stop is not None and therapy.stop < day else day
            on += (end - therapy.start).days / YEAR
            since_stop = (
                (day - therapy.stop).days / YEAR if therapy.stop is not None and therapy.stop < day else 0.0
            )
        return on, since_stop

    def ig_levels(self, day: date) -> tuple[float, float, float]:
        rng, r = self.rng, self.r
        on, since = self.exposure_years(day)
        recovery = math.exp(-since / RECOVERY_TAU_YEARS) if since > 0 else 1.0
        shape = (1 - math.exp(-on / IGM_FALL_TAU_YEARS)) / (
            1 - math.exp(-WEEK_168_YEARS / IGM_FALL_TAU_YEARS)
        )
        igm = self.igm0 * (1 - min(0.95, self.igm_fall * shape) * recovery)
        igg = self.igg0 - self.igg_fall_per_year * on * recovery
        iga = self.iga0 * (1 - 0.12 * min(1.0, shape) * recovery)
        if self.igrt_start is not None and day >= self.igrt_start + timedelta(days=60):
            stopped = self.igrt_stop is not None and day > self.igrt_stop + timedelta(days=60)
            if not stopped:
                igg = max(igg, 60.0) * r.igrt_endogenous_fraction + self.igrt_increment
        cv = r.measurement_cv

        def noisy(v: float) -> float:
            return max(1.0, v * math.exp(rng.gauss(0, cv)))

        return noisy(max(igg, 60.0)), noisy(igm), noisy(iga)

    # -- labs --------------------------------------------------------------------------------

    def lab(
        self,
        loinc: tuple[str, str, str] | tuple[str, str],
        day: date,
        minutes: int,
        value_q: dict[str, Any] | None,
        reference: dict[str, Any] | None = None,
        *,
        extra: dict[str, Any] | None = None,
    ) -> Resource:
        text = loinc[-1]
        resource: Resource = {
            "resourceType": "Observation",
            "id": self.new_id("ob"),
            "status": "final",
            "category": _LAB,
            "code": _concept(c.LOINC, loinc[0], loinc[1], text),
            "subject": self.subject,
            "effectiveDateTime": _dt(day, minutes),
        }
        if value_q is not None:
            resource["valueQuantity"] = value_q
        if reference is not None:
            resource["referenceRange"] = [reference]
        if extra:
            resource.update(extra)
        return self.emit(resource)

    def child_on(self, day: date) -> bool:
        return (day - self.birth).days < 18 * YEAR + 2

    def ig_quantity(
        self, analyte: str, mg_dl: float, day: date
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The quantity as this patient's lab reports it; pediatric labs always send their range."""
        style = self.unit_style
        low, high = {"igg": (700.0, 1600.0), "igm": (self.igm_lln, 230.0), "iga": (70.0, 400.0)}[analyte]
        if self.child_on(day):
            low, high = {"igg": (540.0, 1360.0), "igm": (30.0, 190.0), "iga": (40.0, 250.0)}[analyte]
        if style == "g/L" or (style == "mg/L-igm" and analyte != "igm"):
            q = _q(round(mg_dl / 100, 2), "g/L")
            ref = {"low": _q(round(low / 100, 2), "g/L"), "high": _q(round(high / 100, 2), "g/L")}
        elif style == "mg/L-igm":
            q = _q(round(mg_dl * 10), "mg/L")
            ref = {"low": _q(int(low * 10), "mg/L"), "high": _q(int(high * 10), "mg/L")}
        else:
            q = _q(round(mg_dl), "mg/dL")
            ref = {"low": _q(int(low), "mg/dL"), "high": _q(int(high), "mg/dL")}
        return q, ref if self.has_ranges or self.child_on(day) else None

    def panel(self, day: date, igm_only: bool = False) -> None:
        igg, igm, iga = self.ig_levels(day)
        minutes = 420 + self.rng.randrange(0, 600)
        analytes = (
            (("igm", c.IGM, igm),)
            if igm_only
            else (("igg", c.IGG, igg), ("igm", c.IGM, igm), ("iga", c.IGA, iga))
        )
        for name, loinc, value in analytes:
            q, ref = self.ig_quantity(name, value, day)
            obs = self.lab(loinc, day, minutes, q, ref)
            self.maybe_dirty_lab(obs, name)

    def maybe_dirty_lab(self, obs: Resource, analyte: str) -> None:
        r = self.r
        x = self.rng.random()
        if x < r.share_unit_missing:
            q = obs["valueQuantity"]
            obs["valueQuantity"] = {"value": q["value"]}
            self.tag_dirty(obs, "unit-missing")
        elif x < r.share_unit_missing + r.share_implausible_value:
            q = obs["valueQuantity"]
            mg_dl = {"g/L": 100.0, "mg/L": 0.1}.get(q["unit"], 1.0) * q["value"]
            # a result in ug/dL sent as mg/dL: a thousand times too high
            obs["valueQuantity"] = _q(int(mg_dl * 1000), "mg/dL")
            self.tag_dirty(obs, "implausible")
        elif x < r.share_unit_missing + r.share_implausible_value + r.share_entered_in_error_duplicate:
            copy = dict(obs, id=self.new_id("ob"), status="entered-in-error")
            self.tag_dirty(copy, "entered-in-error")
            self.emit(copy)
        elif (
            x
            < r.share_unit_missing
            + r.share_implausible_value
            + r.share_entered_in_error_duplicate
            + r.share_exact_duplicate
        ):
            self.emit(obs)  # the same record sent twice (same id)

    def panels(self) -> None:
        rng, r = self.rng, self.r
        if self.monitor_start is None:
            return
        interval = _weighted(rng, r.panel_interval_months)
        lapse = self.chance(r.share_panel_lapsed)
        day = self.monitor_start
        if self.is_k and not self.baseline:
            first = self.therapies[0]
            day = first.start + timedelta(days=rng.randrange(60, 400))
        stop = self.as_of
        if lapse:
            stop = self.as_of - timedelta(days=int(rng.uniform(200, 900)))
        if self.archetype == "checked-normal-panel":
            stop = min(stop, day + timedelta(days=rng.randrange(0, 400)))
        # Some clinicians follow IgM alone after a first full panel; a low IgM found that way in
        # a patient never fully tested is the "suspected" deficiency with IgG unknown.
        igm_follow_up = self.chance(r.share_igm_only_panel)
        igm_from_start = igm_follow_up and self.archetype == "igm-deficiency-suspected"
        count = 0
        while day <= stop:
            self.panel(day, igm_only=igm_from_start or (igm_follow_up and count > 0))
            count += 1
            day = day + timedelta(
                days=int(interval * 30.4) + rng.randrange(-r.panel_jitter_days, r.panel_jitter_days + 1)
            )
            if self.archetype == "checked-normal-panel" and count >= 2:
                break

    def b_cells(self) -> None:
        rng, r = self.rng, self.r
        if not self.therapies:
            return
        last = self.therapies[-1]
        if last.planned:
            return
        units_109 = self.unit_style == "g/L"
        if last.stop is None:
            if self.chance(r.share_cd19_on_therapy):
                day = self.days_before(10, 400)
                self.cd19(day, rng.uniform(0, 6))
            return
        if not self.chance(r.share_cd19_after_stop):
            return
        repletion = last.stop + timedelta(
            weeks=last.model.repletion_median_weeks * math.exp(rng.gauss(0, 0.4))
        )
        day = last.stop + timedelta(days=rng.randrange(60, 200))
        while day <= self.as_of:
            if day >= repletion:
                value = r.cd19_repleted_median * math.exp(rng.gauss(0, 0.35))
            else:
                fraction = (day - last.stop).days / max(1, (repletion - last.stop).days)
                value = max(0.0, 75 * fraction**2 + rng.gauss(0, 4))
            self.cd19(day, value, units_109)
            day = day + timedelta(days=rng.randrange(90, 240))

    def cd19(self, day: date, per_ul: float, units_109: bool = False) -> None:
        q = _q(round(per_ul / 1000, 3), "10*9/L") if units_109 else _q(round(per_ul), "cells/uL", "/uL")
        ref = (
            {"low": _q(0.08, "10*9/L") if units_109 else _q(80, "cells/uL", "/uL")}
            if self.has_ranges
            else None
        )
        minutes = 480 + self.rng.randrange(0, 300)
        self.lab(c.CD19_ABS, day, minutes, q, ref)
        self.lab(c.CD19_PCT, day, minutes, _q(round(min(30.0, per_ul / 20), 1), "%"))

    # -- conditions --------------------------------------------------------------------------

    def condition(
        self,
        concept: tuple[str | None, str | None, str, str],
        onset: date,
        *,
        problem: bool,
    ) -> Resource:
        snomed, snomed_display, icd, icd_display = concept
        codings = []
        if snomed is not None and snomed_display is not None:
            codings.append(_coding(c.SNOMED, snomed, snomed_display))
        codings.append(_coding(c.ICD10, icd, icd_display))
        onset = min(onset, self.as_of)
        return self.emit(
            {
                "resourceType": "Condition",
                "id": self.new_id("co"),
                "clinicalStatus": _CLINICAL_ACTIVE,
                "verificationStatus": _CONFIRMED,
                "category": _PROBLEM if problem else _DIAGNOSIS,
                "code": {"coding": codings, "text": snomed_display or icd_display},
                "subject": self.subject,
                "onsetDateTime": onset.isoformat(),
                "recordedDate": onset.isoformat(),
            }
        )

    # -- infections --------------------------------------------------------------------------

    def infection_rate(self, day: date) -> float:
        r = self.r
        if self.is_d:
            rate = r.infection_rate_igm_deficiency
        elif self.is_k and any(not t.planned and t.start < day for t in self.therapies):
            rate = r.infection_rate_anti_cd20
        else:
            rate = r.infection_rate_general
        if self.archetype in ("secondary-low-igg", "obinutuzumab-low-igm"):
            rate *= r.infection_rate_multiplier_igg_low
        igg, igm, _ = self.ig_levels(day)
        if igm < self.igm_lln:
            rate *= r.infection_rate_multiplier_igm_low
        if igg < 400:
            rate *= r.infection_rate_multiplier_igg_severe
        elif igg < 700:
            rate *= r.infection_rate_multiplier_igg_low
        if self.igrt_start is not None and day >= self.igrt_start:
            rate *= r.infection_rate_multiplier_on_igrt
        return rate * self.frailty

    def infections(self) -> None:
        rng, r = self.rng, self.r
        years = r.infection_history_years
        onsets: list[date] = []
        for slice_index in range(math.ceil(years * 2)):
            # half-year slices: the rate follows the immunoglobulins
            slice_end = self.as_of - timedelta(days=int(slice_index * YEAR / 2))
            slice_start = slice_end - timedelta(days=int(YEAR / 2))
            mid = slice_start + (slice_end - slice_start) / 2
            count = _poisson(rng, self.infection_rate(mid) / 2)
            for _ in range(count):
                onsets.append(
                    slice_start + timedelta(days=rng.randrange(0, (slice_end - slice_start).days + 1))
                )
        if self.igrt_start is not None:
            # the reason replacement was started: two serious bacterial infections before it
            for k in range(2):
                onsets.append(self.igrt_start - timedelta(days=rng.randrange(30 + 120 * k, 150 + 120 * k)))
        onsets = sorted(d for d in onsets if d <= self.as_of)
        for onset in onsets:
            self.infection(onset, forced_serious=self.igrt_start is not None and onset < self.igrt_start)
        recent = [d for d in onsets if d >= self.as_of - timedelta(days=int(2 * YEAR))]
        recurrent = (self.is_k or self.is_d) and self.igrt_start is None and len(recent) >= 2
        if recurrent and self.chance(r.share_prophylaxis_recurrent):
            self.prophylaxis(recent[1] + timedelta(days=rng.randrange(20, 60)))

    def prophylaxis(self, start: date) -> None:
        rng = self.rng
        if start >= self.as_of:
            return
        drug = rng.choice(("azithromycin", "smx-tmp", "amoxicillin"))
        rxnorm, display, _ = c.ANTIBIOTICS[drug]
        months = rng.randrange(3, 18)
        end = start + timedelta(days=int(months * 30.4))
        bounds: dict[str, str] = {"start": start.isoformat()}
        if end <= self.as_of:
            bounds["end"] = end.isoformat()
        self.emit(
            {
                "resourceType": "MedicationRequest",
                "id": self.new_id("mr"),
                "status": "completed" if end <= self.as_of else "active",
                "intent": "order",
                "medicationCodeableConcept": _concept(c.RXNORM, rxnorm, display),
                "subject": self.subject,
                "authoredOn": start.isoformat(),
                "reasonCode": [{"text": "prophylaxis of recurrent respiratory infections"}],
                "dosageInstruction": [
                    {
                        "text": f"{display}: prophylaxis, three times a week",
                        "timing": {
                            "repeat": {
                                "boundsPeriod": bounds,
                                "frequency": 3,
                                "period": 1,
                                "periodUnit": "wk",
                            }
                        },
                    }
                ],
            }
        )

    def infection(self, onset: date, forced_serious: bool = False) -> None:
        rng, r = self.rng, self.r
        kind = "pneumococcal-pneumonia" if forced_serious else _weighted(rng, r.infection_mix)
        spec = c.INFECTIONS[kind]
        severity_index = _weighted(rng, list(zip(range(4), spec.severity, strict=True)))
        inpatient = rng.random() < spec.inpatient_share or (severity_index >= 3 and rng.random() < 0.9)
        duration = rng.randrange(spec.duration_days[0], spec.duration_days[1] + 1)
        abatement = onset + timedelta(days=duration)
        active = abatement > self.as_of
        stale = not active and self.chance(r.share_stale_active)
        # the encounter that diagnosed it
        encounter_class = "IMP" if inpatient else ("EMER" if severity_index >= 2 else "AMB")
        encounter_id = self.new_id("en")
        period: dict[str, str] = {"start": _dt(onset, 600 + rng.randrange(0, 480))}
        if inpatient:
            discharge = onset + timedelta(days=rng.randrange(2, 12))
            if discharge <= self.as_of:
                period["end"] = _dt(discharge, 660)
        else:
            period["end"] = _dt(onset, 1100)
        encounter: Resource = {
            "resourceType": "Encounter",
            "id": encounter_id,
            "status": "finished" if "end" in period else "in-progress",
            "class": _CLASSES[encounter_class],
            "subject": self.subject,
            "period": period,
        }
        self.emit(encounter)
        coding_style = rng.random()
        codings = []
        if coding_style < 0.8:
            codings.append(_coding(c.SNOMED, *spec.snomed))
        if coding_style >= 0.6:
            codings.append(_coding(c.ICD10, *spec.icd10))
        condition: Resource = {
            "resourceType": "Condition",
            "id": self.new_id("co"),
            "clinicalStatus": _CLINICAL_ACTIVE if active or stale else _CLINICAL_RESOLVED,
            "verificationStatus": _CONFIRMED,
            "category": _DIAGNOSIS,
            "code": {"coding": codings, "text": spec.snomed[1]},
            "subject": self.subject,
            "encounter": {"reference": f"Encounter/{encounter_id}"},
            "onsetDateTime": onset.isoformat(),
            "recordedDate": onset.isoformat(),
        }
        if not (active or stale):
            condition["abatementDateTime"] = abatement.isoformat()
        if rng.random() < r.share_severity_coded or forced_serious:
            condition["severity"] = _concept(
                c.SNOMED, *c.SEVERITY[max(severity_index, 2 if forced_serious else 0)]
            )
        organism = spec.organism
        if kind == "pneumonia" and self.chance(r.share_pneumonia_organism):
            picked = _weighted(rng, r.pneumonia_organisms)
            organism = picked if picked != "other" else rng.choice(("saureus", "kpn"))
            if self.chance(0.5):
                condition["evidence"] = [{"code": [_concept(c.SNOMED, *c.ORGANISMS[organism])]}]
                organism = None  # named already
        elif kind in ("uti", "pyelonephritis") and self.chance(0.4):
            organism = "ecoli"
        if (
            organism is not None
            and organism in c.ORGANISMS
            and (kind not in ("pneumococcal-pneumonia",) or self.chance(0.3))
        ):
            culture = self.lab(
                c.CULTURE,
                onset,
                700,
                None,
                extra={"valueCodeableConcept": _concept(c.SNOMED, *c.ORGANISMS[organism])},
            )
            condition.setdefault("evidence", []).append(
                {"detail": [{"reference": f"Observation/{culture['id']}"}]}
            )
        bacterial = spec.bacterial or organism is not None or "evidence" in condition
        if bacterial and self.chance(r.share_flagged_insufficient):
            condition["extension"] = [{"url": c.ANTIBIOTIC_RESPONSE_URL, "valueCode": "insufficient"}]
        if self.chance(r.share_undated_infection):
            del condition["onsetDateTime"]
            del condition["recordedDate"]
            condition.pop("abatementDateTime", None)
            self.tag_dirty(condition, "undated")
        self.emit(condition)
        if self.chance(r.share_coded_twice):
            twin = dict(condition, id=self.new_id("co"))
            twin["recordedDate"] = min(onset + timedelta(days=rng.randrange(1, 6)), self.as_of).isoformat()
            twin.pop("encounter", None)
            if "onsetDateTime" in twin:
                twin["onsetDateTime"] = twin["recordedDate"]
            self.emit(twin)
        # antibiotics
        first_line = c.FIRST_LINE.get(kind)
        if first_line and rng.random() < spec.antibiotic_share:
            drug = rng.choice(first_line)
            self.antibiotic(drug, onset, condition["id"])
            if bacterial and self.chance(r.share_second_course) and onset + timedelta(days=5) <= self.as_of:
                second = rng.choice([d for d in c.SECOND_LINE if d != drug])
                self.antibiotic(second, onset + timedelta(days=rng.randrange(4, 9)), condition["id"])

    def antibiotic(
        self, drug: str, start: date, condition_id: str | None, *, prophylaxis: bool = False
    ) -> None:
        rxnorm, display, days = c.ANTIBIOTICS[drug]
        end = start + timedelta(days=days)
        request: Resource = {
            "resourceType": "MedicationRequest",
            "id": self.new_id("mr"),
            "status": "completed" if end <= self.as_of else "active",
            "intent": "order",
            "medicationCodeableConcept": _concept(c.RXNORM, rxnorm, display),
            "subject": self.subject,
            "authoredOn": start.isoformat(),
            "dosageInstruction": [
                {
                    "text": display,
                    "timing": {
                        "repeat": {
                            "boundsPeriod": {"start": start.isoformat(), "end": end.isoformat()},
                            "frequency": 2,
                            "period": 1,
                            "periodUnit": "d",
                        }
                    },
                }
            ],
        }
        if condition_id is not None:
            request["reasonReference"] = [{"reference": f"Condition/{condition_id}"}]
        self.emit(request)

    # -- immune globulin replacement ---------------------------------------------------------

    def plan_igrt(self) -> None:
        rng, r = self.rng, self.r
        start = self.igrt_start
        assert start is not None
        self.igrt_increment = rng.uniform(*r.igrt_trough_increment)
        if self.chance(r.share_igrt_stopped):
            self.igrt_stop = start + timedelta(days=int((self.as_of - start).days * rng.uniform(0.4, 0.95)))
        self.igrt_route = "SC" if self.chance(r.share_igrt_sc) else "IV"

    def igrt_records(self) -> None:
        rng, r = self.rng, self.r
        start = self.igrt_start
        assert start is not None
        dose_g = max(5, int(round(0.4 * self.weight_kg / 5) * 5))
        end = self.igrt_stop or self.as_of
        if self.igrt_route == "IV":
            product = rng.choice(c.IVIG_PRODUCTS)
            day = start
            while day <= end:
                dosage: dict[str, Any] = {"route": _concept(c.SNOMED, *c.ROUTE_IV)}
                if not self.chance(r.share_igrt_dose_missing):
                    dosage["dose"] = _q(dose_g, "g")
                self.emit(
                    {
                        "resourceType": "MedicationAdministration",
                        "id": self.new_id("ma"),
                        "status": "completed",
                        "medicationCodeableConcept": {"text": product},
                        "subject": self.subject,
                        "effectiveDateTime": _dt(day, 540),
                        "dosage": dosage,
                    }
                )
                if self.chance(r.share_weight_at_infusion):
                    self.vital(c.WEIGHT, day, 530, _q(round(self.weight_kg + rng.gauss(0, 1), 1), "kg"), None)
                if day >= start + timedelta(days=90) and self.chance(r.share_trough_at_infusion):
                    self.trough(day)
                day = day + timedelta(days=28 + rng.randrange(-3, 4))
        else:
            weekly = max(2, round(dose_g / 4))
            bounds: dict[str, str] = {"start": start.isoformat()}
            if self.igrt_stop is not None:
                bounds["end"] = self.igrt_stop.isoformat()
            self.emit(
                {
                    "resourceType": "MedicationRequest",
                    "id": self.new_id("mr"),
                    "status": "active" if self.igrt_stop is None else "stopped",
                    "intent": "order",
                    "medicationCodeableConcept": {"text": rng.choice(c.SCIG_PRODUCTS)},
                    "subject": self.subject,
                    "authoredOn": start.isoformat(),
                    "dosageInstruction": [
                        {
                            "text": f"{weekly} g subcutaneously once weekly",
                            "timing": {
                                "repeat": {
                                    "boundsPeriod": bounds,
                                    "frequency": 1,
                                    "period": 1,
                                    "periodUnit": "wk",
                                }
                            },
                            "route": _concept(c.SNOMED, *c.ROUTE_SC),
                            "doseAndRate": [{"doseQuantity": _q(weekly, "g")}],
                        }
                    ],
                }
            )
            day = start + timedelta(days=rng.randrange(90, 150))
            while day <= end:
                self.trough(day)
                day = day + timedelta(days=rng.randrange(60, 180))

    def trough(self, day: date) -> None:
        igg, _, _ = self.ig_levels(day)
        q, ref = self.ig_quantity("igg", igg, day)
        self.lab(c.IGG, day, 480, q, ref)

    # -- background --------------------------------------------------------------------------

    def drug_course(self, drug: tuple[str, str], start: date, end: date | None) -> None:
        self.emit(
            {
                "resourceType": "MedicationRequest",
                "id": self.new_id("mr"),
                "status": "active" if end is None else "completed",
                "intent": "order",
                "medicationCodeableConcept": _concept(c.RXNORM, drug[0], drug[1]),
                "subject": self.subject,
                "authoredOn": start.isoformat(),
                "dosageInstruction": [{"text": drug[1] + " as directed"}],
            }
        )

    def background(self) -> None:
        rng, r = self.rng, self.r
        span_days = (self.as_of - self.history_start).days
        # visits with vital signs
        n_visits = max(1, _poisson(rng, r.visits_per_year * span_days / YEAR))
        visit_days = sorted(
            self.history_start + timedelta(days=rng.randrange(0, span_days + 1)) for _ in range(n_visits)
        )
        pounds = self.chance(r.share_weight_in_pounds)
        weight = self.weight_kg
        for k, day in enumerate(visit_days):
            enc_id = self.new_id("en")
            minutes = 480 + rng.randrange(0, 540)
            self.emit(
                {
                    "resourceType": "Encounter",
                    "id": enc_id,
                    "status": "finished",
                    "class": _CLASSES["AMB"],
                    "subject": self.subject,
                    "period": {"start": _dt(day, minutes), "end": _dt(day, minutes + 30)},
                }
            )
            encounter = {"reference": f"Encounter/{enc_id}"}
            weight = max(10.0, weight + rng.gauss(0, 1.2))
            wq = _q(round(weight * 2.20462, 1), "lb", "[lb_av]") if pounds else _q(round(weight, 1), "kg")
            self.vital(c.WEIGHT, day, minutes, wq, encounter)
            if k == 0 or self.child or self.chance(0.25):
                hq = (
                    _q(round(self.height_cm / 2.54, 1), "in", "[in_i]")
                    if pounds
                    else _q(round(self.height_cm, 1), "cm")
                )
                self.vital(c.HEIGHT, day, minutes, hq, encounter)
                self.vital(
                    c.BMI,
                    day,
                    minutes,
                    _q(round(weight / (self.height_cm / 100) ** 2, 1), "kg/m2"),
                    encounter,
                )
            systolic = int(rng.gauss(124, 14))
            self.vital(
                c.BP_PANEL,
                day,
                minutes,
                None,
                encounter,
                components=[
                    {"code": _concept(c.LOINC, *c.SYSTOLIC), "valueQuantity": _q(systolic, "mmHg", "mm[Hg]")},
                    {
                        "code": _concept(c.LOINC, *c.DIASTOLIC),
                        "valueQuantity": _q(int(systolic * 0.64 + rng.gauss(0, 6)), "mmHg", "mm[Hg]"),
                    },
                ],
            )
            self.vital(c.HEART_RATE, day, minutes, _q(int(rng.gauss(74, 10)), "/min"), encounter)
        # other labs
        n_draws = _poisson(rng, r.background_lab_draws_per_year * span_days / YEAR)
        for _ in range(n_draws):
            day = self.history_start + timedelta(days=rng.randrange(0, span_days + 1))
            minutes = 420 + rng.randrange(0, 600)
            chosen = c.BACKGROUND_LABS[:4] if self.chance(0.5) else c.BACKGROUND_LABS[4:]
            for loinc, display, unit, mean, sd, digits in chosen:
                self.lab(
                    (loinc, display), day, minutes, _q(_round(max(0.0, rng.gauss(mean, sd)), digits), unit)
                )
        # other conditions and drugs
        if not self.child:
            for concept in rng.sample(
                c.BACKGROUND_CONDITIONS,
                min(len(c.BACKGROUND_CONDITIONS), _poisson(rng, r.background_conditions_mean)),
            ):
                self.condition(
                    concept, self.history_start - timedelta(days=rng.randrange(0, 3000)), problem=True
                )
            for drug in rng.sample(
                c.BACKGROUND_DRUGS, min(len(c.BACKGROUND_DRUGS), _poisson(rng, r.background_drugs_mean))
            ):
                start = self.history_start + timedelta(days=rng.randrange(0, span_days + 1))
                self.drug_course(
                    drug,
                    start,
                    None
                    if self.chance(0.7)
                    else min(self.as_of, start + timedelta(days=rng.randrange(30, 700))),
                )
        # vaccinations: yearly influenza for some, COVID, Tdap
        flu_taker = self.chance(
            r.share_flu_vaccine_immunocompromised if self.is_k or self.is_d else r.share_flu_vaccine
        )
        year = self.history_start.year
        while flu_taker and year <= self.as_of.year:
            day = date(year, 10, 1) + timedelta(days=rng.randrange(0, 75))
            if self.history_start <= day <= self.as_of:
                self.immunization(c.FLU, day)
            year += 1
        if self.chance(r.share_covid_vaccine):
            self.immunization(c.COVID, self.history_start + timedelta(days=rng.randrange(0, span_days + 1)))
        if self.chance(r.share_tdap_vaccine):
            self.immunization(c.TDAP, self.history_start + timedelta(days=rng.randrange(0, span_days + 1)))

    def vital(
        self,
        loinc: tuple[str, str, str],
        day: date,
        minutes: int,
        value_q: dict[str, Any] | None,
        encounter: dict[str, str] | None,
        components: list[dict[str, Any]] | None = None,
    ) -> None:
        resource: Resource = {
            "resourceType": "Observation",
            "id": self.new_id("ob"),
            "status": "final",
            "category": _VITALS,
            "code": _concept(c.LOINC, loinc[0], loinc[1], loinc[2]),
            "subject": self.subject,
            "effectiveDateTime": _dt(day, minutes),
        }
        if encounter is not None:
            resource["encounter"] = encounter
        if value_q is not None:
            resource["valueQuantity"] = value_q
        if components is not None:
            resource["component"] = components
        self.emit(resource)

    def immunization(self, vaccine: tuple[str, str], day: date) -> None:
        self.emit(
            {
                "resourceType": "Immunization",
                "id": self.new_id("im"),
                "status": "completed",
                "vaccineCode": _concept(c.CVX, vaccine[0], vaccine[1]),
                "patient": self.subject,
                "occurrenceDateTime": day.isoformat(),
                "primarySource": True,
            }
        )

    # -- vaccines, serology, specific antibodies ---------------------------------------------

    def vaccines(self) -> None:
        rng, r = self.rng, self.r
        if self.is_k:
            first = self.therapies[0]
            before = first.start - timedelta(days=rng.randrange(30, 120))
            if before >= self.history_start and self.chance(r.share_pcv_before_anti_cd20):
                self.immunization(c.PCV20, min(before, self.as_of))
            if self.chance(r.share_viral_serology_k):
                day = min(
                    self.as_of, max(self.history_start, first.start - timedelta(days=rng.randrange(20, 90)))
                )
                for loinc, display in c.VIRAL_SEROLOGY[: rng.randrange(1, 4)]:
                    self.lab(
                        (loinc, display),
                        day,
                        600,
                        None,
                        extra={
                            "valueCodeableConcept": _concept(
                                c.SNOMED,
                                *(c.POSITIVE if self.chance(r.share_serology_positive) else c.NEGATIVE),
                            )
                        },
                    )
            started = not first.planned
            if started and self.chance(r.share_live_vaccine_given_k):
                self.immunization(rng.choice(c.LIVE_VACCINES), self.days_before(10, 300))
            if self.chance(r.share_live_vaccine_ordered_k):
                vaccine = rng.choice(c.LIVE_VACCINES)
                self.emit(
                    {
                        "resourceType": "ServiceRequest",
                        "id": self.new_id("sr"),
                        "status": "active",
                        "intent": "order",
                        "code": _concept(c.CVX, vaccine[0], vaccine[1]),
                        "subject": self.subject,
                        "authoredOn": self.days_before(0, 20).isoformat(),
                    }
                )
            if self.chance(r.share_pneumococcal_panel_k):
                self.pneumococcal(impaired=self.chance(r.share_impaired_pneumococcal_k))
        elif self.is_d:
            if self.chance(r.share_pneumococcal_panel_d):
                self.pneumococcal(impaired=self.chance(r.share_impaired_pneumococcal))
        elif self.chance(r.share_live_vaccine_general) and not self.therapies:
            self.immunization(rng.choice(c.LIVE_VACCINES), self.days_before(10, 900))
        if (
            not self.child
            and self.birth <= self.as_of - timedelta(days=int(50 * YEAR))
            and self.chance(r.share_shingrix_over_50)
        ):
            self.immunization(c.SHINGRIX, self.days_before(30, 900))

    def pneumococcal(self, *, impaired: bool) -> None:
        rng = self.rng
        vaccine_day = self.days_before(60, 900)
        if self.igrt_start is not None and vaccine_day >= self.igrt_start - timedelta(days=60):
            vaccine_day = self.igrt_start - timedelta(days=rng.randrange(70, 200))
        with_vaccine = self.chance(self.r.share_serotypes_after_ppsv23)
        if with_vaccine:
            self.immunization(c.PPSV23, vaccine_day)
            draw = vaccine_day + timedelta(days=rng.randrange(30, 55))
        else:
            draw = vaccine_day
        mg_l = self.unit_style != "mg/dL" and self.chance(0.5)
        median = self.r.serotype_igg_median_impaired if impaired else self.r.serotype_igg_median_normal
        minutes = 540
        for serotype in c.SEROTYPES:
            value = median * math.exp(rng.gauss(0, 0.8))
            q = _q(round(value, 2), "mg/L") if mg_l else _q(round(value, 2), "ug/mL")
            name = f"Streptococcus pneumoniae Danish serotype {serotype} IgG Ab [Mass/volume] in Serum"
            self.emit(
                {
                    "resourceType": "Observation",
                    "id": self.new_id("ob"),
                    "status": "final",
                    "category": _LAB,
                    "code": {"text": name},
                    "subject": self.subject,
                    "effectiveDateTime": _dt(draw, minutes),
                    "valueQuantity": q,
                }
            )

    # -- dirty extras ------------------------------------------------------------------------

    def dirty_extras(self) -> None:
        r = self.r
        current = [t for t in self.therapies if not t.planned and t.stop is None]
        if current and self.chance(r.share_undated_therapy):
            model = current[-1].model
            statement: Resource = {
                "resourceType": "MedicationStatement",
                "id": self.new_id("ms"),
                "status": "completed",
                "medicationCodeableConcept": _concept(c.RXNORM, model.rxnorm, model.display),
                "subject": self.subject,
            }
            self.tag_dirty(statement, "undated-therapy")
            self.emit(statement)
