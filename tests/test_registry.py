"""The rule registry against the catalog: one decorated rule per recommendation id, no more."""

from __future__ import annotations

import inspect

from igwatch.knowledge.catalog import knowledge
from igwatch.knowledge.profile import load_profile
from igwatch.rules import registered_rules
from igwatch.rules.orders import order_rules
from igwatch.worklist import FLAG_KEYS


def test_every_catalog_entry_has_exactly_one_rule() -> None:
    catalog = knowledge().catalog.values()
    assert set(registered_rules()) == {e.id for e in catalog if e.door == "assess"}
    order_rule_names = {rule.__name__ for rule in order_rules()}
    for entry in catalog:
        if entry.door == "order":
            assert entry.id.replace(".", "_").replace("-", "_") in order_rule_names, entry.id
    assert {e.door for e in catalog} == {"assess", "order"}


def test_rule_functions_are_named_after_their_ids() -> None:
    for rec_id, rule in registered_rules().items():
        assert rule.__name__ == rec_id.replace(".", "_").replace("-", "_"), rec_id
        assert inspect.getmodule(rule).__name__.startswith("igwatch.rules.")  # type: ignore[union-attr]


def test_every_parameter_a_catalog_entry_names_is_in_the_profile() -> None:
    profile = load_profile("default")
    known = set(type(profile).model_fields)
    for entry in knowledge().catalog.values():
        missing = [key for key in entry.parameters if key not in known]
        assert not missing, f"{entry.id}: {missing}"


def test_every_worklist_flag_a_catalog_entry_names_is_a_worklist_column() -> None:
    named = {e.id: e.worklist_flag for e in knowledge().catalog.values() if e.worklist_flag}
    assert set(named.values()) <= set(FLAG_KEYS), named
    # the flags not taken from a recommendation come from the monitoring and the facts
    assert set(FLAG_KEYS) - set(named.values()) == {"overdue", "active_infection"}
    assert named["vaccine.live-avoid"] == "live_vaccine"
