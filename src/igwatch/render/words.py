"""The words igwatch uses for an assessment, shared by every renderer and door.

The terminal text, the printable HTML, the web pages and the SMART pages say a priority, a
population, a due date, an action, a dose and the key findings in the same words: they take them
from here. Values come from the typed assessment (attributes, never string keys); every string
that may come from the patient's record goes through :func:`clean`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Any

from igwatch.assessment import MONITORING_LABEL, DoseBlock, MonitoringEntry, Recommendation
from igwatch.facts import IG_NAMES, AgentExposure, Episode, Facts, shown_number
from igwatch.knowledge.catalog import Knowledge, Statement
from igwatch.knowledge.profile import Profile

PRIORITY_LABEL = {"critical": "CRITICAL", "warning": "WARNING", "info": "INFO"}

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


# --------------------------------------------------------------------------------------------
# Key findings
# --------------------------------------------------------------------------------------------


def words(value: object) -> str:
    """A code as words: "not-repleted" → "not repleted"."""
    return one_line(value).replace("-", " ") if value else ""


def _day(value: date | None, missing: str = "") -> str:
    return value.isoformat() if value is not None else missing


def _agent_line(agent: AgentExposure) -> str:
    """ "ocrelizumab: stopped 2026-05-20 (since 2024-05-01)", "ofatumumab: planned 2026-11-01"."""
    name = one_line(agent.agent or "agent")
    course = agent.course
    since = f" (since {_day(course.start)})" if course.start else ""
    if course.status == "discontinued":
        if course.stop:
            return f"{name}: stopped {_day(course.stop)}{since}"
        return f"{name}: stopped, stop date unknown{since}"
    if course.status == "starting":
        planned = course.planned_start
        return f"{name}: planned" + (f" (first dose {_day(planned)})" if planned else "")
    return f"{name}: {words(course.status)}{since}"


def _immunoglobulins(facts: Facts) -> str:
    parts = []
    for ig in (facts.igg, facts.igm, facts.iga):
        name = IG_NAMES[ig.kind]
        if ig.value is None:
            parts.append(f"{name} not measured")
            continue
        text = f"{name} {one_line(ig.comparator or '')}{number(shown_number(ig.value))} mg/dL"
        notes = []
        if ig.state == "low":
            notes.append(
                "LOW" + (f", limit {number(shown_number(ig.limit))}" if ig.limit is not None else "")
            )
        elif ig.state == "unknown":
            notes.append("not interpretable")
        if ig.stale:
            notes.append("too old to count")
        if ig.date:
            notes.append(ig.date.isoformat())
        parts.append(f"{text} ({'; '.join(notes)})" if notes else text)
    if facts.igg_severe:
        parts.append("IgG below the replacement threshold")
    return " · ".join(parts)


def _episode_line(episode: Episode) -> str:
    flags = [
        flag
        for flag, on in (
            ("life-threatening", episode.life_threatening),
            ("severe", episode.severe and not episode.life_threatening),
            ("encapsulated", episode.encapsulated),
            ("active", episode.active),
        )
        if on
    ]
    label = one_line(episode.display or episode.id or "episode")
    return f"{label} ({', '.join([episode.onset.isoformat(), *flags])})"


def _infections(episodes: Sequence[Episode]) -> str:
    if not episodes:
        return "no episode in the window"
    count = f"{len(episodes)} episode{'s' if len(episodes) != 1 else ''} in the window"
    severe = sum(1 for e in episodes if e.severe)
    if severe:
        count += f", {severe} severe"
    return f"{count}: " + "; ".join(_episode_line(e) for e in episodes)


def _ig_replacement(facts: Facts) -> str:
    igrt = facts.igrt
    text = words(igrt.status)
    if igrt.route:
        text += f", {one_line(igrt.route)}"
    if igrt.dose_g is not None:
        text += f", {number(shown_number(igrt.dose_g), 'g')}"
        if igrt.interval_days:
            text += f" every {number(shown_number(igrt.interval_days))} days"
    if igrt.start:
        text += f", since {igrt.start.isoformat()}"
    if igrt.latest_trough is not None:
        trough_date = _day(igrt.latest_trough_date)
        text += f"; latest trough {number(shown_number(igrt.latest_trough))} mg/dL ({trough_date})"
    return text


def key_findings(facts: Facts) -> list[tuple[str, str]]:
    """The facts a clinician checks first, as (label, text) rows."""
    rows: list[tuple[str, str]] = [("Immunoglobulins", _immunoglobulins(facts))]
    exposure = facts.exposure
    if exposure.status != "none":
        # one line per agent: a patient switching agents shows both (clinical-spec F2)
        agents = [_agent_line(a) for a in exposure.agents]
        rows.append(("Anti-CD20", " · ".join(agents) or words(exposure.status)))
        b_cells = facts.b_cells
        text = words(b_cells.status)
        if b_cells.latest_cd19 is not None:
            cd19 = number(shown_number(b_cells.latest_cd19))
            text += f"; CD19 {cd19} cells/µL ({_day(b_cells.latest_cd19_date)})"
        rows.append(("B cells", text))
    if facts.igm_deficiency.status != "none":
        rows.append(("IgM deficiency", words(facts.igm_deficiency.status)))
        rows.append(("Specific antibodies", words(facts.antibody_response.status)))
    rows.append(("Infections", _infections(facts.episodes)))
    if facts.igrt.status != "none":
        rows.append(("Ig replacement", _ig_replacement(facts)))
    if facts.prophylaxis.status != "none":
        failed = " (failed)" if facts.prophylaxis.failed else ""
        rows.append(("Antibiotic prophylaxis", words(facts.prophylaxis.status) + failed))
    body = facts.body
    if body.weight_kg is not None:
        text = number(shown_number(body.weight_kg), "kg")
        if body.weight_date:
            text += f" ({body.weight_date.isoformat()})"
        if body.bmi is not None:
            text += f", BMI {number(round(float(shown_number(body.bmi)), 1))}"
        rows.append(("Weight", text))
    return rows
