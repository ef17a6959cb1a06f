"""Per-position NLL and KL divergence (nats per token) from stored token log-probs.

Position-wise NLL^(i) = −E_p[log q(W_i|W_<i)] (Eq. E.38) and KL^(i) = E_p[log p − log q]
(Eq. E.36), each a mean over samples of the no_split rows (the KL in closed form per token where
the run has ``token_kl`` rows); their means over positions are the averages of Eqs. (E.37),
(E.39). Each function runs the named query of ``queries/`` on a warehouse connection (or
``warehouse.memory.frames_connection`` over in-memory frames); they read the staging views
``stg_position_metrics`` (NLL, closed-form KL) and ``stg_position_kl`` (every known KL, the
Monte-Carlo one against a reference run included), which the ``position_metrics`` view shows
with the former table's columns.
"""

from __future__ import annotations

import duckdb
import polars as pl

from l2m_analysis.errors import InputError
from l2m_analysis.sql import run_query


def position_nll_sql(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pl.DataFrame:
    """Eq. (E.38) per run and position: run_id, model, seq_len, position, nll, nll_stderr, n."""
    return run_query(con, "position_nll", run_id)


def position_kl_sql(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pl.DataFrame:
    """Eq. (E.36) per run whose p is known, and position: analytic (token_kl), Monte-Carlo
    against the run's '$.reference_run_id', or closed form.

    Columns: run_id, reference_run_id, model, seq_len, position, kl, kl_stderr, n,
    n_token_mismatch, kl_method, mc_kl, mc_kl_stderr. Raises InputError when a run and its
    reference run scored different tokens.
    """
    table = run_query(con, "position_kl", run_id)
    n_mismatch = int(table["n_token_mismatch"].sum() or 0)
    if n_mismatch:
        which = f"run {run_id!r}" if run_id else "a model run"
        raise InputError(
            f"{which} and its reference run have {n_mismatch} (sample_id, position) rows with "
            "different token ids: they did not score the same samples",
            "score the model on exactly the samples of the reference run (same sample_id "
            "order), or fix '$.reference_run_id' in the run's config",
        )
    return table


def average_metrics_sql(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pl.DataFrame:
    """Eqs. (E.37), (E.39) per run: run_id, model, reference_run_id, seq_len, avg_nll, avg_kl,
    avg_nll_stderr, avg_kl_stderr (over samples), kl_method, n_samples."""
    return run_query(con, "average_metrics", run_id)
