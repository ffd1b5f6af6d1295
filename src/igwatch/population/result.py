"""What an engine hands back to the screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EngineOutput:
    """Every assessed patient's worklist row (in scope or not), and the counts the summary needs."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    patients_read: int = 0
    patients_screened: int = 0
