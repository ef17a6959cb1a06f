"""Per-position KL / NLL of trained models (Fig. 4 c–d, 5, F.5–F.7).

``position_metric_chart`` input (nats per token), any of:

* the output of ``queries/position_kl.sql``: run_id, reference_run_id, model, seq_len,
  position, kl, kl_stderr, n, n_token_mismatch;
* the output of ``queries/position_nll.sql``: run_id, model, seq_len, position, nll,
  nll_stderr, n;
* rows of the ``position_metrics`` table: run_id, model, seq_len, position, kl, nll.

Required: ``position`` (0-based index of the scored token, BOS excluded) and the metric column
(``kl`` or ``nll``), plus ``model`` or ``run_id`` (the series). Used when present:
``<metric>_stderr`` (band ±1.96·stderr), ``seq_len`` (one panel per value), ``n``,
``n_token_mismatch`` (positions where it is > 0 are dropped: their KL compares different
tokens), ``architecture`` (e.g. 'gpt2', 'mamba', 'mamba2': line dash) and ``n_params``
(orders the legend). The x axis is the 1-based token position i = position + 1 of Eq. E.36.

The average over positions against the training length (Fig. 4 a–b) is
``charts.average.average_metric_chart``, also importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import altair as alt
import numpy as np
import polars as pl

from l2m_analysis.charts._axes import axis_channel, axis_scale, log_axis, padded_domain
from l2m_analysis.charts._common import (
    chart_data,
    filter_equal,
    finite_floats,
    keep_positive,
    require_frame,
    subtitle,
    title_params,
    z95_bounds,
)
from l2m_analysis.charts._metrics import (
    METRIC_TITLES,
    NAMES,
    POSITION_FIX,
    Metric,
    architecture_dash,
    model_order,
    pick_metric,
    with_series,
)
from l2m_analysis.charts.average import average_metric_chart
from l2m_analysis.charts.theme import color_scale
from l2m_analysis.errors import InputError

__all__ = ["average_metric_chart", "position_metric_chart"]

AUTO_BINS = 200  # log-spaced position bins per model when bins="auto" and the frame is large
AUTO_BIN_ROWS = 20_000


def _log_bins(frame: pl.DataFrame, bins: int, y: str, se: str | None) -> pl.DataFrame:
    """Average positions into ``bins`` log-spaced bins per series and panel.

    y: mean of the per-position values; se: √(Σ se²)/k (positions treated as independent).
    """
    i_max = int(frame["i"].max())
    edges = np.unique(np.round(np.geomspace(1, i_max + 1, bins + 1)).astype(int))
    index = np.searchsorted(edges[1:-1], frame["i"].to_numpy(), side="right")
    frame = frame.with_columns(pl.Series("bin", index, dtype=pl.Int64))
    group = ["series", "bin"] + [c for c in ("seq_len", "architecture") if c in frame.columns]
    aggs = [
        pl.col("i").mean().alias("i"),
        pl.col(y).mean().alias(y),
        pl.len().alias("positions"),
    ]
    if se is not None:
        aggs.append((pl.col(se).pow(2).sum().sqrt() / pl.len()).alias(se))
    return frame.group_by(group, maintain_order=True).agg(aggs).drop("bin").sort("series", "i")


def _position_data(
    frame: object,
    metric: str | None,
    seq_len: int | Sequence[int] | None,
    models: Sequence[str] | None,
    log_y: bool,
    bins: int | Literal["auto"] | None,
    builder: str,
) -> tuple[pl.DataFrame, str, str | None, int | None, list[str | None]]:
    """(data, metric, stderr column or None, bins used or None, subtitle notes).

    data: one row per model, position i (1-based; a bin's mean i when binned) and panel, with
    the metric (nats per token), its stderr and the band lo/hi (± 1.96·stderr), ``seq_len``,
    ``n``, ``architecture``, ``positions`` (per bin) and ``run_id`` where present.
    """
    frame = require_frame(
        frame, builder=builder, arg="frame", required=("position",), fix=POSITION_FIX
    )
    if "model" not in frame.columns and "run_id" not in frame.columns:
        raise InputError(f"{builder}: `frame` has neither `model` nor `run_id`", POSITION_FIX)
    metric = pick_metric(frame, metric, builder)
    if metric not in frame.columns:
        raise InputError(f"{builder}: `frame` has no `{metric}` column", POSITION_FIX)
    se = f"{metric}_stderr" if f"{metric}_stderr" in frame.columns else None
    frame = with_series(frame)
    if seq_len is not None:
        frame = filter_equal(
            frame,
            "seq_len",
            list(seq_len) if isinstance(seq_len, Sequence) else seq_len,
            builder=builder,
            arg="frame",
        )
    if models is not None:
        frame = filter_equal(frame, "series", list(models), builder=builder, arg="frame")
    notes: list[str | None] = []
    if "n_token_mismatch" in frame.columns:
        bad = frame.filter(pl.col("n_token_mismatch").fill_null(0) > 0).height
        if bad:
            frame = frame.filter(pl.col("n_token_mismatch").fill_null(0) == 0)
            notes.append(f"{bad} positions with token mismatches vs the reference dropped")
    frame = finite_floats(frame, [metric, *([se] if se else [])])
    frame = frame.filter(pl.col(metric).is_not_null()).with_columns(
        (pl.col("position") + 1).alias("i")
    )
    if frame.height == 0:
        raise InputError(f"{builder}: no non-null `{metric}` values to draw", POSITION_FIX)
    if bins == "auto":
        bins = AUTO_BINS if frame.height > AUTO_BIN_ROWS else None
    if bins is not None:
        frame = _log_bins(frame, int(bins), metric, se)
        notes.append(f"positions averaged in {bins} log-spaced bins per model")
    if log_y:
        frame, n_drop = keep_positive(frame, [metric])
        if n_drop:
            notes.append(f"{n_drop} values ≤ 0 not shown on the log axis")
        if frame.height == 0:
            raise InputError(f"{builder}: every {metric} value is ≤ 0", "use log_y=False")
    cols = ["series", "i", metric] + [
        c
        for c in (se, "seq_len", "n", "architecture", "positions", "run_id")
        if c and c in frame.columns
    ]
    data = frame.select(cols)
    if se is not None:
        data = data.with_columns(z95_bounds(metric, se, "lo", "hi"))
        if log_y:
            floor = float(data[metric].min()) / 2
            data = data.with_columns(pl.max_horizontal(pl.col("lo"), pl.lit(floor)).alias("lo"))
        notes.insert(0, "band: ±1.96·stderr over samples (95 %)")
    else:
        notes.insert(0, "no stderr in the input: no band")
    if metric == "nll":
        notes.append("for continuous (Gaussian) tokens NLL is a differential cross entropy")
    return data, metric, se, bins, notes


def position_metric_chart(
    frame: pl.DataFrame,
    *,
    metric: Metric | None = None,
    seq_len: int | Sequence[int] | None = None,
    models: Sequence[str] | None = None,
    log_x: bool = True,
    log_y: bool = False,
    bins: int | Literal["auto"] | None = "auto",
    title: str | None = None,
) -> alt.LayerChart | alt.FacetChart:
    """Fig. 4 c–d, 5, F.5–F.7: the per-position KL or NLL of each model against position i.

    One line per model with its ±1.96·stderr band; one panel per ``seq_len`` when several are
    present (F.5: models trained on 256, 1024, 4096 tokens). metric: 'kl' or 'nll' (default:
    kl when present). log_x (default) spreads the early positions; log_y drops values ≤ 0
    (a noisy KL estimate can be negative) and says so. bins: average positions into that many
    log-spaced bins per model (see ``_log_bins``); "auto" (default) bins into
    ``AUTO_BINS`` only when the frame has more than ``AUTO_BIN_ROWS`` rows, None never bins.
    Binning is said in the subtitle.
    """
    builder = "position_metric_chart"
    data, metric, se, bins, notes = _position_data(
        frame, metric, seq_len, models, log_y, bins, builder
    )
    order = model_order(data)
    colour = alt.Color(
        "series:N",
        title="model",
        scale=color_scale(order, {}),
        legend=alt.Legend(symbolOpacity=1, symbolType="stroke"),
    )
    facet = "seq_len" in data.columns and data["seq_len"].n_unique() > 1
    # one panel per L: each panel's x spans its own positions (no shared explicit domain)
    x_dom = None if facet else padded_domain(data["i"].to_list(), log_x, pad=0.02)
    y_vals = data[metric].to_list() + (data["lo"].to_list() + data["hi"].to_list() if se else [])
    y_dom = padded_domain(y_vals, log_y)
    x = alt.X(
        "i:Q",
        title="token position i",
        scale=axis_scale(log_x, x_dom),
        # panels share the tick values of the overall range (those outside a panel are unused)
        axis=log_axis(x_dom or padded_domain(data["i"].to_list(), True, pad=0.02))
        if log_x
        else alt.Axis(format="~s"),
    )
    tooltip = [
        alt.Tooltip("series:N", title="model"),
        alt.Tooltip("i:Q", title="position i", format=",.0f"),
        alt.Tooltip(f"{metric}:Q", title=f"{metric.upper()} (nats/token)", format=".4g"),
    ]
    if se:
        tooltip.append(alt.Tooltip(f"{se}:Q", title="stderr", format=".3g"))
    for c, t in (("seq_len", "L"), ("n", "samples"), ("positions", "positions in bin")):
        if c in data.columns:
            tooltip.append(alt.Tooltip(f"{c}:Q", title=t))
    base = alt.Chart(chart_data(data))
    layers = []
    if se is not None:
        layers.append(
            base.mark_area(opacity=0.15)
            .encode(
                x=x,
                y=alt.Y("lo:Q", title=METRIC_TITLES[metric], scale=axis_scale(log_y, y_dom)),
                y2="hi:Q",
                color=colour,
                detail="series:N",
            )
            .properties(name="stderr-band")
        )
    line_enc = dict(
        x=x,
        y=axis_channel(alt.Y, f"{metric}:Q", METRIC_TITLES[metric], log=log_y, domain=y_dom),
        color=colour,
        detail="series:N",
        tooltip=tooltip,
    )
    if "architecture" in data.columns:
        line_enc["strokeDash"] = architecture_dash()
    layers.append(
        base.mark_line(strokeWidth=1.6, point=bool(bins and bins <= 60))
        .encode(**line_enc)
        .properties(name="metric-lines")
    )
    chart = alt.layer(*layers)
    head = title or f"Position-wise {NAMES[metric]} by model"
    lines = subtitle(notes)
    if facet:
        return (
            chart.properties(width=340, height=240)
            .facet(
                column=alt.Column(
                    "seq_len:O",
                    title="sequence length L (tokens)",
                    header=alt.Header(labelFontSize=12),
                )
            )
            .properties(title=title_params(head, lines))
            .resolve_scale(x="independent", y="independent")
        )
    if "seq_len" in data.columns:
        head += f" (L = {int(data['seq_len'][0]):,})"
    return chart.properties(title=title_params(head, lines))
