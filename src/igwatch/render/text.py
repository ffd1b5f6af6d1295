"""The text form of an assessment, for a clinician reading it in a terminal.

Rich does the layout; on a terminal it adds colour, and when the output is piped or redirected it
prints plain text (no ANSI codes). The order is the order a clinician reads in: the bottom line
first, then the recommendations (most urgent first) with their reasons and sources, then what to
monitor and when, the dose block, and last the problems found in the data.

Every string that may come from the patient's record (patient id, reason texts, data issue
messages) is printed as literal text: Rich markup is off and control characters are removed, so a
record cannot restyle or corrupt the terminal.
"""

from __future__ import annotations

import io
import shutil
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date
from typing import IO, Any

from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from igwatch.assessment import MONITORING_LABEL, Assessment, DoseBlock, MonitoringEntry, Recommendation
from igwatch.fhir.coverage import CoverageReport
from igwatch.knowledge.catalog import CatalogEntry, Knowledge, Statement
from igwatch.knowledge.profile import Profile
from igwatch.timeline import DataIssue

WIDTH = 100

PRIORITY_LABEL = {"critical": "CRITICAL", "warning": "WARNING", "info": "INFO"}
PRIORITY_STYLE = {
    "critical": "bold white on red",
    "warning": "bold black on yellow",
    "info": "bold white on blue",
}
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}

POPULATION_LABEL = {
    "K": "K (B-cell-depleting therapy)",
    "D": "D (primary IgM deficiency)",
}


WEIGHT_BASIS_LABEL = {
    "actual": "actual body weight",
    "adjusted": "adjusted body weight, BMI ≥ 30",
    "none": "no usable weight",
}

_KEEP_CONTROLS = {"\n", "\t"}


# --------------------------------------------------------------------------------------------
# Small helpers shared with the HTML renderer
# --------------------------------------------------------------------------------------------


def clean(value: object) -> str:
    """A string safe to print: control characters (ESC, BEL, CR …) removed, tabs kept."""
    text = "" if value is None else str(value)
    return "".join(ch for ch in text if ch in _KEEP_CONTROLS or unicodedata.category(ch) not in ("Cc", "Cf"))


def one_line(value: object) -> str:
    """Like :func:`clean`, on one line (newlines and runs of spaces become one space)."""
    return " ".join(clean(value).split())


def number(value: float | int | None, unit: str = "") -> str:
    """32.8 → "32.8", 35.0 → "35", None → "—"; with a unit: "35 g"."""
    if value is None:
        return "—"
    text = f"{value:.10g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".rstrip() if unit else text


def first_words(text: str, words: int = 9) -> str:
    """The first few words of a summary, with an ellipsis when cut."""
    parts = one_line(text).split(" ")
    if len(parts) <= words:
        return " ".join(parts)
    return " ".join(parts[:words]).rstrip(",;:") + " …"


def monitoring_label(test: str) -> str:
    return MONITORING_LABEL.get(test, test)


def population_label(populations: Sequence[str]) -> str:
    if not populations:
        return "none"
    return ", ".join(POPULATION_LABEL.get(p, p) for p in populations)


def due_status(entry: MonitoringEntry, as_of: date) -> str:
    """ "OVERDUE by 12 days", "due now", "in 4 months" — how the due date relates to as-of."""
    days = (entry.due - as_of).days
    if entry.overdue:
        late = -days
        return f"OVERDUE by {_span(late)}" if late > 0 else "OVERDUE"
    if days <= 0:
        return "due now"
    return f"in {_span(days)}"


def _span(days: int) -> str:
    if days < 14:
        return f"{days} day{'s' if days != 1 else ''}"
    if days < 60:
        return f"{round(days / 7)} weeks"
    return f"{round(days / 30.44)} months"


def action_label(action: dict[str, Any]) -> str:
    """A short description of a suggested action (a FHIR resource, or a {description, resource})."""
    if not isinstance(action, dict):
        return one_line(action)
    description = action.get("description")
    resource = action.get("resource") if isinstance(action.get("resource"), dict) else action
    kind = str(resource.get("resourceType", "")) if isinstance(resource, dict) else ""
    what = ""
    if isinstance(resource, dict):
        for key in ("code", "medicationCodeableConcept", "vaccineCode"):
            concept = resource.get(key)
            if isinstance(concept, dict):
                what = str(concept.get("text") or "")
                if not what:
                    codings = concept.get("coding") or []
                    if codings and isinstance(codings[0], dict):
                        what = str(codings[0].get("display") or codings[0].get("code") or "")
                if what:
                    break
    if description:
        label = str(description)
    elif kind and what:
        label = f"{kind}: {what}"
    else:
        label = kind or what or "suggested action"
    return one_line(label)


