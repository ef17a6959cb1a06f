"""Per-position NLL and KL divergence (nats per token) from stored token log-probs.

Position-wise NLL^(i) = −E_p[log q(W_i|W_<i)] (Eq. E.38) and KL^(i) = E_p[log p − log q]
(Eq. E.36), each a mean over samples (pairs) of the no_split rows; their means over positions
are the averages of Eqs. (E.37), (E.39). ``*_sql`` functions run the named queries in
``queries/`` on a warehouse connection; ``*_polars`` functions compute the same numbers from
in-memory ``token_logprobs`` frames. ``position_metrics_table`` builds the rows of the
``position_metrics`` table.
"""

from __future__ import annotations

import duckdb
import polars as pl

from l2m_analysis.errors import InputError
from l2m_analysis.estimators.bipartite import validate_token_logprobs
from l2m_analysis.warehouse.queries import read_query, sql_to_polars

POSITION_METRICS_COLUMNS = ("run_id", "model", "seq_len", "position", "kl", "nll")


def run_named_query(
    con: duckdb.DuckDBPyConnection, name: str, run_id: str | None = None
) -> pl.DataFrame:
    """``queries/<name>.sql`` unchanged on ``con``; only the rows of ``run_id`` when given."""
    sql = read_query(name)
    if run_id is None:
        return sql_to_polars(con, sql)
    return sql_to_polars(con, f"SELECT * FROM ({sql}) AS q WHERE q.run_id = ?", [run_id])


def position_nll_sql(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pl.DataFrame:
    """Eq. (E.38) per run and position: run_id, model, seq_len, position, nll, nll_stderr, n."""
    return run_named_query(con, "position_nll", run_id)


def position_kl_sql(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pl.DataFrame:
    """Eq. (E.36) per model run and position, against the run's '$.reference_run_id'.

    Columns: run_id, reference_run_id, model, seq_len, position, kl, kl_stderr, n,
    n_token_mismatch. Raises InputError when the two runs scored different tokens.
    """
    table = run_named_query(con, "position_kl", run_id)
    _check_tokens_match(int(table["n_token_mismatch"].sum() or 0), run_id)
    return table


def average_metrics_sql(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pl.DataFrame:
    """Eqs. (E.37), (E.39) per run: run_id, model, reference_run_id, seq_len, avg_nll, avg_kl."""
    return run_named_query(con, "average_metrics", run_id)


def position_nll_polars(token_logprobs: pl.DataFrame) -> pl.DataFrame:
    """Eq. (E.38) from a token_logprobs frame: run_id, seq_len, position, nll, nll_stderr, n."""
    validate_token_logprobs(token_logprobs)
    logprob = pl.col("logprob")
    return (
        token_logprobs.filter(pl.col("condition") == "no_split")
        .group_by("run_id", "position")
        .agg(
            nll=-logprob.mean(),  # Eq. (E.38)
            nll_stderr=logprob.std() / logprob.len().sqrt(),
            n=pl.len().cast(pl.Int64),
        )
        .with_columns(seq_len=(pl.col("position").max().over("run_id") + 1).cast(pl.Int32))
        .select("run_id", "seq_len", "position", "nll", "nll_stderr", "n")
        .sort("run_id", "position")
    )


def position_kl_polars(
    model_logprobs: pl.DataFrame, reference_logprobs: pl.DataFrame
) -> pl.DataFrame:
    """Eq. (E.36): KL of the model's log q against the reference's exact log p, nats.

    Both frames are token_logprobs rows (the model frame may hold several runs, all against the
    one reference); no_split rows are matched on (pair_id, position).
    Columns: run_id, seq_len, position, kl, kl_stderr, n.
    """
    validate_token_logprobs(model_logprobs)
    validate_token_logprobs(reference_logprobs)
    keys = ["pair_id", "position"]
    no_split = pl.col("condition") == "no_split"
    reference = reference_logprobs.filter(no_split).select(
        *keys, reference_token=pl.col("token_id"), log_p=pl.col("logprob")
    )
    matched = model_logprobs.filter(no_split).join(reference, on=keys)
    _check_tokens_match(int((matched["token_id"] != matched["reference_token"]).sum()), None)
    log_ratio = pl.col("log_p") - pl.col("logprob")
    return (
        matched.group_by("run_id", "position")
        .agg(
            kl=log_ratio.mean(),  # Eq. (E.36)
            kl_stderr=log_ratio.std() / log_ratio.len().sqrt(),
            n=pl.len().cast(pl.Int64),
        )
        .with_columns(seq_len=(pl.col("position").max().over("run_id") + 1).cast(pl.Int32))
        .select("run_id", "seq_len", "position", "kl", "kl_stderr", "n")
        .sort("run_id", "position")
    )


def average_over_positions(per_position: pl.DataFrame, column: str) -> pl.DataFrame:
    """Eqs. (E.37), (E.39): the mean of a position-wise metric over positions, per run.

    per_position: one row per (run_id, position), e.g. from ``position_nll_polars``.
    Columns: run_id, avg_<column>.
    """
    return (
        per_position.group_by("run_id")
        .agg(pl.col(column).mean().alias(f"avg_{column}"))
        .sort("run_id")
    )


def position_metrics_table(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """Rows of the ``position_metrics`` table for one run: NLL per position, KL where the run
    has a reference run (NULL otherwise). Columns: POSITION_METRICS_COLUMNS."""
    nll = position_nll_sql(con, run_id)
    kl = position_kl_sql(con, run_id).select("position", "kl")
    return nll.join(kl, on="position", how="left").select(POSITION_METRICS_COLUMNS)


def _check_tokens_match(n_mismatch: int, run_id: str | None) -> None:
    if n_mismatch:
        which = f"run {run_id!r}" if run_id else "the model run"
        raise InputError(
            f"{which} and its reference run have {n_mismatch} (pair_id, position) rows with "
            "different token ids: they did not score the same samples",
            "score the model on exactly the samples of the reference run (same pair_id order), "
            "or fix '$.reference_run_id' in the run's config",
        )
