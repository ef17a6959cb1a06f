"""Find and read the named SQL files in ``queries/``.

The files are written to run unchanged in the DuckDB CLI against the warehouse; this module
only reads them so Python can run the very same text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from l2m_analysis.errors import L2MError

QUERIES_DIR = Path(__file__).resolve().parents[2] / "queries"


def query_path(name: str) -> Path:
    """Path of ``queries/<name>.sql``; raises naming the available queries when missing."""
    path = QUERIES_DIR / f"{name.removesuffix('.sql')}.sql"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in QUERIES_DIR.glob("*.sql"))) or "none"
        raise L2MError(f"no query named {name!r} in {QUERIES_DIR}", f"use one of: {known}")
    return path


def read_query(name: str) -> str:
    """The SQL of ``queries/<name>.sql`` as one SELECT statement (trailing ';' removed)."""
    text = query_path(name).read_text()
    return text.strip().rstrip(";").strip()


def sql_to_polars(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> pl.DataFrame:
    """Run ``sql`` on ``con`` and return the answer as a Polars frame (via Arrow)."""
    relation = con.sql(sql, params=params or None)
    if relation is None:  # a statement that returns nothing
        return pl.DataFrame()
    return pl.from_arrow(relation.to_arrow_table())
