"""The worklist's flags: the yes/no columns a nurse filters a worklist on, said once for every
worklist igwatch makes (the web page over stored patients, the screen's worklist.csv/.parquet).

A flag comes from the monitoring (an overdue panel or trough), from the facts (an active
infection), or from a fired recommendation whose catalog entry names the flag (``worklist_flag``).
"""

from __future__ import annotations

from typing import Final

from igwatch.assessment import Assessment
from igwatch.knowledge.catalog import knowledge

#: (column, heading), in the order the worklist shows them.
WORKLIST_FLAGS: Final[tuple[tuple[str, str], ...]] = (
    ("overdue", "Overdue panel or trough"),
    ("igrt_criteria", "Ig replacement criteria met"),
    ("live_vaccine", "Live-vaccine restriction"),
    ("review_ofatumumab", "Review stopping the B-cell-depleting agent"),
    ("active_infection", "Active infection"),
)
FLAG_KEYS: Final = tuple(key for key, _ in WORKLIST_FLAGS)
OVERDUE_TESTS: Final = ("ig-panel", "igg-trough")


def worklist_flags(assessment: Assessment) -> dict[str, bool]:
    """Every flag of :data:`WORKLIST_FLAGS` for one assessed patient."""
    catalog = knowledge().catalog
    raised = {catalog[r.id].worklist_flag for r in assessment.recommendations}
    flags = {key: key in raised for key in FLAG_KEYS}
    flags["overdue"] = any(m.overdue and m.test in OVERDUE_TESTS for m in assessment.monitoring)
    flags["active_infection"] = any(e.active for e in assessment.facts.episodes)
    return flags
