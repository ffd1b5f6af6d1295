"""The cohort covers the clinical space: across a few thousand patients the engine fires every
recommendation a synthetic patient can reach, the ofatumumab IgM figure is in the published range,
both populations occur, and most patients are in neither (as in a health system)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import pytest

from igwatch.engine import assess
from igwatch.fhir.ingest import build_timeline
from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import load_profile
from igwatch.synth import generate_patient

pytestmark = pytest.mark.slow

AS_OF = date(2026, 10, 15)
PATIENTS = 2500
SEED = 1

#: Catalog ids no synthetic patient can reach, with the reason: they answer a draft order in an
#: order-select / order-sign hook, which is not part of a stored record or a bulk export.
UNREACHABLE: dict[str, str] = {
    "igrt.order-dose": "order hooks only: a draft immune globulin order off the computed dose",
    "igrt.order-indication": "order hooks only: a draft immune globulin order without an indication",
}


@dataclass
class CohortStats:
    fired: Counter[str] = field(default_factory=Counter)
    populations: Counter[str] = field(default_factory=Counter)
    ofa_current_igm_known: int = 0
    ofa_current_igm_low: int = 0


@pytest.fixture(scope="module")
def stats() -> CohortStats:
    profile = load_profile("default")
    result = CohortStats()
    for index in range(PATIENTS):
        patient = generate_patient(SEED, index, AS_OF)
        assessment = assess(build_timeline(patient.resources, patient.id), AS_OF, profile)
        data = assessment.to_dict()
        result.populations["+".join(data["populations"]) or "neither"] += 1
        result.fired.update(rec["id"] for rec in data["recommendations"])
        facts = data["facts"]
        agents = facts["anti_cd20"]["agents"]
        if any(a["agent"] == "ofatumumab" and a["course"]["status"] == "current" for a in agents):
            igm = facts["immunoglobulins"]["igm"]["state"]
            if igm != "unknown":
                result.ofa_current_igm_known += 1
                result.ofa_current_igm_low += igm == "low"
    return result


def test_every_reachable_recommendation_fires(stats: CohortStats) -> None:
    catalog = set(knowledge().catalog)
    assert set(UNREACHABLE) <= catalog
    order_only = {e.id for e in knowledge().catalog.values() if e.fires_when.startswith("Order hooks only")}
    assert order_only == set(UNREACHABLE)
    missing = catalog - set(UNREACHABLE) - set(stats.fired)
    assert not missing, f"never fired in {PATIENTS} patients: {sorted(missing)}"


def test_ofatumumab_igm_below_limit_share_is_plausible(stats: CohortStats) -> None:
    # Trials: 14.3% below 0.34 g/L (K-7); long-term data: about a quarter at some point.
    assert stats.ofa_current_igm_known >= 100
    share = stats.ofa_current_igm_low / stats.ofa_current_igm_known
    assert 0.10 <= share <= 0.35, share


def test_both_populations_and_a_majority_in_neither(stats: CohortStats) -> None:
    total = sum(stats.populations.values())
    assert stats.populations["K"] > 0.15 * total
    assert stats.populations["D"] > 0.02 * total
    assert stats.populations["neither"] > 0.5 * total
