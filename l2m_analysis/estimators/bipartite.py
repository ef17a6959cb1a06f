"""Bipartite mutual information I^BP_{ℓ;L} (nats) from stored token log-probs.

``bipartite_mi_sql`` runs ``queries/bipartite_mi.sql`` — the file users run in the DuckDB CLI —
on a warehouse connection (or ``warehouse.memory.frames_connection`` over in-memory frames).
Estimators (see the SQL file's header): ``direct`` (Eq. 6 with the 2-gram correction of Eq.
A.14), ``direct_uncorrected`` (Eq. 6) and ``vclub`` (Eq. 7), for every scored split ℓ and L/ℓ in
the run's recorded ratios (``RATIOS`` by default), each a mean over samples with stderr =
std/sqrt(n) (plus, for ``direct``, the common
term of Ĥ_G; ``estimators.adjacent_pairs`` chooses Ĥ_G).
"""

from __future__ import annotations

import duckdb
import polars as pl

from l2m_analysis.sql import run_query

# The ratios L/ℓ reported by default, as in Fig. 3: the one definition. Scoring records a run's
# ratios in its config (``ratios``); the SQL reads them from there (stg_run_ratios).
RATIOS = (2, 3, 4)
ESTIMATORS = ("direct", "direct_uncorrected", "vclub")
MI_COLUMNS = (
    "run_id",
    "quantity",
    "estimator",
    "length",
    "split_at",
    "ratio",
    "value",
    "stderr",
    "stderr_common",
    "n",
)


def bipartite_mi_sql(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pl.DataFrame:
    """``queries/bipartite_mi.sql`` on ``con`` (every run, or only ``run_id``), nats.

    Needs the ``token_logprobs`` and ``entropies`` tables/views and the staging views. Columns:
    MI_COLUMNS.
    """
    return run_query(con, "bipartite_mi", run_id)
