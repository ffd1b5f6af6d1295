"""Rendering of a ViewDefinition plan to SQL, shared by the DuckDB and Spark dialects.

The FHIRPath semantics live in :class:`Translator`; a :class:`Dialect` only knows how to spell
a handful of primitives (a lambda, a list, a JSON member, a cast). Values are modelled as:

* a *collection*: a SQL list of JSON elements (DuckDB ``JSON[]``; Spark ``array<string>``,
  where a string element is held unquoted and an object as its JSON text, as
  ``get_json_object`` returns them), empty when FHIRPath's collection is empty;
* an *element*: one JSON element bound to a lambda variable (the focus inside ``where``/forEach);
* a *scalar*: one typed SQL value (string, integer, decimal, boolean), NULL for empty.

Every step is a vectorised list function (transform/filter/flatten); no per-row Python.
Each resource row yields a list of row structs that the runner unnests, unless the view has
no forEach/unionAll, in which case the columns are selected directly.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from igwatch.population.sof.errors import UnsupportedFeatureError, ViewDefinitionError
from igwatch.population.sof.fhirpath import (
    Binary,
    Call,
    Constant,
    Index,
    Literal,
    Member,
    Node,
    This,
    Unary,
)
from igwatch.population.sof.plan import Column, SelectNode, ViewDefinition

_REFERENCE = "^(?:.*/)?([A-Za-z]+)/([^/]+?)(?:/_history/[^/]+)?$"
_MAX_REPEAT_DEPTH = 6
# FHIR complex data types (R4 and R5; primitives are lower case). A choice element's types are
# always data types, so any other capitalised name in ofType() names a resource type.
_DATA_TYPES = frozenset((
    "Address", "Age", "Annotation", "Attachment", "Availability", "BackboneElement", "BackboneType",
    "CodeableConcept", "CodeableReference", "Coding", "ContactDetail", "ContactPoint", "Contributor",
    "Count", "DataRequirement", "DataType", "Distance", "Dosage", "Duration", "Element",
    "ElementDefinition", "Expression", "ExtendedContactDetail", "Extension", "HumanName", "Identifier",
    "MarketingStatus", "Meta", "MonetaryComponent", "Money", "MoneyQuantity", "Narrative",
    "ParameterDefinition", "Period", "Population", "PrimitiveType", "ProdCharacteristic",
    "ProductShelfLife", "Quantity", "Range", "Ratio", "RatioRange", "Reference", "RelatedArtifact",
    "SampledData", "Signature", "SimpleQuantity", "SubstanceAmount", "Timing", "TriggerDefinition",
    "UsageContext", "VirtualServiceDetail",
))  # fmt: skip
_ABSTRACT_RESOURCES = frozenset(("Resource", "DomainResource", "CanonicalResource", "MetadataResource"))
# A column or a chain of struct field accesses: cheap enough to repeat instead of binding.
_CHEAP = re.compile(
    r"^(?:(?:struct_extract\()*[A-Za-z_][A-Za-z0-9_]*(?:, '[A-Za-z0-9_]+'\))*"
    r"|[A-Za-z_][A-Za-z0-9_]*(?:\.`[A-Za-z0-9_]+`)*)$"
)
LEAF_SHAPES = ("string", "decimal", "boolean")
_LEAF_SQL = {"string": "VARCHAR", "decimal": "DOUBLE", "boolean": "BOOLEAN"}
_SAMPLED_LEAVES = {
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "DOUBLE": "decimal",
    "UBIGINT": "decimal",
    "BIGINT": "decimal",
    "HUGEINT": "decimal",
}


@dataclass(frozen=True)
class Value:
    sql: str
    # coll (JSON list), elem (one JSON value), opt (one JSON value or NULL), scalar (typed),
    # root (the resource in JSON mode); typed mode adds struct (a STRUCT or NULL) and slist
    # (a list of STRUCTs), shaped after the members the view uses.
    kind: str
    type: str | None = None  # scalar: string/integer/decimal/boolean; coll/elem: FHIR type hint
    path: tuple[str, ...] | None = None  # members from the resource root, when known
    hint: str | None = None  # typed scalar: the FHIR type named by ofType(), if any


# Shapes of a member in typed mode: struct, slist (list of structs), a primitive leaf read as a
# typed scalar (string, decimal, boolean), llist (list of primitives, kept as JSON) or json
# (unknown or mixed: kept as JSON and navigated generically).
Shapes = dict[tuple[str, ...], str]


class Dialect:
    """SQL spelling of the primitives the translator needs."""

    name = "abstract"
    index_base = 1  # lambda index origin

    def lam(self, params: list[str], body: str) -> str:
        raise NotImplementedError

    def transform(self, coll: str, params: list[str], body: str) -> str:
        raise NotImplementedError

    def filter(self, coll: str, var: str, cond: str) -> str:
        raise NotImplementedError

    def flatten(self, coll: str) -> str:
        return f"flatten({coll})"

    def empty(self) -> str:
        raise NotImplementedError

    def untyped_empty(self) -> str:
        raise NotImplementedError

    def singleton(self, elem: str) -> str:
        raise NotImplementedError

    def list_of(self, items: list[str]) -> str:
        raise NotImplementedError

    def concat(self, lists: list[str]) -> str:
        raise NotImplementedError

    def length(self, coll: str) -> str:
        raise NotImplementedError

    def at(self, coll: str, index0: int) -> str:
        raise NotImplementedError

    def slice(self, coll: str, index0: int) -> str:
        raise NotImplementedError

    def last(self, coll: str) -> str:
        raise NotImplementedError

    def get(self, elem: str, key: str) -> str:
        raise NotImplementedError

    def norm(self, var: str) -> str:
        """A JSON value (or NULL) held in ``var`` → a collection (arrays flattened)."""
        raise NotImplementedError

    def elem_to(self, elem: str, value_type: str) -> str:
        raise NotImplementedError

    def elem_is_boolean(self, elem: str) -> str:
        raise NotImplementedError

    def scalar_to_elem(self, scalar: str, value_type: str) -> str:
        raise NotImplementedError

    def string(self, text: str) -> str:
        raise NotImplementedError

    def literal(self, lit: Literal) -> str:
        if lit.kind == "boolean":
            return "TRUE" if lit.value else "FALSE"
        if lit.kind == "integer":
            return str(lit.value)
        if lit.kind == "decimal":
            return f"CAST({lit.value} AS {self.sql_type('decimal')})"
        return self.string(str(lit.value))

    def sql_type(self, value_type: str) -> str:
        raise NotImplementedError

    def list_type(self, value_type: str) -> str:
        raise NotImplementedError

    def cast(self, sql: str, value_type: str) -> str:
        return f"CAST({sql} AS {self.sql_type(value_type)})"

    def try_cast(self, sql: str, value_type: str) -> str:
        return f"TRY_CAST({sql} AS {self.sql_type(value_type)})"

    def null(self, value_type: str) -> str:
        return f"CAST(NULL AS {self.sql_type(value_type)})"

    def null_elem(self) -> str:
        raise NotImplementedError

    def error(self, message: str) -> str:
        raise NotImplementedError

    def struct(self, fields: list[tuple[str, str]]) -> str:
        raise NotImplementedError

    def field(self, struct: str, name: str) -> str:
        raise NotImplementedError

    def to_json(self, value: str) -> str:
        raise NotImplementedError

    def quote(self, name: str) -> str:
        raise NotImplementedError

    def join(self, coll: str, sep: str) -> str:
        raise NotImplementedError

    def regexp_extract(self, text: str, pattern: str, group: int) -> str:
        return f"regexp_extract({text}, {self.string(pattern)}, {group})"

    def at_last(self, coll: str) -> str:
        raise NotImplementedError

    def strpos(self, text: str, needle: str) -> str:
        raise NotImplementedError

    def let(self, expr: str, var: str, body: str) -> str:
        """Bind ``expr`` to ``var`` inside ``body`` without repeating the text of ``expr``.

        A cheap expression (a column or struct field) is substituted; anything else is bound
        through a one-item list so that it is evaluated once.
        """
        if _CHEAP.match(expr):
            return re.sub(rf"\b{re.escape(var)}\b", lambda _m: expr, body)
        return self.at(self.transform(self.singleton(expr), [var], body), 0)


@dataclass
class Translator:
    view: ViewDefinition
    dialect: Dialect
    root_doc: str
    shapes: Shapes | None = None  # None: JSON mode
    root_fields: list[str] = field(default_factory=list)
    used_paths: set[tuple[str, ...]] = field(default_factory=set)
    whole_paths: set[tuple[str, ...]] = field(default_factory=set)
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    # -- naming -------------------------------------------------------------------------------
    def var(self) -> str:
        return f"_v{next(self._counter)}"

    def root_field(self, name: str) -> str:
        """Index of a top-level member; the runner extracts them all with one JSON parse."""
        if name not in self.root_fields:
            self.root_fields.append(name)
        return self.root_field_sql(self.root_fields.index(name))

    def root_field_sql(self, position: int) -> str:
        return f"_f{position}"

    def root_value(self) -> Value:
        if self.shapes is None:
            return Value(self.root_doc, "root", None, ())
        return Value("_r", "struct", None, ())

    # -- conversions --------------------------------------------------------------------------
    def whole(self, v: Value) -> None:
        """Record that a value is used as a whole (typed mode must keep it as JSON)."""
        if v.path is not None:
            self.whole_paths.add(v.path)

    def as_coll(self, v: Value) -> str:
        d = self.dialect
        if v.kind == "coll":
            return v.sql
        if v.kind in ("elem", "root"):
            return d.singleton(v.sql)
        if v.kind == "opt":
            return f"CASE WHEN {v.sql} IS NULL THEN {d.empty()} ELSE {d.singleton(v.sql)} END"
        if v.kind == "struct":
            return d.let(
                v.sql,
                (x := self.var()),
                f"CASE WHEN {x} IS NULL THEN {d.empty()} ELSE {d.singleton(d.to_json(x))} END",
            )
        if v.kind == "slist":
            return d.transform(v.sql, [(x := self.var())], d.to_json(x))
        assert v.type is not None
        return d.let(
            v.sql,
            (x := self.var()),
            f"CASE WHEN {x} IS NULL THEN {d.empty()} ELSE {d.singleton(d.scalar_to_elem(x, v.type))} END",
        )

    def as_scalar(self, v: Value, value_type: str) -> str:
        d = self.dialect
        if v.kind == "scalar":
            return v.sql if v.type == value_type else d.try_cast(v.sql, value_type)
        if v.kind in ("elem", "root", "opt"):
            return d.elem_to(v.sql, value_type)
        if v.kind == "struct":
            return d.elem_to(d.to_json(v.sql), value_type)
        if v.kind == "slist":
            return d.elem_to(d.to_json(d.at(v.sql, 0)), value_type)
        return d.elem_to(d.at(v.sql, 0), value_type)

    def as_bool(self, v: Value) -> str:
        if v.kind == "scalar" and v.type == "boolean":
            return v.sql
        if v.kind == "scalar":
            return f"({v.sql} IS NOT NULL)"
        return self.as_scalar(v, "boolean")

    # -- FHIRPath -----------------------------------------------------------------------------
    def member(self, source: Value, name: str, hint: str | None = None) -> Value:
        d = self.dialect
        if hint is None and source.type in ("Quantity", "SimpleQuantity", "Money") and name == "value":
            hint = "decimal"
        path = None if source.path is None else (*source.path, name)
        if path is not None:
            self.used_paths.add(path)
        if source.kind in ("struct", "slist"):
            return self.typed_member(source, name, hint, path)
        if source.kind == "root":
            return Value(self.norm_of(self.root_field(name)), "coll", hint, path)
        if source.kind in ("elem", "opt"):
            return Value(d.let(d.get(source.sql, name), (x := self.var()), d.norm(x)), "coll", hint, path)
        if source.kind == "scalar":
            return Value(d.empty(), "coll", hint)
        v, x = self.var(), self.var()
        got = d.transform(source.sql, [v], d.get(v, name))
        return Value(d.flatten(d.transform(got, [x], d.norm(x))), "coll", hint, path)

    def typed_member(self, source: Value, name: str, hint: str | None, path: tuple[str, ...] | None) -> Value:
        d = self.dialect
        assert self.shapes is not None and path is not None
        shape = self.shapes.get(path, "json")
        if source.kind == "struct":
            got = d.field(source.sql, name)
            if shape == "struct":
                return Value(got, "struct", hint, path)
            if shape == "slist":
                return Value(f"coalesce({got}, {d.untyped_empty()})", "slist", hint, path)
            if shape in LEAF_SHAPES:
                return Value(got, "scalar", shape, path, hint)
            if shape == "llist":
                return Value(f"coalesce({got}, {d.empty()})", "coll", hint, path)
            return Value(d.let(got, (x := self.var()), d.norm(x)), "coll", hint, path)
        v = self.var()
        mapped = d.transform(source.sql, [v], d.field(v, name))
        if shape == "struct":
            return Value(d.filter(mapped, (y := self.var()), f"{y} IS NOT NULL"), "slist", hint, path)
        if shape in LEAF_SHAPES:
            present = d.filter(mapped, (y := self.var()), f"{y} IS NOT NULL")
            return Value(
                d.transform(present, [(z := self.var())], d.scalar_to_elem(z, shape)), "coll", hint, path
            )
        if shape in ("slist", "llist"):
            return Value(d.flatten(mapped), "slist" if shape == "slist" else "coll", hint, path)
        return Value(d.flatten(d.transform(mapped, [(x := self.var())], d.norm(x))), "coll", hint, path)

    def struct_list(self, v: Value) -> str:
        """A typed single struct as a list of zero or one struct."""
        return self.dialect.filter(self.dialect.singleton(v.sql), (y := self.var()), f"{y} IS NOT NULL")

    def norm_of(self, expr: str) -> str:
        return self.dialect.norm(expr)

    def const_int(self, node: Node) -> int:
        if isinstance(node, Literal) and node.kind == "integer":
            assert isinstance(node.value, int)
            return node.value
        if isinstance(node, Constant) and node.name in self.view.constants:
            lit = self.view.constants[node.name]
            if lit.kind == "integer":
                assert isinstance(lit.value, int)
                return lit.value
        raise UnsupportedFeatureError("only constant integer indexes are supported")

    def translate(self, node: Node, focus: Value, row_index: str) -> Value:
        d = self.dialect
        if isinstance(node, Literal):
            if node.kind == "empty":
                return Value(d.empty(), "coll")
            kind = "string" if node.kind == "date" else node.kind
            return Value(d.literal(node), "scalar", kind)
        if isinstance(node, Constant):
            if node.name == "rowIndex":
                return Value(row_index, "scalar", "integer")
            if node.name not in self.view.constants:
                raise ViewDefinitionError(f"FHIRPath uses the undefined constant %{node.name}")
            lit = self.view.constants[node.name]
            return Value(d.literal(lit), "scalar", lit.kind)
        if isinstance(node, This):
            return focus
        if isinstance(node, Member):
            source = focus if node.source is None else self.translate(node.source, focus, row_index)
            return self.member(source, node.name)
        if isinstance(node, Index):
            source = self.translate(node.source, focus, row_index)
            return self.pick(source, self.const_int(node.index))
        if isinstance(node, Unary):
            operand = self.translate(node.operand, focus, row_index)
            if node.op == "+":
                return operand
            kind = operand.type if operand.kind == "scalar" and operand.type == "integer" else "decimal"
            return Value(f"(-{self.as_scalar(operand, kind)})", "scalar", kind)
        if isinstance(node, Binary):
            return self.binary(node, focus, row_index)
        assert isinstance(node, Call)
        return self.call(node, focus, row_index)

    def pick(self, source: Value, index: int | None) -> Value:
        """The item at ``index`` (None: the last item), keeping the kind of the source."""
        d = self.dialect
        if source.kind in ("struct", "opt", "elem", "root", "scalar"):
            if index in (0, None):
                return source
            return Value(d.empty(), "coll")
        sql = d.at_last(source.sql) if index is None else d.at(source.sql, index)
        return Value(sql, "struct" if source.kind == "slist" else "opt", source.type, source.path)

    def where_items(self, source: Value, cond_of: Callable[[Value], str]) -> Value:
        """Items of ``source`` for which ``cond_of(item)`` is true, keeping the kind."""
        d = self.dialect
        var = self.var()
        if source.kind == "slist":
            cond = cond_of(Value(var, "struct", source.type, source.path))
            return Value(
                d.filter(source.sql, var, f"coalesce({cond}, FALSE)"), "slist", source.type, source.path
            )
        if source.kind == "struct":
            cond = cond_of(Value(var, "struct", source.type, source.path))
            filtered = d.filter(self.struct_list(source), var, f"coalesce({cond}, FALSE)")
            return Value(filtered, "slist", source.type, source.path)
        cond = cond_of(Value(var, "elem", source.type, source.path))
        filtered = d.filter(self.as_coll(source), var, f"coalesce({cond}, FALSE)")
        return Value(filtered, "coll", source.type, source.path)

    def exists(self, source: Value) -> str:
        d = self.dialect
        if source.kind in ("scalar", "opt", "struct"):
            return f"({source.sql} IS NOT NULL)"
        if source.kind == "slist":
            return f"(coalesce({d.length(source.sql)}, 0) > 0)"
        return f"({d.length(self.as_coll(source))} > 0)"

    def of_resource_type(self, source: Value, type_name: str) -> Value:
        """ofType() on resources (e.g. ``contained``): the items whose resourceType is ``type_name``."""
        if type_name in _ABSTRACT_RESOURCES:
            raise UnsupportedFeatureError(
                f"ofType({type_name}) of an abstract resource type is not supported"
            )
        # Resources of different types share one list, so no sampled shape fits them all: typed
        # mode keeps the list as JSON.
        self.whole(source)
        wanted = self.dialect.string(type_name)
        kept = self.where_items(
            source,
            lambda item: f"({self.as_scalar(self.member(item, 'resourceType'), 'string')} = {wanted})",
        )
        return Value(kept.sql, kept.kind, type_name, kept.path)

    def call(self, node: Call, focus: Value, row_index: str) -> Value:
        d = self.dialect
        name, args = node.name, node.args
        if name == "ofType" and len(args) == 1 and isinstance(args[0], Member) and args[0].source is None:
            type_name = args[0].name
            if type_name[:1].isupper() and type_name not in _DATA_TYPES:
                source = focus if node.source is None else self.translate(node.source, focus, row_index)
                return self.of_resource_type(source, type_name)
            if isinstance(node.source, Member):
                # A choice element: value.ofType(Quantity) is the JSON member valueQuantity.
                parent = (
                    focus
                    if node.source.source is None
                    else self.translate(node.source.source, focus, row_index)
                )
                return self.member(
                    parent, node.source.name + type_name[:1].upper() + type_name[1:], type_name
                )
            source = focus if node.source is None else self.translate(node.source, focus, row_index)
            return Value(self.as_coll(source), "coll", type_name)
        source = focus if node.source is None else self.translate(node.source, focus, row_index)
        if name in ("where", "exists") and args:
            if len(args) != 1:
                raise ViewDefinitionError(f"{name}() takes one argument")
            criteria = args[0]
            filtered = self.where_items(
                source, lambda item: self.as_bool(self.translate(criteria, item, row_index))
            )
            if name == "where":
                return filtered
            return Value(self.exists(filtered), "scalar", "boolean")
        if args and name not in ("join", "extension", "getReferenceKey"):
            raise UnsupportedFeatureError(f"FHIRPath function {name}() with arguments is not supported")
        if name == "exists":
            return Value(self.exists(source), "scalar", "boolean")
        if name == "empty":
            return Value(f"(NOT {self.exists(source)})", "scalar", "boolean")
        if name == "count":
            return Value(d.length(self.as_coll(source)), "scalar", "integer")
        if name == "not":
            return Value(f"(NOT {self.as_bool(source)})", "scalar", "boolean")
        if name == "first":
            return self.pick(source, 0)
        if name == "last":
            return self.pick(source, None)
        if name == "join":
            if len(args) > 1:
                raise ViewDefinitionError("join() takes at most one argument")
            sep = self.as_scalar(self.translate(args[0], focus, row_index), "string") if args else "''"
            self.whole(source)
            return Value(d.join(self.as_coll(source), sep), "scalar", "string")
        if name == "extension":
            if len(args) != 1 or not isinstance(args[0], Literal) or args[0].kind != "string":
                raise ViewDefinitionError("extension() takes one string argument (the URL)")
            extensions = self.member(source, "extension")
            wanted_url = d.literal(args[0])
            return self.where_items(
                extensions,
                lambda item: f"({self.as_scalar(self.member(item, 'url'), 'string')} = {wanted_url})",
            )
        if name == "getResourceKey":
            if source.kind == "root":
                return Value(self.as_scalar(self.member(source, "id"), "string"), "scalar", "string")
            return Value(self.as_scalar(self.member(source, "id"), "string"), "scalar", "string")
        if name == "getReferenceKey":
            if len(args) > 1 or (args and not (isinstance(args[0], Member) and args[0].source is None)):
                raise ViewDefinitionError("getReferenceKey() takes an optional resource type name")
            wanted = args[0].name if args and isinstance(args[0], Member) else None
            refs = self.member(source, "reference")
            self.whole(refs)
            v, k = self.var(), self.var()
            text = d.elem_to(v, "string")
            key = d.regexp_extract(text, _REFERENCE, 2)
            if wanted is not None:
                key = (
                    f"CASE WHEN {d.regexp_extract(text, _REFERENCE, 1)} = {d.string(wanted)} "
                    f"THEN {key} ELSE '' END"
                )
            keys = d.transform(self.as_coll(refs), [v], d.scalar_to_elem(key, "string"))
            keep = f"({d.elem_to(k, 'string')} <> '')"
            return Value(d.filter(keys, k, keep), "coll", "string")
        if name in ("lowBoundary", "highBoundary"):
            if args:
                raise UnsupportedFeatureError(f"FHIRPath {name}() with a precision is not supported")
            return self.boundary(source, low=name == "lowBoundary")
        raise UnsupportedFeatureError(f"FHIRPath function {name}() is not supported")

    def boundary(self, source: Value, low: bool) -> Value:
        """lowBoundary()/highBoundary() of a decimal, date, dateTime or time (by its type)."""
        d = self.dialect
        named = source.hint if source.kind == "scalar" else source.type
        kind = (
            named if named in ("date", "dateTime", "instant", "time") else self.scalar_type(source) or named
        )
        text = self.as_scalar(source, "string")
        x = self.var()
        if kind in ("decimal", "integer"):
            # Half a unit of the last written digit: 1.0 → [0.95, 1.05].
            digits = f"CASE WHEN {d.strpos(x, '.')} > 0 THEN length({x}) - {d.strpos(x, '.')} ELSE 0 END"
            sign = "-" if low else "+"
            value = f"({d.try_cast(x, 'decimal')} {sign} 0.5 * power(10, -({digits})))"
            return Value(d.let(text, x, value), "scalar", "decimal")
        if kind == "time":
            pad = (":00.000", ".000") if low else (":59.999", ".999")
            sql = f"CASE length({x}) WHEN 5 THEN {x} || '{pad[0]}' WHEN 8 THEN {x} || '{pad[1]}' ELSE {x} END"
            return Value(d.let(text, x, sql), "scalar", "string")
        if low:
            day = f"CASE length({x}) WHEN 4 THEN {x} || '-01-01' WHEN 7 THEN {x} || '-01' ELSE {x} END"
        else:
            month_end = d.cast(f"last_day({d.cast(f'{x} || {chr(39)}-01{chr(39)}', 'date')})", "string")
            day = f"CASE length({x}) WHEN 4 THEN {x} || '-12-31' WHEN 7 THEN {month_end} ELSE {x} END"
        if kind in ("dateTime", "instant"):
            suffix = "T00:00:00.000+14:00" if low else "T23:59:59.999-12:00"
            sql = f"CASE WHEN length({x}) <= 10 THEN ({day}) || '{suffix}' ELSE {x} END"
        else:
            sql = day
        return Value(d.let(text, x, sql), "scalar", "string")

    def binary(self, node: Binary, focus: Value, row_index: str) -> Value:
        d = self.dialect
        op = node.op
        left = self.translate(node.left, focus, row_index)
        right = self.translate(node.right, focus, row_index)
        if op not in ("and", "or", "xor", "implies"):
            self.whole(left)
            self.whole(right)
        if op in ("and", "or"):
            return Value(f"({self.as_bool(left)} {op.upper()} {self.as_bool(right)})", "scalar", "boolean")
        if op == "xor":
            return Value(f"({self.as_bool(left)} <> {self.as_bool(right)})", "scalar", "boolean")
        if op == "implies":
            return Value(f"((NOT {self.as_bool(left)}) OR {self.as_bool(right)})", "scalar", "boolean")
        if op == "|":
            return Value(d.concat([self.as_coll(left), self.as_coll(right)]), "coll")
        if op in ("=", "!="):
            eq = self.equality(left, right)
            return Value(eq if op == "=" else f"(NOT {eq})", "scalar", "boolean")
        if op in ("<", ">", "<=", ">="):
            return Value(self.comparison(op, left, right), "scalar", "boolean")
        if op in ("+", "-", "*", "/"):
            if op == "+" and "string" in (self.scalar_type(left), self.scalar_type(right)):
                return Value(self.concat_strings(left, right), "scalar", "string")
            both_int = self.scalar_type(left) == "integer" and self.scalar_type(right) == "integer"
            kind = "integer" if both_int and op != "/" else "decimal"
            return Value(
                f"({self.as_scalar(left, kind)} {op} {self.as_scalar(right, kind)})",
                "scalar",
                kind,
            )
        if op == "&":
            return Value(self.concat_strings(left, right, empty_as_blank=True), "scalar", "string")
        raise UnsupportedFeatureError(f"FHIRPath operator {op!r} is not supported")

    def concat_strings(self, left: Value, right: Value, empty_as_blank: bool = False) -> str:
        a, b = self.as_scalar(left, "string"), self.as_scalar(right, "string")
        if empty_as_blank:
            a, b = f"coalesce({a}, '')", f"coalesce({b}, '')"
        return f"({a} || {b})"

    def scalar_type(self, v: Value) -> str | None:
        """The value type known at compile time: a typed scalar, or a primitive type hint."""
        if v.kind == "scalar":
            return v.type
        hints = {
            "integer": "integer",
            "positiveInt": "integer",
            "unsignedInt": "integer",
            "decimal": "decimal",
            "boolean": "boolean",
            "string": "string",
            "code": "string",
            "id": "string",
        }
        return hints.get(v.type or "")

    def equality(self, left: Value, right: Value) -> str:
        d = self.dialect
        lt, rt = self.scalar_type(left), self.scalar_type(right)
        if left.kind != "scalar" and right.kind == "scalar":
            left, right, lt, rt = right, left, rt, lt
        if left.kind == "scalar" and right.kind == "scalar":
            kind = lt if lt == rt else ("decimal" if {lt, rt} == {"integer", "decimal"} else "string")
            assert kind is not None
            return f"({self.as_scalar(left, kind)} = {self.as_scalar(right, kind)})"
        if left.kind == "scalar":
            # A collection against a typed singleton: empty → empty, more than one item → false.
            kind = lt or "string"
            if kind == "integer" and rt == "decimal":
                kind = "decimal"
            if right.kind in ("elem", "root", "opt", "struct"):
                return f"({self.as_scalar(right, kind)} = {self.as_scalar(left, kind)})"
            x = self.var()
            return d.let(
                self.as_coll(right),
                x,
                f"CASE WHEN {d.length(x)} = 0 THEN NULL WHEN {d.length(x)} > 1 THEN FALSE "
                f"ELSE {d.elem_to(d.at(x, 0), kind)} = {self.as_scalar(left, kind)} END",
            )
        # Two collections: equal when the same size and equal item by item.
        kind = lt or rt or "string"
        a, b, e = self.var(), self.var(), self.var()
        as_text_a = d.transform(a, [e], d.elem_to(e, kind))
        as_text_b = d.transform(b, [e], d.elem_to(e, kind))
        body = d.let(
            self.as_coll(right),
            b,
            f"CASE WHEN {d.length(a)} = 0 OR {d.length(b)} = 0 THEN NULL ELSE {as_text_a} = {as_text_b} END",
        )
        return d.let(self.as_coll(left), a, body)

    def comparison(self, op: str, left: Value, right: Value) -> str:
        lt, rt = self.scalar_type(left), self.scalar_type(right)
        kind = lt or rt
        if lt and rt and lt != rt:
            kind = "decimal" if {lt, rt} <= {"integer", "decimal"} else "string"
        if kind is not None:
            return f"({self.as_scalar(left, kind)} {op} {self.as_scalar(right, kind)})"
        # Types unknown at compile time: numbers compare as numbers, anything else as text.
        a, b = self.as_scalar(left, "string"), self.as_scalar(right, "string")
        d = self.dialect
        x, y = self.var(), self.var()
        num = f"{d.try_cast(x, 'decimal')} {op} {d.try_cast(y, 'decimal')}"
        body = (
            f"CASE WHEN {d.try_cast(x, 'decimal')} IS NOT NULL AND {d.try_cast(y, 'decimal')} IS NOT NULL "
            f"THEN {num} ELSE {x} {op} {y} END"
        )
        return d.let(a, x, d.let(b, y, body))

    # -- columns and rows ---------------------------------------------------------------------
    def column(self, col: Column, focus: Value, row_index: str) -> str:
        d = self.dialect
        try:
            v = self.translate(col.path, focus, row_index)
        except ViewDefinitionError as exc:
            raise type(exc)(f"column {col.name!r} ({col.path_text}): {exc}") from None
        kind = col.value_type
        self.whole(v)
        if col.collection:
            x = self.var()
            return d.transform(self.as_coll(v), [x], d.elem_to(x, kind))
        if v.kind == "scalar":
            return self.as_scalar(v, kind)
        if v.kind in ("elem", "root", "opt", "struct"):
            return self.as_scalar(v, kind)
        x = self.var()
        if v.kind == "slist":
            message = f"column {col.name} ({col.path_text}) has several values; set collection: true"
            return d.let(
                v.sql,
                x,
                f"CASE WHEN {d.length(x)} > 1 THEN {d.error(message)} "
                f"ELSE {self.as_scalar(Value(x, 'slist'), kind)} END",
            )
        message = f"column {col.name} ({col.path_text}) has several values; set collection: true"
        return d.let(
            v.sql,
            x,
            f"CASE WHEN {d.length(x)} > 1 THEN {d.error(message)} ELSE {d.elem_to(d.at(x, 0), kind)} END",
        )

    def rows(
        self, node: SelectNode, focus: Value, row_index: str, prefix: list[tuple[str, str]] | None = None
    ) -> Rows:
        """The rows one select node yields for one focus; ``prefix`` columns lead every row."""
        d = self.dialect
        prefix = prefix or []
        if node.for_each is None and not node.repeat:
            return self.body(node, focus, row_index, prefix)
        item_kind, item_path = "elem", None
        if node.repeat:
            coll = self.repeat(node.repeat, focus, row_index)
        else:
            assert node.for_each is not None
            items = self.translate(node.for_each, focus, row_index)
            item_path = items.path
            if items.kind == "struct":
                # One object (or none): no list to iterate, the body binds it directly.
                body = self.body(node, items, "0", prefix)
                if node.or_null:
                    return body
                rows_sql = (
                    f"CASE WHEN {items.sql} IS NULL THEN {d.untyped_empty()} ELSE {body.as_list(d)} END"
                )
                return Rows(rows_sql, body.names, None)
            if items.kind == "slist":
                coll, item_kind = items.sql, "struct"
            else:
                coll = self.as_coll(items)
        v, i = self.var(), self.var()
        index = f"({i} - {d.index_base})" if d.index_base else i
        body = self.body(node, Value(v, item_kind, None, item_path), index, prefix)
        body_list = body.as_list(d)
        if node.or_null:
            c = self.var()
            coll = d.let(
                coll,
                c,
                f"CASE WHEN {d.length(c)} = 0 THEN "
                f"{d.singleton(d.null_elem() if item_kind == 'elem' else 'NULL')} ELSE {c} END",
            )
        return Rows(d.flatten(d.transform(coll, [v, i], body_list)), body.names, None)

    def repeat(self, paths: list[Node], focus: Value, row_index: str) -> str:
        """Nodes reachable through the repeat paths, depth first, unrolled to a fixed depth."""
        d = self.dialect
        self.whole(focus)
        if focus.kind == "struct" and focus.path == ():
            focus = Value(self.root_doc, "elem")
        elif focus.kind == "struct":
            focus = Value(d.to_json(focus.sql), "elem")

        def descendants(parent: Value, depth: int) -> str:
            steps = [self.as_coll(self.translate(p, parent, row_index)) for p in paths]
            children = steps[0] if len(steps) == 1 else d.concat(steps)
            if depth == 1:
                return children
            c = self.var()
            below = descendants(Value(c, "elem"), depth - 1)
            return d.flatten(d.transform(children, [c], d.concat([d.singleton(c), below])))

        return descendants(focus, _MAX_REPEAT_DEPTH)

    def body(
        self, node: SelectNode, focus: Value, row_index: str, prefix: list[tuple[str, str]] | None = None
    ) -> Rows:
        """Columns × nested selects × unionAll of one node. While the rows so far are a single
        row of columns, they are handed down as the prefix of the next part's rows, so that no
        row struct is built twice."""
        d = self.dialect
        columns = list(prefix or []) + [(c.name, self.column(c, focus, row_index)) for c in node.columns]
        current: Rows | None = Rows(None, [n for n, _ in columns], columns) if columns else None
        for child in node.selects:
            if current is not None and current.columns is not None:
                current = self.rows(child, focus, row_index, current.columns)
            else:
                child_rows = self.rows(child, focus, row_index)
                current = child_rows if current is None else self.product(current, child_rows)
        if node.union_all:
            union_names = node.union_all[0].output_names()
            if current is not None and current.columns is not None:
                lead = current.columns
                branches = [self.rows(b, focus, row_index, lead).as_list(d) for b in node.union_all]
                current = Rows(d.concat(branches), current.names + union_names, None)
            else:
                branches = [self.rows(b, focus, row_index).as_list(d) for b in node.union_all]
                union = Rows(d.concat(branches), union_names, None)
                current = union if current is None else self.product(current, union)
        assert current is not None
        return current

    def product(self, a: Rows, b: Rows) -> Rows:
        d = self.dialect
        names = a.names + b.names
        if a.columns is not None and b.columns is not None:
            return Rows(None, names, a.columns + b.columns)
        if a.columns is not None:
            assert b.sql is not None
            y = self.var()
            fields = a.columns + [(n, d.field(y, n)) for n in b.names]
            return Rows(d.transform(b.sql, [y], d.struct(fields)), names, None)
        assert a.sql is not None
        x = self.var()
        if b.columns is not None:
            fields = [(n, d.field(x, n)) for n in a.names] + b.columns
            return Rows(d.transform(a.sql, [x], d.struct(fields)), names, None)
        assert b.sql is not None
        y = self.var()
        fields = [(n, d.field(x, n)) for n in a.names] + [(n, d.field(y, n)) for n in b.names]
        return Rows(
            d.flatten(d.transform(a.sql, [x], d.transform(b.sql, [y], d.struct(fields)))), names, None
        )

    def where(self, path_text: str, node: Node) -> str:
        d = self.dialect
        try:
            v = self.translate(node, self.root_value(), "0")
        except ViewDefinitionError as exc:
            raise type(exc)(f"where ({path_text}): {exc}") from None
        if v.kind == "scalar":
            if v.type != "boolean":
                raise ViewDefinitionError(f"where ({path_text}) is not a boolean expression")
            return f"coalesce({v.sql}, FALSE)"
        x = self.var()
        message = f"where ({path_text}) did not evaluate to a boolean"
        return d.let(
            self.as_coll(v),
            x,
            f"CASE WHEN {d.length(x)} = 0 THEN FALSE "
            f"WHEN {d.length(x)} = 1 AND {d.elem_is_boolean(d.at(x, 0))} THEN {d.elem_to(d.at(x, 0), 'boolean')} "
            f"ELSE {d.error(message)} END",
        )


@dataclass
class Rows:
    """Rows of a select node: either one row of columns, or SQL for a list of row structs."""

    sql: str | None
    names: list[str]
    columns: list[tuple[str, str]] | None

    def as_list(self, d: Dialect) -> str:
        if self.columns is not None:
            return d.singleton(d.struct(self.columns))
        assert self.sql is not None
        return self.sql


@dataclass
class RenderedView:
    """The SQL pieces a runner assembles into one query."""

    root_fields: list[str]
    where: list[str]
    columns: list[tuple[str, str]]  # once per resource: (name, expression)
    rows: str | None  # a list of row structs per resource (crossed with ``columns``), if any
    names: list[str]  # output columns in order
    used_paths: set[tuple[str, ...]]
    whole_paths: set[tuple[str, ...]]


def render(
    view: ViewDefinition, dialect: Dialect, root_doc: str, shapes: Shapes | None = None
) -> RenderedView:
    """Translate the plan; ``root_doc`` is the SQL name of the whole-resource JSON column.

    Without ``shapes`` (JSON mode) every member is read from JSON text. With ``shapes`` (typed
    mode, see :func:`resolve_shapes`) the runner provides ``_r``, the resource parsed once into a
    STRUCT holding just the members the view uses.
    """
    translator = Translator(view, dialect, root_doc, shapes)
    translator.root_fields.append("resourceType")
    root = translator.root_value()
    where_sql = [translator.where(text, node) for text, node in view.where]
    # Top level: columns that occur once per resource are selected beside the unnested rows.
    parts = [translator.rows(child, root, "0") for child in view.root.selects]
    columns = [c for part in parts if part.columns is not None for c in part.columns]
    lists = [part for part in parts if part.columns is None]
    rows = None
    if lists:
        combined = lists[0]
        for part in lists[1:]:
            combined = translator.product(combined, part)
        rows = combined.sql
    return RenderedView(
        root_fields=list(translator.root_fields),
        where=where_sql,
        columns=columns,
        rows=rows,
        names=view.root.output_names(),
        used_paths=translator.used_paths,
        whole_paths=translator.whole_paths,
    )


def _scalar_structure(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scalar_structure(v) for k, v in value.items()}
    if isinstance(value, list):
        merged: Any = "NULL"
        for item in value:
            merged = merge_structure(merged, _scalar_structure(item))
        return [merged]
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int | float):
        return "DOUBLE"
    return "VARCHAR"


def merge_structure(a: Any, b: Any) -> Any:
    """Merge two JSON structures (the form of DuckDB's json_group_structure)."""
    if a == "NULL":
        return b
    if b == "NULL":
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, value in b.items():
            out[key] = merge_structure(out[key], value) if key in out else value
        return out
    if isinstance(a, list) and isinstance(b, list):
        return [merge_structure(a[0] if a else "NULL", b[0] if b else "NULL")]
    return a if a == b else "JSON"


def structure_of(documents: Iterable[Any]) -> Any:
    """The merged structure of parsed JSON documents (None when there are none)."""
    merged: Any = None
    for doc in documents:
        shape = _scalar_structure(doc)
        merged = shape if merged is None else merge_structure(merged, shape)
    return merged


def _sampled_shape(structure: Any, path: tuple[str, ...]) -> str:
    """The shape of ``path`` in a JSON structure (DuckDB json_group_structure form)."""
    node = structure
    for name in path:
        if isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict) or name not in node:
            return "json"
        node = node[name]
    if isinstance(node, dict):
        return "struct"
    if isinstance(node, list):
        item = node[0] if node else None
        if isinstance(item, dict):
            return "slist"
        if isinstance(item, str) and item not in ("JSON", "NULL"):
            return "llist"
        return "json"
    if isinstance(node, str) and node in _SAMPLED_LEAVES:
        return _SAMPLED_LEAVES[node]
    return "json"


