"""Find and read the named SQL files in ``queries/`` (installed as the package ``l2m_queries``,
so they ship with the toolkit).

The files are written to run unchanged in the DuckDB CLI against the warehouse; this module
only reads them so Python can run the very same text. ``queries/staging/*.sql`` define the
staging views every query may build on (created in the catalog by ``catalog.py``).
"""

from __future__ import annotations

import re
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb
import l2m_queries
import polars as pl

from l2m_analysis.errors import L2MError

QUERIES_DIR = Path(l2m_queries.__file__).resolve().parent  # the repository's queries/
STAGING_DIR = QUERIES_DIR / "staging"


def query_path(name: str) -> Path:
    """Path of ``queries/<name>.sql``; raises naming the available queries when missing."""
    path = QUERIES_DIR / f"{name.removesuffix('.sql')}.sql"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in QUERIES_DIR.glob("*.sql"))) or "none"
        raise L2MError(f"no query named {name!r} in {QUERIES_DIR}", f"use one of: {known}")
    return path


def _statement(path: Path) -> str:
    return path.read_text().strip().rstrip(";").strip()


def read_query(name: str) -> str:
    """The SQL of ``queries/<name>.sql`` as one SELECT statement (trailing ';' removed)."""
    return _statement(query_path(name))


def staging_queries() -> list[tuple[str, str]]:
    """(view name, SELECT) of every staging view, each after the staging views it reads (DuckDB
    binds a view when it is created), otherwise in name order."""
    views = {p.stem: _statement(p) for p in sorted(STAGING_DIR.glob("*.sql"))}
    order = TopologicalSorter()
    for name, sql in views.items():
        words = set(re.findall(r"\w+", re.sub(r"--[^\n]*", "", sql)))
        order.add(name, *sorted(words & (set(views) - {name})))
    order.prepare()
    ordered: list[str] = []
    while order.is_active():
        ready = sorted(order.get_ready())
        ordered += ready
        order.done(*ready)
    return [(name, views[name]) for name in ordered]


def sql_to_polars(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> pl.DataFrame:
    """Run ``sql`` on ``con`` and return the answer as a Polars frame (via Arrow)."""
    relation = con.sql(sql, params=params or None)
    if relation is None:  # a statement that returns nothing
        return pl.DataFrame()
    return pl.from_arrow(relation.to_arrow_table())


def run_query(con: duckdb.DuckDBPyConnection, name: str, run_id: str | None = None) -> pl.DataFrame:
    """``queries/<name>.sql`` unchanged on ``con``; only the rows of ``run_id`` when given."""
    sql = read_query(name)
    if run_id is None:
        return sql_to_polars(con, sql)
    return sql_to_polars(con, f"SELECT * FROM ({sql}) AS q WHERE q.run_id = ?", [run_id])
