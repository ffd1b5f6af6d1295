"""The one engine every door calls: ``assess(timeline, as_of, profile)``.

Timeline → facts (§4) → rules (§5) → recommendations worded from the catalog, the monitoring
list, the dose block (§6) and the data issues (§7). Pure: no clock, no I/O beyond the packaged
knowledge files (loaded once).
"""

from __future__ import annotations

from datetime import date

from igwatch.assessment import PRIORITY_RANK, Assessment, MonitoringEntry, Recommendation
from igwatch.facts import Facts, derive_facts
from igwatch.findings import derive_findings
from igwatch.knowledge.catalog import CatalogEntry, knowledge
from igwatch.knowledge.profile import Profile, load_profile
from igwatch.rules import Fired, registered_rules
from igwatch.timeline import DataIssue, Timeline

NOT_APPLICABLE = "not on, starting or having stopped anti-CD20 therapy, and no confirmed or suspected primary IgM deficiency"
K_POPULATIONS = ("K", "K-ofa", "K, D")
MONITORING_ORDER = ("ig-panel", "igg-trough", "cd19", "specific-antibodies", "lymphocyte-subsets")


def admits(entry: CatalogEntry, facts: Facts) -> bool:
    """The catalog's population gate (§5 "pop."), applied here so no rule repeats it."""
    if entry.population == "K":
        return facts.in_k
    if entry.population == "K-ofa":
        return facts.exposure.ofatumumab != "none"
    if entry.population == "D":
        return facts.in_d
    return facts.in_k or facts.in_d  # "any", "K, D"


def _detail(entry: CatalogEntry, fired: Fired, facts: Facts) -> str:
    parts = [entry.detail.strip()] if entry.detail else []
    if fired.reasons:
        parts.append("**Why:**\n" + "\n".join(f"- {reason.text}" for reason in fired.reasons))
    agent = facts.exposure.primary_agent
    if entry.class_note and entry.population in K_POPULATIONS and agent and agent != "ofatumumab":
        parts.append(f"_{entry.class_note}_ (this patient: {agent})")
    return "\n\n".join(parts)


def _summary(entry: CatalogEntry, fired: Fired) -> str:
    summary = entry.summary_for(fired.variant)
    due = next((m.due for m in fired.monitoring if m.test in ("ig-panel", "igg-trough")), None)
    if due is not None:
        summary = f"{summary.rstrip('. ')} — due {due.isoformat()}"
    return summary


def _statements_for(entry: CatalogEntry, facts: Facts) -> list[str]:
    """The entry's statements from the documents of the patient's populations (guide K for K,
    guide D for D), so a K-only patient is not cited guide D; all of them if none would remain."""
    documents = set(facts.populations)
    own = [s for s in entry.statements if s.split("-")[0] in documents]
    return own or list(entry.statements)


def _recommendation(rec_id: str, fired: Fired, facts: Facts) -> Recommendation:
    entry = knowledge().entry(rec_id)
    return Recommendation(
        id=rec_id,
        priority=fired.priority or entry.priority,  # type: ignore[arg-type]
        summary=_summary(entry, fired),
        detail=_detail(entry, fired, facts),
        reasons=list(fired.reasons),
        statements=_statements_for(entry, facts),
        actions=list(fired.actions),
        title=entry.title,
    )


def _bottom_line(facts: Facts, recommendations: list[Recommendation]) -> str:
    who = " and ".join(
        {"K": "anti-CD20 therapy", "D": "primary IgM deficiency"}[p] for p in facts.populations
    )
    urgent = [r for r in recommendations if r.priority != "info"]
    if not urgent:
        return f"{who.capitalize()}: nothing urgent; routine monitoring and surveillance."
    head = urgent[0]
    more = f" (+{len(urgent) - 1} more to act on)" if len(urgent) > 1 else ""
    return f"{head.priority.upper()}: {head.summary}{more}"


def _dedupe(issues: list[DataIssue]) -> list[DataIssue]:
    seen: set[tuple[str, str, str | None]] = set()
    unique = []
    for issue in issues:
        key = (issue.code, issue.message, issue.resource)
        if key not in seen:
            seen.add(key)
            unique.append(issue)
    return unique


def assess(
    timeline: Timeline, as_of: date, profile: Profile | None = None, today: date | None = None
) -> Assessment:
    """Assess one patient at ``as_of``. ``today`` (the real date) enables ``date-future`` issues."""
    profile = profile or load_profile()
    facts = derive_facts(timeline, as_of, profile, today)
    issues = [*timeline.data_issues, *facts.data_issues]
    if not (facts.in_k or facts.in_d):
        return Assessment(
            patient_id=timeline.patient.id,
            as_of=as_of,
            profile=profile.name,
            applicable=False,
            applicable_reason=NOT_APPLICABLE,
            populations=[],
            facts=facts.to_dict(),
            recommendations=[],
            monitoring=[],
            dosing=None,
            data_issues=_dedupe(issues),
            bottom_line=f"Not applicable: {NOT_APPLICABLE}.",
        )

    findings = derive_findings(facts, profile)
    issues.extend(findings.dosing_issues)
    fired = [
        (rec_id, result)
        for rec_id, rule in registered_rules().items()
        if admits(knowledge().entry(rec_id), facts) and (result := rule(facts, findings, profile)) is not None
    ]

    catalog = knowledge()
    recommendations = sorted(
        (_recommendation(rec_id, result, facts) for rec_id, result in fired),
        key=lambda r: (PRIORITY_RANK[r.priority], catalog.catalog_order(r.id)),
    )
    monitoring: list[MonitoringEntry] = sorted(
        (entry for _, result in fired for entry in result.monitoring),
        key=lambda m: MONITORING_ORDER.index(m.test),
    )
    return Assessment(
        patient_id=timeline.patient.id,
        as_of=as_of,
        profile=profile.name,
        applicable=True,
        applicable_reason=None,
        populations=facts.populations,
        facts=facts.to_dict(),
        recommendations=recommendations,
        monitoring=monitoring,
        dosing=findings.dosing,
        data_issues=_dedupe(issues),
        bottom_line=_bottom_line(facts, recommendations),
    )
