"""Unit conversion (contract §1 units; clinical-spec §7 unit-missing / unit-unconvertible)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igwatch.fhir.units import (
    TARGET_UNITS,
    UnitKind,
    UnitMissing,
    UnitUnconvertible,
    convert,
    convert_from_target,
    convert_quantity,
    is_convertible,
    quantity_unit,
    unit_factor,
)

# (kind, UCUM unit, factor to igwatch's unit) — every unit the contract and the brief list.
CASES: list[tuple[UnitKind, str, float]] = [
    ("immunoglobulin", "mg/dL", 1.0),
    ("immunoglobulin", "g/L", 100.0),
    ("immunoglobulin", "mg/L", 0.1),
    ("immunoglobulin", "g/dL", 1000.0),
    ("immunoglobulin", "mg/mL", 100.0),
    ("immunoglobulin", "ug/mL", 0.1),
    ("cd19-absolute", "/uL", 1.0),
    ("cd19-absolute", "{cells}/uL", 1.0),
    ("cd19-absolute", "10*6/L", 1.0),
    ("cd19-absolute", "10*9/L", 1000.0),
    ("cd19-absolute", "10*3/uL", 1000.0),
    ("cd19-absolute", "/mm3", 1.0),
    ("cd19-percent", "%", 1.0),
    ("weight", "kg", 1.0),
    ("weight", "g", 0.001),
    ("weight", "[lb_av]", 0.45359237),
    ("height", "cm", 1.0),
    ("height", "m", 100.0),
    ("height", "[in_i]", 2.54),
    ("serotype-igg", "ug/mL", 1.0),
    ("serotype-igg", "mg/L", 1.0),
    ("ig-dose", "g", 1.0),
    ("ig-dose", "mg", 0.001),
]


@pytest.mark.parametrize(("kind", "unit", "factor"), CASES)
def test_each_listed_unit_converts(kind: UnitKind, unit: str, factor: float) -> None:
    assert unit_factor(unit, kind) == pytest.approx(factor, rel=1e-12)
    assert convert(7.0, unit, kind) == pytest.approx(7.0 * factor, rel=1e-12)


def test_contract_examples() -> None:
    assert convert(250, "mg/L", "immunoglobulin") == pytest.approx(25.0)  # vignette p08
    assert convert(0.34, "g/L", "immunoglobulin") == pytest.approx(34.0)  # K-7 limit
    assert convert(0.08, "10*9/L", "cd19-absolute") == pytest.approx(80.0)
    assert convert(154, "[lb_av]", "weight") == pytest.approx(69.853225, rel=1e-9)


@pytest.mark.parametrize(
    ("kind", "unit"),
    [
        ("immunoglobulin", "mmol/L"),  # vignette p09: a substance concentration
        ("immunoglobulin", "[iU]/mL"),
        ("immunoglobulin", "kg"),
        ("immunoglobulin", "%"),
        ("cd19-absolute", "%"),
        ("cd19-absolute", "[iU]/mL"),  # same dimension as a count per volume, but not a count
        ("cd19-absolute", "mg/dL"),
        ("cd19-percent", "/uL"),
        ("cd19-percent", "1"),
        ("weight", "cm"),
        ("weight", "kg/m2"),
        ("height", "kg"),
        ("serotype-igg", "[iU]/mL"),
        ("ig-dose", "mL"),
        ("ig-dose", "g/L"),
    ],
)
def test_wrong_kind_is_unconvertible(kind: UnitKind, unit: str) -> None:
    with pytest.raises(UnitUnconvertible) as info:
        unit_factor(unit, kind)
    assert info.value.issue_code == "unit-unconvertible"
    assert not is_convertible(unit, kind)


@pytest.mark.parametrize("unit", ["MG/DL", "mcg/mL", "cells/uL", "lbs", "foo", "{cells}", "mg/", "10^^9/L"])
def test_not_ucum_is_unconvertible(unit: str) -> None:
    with pytest.raises(UnitUnconvertible):
        unit_factor(unit, "immunoglobulin")


@pytest.mark.parametrize("unit", [None, "", "   "])
def test_missing_unit(unit: str | None) -> None:
    with pytest.raises(UnitMissing) as info:
        unit_factor(unit, "immunoglobulin")
    assert info.value.issue_code == "unit-missing"


def test_quantity_takes_code_first_then_unit_string() -> None:
    assert quantity_unit({"value": 1, "unit": "mg/dL"}, "immunoglobulin") == ("mg/dL", 1.0)
    # the UCUM code wins over a human string
    ucum = "http://unitsofmeasure.org"
    assert quantity_unit(
        {"unit": "milligram per litre", "code": "mg/L", "system": ucum}, "immunoglobulin"
    ) == (
        "mg/L",
        0.1,
    )
    # an invalid code falls back to a human string that is valid UCUM
    assert quantity_unit({"unit": "g/L", "code": "G-PER-L"}, "immunoglobulin") == ("g/L", 100.0)
    # a valid UCUM code of the wrong kind is not overridden by the human string
    with pytest.raises(UnitUnconvertible):
        quantity_unit({"unit": "mg/dL", "code": "mmol/L", "system": ucum}, "immunoglobulin")


def test_quantity_non_ucum_code_system() -> None:
    with pytest.raises(UnitUnconvertible):
        quantity_unit({"code": "258797006", "system": "http://snomed.info/sct"}, "immunoglobulin")
    # with a readable human unit, that is used
    assert quantity_unit({"code": "x", "system": "http://local", "unit": "mg/dL"}, "immunoglobulin")[1] == 1.0


def test_quantity_without_unit_is_missing() -> None:
    with pytest.raises(UnitMissing):
        convert_quantity({"value": 5}, "immunoglobulin")
    with pytest.raises(UnitMissing):
        convert_quantity({"value": 5, "unit": "", "code": " "}, "weight")


def test_convert_quantity_value_checks() -> None:
    assert convert_quantity({"value": 2.5, "code": "g/L"}, "immunoglobulin").value == pytest.approx(250.0)
    for bad in ({"unit": "g/L"}, {"value": "2.5", "unit": "g/L"}, {"value": True, "unit": "g/L"}, "2.5 g/L"):
        with pytest.raises(ValueError):
            convert_quantity(bad, "immunoglobulin")


def test_targets_are_identity() -> None:
    for kind, unit in TARGET_UNITS.items():
        assert unit_factor(unit, kind) == 1.0


def test_factors_are_cached() -> None:
    from igwatch.fhir import units

    units._factor_or_reason.cache_clear()
    unit_factor("g/dL", "immunoglobulin")
    unit_factor("g/dL", "immunoglobulin")
    info = units._factor_or_reason.cache_info()
    assert info.hits >= 1 and info.misses == 1


finite = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(value=finite, case=st.sampled_from(CASES))
def test_round_trip(value: float, case: tuple[UnitKind, str, float]) -> None:
    kind, unit, _ = case
    back = convert_from_target(convert(value, unit, kind), unit, kind)
    assert math.isclose(back, value, rel_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    value=finite,
    a=st.sampled_from(["mg/dL", "g/L", "mg/L", "g/dL", "mg/mL"]),
    b=st.sampled_from(["mg/dL", "g/L", "mg/L", "g/dL", "mg/mL"]),
)
def test_round_trip_between_units(value: float, a: str, b: str) -> None:
    """v in A → mg/dL → B → mg/dL → A gives v back."""
    in_b = convert_from_target(convert(value, a, "immunoglobulin"), b, "immunoglobulin")
    back = convert_from_target(convert(in_b, b, "immunoglobulin"), a, "immunoglobulin")
    assert math.isclose(back, value, rel_tol=1e-9)


@settings(max_examples=200, deadline=None)
@given(unit=st.text(max_size=12))
def test_random_unit_strings_never_crash(unit: str) -> None:
    try:
        factor = unit_factor(unit, "immunoglobulin")
    except (UnitMissing, UnitUnconvertible):
        return
    assert factor > 0 and math.isfinite(factor)


def test_an_overlong_unit_is_unreadable_and_never_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clinical-spec §7 (revision 2): a unit string over 64 characters is refused unparsed (a
    hostile 23 KiB unit used to take seconds to parse)."""
    from igwatch.fhir import units

    def no_parsing(unit: str) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(units, "_parse", no_parsing)
    hostile = "mg/dL" + "." * 23_000
    for quantity in (
        {"value": 40, "code": hostile, "system": "http://unitsofmeasure.org"},
        {"value": 40, "unit": hostile},
    ):
        with pytest.raises(units.UnitUnreadable) as refused:
            units.quantity_value(quantity, "immunoglobulin")
        assert refused.value.issue_code == "unit-unreadable"
    assert not units.is_convertible(hostile, "immunoglobulin")


def test_the_unit_length_limit_is_64_characters() -> None:
    from igwatch.fhir import units

    at_limit, over = "x" * 64, "x" * 65
    with pytest.raises(units.UnitUnconvertible):  # parsed, and not UCUM
        units.quantity_value({"value": 40, "unit": at_limit}, "immunoglobulin")
    with pytest.raises(units.UnitUnreadable):  # refused before parsing
        units.quantity_value({"value": 40, "unit": over}, "immunoglobulin")
