"""Order rules: what igwatch says about draft orders in the order-select / order-sign hooks.

Each judges the draft orders of one request against the patient's assessment (the drafts already
count as the patient's records in it, contract §4) and returns :class:`OrderAdvice` — which
recommendation, how urgent, what to suggest. The CDS Hooks cards only render it. Order rules are
declared with ``@order_rule`` and run in the order declared here (the cards' order); the catalog
entries only order rules word are marked ``door = "order"``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from igwatch.assessment import Assessment, Priority, Reason, Recommendation
from igwatch.dosing import dose_block
from igwatch.facts import DEFAULT_IGRT_INTERVAL_DAYS
from igwatch.fhir.reader import FULL_URL_KEY
from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import Profile
from igwatch.timeline import MedicationRecord, Timeline

UCUM = "http://unitsofmeasure.org"
#: Marks a draft order that came without an id (the hook gave it one to judge it): nothing can
#: be suggested about it by id.
UNNAMED_DRAFT = "_igwatch_unnamed_draft"


@dataclass(frozen=True)
class Suggestion:
    label: str
    actions: list[dict[str, Any]]


@dataclass
class OrderAdvice:
    """One card's content: a recommendation about the draft orders."""

    recommendation: Recommendation
    indicator: Priority | None = None  # None: the recommendation's own priority
    summary: str | None = None  # None: the recommendation's own summary
    suggestions: list[Suggestion] = field(default_factory=list)
    selection: str = "any"
    note: str | None = None  # a sentence the card adds about this order


@dataclass(frozen=True)
class OrderContext:
    """The draft orders of one request, as the patient's records and as the FHIR sent."""

    assessment: Assessment
    timeline: Timeline
    drafts: Mapping[str, dict[str, Any]]  # ``Type/id`` → the draft resource
    profile: Profile

    def medications(self, predicate: Callable[[MedicationRecord], bool]) -> list[MedicationRecord]:
        return [m for m in self.timeline.medications if m.id in self.drafts and predicate(m)]


OrderRule = Callable[[OrderContext], list[OrderAdvice]]
_ORDER_RULES: list[OrderRule] = []


def order_rule(rule: OrderRule) -> OrderRule:
    """Declare an order rule."""
    _ORDER_RULES.append(rule)
    return rule


def order_rules() -> tuple[OrderRule, ...]:
    return tuple(_ORDER_RULES)


def judge_orders(context: OrderContext) -> list[OrderAdvice]:
    """Every order rule's advice, in the order the rules are declared."""
    return [advice for rule in _ORDER_RULES for advice in rule(context)]


def catalog_recommendation(
    rec_id: str, variant: str | None, reasons: list[Reason], priority: Priority | None = None
) -> Recommendation:
    """A recommendation worded from the catalog, for what only the order hooks judge."""
    entry = knowledge().entry(rec_id)
    detail = entry.detail.strip()
    if reasons:
        detail += "\n\n**Why:**\n" + "\n".join(f"- {reason.text}" for reason in reasons)
    return Recommendation(
        id=rec_id,
        priority=priority or entry.priority,  # type: ignore[arg-type]
        summary=entry.summary_for(variant),
        detail=detail,
        reasons=reasons,
        statements=list(entry.statements),
        title=entry.title,
    )


def _removal(name: str, resource_id: str) -> Suggestion:
    label = f"Remove the order for {name}"
    return Suggestion(label, [{"type": "delete", "description": label, "resourceId": resource_id}])


# --------------------------------------------------------------------------- orders of other ids


@order_rule
def live_vaccine_orders(context: OrderContext) -> list[OrderAdvice]:
    """A live vaccine ordered while live vaccines are restricted: critical, or a warning for a
    patient starting a first agent (give it ≥ 4 weeks before the first dose)."""
    live = context.assessment.recommendation("vaccine.live-avoid")
    orders = [v for v in context.timeline.vaccinations if v.id in context.drafts and v.live]
    if live is None or not orders:
        return []
    starting_only = not ({r.code for r in live.reasons} & {"on-therapy", "not-repleted"})
    entry = knowledge().entry("vaccine.live-avoid")
    advice = []
    for order in orders:
        name = order.display or "the live vaccine"
        unnamed = bool(context.drafts.get(order.id, {}).get(UNNAMED_DRAFT))
        advice.append(
            OrderAdvice(
                live,
                indicator="warning" if starting_only else "critical",
                summary=entry.summary_for("order-starting" if starting_only else "order"),
                suggestions=[] if unnamed else [_removal(name, order.id)],
                selection="at-most-one",
                # CDS Hooks deletes by id: without one, say so instead of offering a removal.
                note="This order was sent without an id, so igwatch cannot offer to remove it: cancel "
                "it in the order entry."
                if unnamed
                else None,
            )
        )
    return advice


@order_rule
def anti_cd20_orders(context: OrderContext) -> list[OrderAdvice]:
    """An agent ordered: the dose delay (active infection) and the baseline panel, as assessed."""
    if not context.medications(lambda m: m.category == "anti-cd20"):
        return []
    found = (context.assessment.recommendation(i) for i in ("anti-cd20.delay-dose", "monitor.ig-baseline"))
    return [OrderAdvice(rec, suggestions=_action_suggestions(rec)) for rec in found if rec is not None]


