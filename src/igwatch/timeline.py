"""One patient's data, typed and unit-normalised: what every door hands to the engine.

Ingest (``igwatch.fhir.ingest``) turns FHIR into a :class:`Timeline`; nothing downstream reads raw
FHIR. Every item keeps ``id``, the ``ResourceType/id`` of the record it came from, so the
assessment can show where each fact came from. Codes are already classified here (``concepts``)
by the value sets, so the rules only ask named questions ("is this an encapsulated organism?").

Units: immunoglobulins in mg/dL, CD19 absolute in cells/µL, CD19 % in %, weight in kg, height in
cm, pneumococcal serotype IgG in µg/mL, immune globulin doses in g.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

LabKind = Literal[
    "igg", "igm", "iga", "cd19-absolute", "cd19-percent", "weight", "height", "pneumococcal-serotype"
]
Severity = Literal["mild", "moderate", "severe", "life-threatening"]
IssueSeverity = Literal["error", "warning", "info"]
MedicationResource = Literal["MedicationStatement", "MedicationRequest", "MedicationAdministration"]
MedicationCategory = Literal["anti-cd20", "immune-globulin", "antibiotic"]
Route = Literal["IV", "SC"]
Sex = Literal["male", "female"]


@dataclass(frozen=True)
class DataIssue:
    """A problem with the input (clinical-spec §7). ``resource`` is ``Type/id`` or ``None``."""

    severity: IssueSeverity
    code: str
    message: str
    resource: str | None = None


@dataclass(frozen=True)
class LabResult:
    """An Observation with a usable value, converted to igwatch's unit for its kind.

    ``comparator`` keeps ``valueQuantity.comparator`` ("<", "<=", ">", ">="), so "< 5" stays a
    bound rather than a value. ``reference_low`` / ``reference_high`` are the result's own
    ``referenceRange``, in the same unit as ``value``. ``label`` names a pneumococcal serotype
    (e.g. "6B") or is the display text otherwise.
    """

    id: str
    kind: LabKind
    date: date
    value: float
    comparator: str | None = None
    reference_low: float | None = None
    reference_high: float | None = None
    label: str = ""
    recognised_by_name: bool = False


@dataclass(frozen=True)
class Infection:
    """A Condition in the infection value set (one record; facts merge records into episodes).

    ``organisms`` holds organism keys (e.g. ``streptococcus-pneumoniae``) found in the code itself,
    in ``Condition.evidence.code`` or in a culture Observation named in ``evidence.detail``.
    ``concepts`` holds the value-set classes of the code: ``bacterial-infection``,
    ``severe-by-nature``, ``life-threatening-by-nature``, ``opportunistic-infection``.
    ``bacterial_organism`` is true when an organism found is a bacterium.
    """

    id: str
    display: str
    onset: date | None
    recorded: date | None
    abatement: date | None
    clinical_status: str | None
    verification_status: str | None
    severity: Severity | None
    concepts: frozenset[str] = frozenset()
    organisms: frozenset[str] = frozenset()
    bacterial_organism: bool = False
    encounter: str | None = None
    inpatient: bool = False
    antibiotic_response_insufficient: bool = False
    recognised_by_name: bool = False

    @property
    def date(self) -> date | None:
        """The date the infection counts from: onset, else the recorded date."""
        return self.onset or self.recorded


@dataclass(frozen=True)
class Diagnosis:
    """A non-infection Condition igwatch reads; ``concept`` says which.

    Concepts: ``selective-igm-deficiency``, ``specific-antibody-deficiency``, ``autoimmune``,
    ``multiple-sclerosis``.
    """

    id: str
    concept: str
    display: str
    onset: date | None
    recorded: date | None
    abatement: date | None
    clinical_status: str | None
    verification_status: str | None
    recognised_by_name: bool = False

    @property
    def date(self) -> date | None:
        return self.onset or self.recorded


@dataclass(frozen=True)
class MedicationRecord:
    """A MedicationStatement, MedicationRequest or MedicationAdministration of a drug igwatch reads.

    ``agent`` is the ingredient key: ``ofatumumab``, ``ocrelizumab``, ``rituximab``,
    ``ublituximab``, ``obinutuzumab``, ``inebilizumab``, ``immune-globulin``, or an antibiotic's
    name (``amoxicillin`` …). Dates per clinical-spec F1: ``start`` is the statement's
    ``effectivePeriod.start`` / ``effectiveDateTime``, the request's
    ``dosageInstruction.timing.repeat.boundsPeriod.start`` or the administration's date; ``end``
    the period end; ``authored`` the request's ``authoredOn``. ``dose_g`` (immune globulin, in g)
    and ``interval_days`` (from ``timing.repeat``) when recorded. ``reason_references`` are the
    ``Condition/id`` a course names as its reason; ``reason_texts`` the text of its reason codes.
    """

    id: str
    resource_type: MedicationResource
    category: MedicationCategory
    agent: str
    display: str
    status: str | None
    intent: str | None = None
    start: date | None = None
    end: date | None = None
    authored: date | None = None
    dose_g: float | None = None
    interval_days: float | None = None
    route: Route | None = None
    reason_references: tuple[str, ...] = ()
    reason_texts: tuple[str, ...] = ()
    recognised_by_name: bool = False
    start_is_dose_date: bool = False

    @property
    def is_administration(self) -> bool:
        return self.resource_type == "MedicationAdministration"


@dataclass(frozen=True)
class Vaccination:
    """A vaccine given (Immunization) or ordered (MedicationRequest / ServiceRequest with a vaccine).

    ``ordered`` distinguishes an order from a record of a dose given. ``live`` by CVX code or by a
    live product's name; ``pneumococcal_polysaccharide`` for CVX 33.
    """

    id: str
    date: date | None
    status: str | None
    display: str
    cvx: str | None
    live: bool
    pneumococcal_polysaccharide: bool = False
    ordered: bool = False
    recognised_by_name: bool = False


@dataclass(frozen=True)
class SerologyOrder:
    """A viral serology test ordered (ServiceRequest) or resulted (Observation)."""

    id: str
    date: date | None
    status: str | None
    display: str
    recognised_by_name: bool = False


@dataclass(frozen=True)
class Patient:
    """``deceased``: ``Patient.deceasedBoolean`` true or a ``deceasedDateTime`` (dated by
    ``deceased_date`` when it could be read)."""

    id: str
    birth_date: date | None
    sex: Sex | None
    name: str = ""
    deceased: bool = False
    deceased_date: date | None = None

    def deceased_by(self, as_of: date) -> bool:
        """Deceased on or before ``as_of`` (clinical-spec §1, revision 2); an unreadable date of
        death counts as deceased (the record says so; only its date is unknown)."""
        if not self.deceased:
            return False
        return self.deceased_date is None or self.deceased_date <= as_of


@dataclass
class Timeline:
    """Everything igwatch knows about one patient. ``data_issues`` are those found while reading."""

    patient: Patient
    labs: list[LabResult] = field(default_factory=list)
    infections: list[Infection] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    medications: list[MedicationRecord] = field(default_factory=list)
    vaccinations: list[Vaccination] = field(default_factory=list)
    serology: list[SerologyOrder] = field(default_factory=list)
    data_issues: list[DataIssue] = field(default_factory=list)
    #: Results of a kind igwatch reads that could not be used (kind, ``Type/id``, date if any):
    #: each also has an error-level data issue; facts use them to say "no usable result".
    unusable_labs: list[tuple[LabKind, str, date | None]] = field(default_factory=list)

    def labs_of(self, kind: LabKind) -> list[LabResult]:
        return [lab for lab in self.labs if lab.kind == kind]
