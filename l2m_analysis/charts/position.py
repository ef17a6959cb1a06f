"""KL and NLL of models per token position (Fig. 4 c–d, 5, F.5–F.7) and their averages against
the training length (Fig. 4 a–b, F.6 a–b), in nats per token.

``position_metric_chart`` input: the output of ``queries/training_position_curves.sql``,
``queries/position_nll.sql`` or ``queries/position_kl.sql``, which share the columns ``model``,
``seq_len``, ``position`` (0-based, BOS excluded), ``<metric>`` and ``<metric>_stderr``; the
``arch`` column (line dash) and ``n_token_mismatch`` (positions where it is > 0 are dropped:
their KL compares different tokens) are used where the query has them. The x axis is the
1-based position i = position + 1 of Eq. E.36.

``average_metric_chart`` input: the output of ``queries/training_average_kl.sql`` (columns
``model``, ``arch``, ``train_length``, ``avg_<metric>``, ``avg_<metric>_stderr``).
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import numpy as np
import polars as pl

from l2m_analysis.charts.common import (
    ERRORBAR_NOTE,
    axis,
    finite,
    layer,
    require,
    titled,
    tooltips,
    z95,
)
from l2m_analysis.charts.theme import colour_scale
from l2m_analysis.errors import InputError

NAMES = {"kl": "KL divergence D_KL(p‖q)", "nll": "negative log-likelihood"}
POSITION_FIX = (
    "pass the output of queries/training_position_curves.sql, position_nll.sql or "
    "position_kl.sql (`python -m pipelines.evaluate` or `pipelines.position_metrics` fill them)"
)
AVERAGE_FIX = "pass the output of queries/training_average_kl.sql (`python -m pipelines.evaluate`)"
BINS, BIN_ABOVE = 200, 20_000  # above 20 000 rows, positions are averaged in 200 log bins
TIPS = {"series": "model", "i": "position i", "seq_len": "L", "n": "samples",
        "positions": "positions in the bin", "arch": "architecture"}  # fmt: skip


def _rows(frame: object, builder: str, arg: str, metric: str, columns: tuple, fix: str):
    """``frame`` checked for ``columns``, the metric's finite non-null rows."""
    if metric not in NAMES:
        raise InputError(f"{builder}: metric={metric!r} is not 'kl' or 'nll'", "pass 'kl' or 'nll'")
    rows = require(frame, builder, arg, columns, fix)
    rows = finite(rows, columns[-2:]).drop_nulls(columns[-2])
    if rows.is_empty():
        raise InputError(f"{builder}: `{arg}` has no `{columns[-2]}` values", fix)
    return rows


def _log_bins(frame: pl.DataFrame, y: str, se: str) -> pl.DataFrame:
    """Positions averaged into ``BINS`` log-spaced bins per model and panel: y the mean, se
    √(Σ se²)/k (positions treated as independent), i the bins' mean position."""
    edges = np.unique(np.geomspace(1, frame["i"].max() + 1, BINS + 1).round().astype(int))
    index = np.searchsorted(edges[1:-1], frame["i"].to_numpy(), side="right")
    keys = ["series", "seq_len", "bin", *(["arch"] if "arch" in frame.columns else [])]
    se_mean = (pl.col(se).pow(2).sum().sqrt() / pl.len()).alias(se)
    return (
        frame.with_columns(bin=pl.Series(index))
        .group_by(keys, maintain_order=True)
        .agg(pl.col("i", y).mean(), se_mean, pl.len().alias("positions"))
        .drop("bin")
    )


