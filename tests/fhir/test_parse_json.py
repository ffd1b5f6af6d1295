"""``parse_json`` is ``json.loads``: the same value for every document, the same error for every
refusal, whether orjson or the standard module read it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igwatch.fhir.reader import parse_input, parse_json

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    """Equal, with the types too (1 and 1.0 differ) and -0.0 told from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


@settings(max_examples=400)
@given(json_values, st.booleans())
def test_the_same_value_as_json_loads(value: Any, compact: bool) -> None:
    text = json.dumps(value, ensure_ascii=not compact, separators=(",", ":") if compact else None)
    data = text.encode("utf-8", "surrogatepass")
    assert same(parse_json(data), json.loads(data))


@pytest.mark.parametrize(
    "document",
    [
        b'{"value": 123456789012345678901234567890}',  # orjson: a float
        b'{"value": -9223372036854775809}',  # past 64 bits, 19 digits
        b'{"value": 18446744073709551616}',
        b'{"value": NaN}',
        b'{"value": Infinity}',
        b'{"value": 1e400}',
        b'{"value": "\\ud800"}',  # a lone surrogate
        b'{"a": 1, "a": 2}',
        '{"text": "line\u2028separator"}'.encode(),
    ],
)
def test_where_orjson_differs_the_standard_module_reads(document: bytes) -> None:
    assert same(parse_json(document), json.loads(document))


@pytest.mark.parametrize(
    "document", [b"{", b'{"a": }', b"[1, 2", b'{"a": 1} trailing', b"\xff\xfe", b'{"a": "\x01"}', b""]
)
def test_the_same_error_as_json_loads(document: bytes) -> None:
    with pytest.raises(ValueError) as theirs:
        json.loads(document)
    with pytest.raises(ValueError) as ours:
        parse_json(document)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_a_record_with_a_unicode_line_separator_in_a_string_is_one_ndjson_record() -> None:
    data = (
        '{"resourceType": "Patient", "id": "p"}\n'
        '{"resourceType": "Observation", "id": "o", "note": [{"text": "a\u2028b"}]}\n'
    ).encode()
    resources = parse_input(data, "x.ndjson")
    assert [r["id"] for r in resources] == ["p", "o"]
    assert resources[1]["note"][0]["text"] == "a\u2028b"
