"""Derived facts F1–F11 (clinical-spec §4): computed once per assessment, named, with sources.

One module a fact (F1 :mod:`exposure`, F2 :mod:`b_cells`, F3 :mod:`immunoglobulins`, F4
:mod:`infections`, F5 :mod:`ig_replacement`, F6 :mod:`prophylaxis`, F7 :mod:`antibody_response`,
F8–F9 :mod:`diagnoses`, F10 :mod:`body_size`, F11 :mod:`trends`), and :mod:`derive`, which
computes them all for one patient. Every function is pure: a Timeline, the ``as_of`` date and the
profile in, facts out. Records dated after ``as_of`` are left out. Problems found on the way
become data issues (§7).
"""

from igwatch.facts.antibody_response import SpecificAntibodyResponse
from igwatch.facts.b_cells import BCells
from igwatch.facts.base import DEFAULT_IGRT_INTERVAL_DAYS, IG_NAMES
from igwatch.facts.body_size import BodySize
from igwatch.facts.courses import Course
from igwatch.facts.derive import Facts, derive_facts, shown_number
from igwatch.facts.diagnoses import IgmDeficiencyFact
from igwatch.facts.exposure import AgentExposure, AntiCD20Exposure
from igwatch.facts.ig_replacement import IgReplacement
from igwatch.facts.immunoglobulins import Immunoglobulin
from igwatch.facts.infections import Episode
from igwatch.facts.prophylaxis import Prophylaxis
from igwatch.facts.trends import Trend, trend

__all__ = [
    "DEFAULT_IGRT_INTERVAL_DAYS",
    "IG_NAMES",
    "AgentExposure",
    "AntiCD20Exposure",
    "BCells",
    "BodySize",
    "Course",
    "Episode",
    "Facts",
    "IgReplacement",
    "IgmDeficiencyFact",
    "Immunoglobulin",
    "Prophylaxis",
    "SpecificAntibodyResponse",
    "Trend",
    "derive_facts",
    "shown_number",
    "trend",
]
