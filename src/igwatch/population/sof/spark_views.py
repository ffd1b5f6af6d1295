"""Spark SQL execution of ViewDefinitions (same plan and FHIRPath rules as DuckDB).

The source is a DataFrame with one FHIR resource per row as JSON text: the column ``value``
(what ``spark.read.text`` gives), else ``resource``, else its only column. Resources of other
types are skipped. Typed mode parses each resource once with ``from_json`` into a STRUCT of the
members the view uses and reads them as struct fields. JSON mode extracts top-level members with
one ``json_tuple`` per resource; nested members, and any member typed mode keeps as JSON text,
are read with ``get_json_object``/``from_json(..., 'array<string>')``. Either way every step is
a higher-order function in the JVM, so the work runs wherever the DataFrame lives.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from igwatch.population.sof.errors import ViewDefinitionError
from igwatch.population.sof.plan import ViewDefinition, load_view
from igwatch.population.sof.render import Dialect, RenderedView, render, resolve_shapes, structure_of

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_TYPES = {"string": "STRING", "integer": "BIGINT", "decimal": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE"}


class SparkDialect(Dialect):
    name = "spark"
    index_base = 0

    def lam(self, params: list[str], body: str) -> str:
        if len(params) == 1:
            return f"{params[0]} -> {body}"
        return f"({', '.join(params)}) -> {body}"

    def transform(self, coll: str, params: list[str], body: str) -> str:
        return f"transform({coll}, {self.lam(params, body)})"

    def filter(self, coll: str, var: str, cond: str) -> str:
        return f"filter({coll}, {self.lam([var], cond)})"

    def flatten(self, coll: str) -> str:
        # Spark's flatten is NULL when any inner list is NULL (an absent member).
        return f"flatten(filter({coll}, _inner -> _inner IS NOT NULL))"

    def empty(self) -> str:
        return "CAST(array() AS ARRAY<STRING>)"

    def untyped_empty(self) -> str:
        return "array()"

    def to_json(self, value: str) -> str:
        return f"to_json({value})"

    def singleton(self, elem: str) -> str:
        return f"array({elem})"

    def list_of(self, items: list[str]) -> str:
        return f"array({', '.join(items)})"

    def concat(self, lists: list[str]) -> str:
        return lists[0] if len(lists) == 1 else f"concat({', '.join(lists)})"

    def length(self, coll: str) -> str:
        return f"size({coll})"

    def at(self, coll: str, index0: int) -> str:
        return f"try_element_at({coll}, {index0 + 1})"

    def slice(self, coll: str, index0: int) -> str:
        return f"slice({coll}, {index0 + 1}, 1)"

    def last(self, coll: str) -> str:
        return f"slice({coll}, -1, 1)"

    def strpos(self, text: str, needle: str) -> str:
        return f"instr({text}, {self.string(needle)})"

    def at_last(self, coll: str) -> str:
        return f"try_element_at({coll}, -1)"

    def get(self, elem: str, key: str) -> str:
        return f"get_json_object({elem}, {self.string('$.' + key)})"

    def norm(self, var: str) -> str:
        # Strings come back unquoted, objects and arrays as JSON text.
        return (
            f"CASE WHEN {var} IS NULL THEN {self.empty()} "
            f"WHEN startswith({var}, '[') THEN coalesce(from_json({var}, 'ARRAY<STRING>'), array({var})) "
            f"ELSE array({var}) END"
        )

    def elem_to(self, elem: str, value_type: str) -> str:
        if value_type == "string":
            return elem
        return f"try_cast({elem} AS {_TYPES[value_type]})"

    def elem_is_boolean(self, elem: str) -> str:
        return f"({elem} IN ('true', 'false'))"

    def scalar_to_elem(self, scalar: str, value_type: str) -> str:
        return f"CAST({scalar} AS STRING)"

    def string(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def sql_type(self, value_type: str) -> str:
        return _TYPES[value_type]

    def list_type(self, value_type: str) -> str:
        return f"ARRAY<{_TYPES[value_type]}>"

    def try_cast(self, sql: str, value_type: str) -> str:
        return f"try_cast({sql} AS {_TYPES[value_type]})"

    def null_elem(self) -> str:
        return "CAST(NULL AS STRING)"

    def error(self, message: str) -> str:
        return f"raise_error({self.string(message)})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "named_struct(" + ", ".join(f"{self.string(n)}, {sql}" for n, sql in fields) + ")"

    def field(self, struct: str, name: str) -> str:
        return f"{struct}.{self.quote(name)}"

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def join(self, coll: str, sep: str) -> str:
        return f"array_join({coll}, {sep})"


def _source_column(columns: list[str]) -> str:
    for name in ("value", "resource"):
        if name in columns:
            return name
    if len(columns) == 1:
        return columns[0]
    raise ViewDefinitionError(f"source has columns {columns}; expected one named 'value' or a single column")


_DDL = {"VARCHAR": "STRING", "DOUBLE": "DOUBLE", "BOOLEAN": "BOOLEAN", "JSON": "STRING"}


def spark_schema(spec: Any) -> str:
    """A json_transform-style structure as a Spark DDL type for from_json."""
    if isinstance(spec, dict):
        return "STRUCT<" + ", ".join(f"`{k}`: {spark_schema(v)}" for k, v in spec.items()) + ">"
    if isinstance(spec, list):
        return f"ARRAY<{spark_schema(spec[0])}>"
    return _DDL[spec]


def _rows_with_columns(d: SparkDialect, rendered: RenderedView) -> str:
    """One resource's rows as a list of structs of all the view's columns: the once-per-resource
    columns are evaluated once and copied into each row."""
    if rendered.rows is None:
        return d.singleton(d.struct(rendered.columns))
    if not rendered.columns:
        return rendered.rows
    once = [name for name, _ in rendered.columns]
    fields = [(n, d.field("_once", n) if n in once else d.field("_row", n)) for n in rendered.names]
    return d.let(d.struct(rendered.columns), "_once", d.transform(rendered.rows, ["_row"], d.struct(fields)))


class SparkViewRunner:
    """Runs ViewDefinitions as Spark SQL over a DataFrame of JSON resources.

    Typed mode (the default) first collects up to ``sample_rows`` resources of the view's type to
    learn which members are lists, then parses each resource once with ``from_json`` into a
    STRUCT of just the members the view uses; ``typed=False`` reads every member from the JSON
    text with ``get_json_object``.
    """

    def __init__(self, spark: SparkSession, *, typed: bool = True, sample_rows: int = 2000) -> None:
        self.spark = spark
        self.typed = typed
        self.sample_rows = sample_rows
        # (source, resource type) → structure; the DataFrame is kept so its id is not reused.
        self._structures: dict[tuple[int, str], tuple[DataFrame, Any]] = {}

    def run(
        self,
        view: ViewDefinition | dict[str, Any] | str,
        source: DataFrame,
        *,
        sample: DataFrame | None = None,
    ) -> DataFrame:
        """Rows of ``view`` over ``source``, as a (lazy) DataFrame with the view's columns.

        ``sample``: where typed mode learns the shapes (default ``source``), e.g. the unfiltered
        lines when ``source`` is a costly filter of them; its column is found like the source's.
        """
        plan = view if isinstance(view, ViewDefinition) else load_view(view)
        from pyspark.sql import functions as F

        d = SparkDialect()
        column = _source_column(list(source.columns))
        structure = None
        if self.typed:
            sampled = source if sample is None else sample
            structure = self.sample_structure(plan, sampled, _source_column(list(sampled.columns)))
        if structure is not None:
            probe = render(plan, d, "_doc")
            shapes, spec = resolve_shapes(probe.used_paths, probe.whole_paths, structure)
            rendered = render(plan, d, "_doc", shapes)
            parsed = source.select(
                F.from_json(F.col(column), spark_schema(spec)).alias("_r"), F.col(column).alias("_doc")
            )
            conditions = [f"_r.resourceType = {d.string(plan.resource)}", *rendered.where]
            # Tested inside the generator, not by a WHERE: Spark would push a WHERE on _r below
            # the projection that parses it, parsing every resource twice.
            keep = " AND ".join(f"({c})" for c in conditions)
            rows = f"CASE WHEN {keep} THEN {_rows_with_columns(d, rendered)} END"
            return parsed.selectExpr(f"inline({rows})").select(*rendered.names)
        rendered = render(plan, d, "_doc")
        names = [f"_f{i}" for i in range(len(rendered.root_fields))]
        keys = ", ".join(d.string(name) for name in rendered.root_fields)
        extracted = source.selectExpr(
            f"{d.quote(column)} AS _doc", f"json_tuple({d.quote(column)}, {keys}) AS ({', '.join(names)})"
        )
        conditions = [f"_f0 = {d.string(plan.resource)}", *rendered.where]
        filtered = extracted.where(" AND ".join(f"({c})" for c in conditions))
        once = [f"{sql} AS {d.quote(name)}" for name, sql in rendered.columns]
        if rendered.rows is None:
            return filtered.selectExpr(*once)
        return filtered.selectExpr(*once, f"inline({rendered.rows})").select(*rendered.names)

    def sample_structure(self, view: ViewDefinition, source: DataFrame, column: str) -> Any:
        """The merged JSON structure of up to ``sample_rows`` resources of the view's type
        (sampled once per source DataFrame and resource type)."""
        from pyspark.sql import functions as F

        key = (id(source), view.resource)
        if key in self._structures:
            return self._structures[key][1]

        sample = (
            source.where(F.get_json_object(F.col(column), "$.resourceType") == view.resource)
            .select(column)
            .limit(self.sample_rows)
            .collect()
        )
        structure = structure_of(json.loads(row[0]) for row in sample)
        self._structures[key] = (source, structure)
        return structure
