"""The assessment: what igwatch concludes for one patient (contract §2).

Typed objects all the way to the doors, which read attributes; :meth:`Assessment.to_dict` gives
exactly the JSON of the contract, and is called only where JSON is written. Recommendations are
ordered by priority (critical, warning, info), then catalog order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from igwatch.facts import Facts
from igwatch.timeline import DataIssue

if TYPE_CHECKING:  # findings are built from this module's value types: typing only
    from igwatch.findings import Findings

Priority = Literal["info", "warning", "critical"]
MonitoringTest = Literal["ig-panel", "igg-trough", "cd19", "specific-antibodies", "lymphocyte-subsets"]

PRIORITY_RANK: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}
MONITORING_LABEL: dict[str, str] = {
    "ig-panel": "Immunoglobulin panel (IgG, IgM, IgA)",
    "igg-trough": "IgG trough level",
    "cd19": "CD19 B-cell count",
    "specific-antibodies": "Specific antibody response (pneumococcal)",
    "lymphocyte-subsets": "Lymphocyte subsets",
}


@dataclass(frozen=True)
class Reason:
    """Why a recommendation fired: a stable code and a text with the values and dates."""

    code: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text}


@dataclass
class Recommendation:
    id: str
    priority: Priority
    summary: str
    detail: str
    reasons: list[Reason]
    statements: list[str]
    actions: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""
    class_note: str | None = None  # §1: guide K applied to another agent (also in ``detail``)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "priority": self.priority,
            "summary": self.summary,
            "detail": self.detail,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "statements": list(self.statements),
            "actions": list(self.actions),
        }


@dataclass(frozen=True)
class MonitoringEntry:
    test: MonitoringTest
    due: date
    overdue: bool
    last_done: date | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "due": self.due.isoformat(),
            "overdue": self.overdue,
            "last_done": self.last_done.isoformat() if self.last_done else None,
        }


@dataclass(frozen=True)
class IvigDose:
    g_per_kg: float
    dose_g_exact: float | None
    dose_g: int | None
    interval_weeks: int
    alternative_interval_weeks: int


@dataclass(frozen=True)
class ScigDose:
    conversion_factor: float
    weekly_g: int | None
    biweekly_g: int | None


@dataclass(frozen=True)
class Titration:
    """§6: the options for a trough below target. Revision 2: an increase is always above the
    current dose; at the titration ceiling there is none (``at_ceiling``) and a review is asked."""

    increased_dose_g: int | None
    same_dose_interval_weeks: int | None
    at_ceiling: bool = False
    ceiling_g_per_kg_per_4_weeks: float | None = None


@dataclass(frozen=True)
class CurrentDose:
    """§6 (revision 2): the patient's own dose on Ig replacement, shown before the starting dose."""

    dose_g: float | None
    interval_weeks: float | None
    route: str | None
    g_per_kg_per_4_weeks: float | None
    recorded: bool  # False: no dose recorded, the computed starting dose stands in for titration


@dataclass(frozen=True)
class DoseBlock:
    """Clinical-spec §6. Gram fields are ``None`` without a usable weight."""

    weight_kg: float | None
    weight_basis: Literal["actual", "adjusted", "none"]
    ivig: IvigDose
    scig: ScigDose
    trough_target_mg_dl: tuple[float, float]
    titration: Titration | None = None
    current: CurrentDose | None = None
    weight_kg_exact: float | None = None  # the dosing weight unrounded, for the arithmetic shown

    def to_dict(self) -> dict[str, Any]:
        return {
            "weight_kg": self.weight_kg,
            "weight_basis": self.weight_basis,
            "ivig": {
                "g_per_kg": self.ivig.g_per_kg,
                "dose_g_exact": self.ivig.dose_g_exact,
                "dose_g": self.ivig.dose_g,
                "interval_weeks": self.ivig.interval_weeks,
                "alternative_interval_weeks": self.ivig.alternative_interval_weeks,
            },
            "scig": {
                "conversion_factor": self.scig.conversion_factor,
                "weekly_g": self.scig.weekly_g,
                "biweekly_g": self.scig.biweekly_g,
            },
            "trough_target_mg_dl": [_plain_number(v) for v in self.trough_target_mg_dl],
            "titration": None
            if self.titration is None
            else {
                "increased_dose_g": self.titration.increased_dose_g,
                "same_dose_interval_weeks": self.titration.same_dose_interval_weeks,
                "at_ceiling": self.titration.at_ceiling,
                "ceiling_g_per_kg_per_4_weeks": self.titration.ceiling_g_per_kg_per_4_weeks,
            },
            "current": None
            if self.current is None
            else {
                "dose_g": self.current.dose_g,
                "interval_weeks": self.current.interval_weeks,
                "route": self.current.route,
                "g_per_kg_per_4_weeks": self.current.g_per_kg_per_4_weeks,
                "recorded": self.current.recorded,
            },
        }


@dataclass
class Assessment:
    patient_id: str
    as_of: date
    profile: str
    applicable: bool
    applicable_reason: str | None
    populations: list[str]
    facts: Facts
    recommendations: list[Recommendation]
    monitoring: list[MonitoringEntry]
    dosing: DoseBlock | None
    data_issues: list[DataIssue]
    bottom_line: str = ""
    findings: Findings | None = None  # None when the patient is out of scope: no rule ran

    def recommendation(self, recommendation_id: str) -> Recommendation | None:
        """The fired recommendation with this id, if any."""
        return next((r for r in self.recommendations if r.id == recommendation_id), None)

    @property
    def recommendation_ids(self) -> list[str]:
        return [r.id for r in self.recommendations]

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id,
            "as_of": self.as_of.isoformat(),
            "profile": self.profile,
            "applicable": self.applicable,
            "applicable_reason": self.applicable_reason,
            "populations": list(self.populations),
            "bottom_line": self.bottom_line,
            "facts": self.facts.to_dict(),
            "recommendations": [r.to_dict() for r in self.recommendations],
            "monitoring": [m.to_dict() for m in self.monitoring],
            "dosing": self.dosing.to_dict() if self.dosing else None,
            "data_issues": [
                {"severity": i.severity, "code": i.code, "message": i.message, "resource": i.resource}
                for i in self.data_issues
            ],
        }


def _plain_number(value: float) -> float | int:
    """600.0 → 600 in JSON, so whole-number thresholds read as they were written."""
    return int(value) if float(value).is_integer() else value