def statement_source(statement: Statement, knowledge: Knowledge) -> str:
    """ "Management of Low IgM on Kesimpta (Ofatumumab), “Dosing Protocol …”, citations 4"."""
    document = knowledge.documents.get(statement.document)
    parts = [document.title if document else statement.document]
    if statement.section and (document is None or statement.section != document.title):
        parts.append(f"section “{statement.section}”")
    parts.append(
        f"citation{'s' if len(statement.citations) != 1 else ''} {statement.citation_label}"
        if statement.citations
        else "no citation number in the source"
    )
    return ", ".join(parts)


def parameter_value(profile: Profile, key: str) -> str:
    """A profile value as a person reads it: 600–800, 'a, b', ofatumumab 4, default 26."""
    if key not in type(profile).model_fields:
        return "(not a profile key)"
    value = getattr(profile, key)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int | float) for v in value):
        return f"{number(value[0])}–{number(value[1])}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {number(v) if isinstance(v, int | float) else v}" for k, v in value.items())
    if isinstance(value, float):
        return number(value)
    return str(value)


def knowledge_or_none() -> Knowledge | None:
    """The shipped knowledge; ``None`` if it cannot be loaded (the renderer then shows ids only)."""
    from igwatch.knowledge.catalog import knowledge

    try:
        return knowledge()
    except Exception:  # a broken data file must not hide the patient's assessment
        return None


def recommendation_title(rec: Recommendation, kb: Knowledge | None) -> str:
    if rec.title:
        return one_line(rec.title)
    if kb is not None and rec.id in kb.catalog:
        return one_line(kb.catalog[rec.id].title)
    return rec.id


# --------------------------------------------------------------------------------------------
# Consoles
# --------------------------------------------------------------------------------------------


def make_console(file: IO[str] | None = None, *, width: int | None = None) -> Console:
    """A console for ``file`` (stdout): colour on a terminal, plain when piped; at most 100 wide."""
    stream = file if file is not None else sys.stdout
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    if width is None:
        width = min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns) if is_tty else WIDTH
    return Console(
        file=stream,
        width=width,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
        force_terminal=None if is_tty else False,
        no_color=None if is_tty else True,
    )


def _string_console(color: bool, width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        markup=False,
        emoji=False,
        highlight=False,
        force_terminal=color,
        color_system="standard" if color else None,
    )
    return console, buffer


def _colored(console: Console) -> bool:
    return console.color_system is not None and not console.no_color


def _emit(console: Console, renderable: RenderableType) -> None:
    """Print; in plain output, without the trailing spaces Rich pads table rows with."""
    with console.capture() as capture:
        console.print(renderable)
    text = capture.get()
    if not _colored(console):
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    console.file.write(text)
    console.file.flush()


# --------------------------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------------------------


def _badge(priority: str, console: Console) -> Text:
    label = PRIORITY_LABEL.get(priority, priority.upper())
    if _colored(console):
        badge = Text(f" {label} ", style=PRIORITY_STYLE.get(priority, "bold"))
    else:
        badge = Text(f"[{label}]")
    badge.append(" " * (10 - len(badge)))
    return badge


def _heading(title: str, count: int | None = None) -> Group:
    label = title if count is None else f"{title} ({count})"
    return Group(Text(""), Rule(Text(label, style="bold"), align="left", characters="─"))


def _indent(renderable: RenderableType, left: int) -> Padding:
    return Padding(renderable, (0, 0, 0, left))


def _bullets(items: Iterable[str]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for item in items:
        grid.add_row("•", item)
    return grid


def _header(assessment: Assessment) -> list[RenderableType]:
    items: list[RenderableType] = [
        Rule(Text("igwatch · immunoglobulin assessment", style="bold"), align="left", characters="═")
    ]
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="dim", no_wrap=True)
    meta.add_column()
    meta.add_column(style="dim", no_wrap=True)
    meta.add_column(no_wrap=True)
    meta.add_row(
        "Patient", Text(one_line(assessment.patient_id), style="bold"), "As of", assessment.as_of.isoformat()
    )
    meta.add_row(
        "Populations", population_label(assessment.populations), "Profile", one_line(assessment.profile)
    )
    items.append(meta)
    return items


