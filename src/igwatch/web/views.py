"""What the web pages show, computed from an assessment (and, for the chart, the timeline's results).

Every value here is read from the typed assessment, in the words of :mod:`igwatch.render.words`,
so the pages say exactly what the CLI and the CDS Hooks service say. The one addition is the history of IgG, IgM
and IgA results for the chart, taken from the timeline the assessment was made from (the
assessment keeps only the latest of each).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from igwatch.assessment import Assessment
from igwatch.engine import DECEASED
from igwatch.facts import Episode, shown_number
from igwatch.knowledge.catalog import Knowledge
from igwatch.knowledge.profile import Profile
from igwatch.render.words import (
    PRIORITY_LABEL,
    action_label,
    due_status,
    key_findings,
    monitoring_label,
    one_line,
    population_label,
)
from igwatch.timeline import Timeline
from igwatch.worklist import WORKLIST_FLAGS, worklist_flags

IG_KINDS = ("igg", "igm", "iga")
IG_LABEL = {"igg": "IgG", "igm": "IgM", "iga": "IgA"}


def _words(value: object) -> str:
    return one_line(value).replace("-", " ").replace("_", " ")


def severity_class(episode: Episode) -> str:
    """Chart marker class of an infection episode: life-threatening, severe or other."""
    if episode.life_threatening:
        return "life-threatening"
    if episode.severe:
        return "severe"
    return "other"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def chart_data(assessment: Assessment, timeline: Timeline, profile: Profile) -> dict[str, Any]:
    """The chart's data: results up to as-of, limits, trends, therapy bands and infections."""
    facts = assessment.facts
    as_of = assessment.as_of
    series: dict[str, list[dict[str, Any]]] = {}
    for kind in IG_KINDS:
        labs = sorted(
            (lab for lab in timeline.labs_of(kind) if lab.date <= as_of),  # type: ignore[arg-type]
            key=lambda lab: (lab.date, lab.id),
        )
        series[kind] = [
            {"date": lab.date.isoformat(), "value": lab.value, "comparator": lab.comparator, "source": lab.id}
            for lab in labs
        ]
    igs = {ig.kind: ig for ig in (facts.igg, facts.igm, facts.iga)}
    limits = {kind: shown_number(ig.limit) for kind, ig in igs.items()}
    latest = {kind: {"date": _day(ig.date), "value": shown_number(ig.value)} for kind, ig in igs.items()}
    projections = [
        {
            "kind": trend.kind,
            "from": latest[trend.kind],
            "crossing": trend.crossing.isoformat(),
            "threshold": shown_number(trend.threshold),
            "slope_per_year": shown_number(trend.slope_per_year),
        }
        for trend in facts.trends
        if trend.kind in IG_KINDS and trend.crossing is not None
    ]
    bands: list[dict[str, Any]] = []
    for agent in facts.exposure.agents:
        course = agent.course
        begun = course.start or course.planned_start
        if begun:
            bands.append(
                {
                    "kind": "anti-cd20",
                    "label": one_line(agent.agent or "anti-CD20"),
                    "start": begun.isoformat(),
                    "end": _day(course.stop),
                    "status": course.status,
                }
            )
    igrt = facts.igrt
    if igrt.status != "none" and igrt.start:
        bands.append(
            {
                "kind": "ig-replacement",
                "label": "Ig replacement" + (f" ({igrt.route})" if igrt.route else ""),
                "start": igrt.start.isoformat(),
                "end": _day(igrt.stop),
                "status": igrt.status,
            }
        )
    infections = [
        {
            "id": episode.id,
            "date": episode.onset.isoformat(),
            "label": one_line(episode.display or episode.id or "infection"),
            "severity": severity_class(episode),
            "encapsulated": episode.encapsulated,
            "active": episode.active,
        }
        for episode in facts.episodes
    ]
    return {
        "as_of": as_of.isoformat(),
        "unit": "mg/dL",
        "labels": IG_LABEL,
        "series": series,
        "limits": limits,
        "replacement_threshold": profile.igg_replacement_threshold_mg_dl,
        "projections": projections,
        "bands": bands,
        "infections": infections,
    }


