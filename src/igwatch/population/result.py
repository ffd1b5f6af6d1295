"""What an engine hands back to the screen (the rows themselves go to the screen's ``emit``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EngineOutput:
    """The counts the summary needs besides the rows."""

    patients_read: int = 0
    patients_screened: int = 0