def resolve_shapes(
    used: set[tuple[str, ...]], whole: set[tuple[str, ...]], structure: Any
) -> tuple[Shapes, dict[str, Any]]:
    """Shapes of the used members and the json_transform structure that extracts them.

    A member used as a whole, or not seen in the sample, stays JSON; a member the sample saw
    both as an object and as a list stays JSON too (navigated generically, still correct).
    """
    shapes: Shapes = {}
    for path in sorted(used, key=len):
        parent = path[:-1]
        if parent and shapes.get(parent) not in ("struct", "slist"):
            continue  # below a JSON member: navigated generically
        shape = _sampled_shape(structure, path)
        if shape in ("struct", "slist") and (
            path in whole or not any(p[: len(path)] == path and len(p) > len(path) for p in used)
        ):
            shape = "json"
        shapes[path] = shape
    spec: dict[str, Any] = {"resourceType": "VARCHAR"}
    for path in sorted(shapes, key=len):
        shape = shapes[path]
        container: Any = spec
        for name in path[:-1]:
            container = container[name]
            if isinstance(container, list):
                container = container[0]
        leaf: Any = {"struct": {}, "slist": [{}], "llist": ["JSON"], "json": "JSON", **_LEAF_SQL}[shape]
        if path == ("resourceType",):
            continue
        container[path[-1]] = leaf
    return shapes, spec
