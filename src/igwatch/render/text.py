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
from collections.abc import Iterable, Sequence
from typing import IO

from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from igwatch.assessment import Assessment, DoseBlock, Recommendation
from igwatch.fhir.coverage import CoverageReport
from igwatch.knowledge.catalog import CatalogEntry, Knowledge, Statement
from igwatch.knowledge.profile import Profile
from igwatch.render.words import (
    PRIORITY_LABEL,
    action_label,
    clean,
    dose_lines,
    due_status,
    first_words,
    key_findings,
    knowledge_or_none,
    monitoring_label,
    one_line,
    parameter_value,
    population_label,
    recommendation_title,
    statement_source,
)
from igwatch.timeline import DataIssue

WIDTH = 100

PRIORITY_STYLE = {
    "critical": "bold white on red",
    "warning": "bold black on yellow",
    "info": "bold white on blue",
}
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


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


def _findings(assessment: Assessment) -> list[RenderableType]:
    rows = key_findings(assessment.facts)
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
