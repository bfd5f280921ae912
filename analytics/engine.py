"""DuckDB over a reports/ archive, shaped like the Glue table so Athena's SQL runs unchanged.

The `reports` view takes its columns from the Glue table in template.yaml (Hive types turned
into DuckDB types), and two macros give DuckDB the Athena functions the queries use
(`parse_datetime` with Infobip's timestamp format, `approx_percentile`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from local.stack import ROOT, load_template, resources_of

QUERIES = ROOT / "queries"
_SCALARS = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN"}


def duckdb_type(hive: str) -> str:
    """`struct<a:int,b:string>` -> `STRUCT("a" INTEGER, "b" VARCHAR)` (nested structs included)."""
    hive = hive.strip()
    if hive in _SCALARS:
        return _SCALARS[hive]
    found = re.fullmatch(r"struct<(.*)>", hive)
    if not found:
        raise ValueError(f"unsupported Hive type {hive}")
    fields, depth, start, body = [], 0, 0, found.group(1)
    for i, char in enumerate(body + ","):
        depth += char == "<"
        depth -= char == ">"
        if char == "," and depth == 0:
            fields.append(body[start:i])
            start = i + 1
    parts = [f'"{name}" {duckdb_type(kind)}' for name, kind in (f.split(":", 1) for f in fields)]
    return f"STRUCT({', '.join(parts)})"


def glue_columns() -> list[dict[str, str]]:
    """The Glue table's columns, as template.yaml defines them."""
    (table,) = resources_of(load_template(), "AWS::Glue::Table").values()
    return table["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]


def connect(archive: str) -> Any:
    """A DuckDB connection with the `reports` view over `<archive>/reports/**/*.jsonl.gz`."""
    import duckdb

    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    db.execute("CREATE MACRO parse_datetime(s, fmt) AS strptime(s, '%Y-%m-%dT%H:%M:%S.%g%z')")
    db.execute("CREATE MACRO approx_percentile(x, p) AS quantile_cont(x, p)")
    columns = ", ".join(f"'{c['Name']}': '{duckdb_type(c['Type'])}'" for c in glue_columns())
    pattern = f"{archive.rstrip('/')}/reports/**/*.jsonl.gz".replace("'", "''")  # a SQL string literal
    # A view cannot take parameters: the path is quoted above, the columns come from template.yaml.
    view = f"CREATE VIEW reports AS SELECT * FROM read_json('{pattern}', format = 'newline_delimited', hive_partitioning = true, columns = {{{columns}}})"  # noqa: S608 E501  # nosec B608
    db.execute(view)
    return db


def queries() -> dict[str, str]:
    """name -> SQL of every query in queries/ (the same files Athena's named queries hold)."""
    return {path.stem: path.read_text() for path in sorted(QUERIES.glob("*.sql"))}


def run(db: Any, sql: str, parameters: list[Any] | None = None) -> tuple[list[str], list[tuple]]:
    cursor = db.execute(sql, parameters or [])
    return [d[0] for d in cursor.description], cursor.fetchall()


def archive_path(path: str | Path) -> str:
    return str(Path(path).resolve()) if not str(path).startswith("s3://") else str(path)