def _bottom_line_text(assessment: Assessment) -> str:
    if assessment.bottom_line:
        return one_line(assessment.bottom_line)
    if not assessment.applicable:
        return "Not applicable."
    if assessment.recommendations:
        return one_line(assessment.recommendations[0].summary)
    return "No recommendations."


def _counts_line(assessment: Assessment) -> Text:
    recs = assessment.recommendations
    by_priority = [
        f"{sum(1 for r in recs if r.priority == p)} {p}"
        for p in ("critical", "warning", "info")
        if any(r.priority == p for r in recs)
    ]
    parts = [f"{len(recs)} recommendation{'s' if len(recs) != 1 else ''}"]
    if by_priority:
        parts[0] += f" ({', '.join(by_priority)})"
    overdue = sum(1 for m in assessment.monitoring if m.overdue)
    if overdue:
        parts.append(f"{overdue} test{'s' if overdue != 1 else ''} overdue")
    issues = assessment.data_issues
    if issues:
        errors = sum(1 for i in issues if i.severity == "error")
        parts.append(
            f"{len(issues)} data issue{'s' if len(issues) != 1 else ''}"
            + (f" ({errors} record{'s' if errors != 1 else ''} ignored)" if errors else "")
        )
    return Text(" · ".join(parts), style="dim")


def _recommendation(
    index: int, rec: Recommendation, kb: Knowledge | None, console: Console
) -> list[RenderableType]:
    title = Text()
    title.append(f"{index:>2}. ")
    title.append_text(_badge(rec.priority, console))
    title.append(" ")
    title.append(recommendation_title(rec, kb), style="bold")
    title.append(f"  {rec.id}", style="dim")
    out: list[RenderableType] = [title, _indent(Text(one_line(rec.summary)), 4)]

    if rec.reasons:
        out.append(_indent(Text("Why", style="dim"), 4))
        out.append(_indent(_bullets(one_line(r.text) or r.code for r in rec.reasons), 6))

    if rec.class_note:
        out.append(_indent(Text(one_line(rec.class_note), style="italic"), 4))

    if rec.actions:
        out.append(_indent(Text("Suggested", style="dim"), 4))
        out.append(_indent(_bullets(action_label(a) for a in rec.actions), 6))

    if rec.statements:
        sources = Table.grid(padding=(0, 2))
        sources.add_column(no_wrap=True, style="cyan")
        sources.add_column()
        for sid in rec.statements:
            statement = kb.statements.get(sid) if kb else None
            sources.add_row(sid, first_words(statement.summary) if statement else "")
        out.append(_indent(Text("Sources", style="dim"), 4))
        out.append(_indent(sources, 6))
    return out


