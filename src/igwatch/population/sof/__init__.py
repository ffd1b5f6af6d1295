"""SQL on FHIR v2 ViewDefinitions, executed by DuckDB (embedded) or Spark SQL.

One compiler, two renderers: :func:`load_view` validates a ViewDefinition and parses its
FHIRPath once (the plan, :mod:`.plan`); :mod:`.render` turns the plan into SQL through a small
dialect (DuckDB or Spark), so both engines share every FHIRPath rule.

DuckDB::

    import duckdb
    from igwatch.population.sof import DuckDBViewRunner, load_view

    con = duckdb.connect()
    source = con.sql(
        "SELECT json AS resource FROM read_json('Observation.*.ndjson', "
        "format='newline_delimited', records=false)"
    )
    rows = DuckDBViewRunner(con).run(load_view("observation.json"), source)  # a relation
    table = rows.arrow()

The source is a relation or table name with one resource per row as JSON (column ``resource``,
else ``json``, else its only column); resources of other types are skipped. ``run`` returns a
lazy relation whose columns are the view's, in order (``.arrow()``/``.to_arrow_table()``,
``.write_parquet()``, or ``relation.sql_query()`` to embed; the source stays registered on the
connection).

Typed mode (the default on both engines): the runner first reads up to 2,000 resources of the
view's type to learn which members are lists, objects or primitives, then parses every resource
once (DuckDB ``json_transform``, Spark ``from_json``) into a STRUCT of just the members the view
uses, and evaluates FHIRPath with vectorised list functions over it. A member the sample did not
see, or saw with mixed shapes, is kept as JSON and navigated generically, so results never
depend on the sample; FHIR fixes every element's cardinality, so a member that is a list in
the sample is a list everywhere in valid FHIR. ``typed=False`` reads every member from the JSON
text instead (slower, no sample).

Spark::

    from igwatch.population.sof import SparkViewRunner  # imports pyspark only when run

    df = spark.read.text("export/Observation*.ndjson")  # column ``value``: one JSON per line
    rows = SparkViewRunner(spark).run(load_view("observation.json"), df)  # a DataFrame

Supported: resource, constant, where, select (column with path/name/type/collection), nested
select, forEach, forEachOrNull, unionAll, repeat (depth ≤ 6), %rowIndex; FHIRPath member
navigation over collections, ``[n]``, where(), exists(), empty(), first(), last(), count(),
not(), ofType() (a choice element's type, or a resource type on resources such as
``contained.ofType(Medication)``), join(), extension(url), getResourceKey(),
getReferenceKey([type]), lowBoundary()/highBoundary() (decimal, date, dateTime, time; no
precision argument), %constants, = != < <= > >=, and/or/xor/implies, + - * / &, ``|``.
Column types: boolean → BOOLEAN; integer, positiveInt, unsignedInt, integer64 → BIGINT;
decimal → DOUBLE; everything else → text as in the JSON (dates stay partial);
``collection: true`` → a list of those.
"""

from __future__ import annotations

from igwatch.population.sof.duckdb_views import DuckDBViewRunner, view_sql
from igwatch.population.sof.errors import UnsupportedFeatureError, ViewDefinitionError
from igwatch.population.sof.plan import Column, SelectNode, ViewDefinition, load_view
from igwatch.population.sof.spark_views import SparkViewRunner

__all__ = [
    "Column",
    "DuckDBViewRunner",
    "SelectNode",
    "SparkViewRunner",
    "UnsupportedFeatureError",
    "ViewDefinition",
    "ViewDefinitionError",
    "load_view",
    "view_sql",
]
