"""DuckDB execution of ViewDefinitions.

The source is a DuckDB relation (or table/view name) holding one FHIR resource per row as JSON
(type JSON or VARCHAR): the column named ``resource``, else ``json``, else the only column. For
example ``con.sql("SELECT json AS resource FROM read_json('Observation*.ndjson',
format='newline_delimited', records=false)")`` or ``read_ndjson_objects(...)``. Rows whose
``resourceType`` differs from the view's ``resource`` are skipped, so a mixed source is fine.
Every resource is parsed once for its top-level members; the rest is vectorised list SQL.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from igwatch.population.sof.errors import ViewDefinitionError
from igwatch.population.sof.plan import ViewDefinition, load_view
from igwatch.population.sof.render import Dialect, render, resolve_shapes


def sql_string(text: str) -> str:
    """A DuckDB string literal (single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "decimal": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE"}


class DuckDBDialect(Dialect):
    name = "duckdb"
    index_base = 1

    def lam(self, params: list[str], body: str) -> str:
        return f"lambda {', '.join(params)}: {body}"

    def transform(self, coll: str, params: list[str], body: str) -> str:
        return f"list_transform({coll}, {self.lam(params, body)})"

    def filter(self, coll: str, var: str, cond: str) -> str:
        return f"list_filter({coll}, {self.lam([var], cond)})"

    def empty(self) -> str:
        return "[]::JSON[]"

    def untyped_empty(self) -> str:
        return "[]"

    def to_json(self, value: str) -> str:
        return f"to_json({value})"

    def singleton(self, elem: str) -> str:
        return f"[{elem}]"

    def list_of(self, items: list[str]) -> str:
        return f"[{', '.join(items)}]"

    def concat(self, lists: list[str]) -> str:
        out = lists[0]
        for other in lists[1:]:
            out = f"list_concat({out}, {other})"
        return out

    def length(self, coll: str) -> str:
        return f"len({coll})"

    def at(self, coll: str, index0: int) -> str:
        return f"({coll})[{index0 + 1}]"

    def slice(self, coll: str, index0: int) -> str:
        return f"({coll})[{index0 + 1}:{index0 + 1}]"

    def last(self, coll: str) -> str:
        return f"({coll})[-1:]"

    def strpos(self, text: str, needle: str) -> str:
        return f"strpos({text}, {self.string(needle)})"

    def at_last(self, coll: str) -> str:
        return f"({coll})[-1]"

    def get(self, elem: str, key: str) -> str:
        return f"json_extract({elem}, {self.string('$.' + key)})"

    def norm(self, var: str) -> str:
        return (
            f"CASE WHEN {var} IS NULL THEN []::JSON[] "
            f"WHEN json_type({var}) = 'ARRAY' THEN json_extract({var}, '$[*]') "
            f"WHEN json_type({var}) = 'NULL' THEN []::JSON[] ELSE [{var}] END"
        )

    def elem_to(self, elem: str, value_type: str) -> str:
        if value_type == "string":
            return f"json_extract_string({elem}, '$')"
        if value_type == "boolean":
            return f"TRY_CAST({elem} AS BOOLEAN)"
        return f"TRY_CAST(json_extract_string({elem}, '$') AS {_TYPES[value_type]})"

    def elem_is_boolean(self, elem: str) -> str:
        return f"(json_type({elem}) = 'BOOLEAN')"

    def scalar_to_elem(self, scalar: str, value_type: str) -> str:
        return f"to_json({scalar})"

    def string(self, text: str) -> str:
        return sql_string(text)

    def sql_type(self, value_type: str) -> str:
        return _TYPES[value_type]

    def list_type(self, value_type: str) -> str:
        return f"{_TYPES[value_type]}[]"

    def null_elem(self) -> str:
        return "NULL::JSON"

    def error(self, message: str) -> str:
        return f"error({self.string(message)})"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        return "struct_pack(" + ", ".join(f"{self.quote(n)} := {sql}" for n, sql in fields) + ")"

    def field(self, struct: str, name: str) -> str:
        return f"struct_extract({struct}, {self.string(name)})"

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def join(self, coll: str, sep: str) -> str:
        return f"array_to_string(list_transform({coll}, lambda _s: json_extract_string(_s, '$')), {sep})"


SAMPLE_ROWS = 2000


def view_sql(
    view: ViewDefinition, source_sql: str, column: str = "resource", structure: Any | None = None
) -> str:
    """The DuckDB SQL of a view over ``source_sql`` (a table name or a parenthesised query).

    With ``structure`` (``json_group_structure`` of sample resources, as a Python object) each
    resource is parsed once by ``json_transform`` into a STRUCT of just the members the view
    uses (typed mode); without it every member is read from the JSON text (JSON mode).
    """
    d = DuckDBDialect()
    col = d.quote(column)
    conditions: list[str]
    if structure is not None:
        probe = render(view, d, "_doc")
        shapes, spec = resolve_shapes(probe.used_paths, probe.whole_paths, structure)
        rendered = render(view, d, "_doc", shapes)
        extracted = (
            f"SELECT json_transform({col}, {d.string(json.dumps(spec))}) AS _r, {col}::JSON AS _doc "
            f"FROM {source_sql}"
        )
        conditions = [f"struct_extract(_r, 'resourceType') = {d.string(view.resource)}", *rendered.where]
    else:
        rendered = render(view, d, "_doc")
        paths = ", ".join(d.string("$." + name) for name in rendered.root_fields)
        fields = ", ".join(f"_j[{i + 1}] AS _f{i}" for i in range(len(rendered.root_fields)))
        extracted = (
            f"SELECT {fields}, _doc FROM "
            f"(SELECT json_extract({col}, [{paths}]) AS _j, {col}::JSON AS _doc FROM {source_sql})"
        )
        conditions = [f"json_extract_string(_f0, '$') = {d.string(view.resource)}", *rendered.where]
    where = " AND ".join(f"({c})" for c in conditions)
    once = [f"{sql} AS {d.quote(name)}" for name, sql in rendered.columns]
    if rendered.rows is None:
        return f"SELECT {', '.join(once)} FROM ({extracted}) WHERE {where}"
    inner = ", ".join([*once, f"unnest({rendered.rows}, recursive := true)"])
    outer = ", ".join(d.quote(name) for name in rendered.names)
    return f"SELECT {outer} FROM (SELECT {inner} FROM ({extracted}) WHERE {where})"


def sample_structure(
    con: duckdb.DuckDBPyConnection, source_sql: str, column: str, resource: str, rows: int = SAMPLE_ROWS
) -> Any:
    """The merged JSON structure of up to ``rows`` resources of one type (None when there are none)."""
    col = DuckDBDialect().quote(column)
    found = con.sql(
        f"SELECT json_group_structure({col}::JSON) FROM (SELECT {col} FROM {source_sql} "
        f"WHERE json_extract_string({col}, '$.resourceType') = ? LIMIT {int(rows)})",
        params=[resource],
    ).fetchall()
    if not found or found[0][0] is None:
        return None
    return json.loads(found[0][0])


def _source_column(columns: list[str]) -> str:
    for name in ("resource", "json"):
        if name in columns:
            return name
    if len(columns) == 1:
        return columns[0]
    raise ViewDefinitionError(
        f"source has columns {columns}; expected one named 'resource' or a single column"
    )


class DuckDBViewRunner:
    """Runs ViewDefinitions on a DuckDB connection."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, *, typed: bool = True, sample_rows: int = SAMPLE_ROWS
    ) -> None:
        self.con = con
        self.typed = typed
        self.sample_rows = sample_rows
        self._counter = 0

    def sql(self, view: ViewDefinition, source_sql: str, column: str) -> str:
        """The SQL for ``view`` over ``source_sql``; typed mode samples the source first."""
        structure = None
        if self.typed:
            structure = sample_structure(self.con, source_sql, column, view.resource, self.sample_rows)
        return view_sql(view, source_sql, column, structure)

    def run(self, view: ViewDefinition | dict[str, Any] | str, source: Any) -> duckdb.DuckDBPyRelation:
        """Rows of ``view`` over ``source`` (a relation or a table/view name), as a relation."""
        plan = view if isinstance(view, ViewDefinition) else load_view(view)
        if isinstance(source, str):
            columns = [str(c) for c in self.con.table(source).columns]
            return self.con.sql(self.sql(plan, self.quote_table(source), _source_column(columns)))
        self._counter += 1
        name = f"_sof_source_{self._counter}"
        self.con.register(name, source)
        columns = [str(c) for c in source.columns]
        return self.con.sql(self.sql(plan, name, _source_column(columns)))

    @staticmethod
    def quote_table(name: str) -> str:
        return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))
