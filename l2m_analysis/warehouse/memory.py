"""The warehouse's SQL over in-memory frames: run any ``queries/*.sql`` on Polars/Arrow tables.

``frames_connection({"token_logprobs": df, "runs": runs})`` gives an in-memory DuckDB connection
with one table per schema table (the frames given, conformed to the schema; every other table
empty) and the staging views, so a named query answers exactly as it would on a warehouse.
For notebooks exploring data that is not (yet) stored, and for hand-computed test tables.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import polars as pl
import pyarrow as pa

from l2m_analysis.errors import InputError
from l2m_analysis.sql import staging_queries
from l2m_analysis.warehouse import schema
from l2m_analysis.warehouse.batches import as_arrow, conform


def frames_connection(tables: Mapping[str, pl.DataFrame | pa.Table]) -> duckdb.DuckDBPyConnection:
    """An in-memory connection holding ``tables`` (missing columns NULL) and the staging views."""
    unknown = sorted(set(tables) - set(schema.TABLES))
    if unknown:
        raise InputError(f"unknown tables {unknown}", f"use some of {sorted(schema.TABLES)}")
    con = duckdb.connect()
    for name, target in schema.TABLES.items():
        given = tables.get(name)
        arrow = (
            target.empty_table()
            if given is None
            else conform(as_arrow(given), target, name, None, fill_missing=True)
        )
        con.register(f"_incoming_{name}", arrow)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM _incoming_{name}")
        con.unregister(f"_incoming_{name}")
    for view, sql in staging_queries():
        con.execute(f"CREATE VIEW {view} AS\n{sql}")
    return con
