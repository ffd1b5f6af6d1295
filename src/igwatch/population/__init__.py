"""Population screening over bulk FHIR exports (DuckDB or Spark)."""
