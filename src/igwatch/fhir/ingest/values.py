"""Defensive accessors for FHIR JSON: plain dict access that never raises on a malformed value,
and the dates, codings and quantities ingest reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date
from functools import lru_cache
from typing import Any, Final

from igwatch.fhir import terminology as tx
from igwatch.fhir.ingest.vocabulary import LAB_VALUESETS
from igwatch.fhir.reader import as_str as as_str  # the reader's, for every ingest module
from igwatch.fhir.reader import is_object
from igwatch.fhir.units import UnitError, UnitKind, quantity_value


def as_object(value: object) -> Mapping[str, Any] | None:
    return value if is_object(value) else None


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def objects_in(value: object) -> Iterator[Mapping[str, Any]]:
    """The objects of a list (or a lone object), skipping anything else."""
    if is_object(value):
        yield value
        return
    for item in as_list(value):
        if is_object(item):
            yield item


def as_number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def get_path(obj: object, *path: str | int) -> Any:
    """Walk ``obj`` by keys and list indices; None as soon as a step does not fit."""
    current: Any = obj
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return None
            current = current[step]
        elif type(current) is dict or is_object(current):  # dict first: no call in the usual case
            current = current.get(step)
        else:
            return None
    return current


_DATE_RE: Final = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$")
#: The time part of a dateTime (after the ``T``), as :data:`_DATE_RE` allows it.
_TIME_RE: Final = re.compile(r"[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?")


@lru_cache(maxsize=16_384)
def _parse_date_text(text: str) -> date | None:
    match = _DATE_RE.match(text.strip())
    if match is None:
        return None
    year, month, day = match.group(1), match.group(2), match.group(3)
    if "T" in text and day is None:  # a time needs a full date
        return None
    try:
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None


def parse_date(value: object) -> date | None:
    """A FHIR date / dateTime / instant as its calendar date (the date as written, no timezone
    shift); partial dates count from their first day; anything else is None."""
    text = as_str(value)
    if text is None:
        return None
    if len(text) > 11 and text[10] == "T":
        # A full dateTime: check its time here and cache only its date, since nearly every
        # instant is distinct and would crowd the cache.
        return _parse_date_text(text[:10]) if _TIME_RE.fullmatch(text, 11) else None
    return _parse_date_text(text)


def codings_of(concept: object) -> list[Mapping[str, Any]]:
    """The coding objects of a CodeableConcept (a lone object counts as a list of one)."""
    codings = concept.get("coding") if is_object(concept) else None
    if is_object(codings):
        return [codings]
    return [c for c in codings if is_object(c)] if isinstance(codings, list) else []


def has_code(concept: object, system: str, codes: Collection[str]) -> str | None:
    for coding in codings_of(concept):
        code = as_str(coding.get("code"))
        if code in codes and tx.canonical_system(coding.get("system")) == system:
            return code
    return None


def cvx_code(concept: object) -> str | None:
    for coding in codings_of(concept):
        if tx.canonical_system(coding.get("system")) == tx.CVX:
            code = as_str(coding.get("code"))
            if code:
                return code
    return None


def first_code(concept: object) -> str | None:
    for coding in codings_of(concept):
        code = as_str(coding.get("code"))
        if code is not None:
            return code
    return None


def concept_label(concept: object, matches: Iterable[tx.ConceptMatch] = ()) -> str:
    """The record's own text or display; else the display a value set gives its code; else the code."""
    obj = as_object(concept)
    if obj is not None:
        text = tx.concept_text(obj)
        if text is not None:
            return text
    for m in matches:
        if not m.by_name and m.display:
            return m.display
    return tx.concept_label(concept)


def first_lab_match(matches: tuple[tx.ConceptMatch, ...]) -> tx.ConceptMatch | None:
    """The first match that makes an Observation a lab result (rather than viral serology)."""
    for m in matches:
        if m.valueset in LAB_VALUESETS:
            return m
    return None


def range_bound(quantity: object, unit_kind: UnitKind) -> float | None:
    """A reference range bound in igwatch units; a bound we cannot read is left out, never guessed."""
    if not is_object(quantity):
        return None
    try:
        return quantity_value(quantity, unit_kind)
    except (UnitError, ValueError):
        return None
