"""Independent references for the SQL estimators: the same arithmetic in Polars.

Tests compare every named query (queries/*.sql, run through the library) with these on
hand-made and random tables; they are deliberately written another way (lazy Polars joins and
group-bys, no SQL), so one cannot share the other's mistake.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from l2m_analysis.warehouse.schema import BULK_TABLES

RATIOS = (2, 3, 4)
COLUMNS = tuple(BULK_TABLES["token_logprobs"].names)
DTYPES = dict(pl.from_arrow(BULK_TABLES["token_logprobs"].empty_table()).schema)
MI_COLUMNS = ("run_id", "quantity", "estimator", "length", "split_at", "ratio", "value",
              "stderr", "stderr_common", "n")  # fmt: skip
_WINDOW = ["run_id", "split_at", "ratio", "length"]


def bipartite_mi_polars(
    token_logprobs: pl.DataFrame,
    h_2gram: float | Mapping[str, float] | None = None,
    h_2gram_stderr: float | None = None,
) -> pl.DataFrame:
    """The answer of ``queries/bipartite_mi.sql`` computed with Polars, nats.

    token_logprobs: rows of the token_logprobs table (any number of runs). h_2gram: Ĥ_G(Y1, Y2)
    in nats (one float for every run, or per run_id); None -> no ``direct`` rows.
    h_2gram_stderr: se(Ĥ_G), the common term 4/5·se of every ``direct`` point.
    """
    tl = token_logprobs.lazy().select(COLUMNS).cast(DTYPES)  # the warehouse's column types
    cond = pl.col("condition")
    windows = (
        tl.filter(cond.is_in(["marginal", "split"]))
        .select("run_id", "split_at")
        .unique()
        .join(pl.LazyFrame({"ratio": RATIOS}, schema={"ratio": pl.Int32}), how="cross")
        .with_columns(length=(pl.col("split_at") * pl.col("ratio")).cast(pl.Int32))
    )
    row_cols = [*_WINDOW, "sample_id", "condition", "position", "logprob"]
    y_rows = pl.concat(
        [  # no_split rows serve every window of their run; the others only their own ℓ
            tl.filter(cond == "no_split")
            .drop("split_at")
            .join(windows, on="run_id")
            .select(row_cols),
            tl.filter(cond != "no_split").join(windows, on=["run_id", "split_at"]).select(row_cols),
        ]
    )
    in_window = (pl.col("position") >= pl.col("split_at")) & (pl.col("position") < pl.col("length"))
    n_y = pl.col("length") - pl.col("split_at")
    sample_sums = (
        y_rows.filter(in_window)
        .group_by([*_WINDOW, "sample_id", "condition"])
        .agg(
            y_logprob=pl.col("logprob").sum(),
            first_two=pl.col("logprob").filter(pl.col("position") < pl.col("split_at") + 2).sum(),
            n_rows=pl.len(),
            n_positions=pl.col("position").n_unique(),
        )
        .filter((pl.col("n_rows") == n_y) & (pl.col("n_positions") == n_y))  # complete pairs
    )

    def term(column: str, condition: str, name: str) -> pl.Expr:
        return pl.col(column).filter(cond == condition).first().alias(name)

    terms = sample_sums.group_by([*_WINDOW, "sample_id"]).agg(
        term("y_logprob", "no_split", "log_q_y_given_x"),
        term("y_logprob", "marginal", "log_q_y"),
        term("first_two", "marginal", "log_q_y1_y2"),
        term("y_logprob", "split", "log_q_y_given_other_x"),
    )
    x_term = pl.col("log_q_y_given_x")
    uncorrected = x_term - pl.col("log_q_y")  # Eq. (6)
    vclub = x_term - pl.col("log_q_y_given_other_x")  # Eq. (7)
    none = pl.lit(None, pl.Float64)
    per_pair = [
        terms.select(*_WINDOW, estimator=pl.lit("direct_uncorrected"), sample_value=uncorrected,
                     common=none),
        terms.select(*_WINDOW, estimator=pl.lit("vclub"), sample_value=vclub, common=none),
    ]  # fmt: skip
    if h_2gram is not None:
        h_table = pl.LazyFrame(
            {"run_id": list(h_2gram), "h_2gram": list(h_2gram.values())}
            if isinstance(h_2gram, Mapping)
            else {"run_id": token_logprobs["run_id"].unique().to_list(), "h_2gram": h_2gram},
            schema={"run_id": pl.String, "h_2gram": pl.Float64},
        )
        first_two = pl.col("log_q_y1_y2")
        corrected_marginal = (  # Eq. (A.14): H(p,q|BOS)/5 + 4 Ĥ_G/5 for Y1, Y2
            pl.col("log_q_y") - first_two + (first_two + 4 * (-pl.col("h_2gram"))) / 5
        )
        per_pair.append(
            terms.join(h_table, on="run_id")
            .filter(n_y >= 2)
            .select(*_WINDOW, estimator=pl.lit("direct"), sample_value=x_term - corrected_marginal,
                    common=pl.lit(None if h_2gram_stderr is None else 0.8 * h_2gram_stderr,
                                  pl.Float64))
        )  # fmt: skip
    value = pl.col("sample_value")
    return (
        pl.concat(per_pair)
        .drop_nulls("sample_value")
        .group_by("run_id", "estimator", "length", "split_at", "ratio")
        .agg(
            value=value.mean(),
            stderr=(value.var() / value.len() + pl.col("common").first().fill_null(0) ** 2).sqrt(),
            stderr_common=pl.col("common").first(),
            n=pl.len().cast(pl.Int64),
        )
        .with_columns(quantity=pl.lit("bipartite"))
        .select(MI_COLUMNS)
        .sort("run_id", "estimator", "ratio", "split_at")
        .collect()
    )


def adjacent_pair_count_of_counts(token_logprobs: pl.DataFrame) -> pl.DataFrame:
    """Count-of-counts of adjacent token pairs of each run's no_split rows (Polars path).

    Same answer as ``queries/adjacent_pair_counts.sql``: columns run_id, count, n_items.
    """
    tokens = (
        token_logprobs.lazy()
        .filter((pl.col("condition") == "no_split") & (pl.col("token_id") >= 0))
        .select("run_id", "sample_id", "position", "token_id")
        .sort("run_id", "sample_id", "position")
    )
    follows = (
        (pl.col("run_id").shift(-1) == pl.col("run_id"))
        & (pl.col("sample_id").shift(-1) == pl.col("sample_id"))
        & (pl.col("position").shift(-1) == pl.col("position") + 1)
    )
    return (
        tokens.with_columns(second_token=pl.col("token_id").shift(-1), adjacent=follows)
        .filter(pl.col("adjacent"))
        .group_by("run_id", "token_id", "second_token")
        .agg(count=pl.len().cast(pl.Int64))
        .group_by("run_id", "count")
        .agg(n_items=pl.len().cast(pl.Int64))
        .sort("run_id", "count")
        .collect()
    )


def position_nll_polars(token_logprobs: pl.DataFrame) -> pl.DataFrame:
    """Eq. (E.38) from a token_logprobs frame: run_id, seq_len, position, nll, nll_stderr, n."""
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
    one reference); no_split rows are matched on (sample_id, position).
    Columns: run_id, seq_len, position, kl, kl_stderr, n.
    """
    keys = ["sample_id", "position"]
    no_split = pl.col("condition") == "no_split"
    reference = reference_logprobs.filter(no_split).select(
        *keys, reference_token=pl.col("token_id"), log_p=pl.col("logprob")
    )
    matched = model_logprobs.filter(no_split).join(reference, on=keys)
    assert (matched["token_id"] == matched["reference_token"]).all(), "different samples"
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


