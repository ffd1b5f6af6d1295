"""The one engine every door calls: ``assess(timeline, as_of, profile)``.

Timeline → facts (§4) → rules (§5) → recommendations worded from the catalog, the monitoring
list, the dose block (§6) and the data issues (§7). Pure: no clock, no I/O beyond the packaged
knowledge files (loaded once).
"""

from __future__ import annotations

from datetime import date

from igwatch.assessment import (
    MONITORING_LABEL,
    PRIORITY_RANK,
    Assessment,
    MonitoringEntry,
    Recommendation,
)
from igwatch.facts import Facts, derive_facts
from igwatch.findings import derive_findings
from igwatch.knowledge.catalog import CatalogEntry, knowledge
from igwatch.knowledge.profile import Profile, load_profile
from igwatch.rules import Fired, registered_rules
from igwatch.timeline import DataIssue, Timeline

DECEASED = "deceased"
NOT_APPLICABLE = "not on, starting or having stopped B-cell-depleting therapy, and no confirmed or suspected primary IgM deficiency"
MONITORING_ORDER = ("ig-panel", "igg-trough", "cd19", "specific-antibodies", "lymphocyte-subsets")


def admits(entry: CatalogEntry, facts: Facts) -> bool:
    """The catalog's population gate (§5 "pop."), applied here so no rule repeats it."""
    if entry.population == "K":
        return facts.in_k
    if entry.population == "D":
        return facts.in_d
    return facts.in_k or facts.in_d  # "any", "K, D"


def class_note(entry: CatalogEntry, statements: list[str], facts: Facts) -> str | None:
    """§1: guide K applied to another agent than ofatumumab says so, on every recommendation that
    cites guide K ("any" rules included), naming the agent."""
    agent = facts.exposure.primary_agent
    if not entry.class_note or not agent or agent == "ofatumumab":
        return None
    if not any(s.startswith("K-") for s in statements):
        return None
    return f"{entry.class_note} (this patient: {agent})"


def _detail(entry: CatalogEntry, fired: Fired, note: str | None) -> str:
    parts = [entry.detail.strip()] if entry.detail else []
    if fired.reasons:
        parts.append("**Why:**\n" + "\n".join(f"- {reason.text}" for reason in fired.reasons))
    if note:
        parts.append(f"_{note}_")
    return "\n\n".join(parts)


def _summary(entry: CatalogEntry, fired: Fired, facts: Facts) -> str:
    summary = entry.summary_for(fired.variant).replace("{agent}", facts.exposure.named_agents)
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
    statements = _statements_for(entry, facts)
    note = class_note(entry, statements, facts)
    return Recommendation(
        id=rec_id,
        priority=fired.priority or entry.priority,  # type: ignore[arg-type]
        summary=_summary(entry, fired, facts),
        detail=_detail(entry, fired, note),
        reasons=list(fired.reasons),
        statements=statements,
        actions=list(fired.actions),
        title=entry.title.replace("{agent}", facts.exposure.named_agents),
        class_note=note,
    )


def _alerts(facts: Facts, recommendations: list[Recommendation], profile: Profile) -> list[str]:
    """What the bottom line always names when the facts hold it (§5, end), warning or not."""
    alerts: list[str] = []
    episodes = facts.episodes
    opportunistic = [e for e in episodes if e.opportunistic]
    if opportunistic:
        alerts.append("serious opportunistic infection: " + "; ".join(e.describe() for e in opportunistic))
    active = [e for e in episodes if e.active and not e.opportunistic]
    if active:
        alerts.append("active infection: " + "; ".join(e.describe() for e in active))
    recent = [
        e
        for e in episodes
        if e.life_threatening
        and not e.active
        and not e.opportunistic
        and (facts.as_of - e.onset).days <= profile.critical_recent_days
    ]
    if recent:
        alerts.append(
            f"life-threatening infection in the last {profile.critical_recent_days} days: "
            + "; ".join(e.describe() for e in recent)
        )
    catalog = knowledge().catalog
    alerts.extend(a for r in recommendations if (a := catalog[r.id].bottom_line_alert))
    return alerts


def _bottom_line(
    facts: Facts, recommendations: list[Recommendation], monitoring: list[MonitoringEntry], profile: Profile
) -> str:
    """§5 (revision 2): never claims that nothing needs attention."""
    urgent = [r for r in recommendations if r.priority != "info"]
    if urgent:
        head = urgent[0]
        more = f" (+{len(urgent) - 1} more to act on)" if len(urgent) > 1 else ""
        line = f"{head.priority.upper()}: {head.summary.rstrip('.')}{more}"
    else:
        due = min(monitoring, key=lambda m: m.due, default=None)
        next_due = (
            f"next due: {MONITORING_LABEL[due.test]} on {due.due.isoformat()}" if due else "no test scheduled"
        )
        line = f"No warnings; {len(recommendations)} informational recommendations; {next_due}"
    alerts = _alerts(facts, recommendations, profile)
    return f"{line}. Also: {'; '.join(alerts)}." if alerts else f"{line}."


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
    not_applicable = None
    if timeline.patient.deceased_by(as_of):
        not_applicable = DECEASED
    elif not (facts.in_k or facts.in_d):
        not_applicable = NOT_APPLICABLE
    if not_applicable is not None:
        return Assessment(
            patient_id=timeline.patient.id,
            as_of=as_of,
            profile=profile.name,
            applicable=False,
            applicable_reason=not_applicable,
            populations=[],
            facts=facts,
            recommendations=[],
            monitoring=[],
            dosing=None,
            data_issues=_dedupe(issues),
            bottom_line=f"Not applicable: {not_applicable}.",
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
        facts=facts,
        recommendations=recommendations,
        monitoring=monitoring,
        dosing=findings.dosing,
        data_issues=_dedupe(issues),
        bottom_line=_bottom_line(facts, recommendations, monitoring, profile),
        findings=findings,
    )
