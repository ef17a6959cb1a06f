"""What the KL / NLL charts of trained models share (``charts.position``, ``charts.average``):
the metric names and axis titles, the input fixes, picking the metric, naming and ordering
the model series, and the architecture line dash. Metrics are in nats per token.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import polars as pl

from l2m_analysis.errors import InputError

Metric = Literal["kl", "nll"]
METRIC_TITLES = {
    "kl": "position-wise KL D_KL(p‖q) (nats/token)",
    "nll": "position-wise NLL (nats/token)",
}
AVERAGE_TITLES = {
    "kl": "average KL D_KL^Avg (nats/token)",
    "nll": "average NLL (nats/token)",
}
NAMES = {"kl": "KL divergence", "nll": "negative log-likelihood"}
POSITION_FIX = (
    "pass the output of queries/position_kl.sql or queries/position_nll.sql, or rows of the "
    "position_metrics table (columns model, seq_len, position, kl and/or nll[, *_stderr])"
)
AVERAGE_FIX = (
    "pass a frame with columns model, train_length (or seq_len), avg_kl and/or avg_nll "
    "[, avg_kl_stderr, avg_nll_stderr, architecture, n_params] (see docs/charts.md)"
)


def pick_metric(frame: pl.DataFrame, metric: str | None, builder: str, prefix: str = "") -> str:
    """``metric`` checked to be 'kl' or 'nll'; None: the first of kl, nll whose column
    (``prefix`` + name, e.g. ``avg_kl``) holds a non-null value."""
    if metric is None:
        for m in ("kl", "nll"):
            col = prefix + m
            if col in frame.columns and frame[col].null_count() < frame.height:
                return m
        raise InputError(
            f"{builder}: the frame has no non-null {prefix}kl or {prefix}nll column",
            POSITION_FIX if not prefix else AVERAGE_FIX,
        )
    if metric not in ("kl", "nll"):
        raise InputError(f"{builder}: metric={metric!r} is not 'kl' or 'nll'", "pass 'kl' or 'nll'")
    return metric


def with_series(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with 'series' = model, falling back to run_id where model is null."""
    if "model" in frame.columns and "run_id" in frame.columns:
        expr = pl.coalesce(pl.col("model").cast(pl.String), pl.col("run_id").cast(pl.String))
    elif "model" in frame.columns:
        expr = pl.col("model").cast(pl.String)
    else:
        expr = pl.col("run_id").cast(pl.String)
    return frame.with_columns(expr.alias("series"))


def model_order(frame: pl.DataFrame) -> list[str]:
    """The series in legend order: by architecture, then n_params (where present), then name."""
    keys = [c for c in ("architecture", "n_params") if c in frame.columns]
    order = frame.select("series", *keys).unique("series")
    return order.sort([*keys, "series"], nulls_last=True)["series"].to_list()


def architecture_dash() -> alt.StrokeDash:
    """One line dash per ``architecture`` (gpt2, mamba, …), with a stroke legend."""
    return alt.StrokeDash(
        "architecture:N", title="architecture", legend=alt.Legend(symbolType="stroke")
    )
