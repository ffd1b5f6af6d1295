"""Observations: immunoglobulins, CD19 counts, weights, titres and viral serology (clinical-spec §3)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from igwatch.fhir.ingest.core import BuilderCore
from igwatch.fhir.ingest.values import (
    as_number,
    as_object,
    as_str,
    concept_label,
    first_lab_match,
    get_path,
    objects_in,
    parse_date,
    range_bound,
)
from igwatch.fhir.ingest.vocabulary import (
    COMPARATORS,
    LAB_UNIT_KINDS,
    LAB_VALUESETS,
    OBSERVATION_SETS,
    PLAUSIBLE,
    SKIP_RESULT_STATUSES,
)
from igwatch.fhir.units import UnitError, UnitKind, quantity_value
from igwatch.timeline import LabResult, SerologyOrder


class ObservationReader(BuilderCore):
    """Observation → a lab result, a serology result, or nothing igwatch reads."""

    def observation(self, obs: Mapping[str, Any], key: str) -> None:
        status = as_str(obs.get("status"))
        if status in SKIP_RESULT_STATUSES:
            return
        code = obs.get("code")
        matches = self.match(code, OBSERVATION_SETS)
        if not matches:
            return
        when = parse_date(obs.get("effectiveDateTime")) or parse_date(
            get_path(obs, "effectivePeriod", "start")
        )
        when = when or parse_date(obs.get("issued"))
        display = concept_label(code, matches)
        lab = first_lab_match(matches)
        if lab is None:
            by_name = all(m.by_name for m in matches)
            self.timeline.serology.append(
                SerologyOrder(
                    id=key,
                    date=when,
                    status=status,
                    display=display,
                    recognised_by_name=by_name,
                )
            )
            if by_name:
                self.by_name(key, "viral serology result", display)
            return
        kind = LAB_VALUESETS[lab.valueset]
        by_name = lab.by_name
        if when is None:
            self.issue("error", "date-missing", f"{kind} result has no usable date; ignored", key)
            self.timeline.unusable_labs.append((kind, key, None))
            return
        quantity = as_object(obs.get("valueQuantity"))
        if quantity is None or as_number(quantity.get("value")) is None:
            return  # no numeric result (pending, text, data absent): not a usable value
        unit_kind = LAB_UNIT_KINDS[kind]
        try:
            value = quantity_value(quantity, unit_kind)
        except UnitError as exc:
            self.issue("error", exc.issue_code, f"{kind} result: {exc}; ignored", key)
            self.timeline.unusable_labs.append((kind, key, when))
            return
        except ValueError:
            return
        low, high = PLAUSIBLE[kind]
        if not low <= value <= high:
            self.issue(
                "error",
                "value-implausible",
                f"{kind} {value:g} outside the plausible range {low:g}–{high:g}; ignored",
                key,
            )
            self.timeline.unusable_labs.append((kind, key, when))
            return
        comparator = as_str(quantity.get("comparator"))
        ref_low, ref_high = self._reference_range(obs, unit_kind)
        label = display
        if kind == "pneumococcal-serotype":
            label = lab.get("serotype") or _serotype_label(display)
        self.timeline.labs.append(
            LabResult(
                id=key,
                kind=kind,
                date=when,
                value=value,
                comparator=comparator if comparator in COMPARATORS else None,
                reference_low=ref_low,
                reference_high=ref_high,
                label=label,
                recognised_by_name=by_name,
            )
        )
        if by_name:
            self.by_name(key, f"{kind} result", display)

    @staticmethod
    def _reference_range(obs: Mapping[str, Any], unit_kind: UnitKind) -> tuple[float | None, float | None]:
        first = next(objects_in(obs.get("referenceRange")), None)
        if first is None:
            return None, None
        return range_bound(first.get("low"), unit_kind), range_bound(first.get("high"), unit_kind)


_SEROTYPE_PAREN_RE: Final = re.compile(r"\(\s*(\d{1,2}[A-Z]?)\s*\)")
_SEROTYPE_RE: Final = re.compile(r"(?i:serotype|sero-type|type)\s+(\d{1,2}[A-Za-z]?)\b")


def _serotype_label(text: str) -> str:
    """The Danish serotype label in a result name ("… Danish serotype 6B IgG …" → "6B"; US
    "type 26 (6B)" → "6B"); the text itself when none is found."""
    paren = _SEROTYPE_PAREN_RE.search(text)
    if paren is not None:
        return paren.group(1).upper()
    found = _SEROTYPE_RE.search(text)
    if found is not None:
        return found.group(1).upper()
    return text
