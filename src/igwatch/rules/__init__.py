"""Rules: one function per recommendation id (clinical-spec §5), found by the engine itself.

A rule is declared with ``@recommendation("area.name")``; it takes the facts (F1–F11), the
findings (the shared judgements, computed once) and the profile, and returns a :class:`Fired`
(its reasons with values and dates, and any priority, wording variant, monitoring entry or
suggested action) or ``None``. The engine applies the catalog's population gate before calling
it, so a rule never checks the population its catalog entry names. Texts and statements come from
the catalog, never from here; thresholds come from the profile.

Adding a recommendation: its catalog entry, one decorated function in the area's module here, and
its twin cases. Nothing else lists rules.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from igwatch.assessment import MonitoringEntry, Priority, Reason
from igwatch.facts import Facts
from igwatch.findings import Findings
from igwatch.knowledge.profile import Profile


@dataclass
class Fired:
    reasons: list[Reason]
    priority: Priority | None = None
    variant: str | None = None
    monitoring: list[MonitoringEntry] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


Rule = Callable[[Facts, Findings, Profile], "Fired | None"]

_REGISTRY: dict[str, Rule] = {}


def recommendation(recommendation_id: str) -> Callable[[Rule], Rule]:
    """Declare the rule of one catalog id (the engine finds it; no list to edit)."""

    def register(rule: Rule) -> Rule:
        if recommendation_id in _REGISTRY and _REGISTRY[recommendation_id] is not rule:
            raise RuntimeError(f"two rules declare {recommendation_id}")
        _REGISTRY[recommendation_id] = rule
        return rule

    return register


@cache
def registered_rules() -> dict[str, Rule]:
    """Every rule, by recommendation id: each module of this package is imported once."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(_REGISTRY)
