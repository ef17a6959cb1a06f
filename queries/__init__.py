"""The named SQL files of l2m-analysis, shipped as package data.

Each ``<name>.sql`` answers one research question and runs unchanged in the DuckDB CLI against
the warehouse catalog (``duckdb -readonly warehouse/l2m.duckdb < queries/<name>.sql``).
``staging/<name>.sql`` are the shared building blocks, created as views of the same name in the
catalog (jaffle_shop's staging layer): queries read them instead of repeating CTEs.
"""
