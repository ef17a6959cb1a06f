"""The DuckDB/Parquet warehouse: the only place the toolkit reads and writes data."""

from l2m_analysis.sql import QUERIES_DIR, read_query, sql_to_polars
from l2m_analysis.warehouse.batches import check_run_id
from l2m_analysis.warehouse.files import producing
from l2m_analysis.warehouse.schema import CONDITIONS, SCHEMA_VERSION, run_config_of
from l2m_analysis.warehouse.store import Warehouse

__all__ = [
    "CONDITIONS",
    "QUERIES_DIR",
    "SCHEMA_VERSION",
    "Warehouse",
    "check_run_id",
    "producing",
    "read_query",
    "run_config_of",
    "sql_to_polars",
]
