"""Average KL / NLL per token against the training length (Fig. 4 a–b, F.6 a–b).

``average_metric_chart`` input — a frame not yet in the warehouse; its contract:

=================  =======  ==========================================================
column             type     meaning
=================  =======  ==========================================================
model              str      the trained model, e.g. 'gpt2-124M', 'mamba-130m'
train_length       int      training (= evaluation) sequence length L, tokens;
                            ``seq_len`` (queries/average_metrics.sql) is used without it
avg_kl / avg_nll   float    D_KL^Avg (Eq. E.37) / NLL^Avg (Eq. E.39), nats per token
avg_kl_stderr …    float    optional: standard error of the average (error bars ±1.96·se)
architecture       str      optional: 'gpt2', 'mamba', 'mamba2' (line dash)
n_params           int      optional: parameter count (orders the legend)
=================  =======  ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from l2m_analysis.charts._axes import axis_channel, axis_scale, log_axis, padded_domain
from l2m_analysis.charts._common import (
    filter_equal,
    finite_floats,
    keep_positive,
    require_frame,
    subtitle,
    title_params,
    z95_bounds,
)
from l2m_analysis.charts._metrics import (
    AVERAGE_FIX,
    AVERAGE_TITLES,
    NAMES,
    Metric,
    architecture_dash,
    model_order,
    pick_metric,
    with_series,
)
from l2m_analysis.charts.theme import color_scale
from l2m_analysis.errors import InputError


def _length_ticks(lengths: Sequence[float]) -> list[float] | None:
    """Tick values at the lengths present (tokens), when there are 1 to 12 of them."""
    vals = sorted({float(v) for v in lengths if v is not None and v > 0})
    return vals if 1 <= len(vals) <= 12 else None


def average_metric_chart(
    frame: pl.DataFrame,
    *,
    metric: Metric | None = None,
    models: Sequence[str] | None = None,
    log_y: bool = False,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. 4 a–b, F.6 a–b: average KL or NLL per token against the training length L.

    One line per model through its training lengths (log x axis, ticks at the lengths
    present), points with error bars ±1.96·stderr when ``avg_<metric>_stderr`` is given.
    """
    builder = "average_metric_chart"
    frame = require_frame(frame, builder=builder, arg="frame", required=("model",), fix=AVERAGE_FIX)
    x_col = "train_length" if "train_length" in frame.columns else "seq_len"
    if x_col not in frame.columns:
        raise InputError(
            f"{builder}: `frame` has neither `train_length` nor `seq_len`", AVERAGE_FIX
        )
    metric = pick_metric(frame, metric, builder, prefix="avg_")
    col = f"avg_{metric}"
    if col not in frame.columns:
        raise InputError(f"{builder}: `frame` has no `{col}` column", AVERAGE_FIX)
    se = f"{col}_stderr" if f"{col}_stderr" in frame.columns else None
    frame = with_series(frame)
    if models is not None:
        frame = filter_equal(frame, "series", list(models), builder=builder, arg="frame")
    frame = finite_floats(frame, [col, *([se] if se else [])])
    frame = frame.filter(pl.col(col).is_not_null() & pl.col(x_col).is_not_null())
    if frame.height == 0:
        raise InputError(f"{builder}: no non-null `{col}` values", AVERAGE_FIX)
    notes: list[str | None] = []
    if log_y:
        frame, n_drop = keep_positive(frame, [col])
        notes.append(None if not n_drop else f"{n_drop} values ≤ 0 not shown on the log axis")
    data = frame.with_columns(pl.col(x_col).cast(pl.Float64).alias("L")).sort("series", "L")
    if se:
        data = data.with_columns(z95_bounds(col, se, "lo", "hi"))
        notes.insert(0, "error bars: ±1.96·stderr (95 %)")
    order = model_order(data)
    colour = alt.Color("series:N", title="model", scale=color_scale(order, {}))
    x_dom = padded_domain(data["L"].to_list(), True, pad=0.08)
    ticks = _length_ticks(data["L"].to_list())
    x = alt.X(
        "L:Q",
        title=f"{'training' if x_col == 'train_length' else 'sequence'} length L (tokens)",
        scale=axis_scale(True, x_dom),
        axis=alt.Axis(values=ticks, format=",d") if ticks else log_axis(x_dom),
    )
    y_vals = data[col].to_list() + (data["lo"].to_list() + data["hi"].to_list() if se else [])
    y_dom = padded_domain(y_vals, log_y, pad=0.08)
    y = axis_channel(alt.Y, f"{col}:Q", AVERAGE_TITLES[metric], log=log_y, domain=y_dom)
    tooltip = [
        alt.Tooltip("series:N", title="model"),
        alt.Tooltip("L:Q", title="L (tokens)", format=",d"),
        alt.Tooltip(f"{col}:Q", title=f"average {metric.upper()} (nats/token)", format=".4g"),
    ]
    if se:
        tooltip.append(alt.Tooltip(f"{se}:Q", title="stderr", format=".3g"))
    for c in ("architecture", "n_params", "run_id"):
        if c in data.columns:
            tooltip.append(alt.Tooltip(f"{c}:N", title=c))
    base = alt.Chart(data)
    line_enc = dict(x=x, y=y, color=colour, detail="series:N")
    if "architecture" in data.columns:
        line_enc["strokeDash"] = architecture_dash()
    layers = [base.mark_line(strokeWidth=1.8).encode(**line_enc).properties(name="model-lines")]
    if se:
        layers.append(
            base.mark_errorbar(ticks=True)
            .encode(
                x=x,
                y=alt.Y("lo:Q", title=AVERAGE_TITLES[metric], scale=axis_scale(log_y, y_dom)),
                y2="hi:Q",
                color=colour,
            )
            .properties(name="error-bars")
        )
    layers.append(
        base.mark_point(filled=True, size=60)
        .encode(
            x=x,
            y=y,
            color=colour,
            shape=alt.Shape("series:N", title="model", scale=alt.Scale(domain=order)),
            tooltip=tooltip,
        )
        .properties(name="points")
    )
    what = "training" if x_col == "train_length" else "sequence"
    head = title or f"Average {NAMES[metric]} per token vs {what} length"
    if data["L"].n_unique() == 1:
        notes.append("one length only: the trend needs runs at several L")
    return alt.layer(*layers).properties(title=title_params(head, subtitle(notes)))
