"""Unit conversion for FHIR quantities, with the UCUM registry of ucumvert (on top of pint).

Each kind of measurement has one igwatch unit (``TARGET_UNITS``). A FHIR ``Quantity`` is read by
its UCUM ``code`` first (when its ``system`` is UCUM or absent), else by its human ``unit``
string if that parses as UCUM. Nothing is guessed: a quantity with no unit raises
:class:`UnitMissing`; a unit that does not parse, or is not of the kind's dimension, raises
:class:`UnitUnconvertible`. The ingest turns these into the data issues ``unit-missing`` and
``unit-unconvertible`` (clinical-spec §7).

Conversion factors are cached per ``(unit, kind)``: the registry is built once and each distinct
unit string is parsed once per process, so the hot path is a dictionary look-up and a multiply.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal, get_args

UnitKind = Literal[
    "immunoglobulin",
    "cd19-absolute",
    "cd19-percent",
    "weight",
    "height",
    "serotype-igg",
    "ig-dose",
]

UCUM_SYSTEM = "http://unitsofmeasure.org"

#: The igwatch unit of each kind, as UCUM.
TARGET_UNITS: dict[UnitKind, str] = {
    "immunoglobulin": "mg/dL",
    "cd19-absolute": "/uL",
    "cd19-percent": "%",
    "weight": "kg",
    "height": "cm",
    "serotype-igg": "ug/mL",
    "ig-dose": "g",
}

#: What a unit of each kind must measure, for messages.
KIND_DESCRIPTIONS: dict[UnitKind, str] = {
    "immunoglobulin": "a mass concentration",
    "cd19-absolute": "a cell count per volume",
    "cd19-percent": "a percentage",
    "weight": "a mass",
    "height": "a length",
    "serotype-igg": "a mass concentration",
    "ig-dose": "a mass",
}

# Dimensionless pint units that are pure numbers (UCUM ``10*n``). Any other dimensionless unit
# (international units, arbitrary units, CFU …) is a procedure-defined unit: never a count of
# cells and never part of a mass concentration, so it is refused rather than dropped.
_PURE_NUMBER_UNITS = frozenset({"_10"})

# Round factors to this many significant digits to drop float noise (99.99999999999999 → 100).
_FACTOR_DIGITS = 12


class UnitError(ValueError):
    """A quantity cannot be converted; ``issue_code`` is the data-issue code it becomes."""

    issue_code: str = "unit-unconvertible"

    def __init__(self, message: str, unit: str | None = None, kind: UnitKind | None = None) -> None:
        super().__init__(message)
        self.unit = unit
        self.kind = kind


class UnitMissing(UnitError):
    """The quantity has no unit at all (data issue ``unit-missing``)."""

    issue_code = "unit-missing"


class UnitUnconvertible(UnitError):
    """The unit does not parse as UCUM or is not of the kind's dimension (``unit-unconvertible``)."""

    issue_code = "unit-unconvertible"


class UnitUnreadable(UnitError):
    """A unit string longer than :data:`MAX_UNIT_LENGTH`: never parsed (``unit-unreadable``).

    Parsing costs time in proportion to the string, so a hostile record could stall the reader;
    no real UCUM unit comes near the limit."""

    issue_code = "unit-unreadable"


#: Clinical-spec §7 (revision 2): a unit string is parsed only within this many characters.
MAX_UNIT_LENGTH: Final = 64


def _check_length(unit: str, kind: UnitKind) -> None:
    if len(unit) > MAX_UNIT_LENGTH:
        raise UnitUnreadable(
            f"unit string of {len(unit)} characters is longer than {MAX_UNIT_LENGTH}: not read", None, kind
        )


@dataclass(frozen=True)
class Converted:
    """A quantity converted to its kind's igwatch unit; ``unit`` is the source unit used."""

    value: float
    unit: str
    factor: float


@lru_cache(maxsize=1)
def registry() -> Any:
    """The process-wide UCUM registry (built once; building it takes a noticeable fraction of a second)."""
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


def _parse(unit: str) -> Any | None:
    """The pint quantity for a UCUM string, or None if it is not valid UCUM."""
    ureg = registry()
    try:
        quantity = ureg.from_ucum(unit)
    except Exception:  # ucumvert raises several kinds (lark errors, AttributeError on odd input)
        return None
    # Some inputs (a lone annotation such as "{cells}") come back as a parser token, not a quantity.
    if not (hasattr(quantity, "dimensionality") and hasattr(quantity, "unit_items")):
        return None
    return quantity


@lru_cache(maxsize=4096)
def _factor_or_reason(unit: str, kind: UnitKind) -> float | str:
    """Multiplier from ``unit`` to the kind's target, or a reason string why there is none."""
    quantity = _parse(unit)
    if quantity is None:
        return "not a valid UCUM unit"
    target = _parse(TARGET_UNITS[kind])
    if target is None:  # pragma: no cover - the targets are fixed, valid UCUM
        raise RuntimeError(f"target unit for {kind} does not parse")
    if quantity.dimensionality != target.dimensionality:
        return f"not {KIND_DESCRIPTIONS[kind]}"
    ureg = registry()
    unit_names = {name for name, _ in quantity.unit_items()}
    for name in unit_names:
        if ureg.get_dimensionality(name):  # dimensioned units are checked by the dimension test
            continue
        if name in _PURE_NUMBER_UNITS:
            continue
        if kind == "cd19-percent" and name == "percent":
            continue
        return f"not {KIND_DESCRIPTIONS[kind]} (procedure-defined unit {name})"
    if kind == "cd19-percent" and "percent" not in unit_names:
        return f"not {KIND_DESCRIPTIONS[kind]}"
    try:
        factor = float(quantity.to(target.units).magnitude) / float(target.magnitude)
    except Exception:  # pragma: no cover - same dimensionality converts; defensive only
        return f"not {KIND_DESCRIPTIONS[kind]}"
    if not math.isfinite(factor) or factor <= 0:
        return f"not {KIND_DESCRIPTIONS[kind]}"
    return float(f"{factor:.{_FACTOR_DIGITS}g}")


