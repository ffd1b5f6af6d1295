"""The printable HTML form of an assessment: one self-contained page (inline CSS, no scripts,
no external resources), laid out like the source documents — a title, the bottom line, then
sections, with the cited statements' verbatim text listed at the end like footnotes.

Jinja2 autoescaping is on: every string from the patient's record is escaped. The one piece of
markup not written by the template is a recommendation's ``detail`` (markdown), rendered with raw
HTML disabled and images off, so it cannot inject tags or load anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt
from markupsafe import Markup

from igwatch import __version__
from igwatch.assessment import Assessment
from igwatch.knowledge.catalog import Knowledge
from igwatch.render.words import (
    PRIORITY_LABEL,
    action_label,
    clean,
    dose_lines,
    due_status,
    key_findings,
    knowledge_or_none,
    monitoring_label,
    one_line,
    population_label,
    recommendation_title,
)

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    return md


def markdown_html(text: str) -> Markup:
    """Markdown to HTML with raw HTML escaped (never passed through) and images disabled."""
    if not text.strip():
        return Markup("")
    # Safe: markdown-it escapes raw HTML when "html" is off.
    return Markup(_markdown().render(clean(text)))


def detail_without_reasons(detail: str, reasons: list[str]) -> str:
    """The detail markdown without a block that only repeats the reasons (shown above it)."""
    wanted = {one_line(r) for r in reasons if r}
    if not wanted:
        return detail
    kept = []
    for block in detail.split("\n\n"):
        lines = [one_line(line) for line in block.strip().splitlines() if line.strip()]
        items = [line[2:].strip() if line.startswith(("- ", "* ")) else line for line in lines]
        headers = {"**Why:**", "Why:", "**Why**", "Why"}
        if items and all(i in wanted or i in headers for i in items) and any(i in wanted for i in items):
            continue
        kept.append(block)
    return "\n\n".join(kept)


@dataclass
class _Footnote:
    number: int
    id: str
    anchor: str
    text: str
    document: str
    section: str
    citations: str
    note: str


@dataclass
class _Context:
    footnotes: list[_Footnote] = field(default_factory=list)
    by_id: dict[str, _Footnote] = field(default_factory=dict)

    def cite(self, statement_id: str, kb: Knowledge | None) -> dict[str, Any]:
        note = self.by_id.get(statement_id)
        if note is None and kb is not None and statement_id in kb.statements:
            statement = kb.statements[statement_id]
            document = kb.documents.get(statement.document)
            note = _Footnote(
                number=len(self.footnotes) + 1,
                id=statement.id,
                anchor=f"statement-{statement.id}",
                text=clean(statement.text).strip(),
                document=document.title if document else statement.document,
                section=statement.section,
                citations=(
                    f"citation{'s' if len(statement.citations) != 1 else ''} {statement.citation_label}"
                    if statement.citations
                    else "no citation number in the source"
                ),
                note=one_line(statement.note),
            )
            self.footnotes.append(note)
            self.by_id[statement_id] = note
        summary = kb.statements[statement_id].summary if kb and statement_id in kb.statements else ""
        return {
            "id": statement_id,
            "number": note.number if note else None,
            "anchor": note.anchor if note else None,
            "summary": one_line(summary),
        }


def _view(assessment: Assessment) -> dict[str, Any]:
    kb = knowledge_or_none()
    ctx = _Context()
    recommendations = []
    for rec in assessment.recommendations:
        recommendations.append(
            {
                "id": rec.id,
                "priority": rec.priority,
                "badge": PRIORITY_LABEL.get(rec.priority, rec.priority.upper()),
                "title": recommendation_title(rec, kb),
                "summary": one_line(rec.summary),
                "detail": markdown_html(detail_without_reasons(rec.detail, [r.text for r in rec.reasons])),
                "reasons": [{"code": r.code, "text": one_line(r.text)} for r in rec.reasons],
                "actions": [action_label(a) for a in rec.actions],
                "statements": [ctx.cite(sid, kb) for sid in rec.statements],
            }
        )
    monitoring = [
        {
            "label": monitoring_label(m.test),
            "test": m.test,
            "due": m.due.isoformat(),
            "overdue": m.overdue,
            "status": due_status(m, assessment.as_of),
            "last_done": m.last_done.isoformat() if m.last_done else "never",
        }
        for m in assessment.monitoring
    ]
    issues = [
        {
            "severity": i.severity,
            "code": one_line(i.code),
            "message": one_line(i.message),
            "resource": one_line(i.resource) if i.resource else "",
        }
        for i in assessment.data_issues
    ]
    counts = {p: sum(1 for r in assessment.recommendations if r.priority == p) for p in PRIORITY_LABEL}
    bottom_line = one_line(assessment.bottom_line)
    if not bottom_line:
        if not assessment.applicable:
            bottom_line = (
                f"Not applicable: {one_line(assessment.applicable_reason or '') or 'neither population'}"
            )
        elif assessment.recommendations:
            bottom_line = one_line(assessment.recommendations[0].summary)
        else:
            bottom_line = "No recommendations."
    return {
        "patient_id": one_line(assessment.patient_id),
        "as_of": assessment.as_of.isoformat(),
        "profile": one_line(assessment.profile),
        "populations": population_label(assessment.populations),
        "applicable": assessment.applicable,
        "applicable_reason": one_line(assessment.applicable_reason or ""),
        "bottom_line": bottom_line,
        "counts": counts,
        "overdue": sum(1 for m in assessment.monitoring if m.overdue),
        "recommendations": recommendations,
        "monitoring": monitoring,
        "dosing": dose_lines(assessment.dosing) if assessment.dosing is not None else None,
        "data_issues": issues,
        "findings": key_findings(assessment.facts),
        "footnotes": ctx.footnotes,
        "version": __version__,
    }


def assessment_html(assessment: Assessment) -> str:
    """The assessment as one printable, self-contained HTML page."""
    template = _environment().get_template("assessment.html.j2")
    return template.render(**_view(assessment))