def header(assessment: Assessment) -> list[tuple[str, str]]:
    """The patient header rows: populations, anti-CD20 and B cells, IgRT, prophylaxis, results."""
    facts = assessment.facts
    rows: list[tuple[str, str]] = [("Populations", population_label(assessment.populations))]
    found = dict(key_findings(facts))
    rows.append(("Anti-CD20", found.get("Anti-CD20") or _words(facts.exposure.status)))
    rows.append(("B cells", found.get("B cells") or _words(facts.b_cells.status)))
    rows.append(("Ig replacement", found.get("Ig replacement") or "none"))
    rows.append(("Antibiotic prophylaxis", found.get("Antibiotic prophylaxis") or "none"))
    for label in ("Immunoglobulins", "IgM deficiency", "Specific antibodies", "Infections", "Weight"):
        if label in found:
            rows.append((label, found[label]))
    return rows


def recommendations(assessment: Assessment, kb: Knowledge) -> list[dict[str, Any]]:
    """Cards: each recommendation with its reasons, statements and suggested actions."""
    cards = []
    for rec in assessment.recommendations:
        statements = []
        for sid in rec.statements:
            statement = kb.statements.get(sid)
            statements.append({"id": sid, "summary": one_line(statement.summary) if statement else ""})
        cards.append(
            {
                "id": rec.id,
                "priority": rec.priority,
                "badge": PRIORITY_LABEL.get(rec.priority, rec.priority.upper()),
                "title": one_line(rec.title or rec.id),
                "summary": one_line(rec.summary),
                "reasons": [{"code": r.code, "text": one_line(r.text)} for r in rec.reasons],
                "class_note": one_line(rec.class_note) if rec.class_note else None,
                "statements": statements,
                "actions": [action_label(a) for a in rec.actions],
            }
        )
    return cards


def monitoring(assessment: Assessment) -> list[dict[str, Any]]:
    return [
        {
            "test": m.test,
            "label": monitoring_label(m.test),
            "due": m.due.isoformat(),
            "overdue": m.overdue,
            "status": due_status(m, assessment.as_of),
            "last_done": m.last_done.isoformat() if m.last_done else "never",
        }
        for m in assessment.monitoring
    ]


@dataclass(frozen=True)
class WorklistRow:
    patient_id: str
    name: str
    as_of: date
    applicable: bool
    populations: str
    top_priority: str
    recommendations: tuple[str, ...]
    bottom_line: str
    flags: dict[str, bool]
    deceased: bool = False  # left off the worklist unless asked (clinical-spec §1, revision 2)

    def csv_row(self) -> dict[str, str]:
        row = {
            "patient_id": self.patient_id,
            "as_of": self.as_of.isoformat(),
            "populations": ";".join(p for p in self.populations.split(",") if p),
            "top_priority": self.top_priority,
            "recommendations": ";".join(self.recommendations),
        }
        row.update({key: "true" if self.flags[key] else "false" for key, _ in WORKLIST_FLAGS})
        row["bottom_line"] = self.bottom_line
        return row


CSV_COLUMNS = [
    "patient_id",
    "as_of",
    "populations",
    "top_priority",
    "recommendations",
    *(key for key, _ in WORKLIST_FLAGS),
    "bottom_line",
]


def worklist_row(assessment: Assessment, name: str = "") -> WorklistRow:
    ids = assessment.recommendation_ids
    flags = worklist_flags(assessment)
    return WorklistRow(
        patient_id=assessment.patient_id,
        name=one_line(name),
        as_of=assessment.as_of,
        applicable=assessment.applicable,
        populations=",".join(assessment.populations),
        top_priority=assessment.recommendations[0].priority if ids else "",
        recommendations=tuple(ids),
        bottom_line=one_line(assessment.bottom_line),
        flags=flags,
        deceased=assessment.applicable_reason == DECEASED,
    )