def position_metric_chart(
    curves: pl.DataFrame, *, metric: Literal["kl", "nll"]
) -> alt.LayerChart | alt.FacetChart:
    """Fig. 4 c–d, 5, F.5–F.7: the per-position ``metric`` ('kl' or 'nll') of each model against
    position i (log axis) with its ±1.96·stderr band; one panel per ``seq_len`` when several
    (F.5). Above ``BIN_ABOVE`` rows positions are averaged in log-spaced bins (said so)."""
    se = f"{metric}_stderr"
    columns = ("model", "seq_len", "position", metric, se)
    frame = _rows(curves, "position_metric_chart", "curves", metric, columns, POSITION_FIX)
    notes = ["band: ±1.96·stderr over samples (95 %)"]
    if "n_token_mismatch" in frame.columns:
        bad = frame.filter(pl.col("n_token_mismatch") > 0).height
        frame = frame.filter(pl.col("n_token_mismatch") == 0)
        notes.append(
            f"{bad} positions whose tokens differ from the reference dropped" if bad else ""
        )
    frame = frame.with_columns(series=pl.col("model"), i=pl.col("position") + 1)
    if frame.height > BIN_ABOVE:
        frame = _log_bins(frame, metric, se)
        notes.append(f"positions averaged in {BINS} log-spaced bins per model")
    if metric == "nll":
        notes.append("for continuous (Gaussian) tokens NLL is a differential cross entropy")
    frame = frame.with_columns(z95(metric, se, "lo", "hi")).sort("series", "i")
    legend = alt.Legend(symbolType="stroke", symbolOpacity=1)
    scale = colour_scale(sorted(set(frame["series"])))
    colour = alt.Color("series:N", title="model", scale=scale, legend=legend)
    facet = frame["seq_len"].n_unique() > 1
    x = axis(alt.X, "i:Q", "token position i", frame["i"], pad=0.02)
    if facet:  # each panel spans its own positions
        x = alt.X("i:Q", title="token position i", scale=alt.Scale(type="log"))
    title = f"position-wise {metric.upper()} (nats/token)"
    y = {
        c: axis(alt.Y, f"{c}:Q", title, [*frame["lo"], *frame["hi"]], log=False)
        for c in ("lo", metric)
    }
    tips = tooltips(frame, {**TIPS, metric: title, se: "stderr"})
    dash = {"strokeDash": alt.StrokeDash("arch:N")} if "arch" in frame.columns else {}
    chart = alt.layer(
        layer(frame, "stderr-band", "area", {"opacity": 0.15}, x=x, y=y["lo"], y2="hi:Q",
              color=colour, detail="series:N"),
        layer(frame, "metric-lines", "line", {"strokeWidth": 1.6}, x=x, y=y[metric], color=colour,
              detail="series:N", tooltip=tips, **dash),
    )  # fmt: skip
    head = f"Position-wise {NAMES[metric]} by model"
    if not facet:
        return titled(chart, f"{head} (L = {frame['seq_len'][0]:,})", notes)
    column = alt.Column("seq_len:O", title="sequence length L (tokens)")
    panels = chart.properties(width=340, height=240).facet(column=column)
    return titled(panels.resolve_scale(x="independent", y="independent"), head, notes)


def average_metric_chart(
    averages: pl.DataFrame, *, metric: Literal["kl", "nll"] = "kl"
) -> alt.LayerChart:
    """Fig. 4 a–b, F.6 a–b: the average ``metric`` per token (Eq. E.37, E.39) against the
    training length L, one line per model (dash: architecture), log x with ticks at the
    lengths present, error bars ±1.96·stderr."""
    col, se = f"avg_{metric}", f"avg_{metric}_stderr"
    columns = ("model", "arch", "train_length", col, se)
    frame = _rows(averages, "average_metric_chart", "averages", metric, columns, AVERAGE_FIX)
    frame = frame.with_columns(z95(col, se, "lo", "hi"), L=pl.col("train_length").cast(float))
    colour = alt.Color("model:N", scale=colour_scale(sorted(set(frame["model"]))))
    lengths = sorted(set(frame["L"]))
    ticks = lengths if len(lengths) <= 12 else None  # at the lengths present, when few
    x = axis(alt.X, "L:Q", "training length L (tokens)", lengths, ticks=ticks)
    title = f"average {metric.upper()} (nats/token)"
    values = [*frame["lo"], *frame["hi"]]
    y = {c: axis(alt.Y, f"{c}:Q", title, values, log=False, pad=0.08) for c in ("lo", col)}
    tips = tooltips(frame, {"model": "model", "arch": "architecture", "L": "L (tokens)",
                            col: title, se: "stderr", "run_id": "run"})  # fmt: skip
    frame, enc = frame.sort("model", "L"), dict(x=x, color=colour)
    chart = alt.layer(
        layer(frame, "model-lines", "line", {"strokeWidth": 1.8}, y=y[col], detail="model:N",
              strokeDash="arch:N", **enc),
        layer(frame, "error-bars", "errorbar", {"ticks": True}, y=y["lo"], y2="hi:Q", **enc),
        layer(frame, "points", "point", {"filled": True, "size": 60}, y=y[col], tooltip=tips,
              **enc),
    )  # fmt: skip
    one = (
        "one training length only: the trend needs runs at several L" if len(lengths) < 2 else None
    )
    head = f"Average {NAMES[metric]} per token vs training length"
    return titled(chart, head, [ERRORBAR_NOTE, one])