def _monitoring(assessment: Assessment, console: Console) -> list[RenderableType]:
    if not assessment.monitoring:
        return []
    table = Table(box=None, pad_edge=False, padding=(0, 2), show_edge=False, header_style="dim")
    table.add_column("Test")
    table.add_column("Due", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Last done", no_wrap=True)
    for entry in assessment.monitoring:
        status = due_status(entry, assessment.as_of)
        table.add_row(
            monitoring_label(entry.test),
            entry.due.isoformat(),
            Text(status, style="bold red" if entry.overdue else ""),
            entry.last_done.isoformat() if entry.last_done else "never",
        )
    return [_heading("Monitoring"), _indent(table, 2)]


def _factor(value: float) -> str:
    text = number(value)
    return text if "." in text else f"{text}.0"


def dose_lines(block: DoseBlock) -> list[tuple[str, str]]:
    """The dose block as (label, text) rows, shared by the text and HTML forms.

    A text may hold a line break (the second line explains the arithmetic).
    """
    ivig, scig = block.ivig, block.scig
    rows: list[tuple[str, str]] = []
    current = block.current
    if current is not None:
        # §6 (revision 2): on replacement the patient's own dose comes first, labelled as such.
        if current.recorded and current.dose_g is not None:
            every = f" every {number(current.interval_weeks)} weeks" if current.interval_weeks else ""
            route = f" {current.route}" if current.route else ""
            per_kg = (
                f" ({number(current.g_per_kg_per_4_weeks)} g/kg per 4 weeks)"
                if current.g_per_kg_per_4_weeks is not None
                else ""
            )
            rows.append(("Current dose", f"{number(current.dose_g, 'g')}{route}{every}{per_kg}"))
        else:
            rows.append(("Current dose", "not recorded — record the dose and interval given"))
    if block.weight_kg is None:
        rows.append(("Dosing weight", "none recent enough — record a weight to compute the doses in grams"))
    else:
        basis = WEIGHT_BASIS_LABEL.get(block.weight_basis, block.weight_basis)
        rows.append(("Dosing weight", f"{number(block.weight_kg, 'kg')} ({basis})"))
    alt = (
        f" (alternative: every {ivig.alternative_interval_weeks} weeks)"
        if ivig.alternative_interval_weeks and ivig.alternative_interval_weeks != ivig.interval_weeks
        else ""
    )
    per_kg = f"{number(ivig.g_per_kg)} g/kg"
    ivig_label = "IVIG (starting dose, for reference)" if current is not None else "IVIG"
    if ivig.dose_g is None:
        rows.append((ivig_label, f"{per_kg} every {ivig.interval_weeks} weeks{alt}"))
    else:
        line = f"{number(ivig.dose_g, 'g')} every {ivig.interval_weeks} weeks{alt}"
        weight = block.weight_kg_exact if block.weight_kg_exact is not None else block.weight_kg
        if ivig.dose_g_exact is not None and weight is not None:
            # the unrounded weight, so the product shown is the product computed
            arithmetic = f"{per_kg} × {number(weight, 'kg')} = {number(ivig.dose_g_exact, 'g')}"
            if float(ivig.dose_g) != float(ivig.dose_g_exact):
                arithmetic += f", rounded to {number(ivig.dose_g, 'g')}"
            line += f"\n{arithmetic}"
        rows.append((ivig_label, line))
    factor = f"conversion factor {_factor(scig.conversion_factor)} from the IVIG dose"
    if scig.weekly_g is None and scig.biweekly_g is None:
        rows.append(("SCIG", f"the equivalent dose weekly or every 2 weeks ({factor})"))
    else:
        rows.append(
            (
                "SCIG",
                f"{number(scig.weekly_g, 'g')} weekly, or {number(scig.biweekly_g, 'g')} every 2 weeks\n{factor}",
            )
        )
    low, high = block.trough_target_mg_dl
    rows.append(("Trough target", f"IgG {number(low)}–{number(high)} mg/dL (drawn before a dose)"))
    if block.titration is not None:
        t = block.titration
        options: list[str] = []
        if t.increased_dose_g is not None:
            options.append(f"raise the dose to {number(t.increased_dose_g, 'g')} at the same interval")
        if t.same_dose_interval_weeks is not None:
            options.append(f"give the same dose every {t.same_dose_interval_weeks} weeks")
        if t.at_ceiling:
            text = (
                f"the current dose is at or above the titration ceiling ({number(t.ceiling_g_per_kg_per_4_weeks)} "
                "g/kg per 4 weeks): no increase; review adherence, protein loss, infections and the product"
            )
        else:
            text = "; or ".join(options) if options else "adjust the dose (record a weight to compute it)"
        rows.append(("Trough below target", text[0].upper() + text[1:] + "; recheck the trough in 1 month"))
    return rows


def _get(data: object, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _words(value: object) -> str:
    return one_line(value).replace("-", " ") if value else ""


IG_NAMES = {"igg": "IgG", "igm": "IgM", "iga": "IgA"}


def _agent_line(agent: dict[str, Any]) -> str:
    """ "ocrelizumab: stopped 2026-05-20 (since 2024-05-01)", "ofatumumab: planned 2026-11-01"."""
    name = one_line(agent.get("agent") or "agent")
    course = agent.get("course") or {}
    status, start = course.get("status"), course.get("start")
    since = f" (since {one_line(start)})" if start else ""
    if status == "discontinued":
        stop = course.get("stop")
        return (
            f"{name}: stopped {one_line(stop)}{since}"
            if stop
            else f"{name}: stopped, stop date unknown{since}"
        )
    if status == "starting":
        planned = course.get("planned_start")
        return f"{name}: planned" + (f" (first dose {one_line(planned)})" if planned else "")
    return f"{name}: {_words(status)}{since}"


def key_findings(facts: dict[str, Any]) -> list[tuple[str, str]]:
    """The facts a clinician checks first, as (label, text) rows; tolerant of missing pieces."""
    rows: list[tuple[str, str]] = []
    igs = _get(facts, "immunoglobulins")
    parts = []
    for key, name in IG_NAMES.items():
        ig = _get(igs, key)
        if not isinstance(ig, dict):
            continue
        value = ig.get("value")
        if value is None:
            parts.append(f"{name} not measured")
            continue
        text = f"{name} {one_line(ig.get('comparator') or '')}{number(value)} mg/dL"
        notes = []
        if ig.get("state") == "low":
            notes.append("LOW" + (f", limit {number(ig['limit'])}" if ig.get("limit") is not None else ""))
        elif ig.get("state") == "unknown":
            notes.append("not interpretable")
        if ig.get("stale"):
            notes.append("too old to count")
        if ig.get("date"):
            notes.append(one_line(ig["date"]))
        parts.append(f"{text} ({'; '.join(notes)})" if notes else text)
    if parts:
        if _get(igs, "igg_severe"):
            parts.append("IgG below the replacement threshold")
        rows.append(("Immunoglobulins", " · ".join(parts)))

    exposure = _get(facts, "anti_cd20")
    status = _get(exposure, "status")
    if status and status != "none":
        # one line per agent: a patient switching agents shows both (clinical-spec F2)
        agents = [_agent_line(a) for a in _get(exposure, "agents") or () if isinstance(a, dict)]
        rows.append(("Anti-CD20", " · ".join(agents) or _words(status)))
        bcells = _get(facts, "b_cells")
        b_status = _get(bcells, "status")
        if b_status:
            text = _words(b_status)
            cd19 = _get(bcells, "latest_cd19")
            if cd19 is not None:
                text += f"; CD19 {number(cd19)} cells/µL ({one_line(_get(bcells, 'latest_cd19_date') or '')})"
            rows.append(("B cells", text))

    deficiency = _get(facts, "igm_deficiency", "status")
    if deficiency and deficiency != "none":
        rows.append(("IgM deficiency", _words(deficiency)))
        response = _get(facts, "specific_antibody_response", "status")
        if response:
            rows.append(("Specific antibodies", _words(response)))

    episodes = _get(facts, "infection_episodes")
    if isinstance(episodes, list):
        if not episodes:
            rows.append(("Infections", "no episode in the window"))
        else:
            severe = sum(1 for e in episodes if isinstance(e, dict) and e.get("severe"))
            listed = []
            for episode in episodes:
                if not isinstance(episode, dict):
                    continue
                flags = [
                    flag
                    for flag, key in (
                        ("life-threatening", "life_threatening"),
                        ("severe", "severe"),
                        ("encapsulated", "encapsulated"),
                        ("active", "active"),
                    )
                    if episode.get(key)
                ]
                if "life-threatening" in flags and "severe" in flags:
                    flags.remove("severe")
                label = one_line(episode.get("display") or episode.get("id") or "episode")
                detail = ", ".join([one_line(episode.get("onset") or "undated"), *flags])
                listed.append(f"{label} ({detail})")
            count = f"{len(episodes)} episode{'s' if len(episodes) != 1 else ''} in the window"
            if severe:
                count += f", {severe} severe"
            rows.append(("Infections", f"{count}: " + "; ".join(listed)))

    igrt = _get(facts, "ig_replacement")
    igrt_status = _get(igrt, "status")
    if igrt_status and igrt_status != "none":
        text = _words(igrt_status)
        route = _get(igrt, "route")
        if route:
            text += f", {one_line(route)}"
        if _get(igrt, "dose_g") is not None:
            text += f", {number(_get(igrt, 'dose_g'), 'g')}"
            interval = _get(igrt, "interval_days")
            if interval:
                text += f" every {number(interval)} days"
        if _get(igrt, "start"):
            text += f", since {one_line(_get(igrt, 'start'))}"
        trough = _get(igrt, "latest_trough")
        if trough is not None:
            text += (
                f"; latest trough {number(trough)} mg/dL ({one_line(_get(igrt, 'latest_trough_date') or '')})"
            )
        rows.append(("Ig replacement", text))

    prophylaxis = _get(facts, "prophylaxis", "status")
    if prophylaxis and prophylaxis != "none":
        failed = " (failed)" if _get(facts, "prophylaxis", "failed") else ""
        rows.append(("Antibiotic prophylaxis", _words(prophylaxis) + failed))

    body = _get(facts, "body_size")
    if isinstance(body, dict) and body.get("weight_kg") is not None:
        text = f"{number(body['weight_kg'], 'kg')}"
        if body.get("weight_date"):
            text += f" ({one_line(body['weight_date'])})"
        if body.get("bmi") is not None:
            text += f", BMI {number(round(float(body['bmi']), 1))}"
        rows.append(("Weight", text))
    return rows


def _findings(assessment: Assessment) -> list[RenderableType]:
    rows = key_findings(assessment.facts) if isinstance(assessment.facts, dict) else []
    if not rows:
        return []
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, text in rows:
        table.add_row(label, text)
    return [_heading("Findings"), _indent(table, 2)]


def _dose_table(block: DoseBlock) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, text in dose_lines(block):
        table.add_row(label, text)
    return table


SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
GROUP_INFO_OVER = 3


def _issues(issues: Sequence[DataIssue], console: Console) -> list[RenderableType]:
    """Errors and warnings one by one; many info issues of one code as a single entry."""
    if not issues:
        return []
    ordered = sorted(issues, key=lambda i: SEVERITY_RANK.get(i.severity, 3))
    groups: list[list[DataIssue]] = []
    by_code: dict[str, list[DataIssue]] = {}
    for issue in ordered:
        if issue.severity == "info":
            if issue.code not in by_code:
                by_code[issue.code] = []
                groups.append(by_code[issue.code])
            by_code[issue.code].append(issue)
        else:
            groups.append([issue])
    expanded: list[list[DataIssue]] = []
    for group in groups:
        if len(group) > GROUP_INFO_OVER:
            expanded.append(group)
        else:
            expanded.extend([issue] for issue in group)

    out: list[RenderableType] = [_heading("Data issues", len(issues))]
    for group in expanded:
        issue = group[0]
        line = Text()
        line.append(f"{issue.severity.upper():<8}", style=SEVERITY_STYLE.get(issue.severity, ""))
        line.append(one_line(issue.code), style="bold")
        if len(group) > 1:
            line.append(f"  ×{len(group)} records", style="dim")
        elif issue.resource:
            line.append(f"  {one_line(issue.resource)}", style="dim")
        out.append(_indent(line, 2))
        message = one_line(issue.message)
        if len(group) > 1:
            message = f"e.g. {message}"
        out.append(_indent(Text(message), 10))
        if len(group) > 1:
            resources = ", ".join(one_line(i.resource) for i in group if i.resource)
            if resources:
                out.append(_indent(Text(resources, style="dim"), 10))
    return out


# --------------------------------------------------------------------------------------------
# Public renderers
# --------------------------------------------------------------------------------------------


def print_assessment(assessment: Assessment, console: Console | None = None) -> None:
    """Print the assessment for a clinician."""
    console = console or make_console()
    kb = knowledge_or_none()
    parts: list[RenderableType] = [*_header(assessment)]

    parts.append(Text(""))
    if not assessment.applicable:
        reason = one_line(assessment.applicable_reason or "") or "the patient is in neither population"
        bottom_line = one_line(assessment.bottom_line) or f"Not applicable: {reason}"
        line = Text()
        line.append("Bottom line: ", style="bold")
        line.append(bottom_line, style="bold")
        parts.append(line)
        if reason not in bottom_line:
            parts.append(Text(f"Not applicable: {reason}"))
        parts.append(
            Text(
                "igwatch advises on patients on B-cell-depleting therapy (K) or with primary IgM deficiency "
                "(D); no recommendation applies to this patient.",
                style="dim",
            )
        )
        parts.extend(_findings(assessment))
        parts.extend(_issues(assessment.data_issues, console))
        if not assessment.data_issues:
            parts.append(Text(""))
            parts.append(Text("No data issues.", style="dim"))
        _emit(console, Group(*parts))
        return

    bottom = Text()
    bottom.append("Bottom line: ", style="bold")
    bottom.append(_bottom_line_text(assessment), style="bold")
    parts.append(bottom)
    parts.append(_counts_line(assessment))

    parts.append(_heading("Recommendations", len(assessment.recommendations)))
    if not assessment.recommendations:
        parts.append(_indent(Text("None."), 2))
    for index, rec in enumerate(assessment.recommendations, start=1):
        if index > 1:
            parts.append(Text(""))
        parts.extend(_recommendation(index, rec, kb, console))

    parts.extend(_monitoring(assessment, console))

    if assessment.dosing is not None:
        parts.append(_heading("Dosing"))
        parts.append(_indent(_dose_table(assessment.dosing), 2))

    parts.extend(_findings(assessment))

    parts.extend(_issues(assessment.data_issues, console))
    _emit(console, Group(*parts))


def assessment_text(assessment: Assessment, *, width: int = WIDTH, color: bool = False) -> str:
    """The text form as a string (plain unless ``color``)."""
    console, buffer = _string_console(color, width)
    print_assessment(assessment, console)
    return buffer.getvalue()


def print_dose(
    block: DoseBlock, issues: Iterable[DataIssue], profile: Profile, console: Console | None = None
) -> None:
    """The dose block alone (``igwatch dose``)."""
    console = console or make_console()
    parts: list[RenderableType] = [
        Rule(Text("igwatch · immune globulin dose", style="bold"), align="left", characters="═"),
        Text(f"Profile {one_line(profile.name)}", style="dim"),
        _dose_table(block),
    ]
    parts.extend(_issues(list(issues), console))
    _emit(console, Group(*parts))


def print_catalog(kb: Knowledge, console: Console | None = None) -> None:
    """The recommendation catalog (``igwatch rules``)."""
    console = console or make_console()
    parts: list[RenderableType] = [
        Rule(Text("igwatch · recommendation catalog", style="bold"), align="left", characters="═"),
        Text(
            f"{len(kb.catalog)} recommendations, in catalog order. "
            "Population: K B-cell-depleting therapy, D IgM deficiency, any = K or D. "
            "`igwatch explain ID` shows one in full.",
            style="dim",
        ),
    ]
    area = None
    for entry in kb.catalog.values():
        if entry.area and entry.area != area:
            area = entry.area
            parts.append(_heading(area[:1].upper() + area[1:]))  # "Anti-cd20" would miscase CD20
        title = Text()
        title.append(entry.id, style="bold cyan")
        if entry.title and entry.title != entry.id:
            title.append(f" — {entry.title}", style="bold")
        parts.append(title)
        body = Table.grid(padding=(0, 2))
        body.add_column(style="dim", no_wrap=True)
        body.add_column()
        body.add_row("population", entry.population)
        body.add_row("priority", entry.priority_rule or entry.priority)
        body.add_row("statements", ", ".join(entry.statements))
        if entry.fires_when:
            body.add_row("fires when", Markdown(clean(entry.fires_when).strip()))
        if entry.summary:
            body.add_row("says", one_line(entry.summary))
        parts.append(_indent(body, 2))
    _emit(console, Group(*parts))


def print_explain_recommendation(
    entry: CatalogEntry, kb: Knowledge, profile: Profile, console: Console | None = None
) -> None:
    """One recommendation in full (``igwatch explain ID``)."""
    console = console or make_console()
    title = Text()
    title.append(entry.id, style="bold cyan")
    if entry.title and entry.title != entry.id:
        title.append(f" — {entry.title}", style="bold")
    parts: list[RenderableType] = [
        Rule(Text("igwatch · explain", style="bold"), align="left", characters="═"),
        title,
    ]
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="dim", no_wrap=True)
    meta.add_column()
    meta.add_row("population", entry.population)
    meta.add_row("priority", entry.priority_rule or entry.priority)
    if entry.area:
        meta.add_row("area", entry.area)
    parts.append(_indent(meta, 2))

    parts.append(_heading("When it fires"))
    parts.append(_indent(Markdown(clean(entry.fires_when).strip() or "—"), 2))

    parts.append(_heading("What it says"))
    parts.append(_indent(Text(one_line(entry.summary)), 2))
    if entry.summary_variants:
        parts.append(_indent(Text("Variants, by situation:", style="dim"), 2))
        variants = Table.grid(padding=(0, 2))
        variants.add_column(no_wrap=True, style="bold")
        variants.add_column()
        for variant, text in entry.summary_variants.items():
            variants.add_row(variant, one_line(text))
        parts.append(_indent(variants, 4))
    if entry.detail.strip():
        parts.append(_indent(Markdown(entry.detail.strip()), 2))
    if entry.class_note:
        parts.append(_indent(Text(one_line(entry.class_note), style="italic"), 2))

    if entry.reason_codes:
        parts.append(_heading("Reason codes"))
        reasons = Table.grid(padding=(0, 2))
        reasons.add_column(style="bold", no_wrap=True)
        reasons.add_column()
        for code in entry.reason_codes:
            reasons.add_row(code, one_line(entry.reason_text.get(code, "")))
        parts.append(_indent(reasons, 2))

    parts.append(_heading(f"Profile parameters (profile {profile.name})"))
    if entry.parameters:
        for key in entry.parameters:
            line = Text()
            line.append(key, style="bold")
            line.append(" = ")
            line.append(parameter_value(profile, key))
            parts.append(_indent(line, 2))
            source = profile.provenance.get(key, "")
            parts.append(_indent(Text(f"from {source}" if source else "from —", style="dim"), 6))
    else:
        parts.append(_indent(Text("None: this recommendation uses no profile value."), 2))

    parts.append(_heading("Statements", len(entry.statements)))
    for sid in entry.statements:
        statement = kb.statements.get(sid)
        if statement is None:
            parts.append(_indent(Text(f"{sid}: not in the statement index", style="red"), 2))
            continue
        parts.extend(_statement_block(statement, kb))
    _emit(console, Group(*parts))


def statement_text(statement: Statement, indent: int) -> RenderableType:
    """The verbatim text of a statement, its "- " lines as bullets with a hanging indent."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    lines = [line.strip() for line in clean(statement.text).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("- "):
            grid.add_row("•", line[2:].strip())
        else:
            grid.add_row("", line)
    return _indent(grid, indent)


def _statement_block(statement: Statement, kb: Knowledge) -> list[RenderableType]:
    head = Text()
    head.append(statement.id, style="bold cyan")
    head.append(f"  {statement_source(statement, kb)}", style="dim")
    out: list[RenderableType] = [_indent(head, 2), statement_text(statement, 3)]
    if statement.note:
        out.append(_indent(Text(f"Note: {one_line(statement.note)}", style="italic"), 6))
    return out


def print_explain_statement(statement: Statement, kb: Knowledge, console: Console | None = None) -> None:
    """One statement in full, with the recommendations that cite it."""
    console = console or make_console()
    parts: list[RenderableType] = [
        Rule(Text("igwatch · explain", style="bold"), align="left", characters="═"),
        *_statement_block(statement, kb),
    ]
    if statement.summary:
        parts.append(_indent(Text(f"In short: {one_line(statement.summary)}", style="dim"), 4))
    citing = [e for e in kb.catalog.values() if statement.id in e.statements]
    parts.append(_heading("Cited by", len(citing)))
    if not citing:
        parts.append(_indent(Text("No recommendation (context only)."), 2))
    for entry in citing:
        line = Text()
        line.append(entry.id, style="bold cyan")
        line.append(f"  {one_line(entry.summary)}")
        parts.append(_indent(line, 2))
    _emit(console, Group(*parts))


def print_terminology_report(report: CoverageReport, console: Console | None = None) -> None:
    """``igwatch terminology-report``: per kind, the codes with counts and how they are recognised."""
    console = console or make_console()
    parts: list[RenderableType] = [
        Rule(Text("igwatch · terminology coverage", style="bold"), align="left", characters="═"),
        Text(f"{len(report.files)} file(s) read: {', '.join(report.files)}", style="dim"),
    ]
    labels = {"code": "by code", "name": "by name", "missed": "not recognised"}
    for kind, title in (("condition", "Conditions"), ("medication", "Medications"), ("vaccine", "Vaccines")):
        lines = [line for line in report.lines if line.kind == kind]
        totals = report.totals().get(kind, {})
        summary = ", ".join(
            f"{totals.get(f'codes_{status}', 0)} {label} ({totals.get(f'records_{status}', 0)} records)"
            for status, label in labels.items()
        )
        parts.append(_heading(title, len(lines)))
        parts.append(_indent(Text(summary, style="dim"), 2))
        table = Table(box=None, pad_edge=False, padding=(0, 2), show_edge=False, header_style="dim")
        for column in ("Records", "Code", "Display", "Recognised", "Value sets"):
            table.add_column(column, no_wrap=column in ("Records", "Code"))
        for line in lines:
            style = "bold" if line.status == "missed" else ""
            system = line.system.rsplit("/", 1)[-1]
            table.add_row(
                str(line.count),
                f"{system} {line.code}".strip(),
                one_line(line.display),
                Text(labels[line.status], style=style),
                ", ".join(line.valuesets),
            )
        parts.append(_indent(table, 2))
    _emit(console, Group(*parts))
