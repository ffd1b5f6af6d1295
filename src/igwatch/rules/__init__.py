"""Rules: pure functions of named facts and the profile (clinical-spec §5).

A rule returns a :class:`Fired` (the recommendation id, its reasons with values and dates, and
any priority, wording variant, monitoring entry or suggested action) or ``None``. Texts and
statements come from the catalog, never from here; thresholds come from the profile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from igwatch.assessment import MonitoringEntry, Priority, Reason
from igwatch.facts import Facts
from igwatch.knowledge.profile import Profile


@dataclass
class Fired:
    id: str
    reasons: list[Reason]
    priority: Priority | None = None
    variant: str | None = None
    monitoring: list[MonitoringEntry] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


Rule = Callable[[Facts, Profile], "Fired | None"]


def all_rules() -> list[Rule]:
    """Every rule, in no particular order (the catalog orders the output)."""
    from igwatch.rules import (
        evaluation,
        monitoring,
        ofatumumab,
        prophylaxis,
        replacement,
        risk,
        serology,
        vaccines,
    )

    return [
        *monitoring.RULES,
        *replacement.RULES,
        *prophylaxis.RULES,
        *ofatumumab.RULES,
        *vaccines.RULES,
        *serology.RULES,
        *evaluation.RULES,
        *risk.RULES,
    ]