@order_rule
def serology_orders(context: OrderContext) -> list[OrderAdvice]:
    """Viral serology ordered: how to read it (K-18, K-19)."""
    if not any(s.id in context.drafts for s in context.timeline.serology):
        return []
    found = (
        context.assessment.recommendation(i)
        for i in ("serology.false-negative-risk", "serology.passive-antibodies")
    )
    return [OrderAdvice(rec) for rec in found if rec is not None]


def _action_suggestions(rec: Recommendation) -> list[Suggestion]:
    return [Suggestion(a["description"], [a]) for a in rec.actions]


# --------------------------------------------------------------------------- immune globulin orders


def _ig_orders(context: OrderContext) -> list[MedicationRecord]:
    immunomodulatory = set(context.assessment.facts.igrt.immunomodulatory_records)
    return context.medications(lambda m: m.category == "immune-globulin" and m.id not in immunomodulatory)


def _fmt_g(value: float) -> str:
    return f"{value:g} g"


@order_rule
def igrt_order_dose(context: OrderContext) -> list[OrderAdvice]:
    """The ordered dose against the computed one, on the order's interval (K-9, D-9)."""
    advice = []
    for order in _ig_orders(context):
        rec = _dose_check(order, context.drafts.get(order.id), context.assessment, context.profile)
        if rec is not None:
            advice.append(OrderAdvice(rec, suggestions=_action_suggestions(rec), selection="at-most-one"))
    return advice


@order_rule
def igrt_order_indication(context: OrderContext) -> list[OrderAdvice]:
    """Immune globulin ordered with no replacement criterion on record (K-20)."""
    if not _ig_orders(context) or context.assessment.facts.igrt.current:
        return []
    if context.assessment.recommendation("igrt.start") is not None:
        return []
    return [OrderAdvice(catalog_recommendation("igrt.order-indication", None, []))]


def _dose_check(
    order: MedicationRecord, original: dict[str, Any] | None, assessment: Assessment, profile: Profile
) -> Recommendation | None:
    if order.dose_g is None:
        return None
    body = assessment.facts.body
    entry = knowledge().entry("igrt.order-dose")
    block, _issues = dose_block(body.weight_kg, body.height_cm, body.sex, profile)
    exact = block.ivig.dose_g_exact
    interval_days = order.interval_days or DEFAULT_IGRT_INTERVAL_DAYS.get(order.route or "IV", 28)
    what = f"{order.display or 'immune globulin'} {_fmt_g(order.dose_g)} every {interval_days:g} days"
    if exact is None or block.weight_kg is None:
        reason = Reason("weight-missing", f"{entry.reason_text['weight-missing']}: ordered {what}")
        return catalog_recommendation("igrt.order-dose", "weight-missing", [reason], priority="info")
    standard_days = profile.ivig_interval_weeks * 7
    factor = profile.scig_conversion_factor if order.route == "SC" else 1.0
    scale = interval_days / standard_days * factor
    expected = exact * scale
    accepted = [expected, block.ivig.dose_g * scale if block.ivig.dose_g else expected]
    titration = assessment.dosing.titration if assessment.dosing else None
    if titration is not None and titration.increased_dose_g:
        accepted.append(titration.increased_dose_g * scale)
    tolerance = profile.order_dose_tolerance_pct / 100
    if any(abs(order.dose_g - ok) <= tolerance * ok for ok in accepted):
        return None
    off = (order.dose_g - expected) / expected * 100
    code = "dose-above" if off > 0 else "dose-below"
    weighed = f" on {body.weight_date.isoformat()}" if body.weight_date else ""
    standard = interval_days == standard_days and order.route != "SC" and block.ivig.dose_g is not None
    suggested = block.ivig.dose_g if standard and block.ivig.dose_g is not None else round(expected)
    exact_text = _fmt_g(round(expected, 1))
    # one wording in the text and the suggestion: the exact computed dose, and the rounded one
    rounded = f" ({suggested} g rounded)" if float(suggested) != round(expected, 1) else ""
    text = (
        f"{entry.reason_text[code]}: ordered {what}; computed {exact_text}{rounded} for that "
        f"interval ({profile.ivig_g_per_kg:g} g/kg every {profile.ivig_interval_weeks} weeks, "
        f"{block.weight_basis} weight {block.weight_kg:g} kg{weighed}"
        f"{', SCIG factor ' + format(factor, 'g') if order.route == 'SC' else ''}); "
        f"{abs(off):.0f}% {'above' if off > 0 else 'below'}, tolerance {profile.order_dose_tolerance_pct:g}%"
    )
    rec = catalog_recommendation("igrt.order-dose", code, [Reason(code, text)])
    if suggested > 0 and (resource := _with_dose(original, suggested)) is not None:
        label = f"computed {exact_text}, rounded" if rounded else "computed dose"
        rec.actions.append(
            {
                "type": "update",
                "description": f"Change the order to {suggested} g every {interval_days:g} days ({label})",
                "resource": resource,
            }
        )
    return rec


def _with_dose(resource: dict[str, Any] | None, grams: int) -> dict[str, Any] | None:
    """The draft order with its dose replaced (the ``update`` suggestion of a dose card)."""
    if resource is None:
        return None
    changed = copy.deepcopy(resource)
    changed.pop(FULL_URL_KEY, None)
    try:
        quantity = changed["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(quantity, dict):
        return None
    quantity.update(value=grams, unit="g", system=UCUM, code="g")
    return changed