def unit_factor(unit: str | None, kind: UnitKind) -> float:
    """The multiplier that converts a value in UCUM ``unit`` to the kind's igwatch unit.

    Raises :class:`UnitMissing` for an empty unit, :class:`UnitUnconvertible` otherwise.
    """
    if kind not in TARGET_UNITS:
        raise ValueError(f"unknown unit kind {kind!r}; expected one of {', '.join(get_args(UnitKind))}")
    if unit is None or not unit.strip():
        raise UnitMissing(f"no unit (expected {KIND_DESCRIPTIONS[kind]})", None, kind)
    _check_length(unit.strip(), kind)
    result = _factor_or_reason(unit.strip(), kind)
    if isinstance(result, str):
        raise UnitUnconvertible(f"unit {unit!r} is {result}", unit, kind)
    return result


def convert(value: float, unit: str | None, kind: UnitKind) -> float:
    """``value`` in ``unit`` expressed in the kind's igwatch unit."""
    return value * unit_factor(unit, kind)


def convert_from_target(value: float, unit: str | None, kind: UnitKind) -> float:
    """The inverse of :func:`convert`: a value in the kind's igwatch unit expressed in ``unit``."""
    return value / unit_factor(unit, kind)


def is_convertible(unit: str | None, kind: UnitKind) -> bool:
    """Whether ``unit`` converts to the kind's igwatch unit."""
    if unit is None or not unit.strip() or len(unit.strip()) > MAX_UNIT_LENGTH:
        return False
    return not isinstance(_factor_or_reason(unit.strip(), kind), str)


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    return None


def quantity_unit(quantity: Mapping[str, Any], kind: UnitKind) -> tuple[str, float]:
    """The unit string a FHIR Quantity is read by, and its factor to the kind's igwatch unit.

    The UCUM ``code`` is authoritative when it is valid UCUM (and ``system`` is UCUM or absent);
    only a code that is absent, not UCUM-coded, or not valid UCUM falls back to the human ``unit``.
    """
    system = quantity.get("system")
    code = _text(quantity.get("code"))
    human = _text(quantity.get("unit"))
    if system is None or type(system) is str:
        return _cached_unit_choice(system, code, human, kind)
    return _unit_choice(system, code, human, kind)


def _unit_choice(system: object, code: str | None, human: str | None, kind: UnitKind) -> tuple[str, float]:
    """:func:`quantity_unit` from the quantity's system, code and unit string (stripped)."""
    for text in (code, human):
        if text is not None:
            _check_length(text, kind)  # a hostile string is refused before any parsing
    code_is_ucum = code is not None and (system is None or system == UCUM_SYSTEM)
    first_error: UnitError | None = None
    if code is not None and code_is_ucum:
        if _parse_cached(code):
            return code, unit_factor(code, kind)
        first_error = UnitUnconvertible(f"unit {code!r} is not a valid UCUM unit", code, kind)
    if human is not None:
        try:
            return human, unit_factor(human, kind)
        except UnitUnconvertible as exc:
            if first_error is None:
                first_error = exc
    if first_error is not None:
        raise first_error
    if code is not None:  # a code in a non-UCUM system, and no readable unit string
        raise UnitUnconvertible(f"unit {code!r} is not a UCUM unit (system {system!r})", code, kind)
    raise UnitMissing(f"no unit (expected {KIND_DESCRIPTIONS[kind]})", None, kind)


# A population repeats a handful of unit spellings; only successes are kept (errors raise).
_cached_unit_choice: Final = lru_cache(maxsize=4096)(_unit_choice)


@lru_cache(maxsize=4096)
def _parse_cached(unit: str) -> bool:
    return _parse(unit) is not None


def convert_quantity(quantity: object, kind: UnitKind) -> Converted:
    """Convert a FHIR Quantity (a JSON object with ``value`` and a unit) to the kind's unit.

    Raises :class:`UnitMissing` / :class:`UnitUnconvertible`, and ``ValueError`` when there is no
    numeric ``value``.
    """
    mapping, value = _with_value(quantity)
    unit, factor = quantity_unit(mapping, kind)
    return Converted(value=value * factor, unit=unit, factor=factor)


def quantity_value(quantity: object, kind: UnitKind) -> float:
    """The ``value`` of :func:`convert_quantity` alone (same errors), without building a
    :class:`Converted`: the ingest converts every result and needs nothing else."""
    mapping, value = _with_value(quantity)
    return value * quantity_unit(mapping, kind)[1]


def _with_value(quantity: object) -> tuple[Mapping[str, Any], float]:
    """The Quantity and its finite numeric ``value``; ``ValueError`` if it is not a Quantity or
    has no such value."""
    if type(quantity) is not dict and not isinstance(quantity, Mapping):
        raise ValueError("not a Quantity")
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("no numeric value")
    return quantity, float(value)
