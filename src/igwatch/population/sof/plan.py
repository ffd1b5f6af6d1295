"""Validation of SQL on FHIR v2 ViewDefinitions and their engine-neutral plan.

``load_view`` checks a ViewDefinition (JSON file, JSON text or dict) and parses every FHIRPath
expression once. The resulting :class:`ViewDefinition` is the plan that both SQL renderers
(DuckDB and Spark) walk: a tree of :class:`SelectNode` with typed :class:`Column` s, resolved
constants and the ``where`` filters. Nothing engine-specific lives here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from igwatch.population.sof.errors import ViewDefinitionError
from igwatch.population.sof.fhirpath import Literal, Node, parse

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

#: FHIR primitive type of a column → the engine-neutral value type of the output column.
COLUMN_VALUE_TYPES: dict[str, str] = {
    "boolean": "boolean",
    "integer": "integer",
    "positiveInt": "integer",
    "unsignedInt": "integer",
    "integer64": "integer",
    "decimal": "decimal",
}
# Every other FHIR primitive (string, code, id, uri, url, canonical, oid, uuid, markdown,
# base64Binary, date, dateTime, instant, time) keeps its JSON text form: partial dates stay exact.

_CONSTANT_KINDS: dict[str, str] = {
    "valueBoolean": "boolean",
    "valueInteger": "integer",
    "valuePositiveInt": "integer",
    "valueUnsignedInt": "integer",
    "valueInteger64": "integer",
    "valueDecimal": "decimal",
}
_STRING_CONSTANTS = {
    "valueString",
    "valueCode",
    "valueId",
    "valueUri",
    "valueUrl",
    "valueCanonical",
    "valueOid",
    "valueUuid",
    "valueMarkdown",
    "valueBase64Binary",
    "valueDate",
    "valueDateTime",
    "valueInstant",
    "valueTime",
}


@dataclass(frozen=True)
class Column:
    name: str
    path: Node
    path_text: str
    fhir_type: str | None
    collection: bool

    @property
    def value_type(self) -> str:
        """``string``, ``integer``, ``decimal`` or ``boolean``."""
        return COLUMN_VALUE_TYPES.get(self.fhir_type or "string", "string")


@dataclass
class SelectNode:
    columns: list[Column] = field(default_factory=list)
    selects: list[SelectNode] = field(default_factory=list)
    union_all: list[SelectNode] = field(default_factory=list)
    for_each: Node | None = None
    or_null: bool = False
    repeat: list[Node] = field(default_factory=list)

    def output_names(self) -> list[str]:
        names = [c.name for c in self.columns]
        for child in self.selects:
            names.extend(child.output_names())
        if self.union_all:
            names.extend(self.union_all[0].output_names())
        return names

    def output_columns(self) -> list[Column]:
        cols = list(self.columns)
        for child in self.selects:
            cols.extend(child.output_columns())
        if self.union_all:
            cols.extend(self.union_all[0].output_columns())
        return cols

    def is_single_row(self) -> bool:
        """True when the node yields exactly one row per context (no iteration, no union)."""
        return (
            self.for_each is None
            and not self.repeat
            and not self.union_all
            and all(s.is_single_row() for s in self.selects)
        )


@dataclass
class ViewDefinition:
    """A validated ViewDefinition: the plan shared by the DuckDB and Spark renderers."""

    resource: str
    name: str | None
    root: SelectNode
    where: list[tuple[str, Node]]
    constants: dict[str, Literal]
    source: dict[str, Any]

    @property
    def columns(self) -> list[Column]:
        """Output columns, in output order."""
        return self.root.output_columns()


def _fail(where: str, what: str) -> ViewDefinitionError:
    return ViewDefinitionError(f"ViewDefinition {where}: {what}")


def _path(value: Any, where: str) -> tuple[str, Node]:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "must be a non-empty FHIRPath string")
    try:
        return value, parse(value)
    except ViewDefinitionError as exc:
        raise _fail(where, str(exc)) from None


def _constant(entry: Any, where: str) -> tuple[str, Literal]:
    if not isinstance(entry, dict):
        raise _fail(where, "must be an object")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(where, "needs a 'name' made of letters, digits and '_'")
    values = [k for k in entry if k.startswith("value")]
    if len(values) != 1:
        raise _fail(f"{where} ({name})", "needs exactly one value[x]")
    key = values[0]
    value = entry[key]
    kind = _CONSTANT_KINDS.get(key)
    if kind == "boolean" and isinstance(value, bool):
        return name, Literal(value, "boolean")
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return name, Literal(value, "integer")
    if kind == "decimal" and isinstance(value, int | float) and not isinstance(value, bool):
        return name, Literal(Decimal(str(value)), "decimal")
    if key in _STRING_CONSTANTS and isinstance(value, str):
        return name, Literal(value, "string")
    raise _fail(f"{where} ({name})", f"{key} of type {type(value).__name__} is not supported")


def _select(raw: Any, where: str) -> SelectNode:
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object")
    known = {"column", "select", "unionAll", "forEach", "forEachOrNull", "repeat", "description"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(where, f"unknown key {unknown[0]!r}")
    node = SelectNode()
    iterators = [k for k in ("forEach", "forEachOrNull", "repeat") if k in raw]
    if len(iterators) > 1:
        raise _fail(where, f"has both {iterators[0]} and {iterators[1]}")
    if "forEach" in raw:
        node.for_each = _path(raw["forEach"], f"{where}.forEach")[1]
    if "forEachOrNull" in raw:
        node.for_each = _path(raw["forEachOrNull"], f"{where}.forEachOrNull")[1]
        node.or_null = True
    if "repeat" in raw:
        paths = raw["repeat"]
        if not isinstance(paths, list) or not paths:
            raise _fail(f"{where}.repeat", "must be a non-empty list of FHIRPath strings")
        node.repeat = [_path(p, f"{where}.repeat[{i}]")[1] for i, p in enumerate(paths)]
    columns = raw.get("column", [])
    if not isinstance(columns, list):
        raise _fail(f"{where}.column", "must be a list")
    for i, col in enumerate(columns):
        cw = f"{where}.column[{i}]"
        if not isinstance(col, dict):
            raise _fail(cw, "must be an object")
        name = col.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise _fail(cw, "needs a 'name' made of letters, digits and '_', starting with a letter")
        text, node_path = _path(col.get("path"), f"{cw}.path")
        fhir_type = col.get("type")
        if fhir_type is not None and not isinstance(fhir_type, str):
            raise _fail(f"{cw}.type", "must be a string")
        collection = col.get("collection", False)
        if not isinstance(collection, bool):
            raise _fail(f"{cw}.collection", "must be true or false")
        node.columns.append(Column(name, node_path, text, fhir_type, collection))
    for key, target in (("select", node.selects), ("unionAll", node.union_all)):
        children = raw.get(key, [])
        if not isinstance(children, list):
            raise _fail(f"{where}.{key}", "must be a list")
        target.extend(_select(child, f"{where}.{key}[{i}]") for i, child in enumerate(children))
    if node.union_all:
        first = node.union_all[0].output_names()
        for i, branch in enumerate(node.union_all[1:], start=1):
            if branch.output_names() != first:
                raise _fail(
                    f"{where}.unionAll[{i}]",
                    f"columns {branch.output_names()} differ from unionAll[0] columns {first}",
                )
    if not node.columns and not node.selects and not node.union_all:
        raise _fail(where, "has no column, select or unionAll")
    return node


def load_view(source: str | Path | dict[str, Any]) -> ViewDefinition:
    """Validate a ViewDefinition given as a dict, a JSON file path or JSON text."""
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
        path = Path(source)
        try:
            raw: Any = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ViewDefinitionError(f"ViewDefinition {path}: cannot read ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise ViewDefinitionError(f"ViewDefinition {path}: not JSON (line {exc.lineno})") from None
    elif isinstance(source, str):
        try:
            raw = json.loads(source)
        except json.JSONDecodeError as exc:
            raise ViewDefinitionError(f"ViewDefinition: not JSON (line {exc.lineno})") from None
    else:
        raw = source
    if not isinstance(raw, dict):
        raise _fail("", "must be a JSON object")
    name = raw.get("name")
    label = name if isinstance(name, str) else "(unnamed)"
    resource = raw.get("resource")
    if not isinstance(resource, str) or not re.match(r"^[A-Z][A-Za-z]+$", resource):
        raise _fail(label, "needs 'resource', a FHIR resource type name")
    constants: dict[str, Literal] = {}
    raw_constants = raw.get("constant", [])
    if not isinstance(raw_constants, list):
        raise _fail(f"{label}.constant", "must be a list")
    for i, entry in enumerate(raw_constants):
        cname, literal = _constant(entry, f"{label}.constant[{i}]")
        constants[cname] = literal
    selects = raw.get("select")
    if not isinstance(selects, list) or not selects:
        raise _fail(label, "needs a non-empty 'select' list")
    root = SelectNode(selects=[_select(s, f"{label}.select[{i}]") for i, s in enumerate(selects)])
    wheres: list[tuple[str, Node]] = []
    raw_where = raw.get("where", [])
    if not isinstance(raw_where, list):
        raise _fail(f"{label}.where", "must be a list")
    for i, entry in enumerate(raw_where):
        if not isinstance(entry, dict):
            raise _fail(f"{label}.where[{i}]", "must be an object with a 'path'")
        wheres.append(_path(entry.get("path"), f"{label}.where[{i}].path"))
    names = root.output_names()
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise _fail(label, f"column name {n!r} is used twice")
        seen.add(n)
    return ViewDefinition(
        resource=resource,
        name=name if isinstance(name, str) else None,
        root=root,
        where=wheres,
        constants=constants,
        source=raw,
    )