def _stderr(values: np.ndarray, axis: int = 0) -> np.ndarray:
    n = values.shape[axis]
    if n < 2:
        return np.full(np.delete(values.shape, axis), np.nan)
    return values.std(axis=axis, ddof=1) / np.sqrt(n)


def evaluation_position_table(metrics: dict[str, np.ndarray]) -> pl.DataFrame:
    """The Python path of pipelines.evaluate before its rows went to token_logprobs: position,
    kl, kl_stderr, nll, nll_stderr, n from per-sample (n, L) ``kl`` (optional) and ``nll``
    arrays (nats per token, mean over copies); mc_kl too when given."""
    nll = metrics["nll"]
    n, length = nll.shape
    columns = {
        "position": np.arange(length, dtype=np.int32),
        "nll": nll.mean(axis=0),
        "nll_stderr": _stderr(nll),
        "n": np.full(length, n, dtype=np.int64),
    }
    for name in ("kl", "mc_kl"):
        values = metrics.get(name)
        columns[name] = values.mean(axis=0) if values is not None else np.full(length, None)
        columns[f"{name}_stderr"] = _stderr(values) if values is not None else np.full(length, None)
    frame = pl.DataFrame(columns, strict=False)
    floats = [c for c in frame.columns if c not in ("position", "n")]
    return frame.with_columns(pl.col(floats).cast(pl.Float64).fill_nan(None))


def evaluation_averages(metrics: dict[str, np.ndarray]) -> dict[str, float | None]:
    """Eqs. (E.37), (E.39) as the Python path computed them: mean over positions of each
    metric, with its standard error over samples of the per-sample averages."""
    out: dict[str, float | None] = {}
    for name, values in metrics.items():
        per_sample = values.mean(axis=1)  # (n,)
        out[name] = float(per_sample.mean())
        out[f"{name}_stderr"] = float(_stderr(per_sample)) if per_sample.size > 1 else None
    return out
