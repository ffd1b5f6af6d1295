"""The vocabulary the facts share: statuses, and the record states every fact reads alike."""

from __future__ import annotations

from typing import Literal

ExposureStatus = Literal["current", "starting", "discontinued", "none"]
BCellStatus = Literal[
    "not-exposed", "not-exposed-yet", "presumed-depleted", "repleted", "not-repleted", "unknown"
]
IgState = Literal["low", "not-low", "unknown"]
ResponseStatus = Literal["impaired", "normal", "not-assessable", "not-assessed"]
IgmDeficiency = Literal["confirmed", "suspected", "none"]

STATUS_RANK: dict[str, int] = {"current": 3, "starting": 2, "discontinued": 1, "none": 0}
IGNORED_MEDICATION_STATUSES = frozenset({"entered-in-error", "not-taken", "not-done"})
STOPPED_STATUSES = frozenset({"stopped", "completed", "cancelled"})
IGNORED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
ANTI_CD20_AGENTS = ("ofatumumab", "ocrelizumab", "rituximab", "ublituximab")
IG_NAMES = {"igg": "IgG", "igm": "IgM", "iga": "IgA"}
DEFAULT_IGRT_INTERVAL_DAYS = {"IV": 28, "SC": 7}
