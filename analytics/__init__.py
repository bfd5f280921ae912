"""Analytics over the reports/ archive: the same SQL in Athena (AWS) and DuckDB (locally)."""
