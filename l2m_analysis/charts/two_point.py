"""Two-point mutual information against distance d, with and without the bias floor (Fig. 2 e–f,
Fig. A.4).

Input ``two_point`` (nats): the output of ``queries/two_point_mi.sql``. Required: ``distance``
(d, tokens), ``mi`` (I_d, Grassberger estimate). Used when present: ``mi_stderr``, ``floor``
and ``floor_stderr`` (the shuffle baseline at the same d: the estimator's bias floor),
``above_floor`` (mi − floor; recomputed from mi and floor when absent), ``n_pairs``,
``run_id``, ``source``. One run per chart (select it with ``run_id=``).

Input ``fits`` (optional): rows of the ``fits`` table; the ``law = 'decay'`` row of the run
(I = A·d^(−α) + C, Eq. A.18; estimator 'grassberger' when an ``estimator`` column is present).
Required columns: ``law``, ``exponent``, ``exponent_lo``, ``exponent_hi``, ``amplitude``,
``offset_c``, ``x_min``, ``x_max``; ``warnings``/``n_dropped``/``drop_reason`` are shown when
present.

Series drawn (log-log): the uncorrected I_d; the shuffle floor; I_d − floor (stderr
√(σ_I² + σ_floor²), the two treated as independent); and, with a fit, I_d − C (the paper's
correction, Appx. A.VII) with the fitted A·d^(−α) and its pivot band (the α interval pivoting
at the log-centre of the fitted range), plus A·d^(−α) + C over the uncorrected points.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from l2m_analysis.charts._common import (
    ERRORBAR_NOTE,
    exponent_text,
    filter_equal,
    finite_floats,
    fit_warnings,
    fmt,
    require_frame,
    subtitle,
    values_of,
    z95_bounds,
)
from l2m_analysis.charts._fitcurves import decay_curve
from l2m_analysis.charts._layers import (
    curve_frame,
    exponent_columns,
    exponent_tooltip,
    has_error_bars,
    layered,
    log_y_points,
    series_layers,
)
from l2m_analysis.charts.theme import GREY, color_scale
from l2m_analysis.errors import InputError

TWO_POINT_REQUIRED = ("distance", "mi")
TWO_POINT_FIX = (
    "pass the output of queries/two_point_mi.sql (columns distance, mi[, mi_stderr, floor, "
    "floor_stderr, above_floor, n_pairs, run_id, source]); run `python -m pipelines.twopoint_mi`"
)
DECAY_REQUIRED = (
    "law",
    "exponent",
    "exponent_lo",
    "exponent_hi",
    "amplitude",
    "offset_c",
    "x_min",
    "x_max",
)
DECAY_FIX = (
    "pass rows of the fits table with law = 'decay' (run `python -m pipelines.fit_exponents`), "
    "or fits=None"
)
X_TITLE = "distance d (tokens)"
Y_TITLE = "two-point MI I_d (nats)"
RAW, FLOOR, ABOVE, MINUS_C = (
    "I_d, uncorrected",
    "shuffle baseline (bias floor)",
    "I_d − shuffle baseline",
    "I_d − C (fitted offset)",
)
COLOURS = {RAW: "#0072B2", FLOOR: GREY, ABOVE: "#009E73", MINUS_C: "#D55E00"}


def _decay_fit(fits: object, frame: pl.DataFrame, builder: str) -> dict | None:
    if fits is None:
        return None
    rows = require_frame(fits, builder=builder, arg="fits", required=DECAY_REQUIRED, fix=DECAY_FIX)
    rows = rows.filter(pl.col("law") == "decay")
    if "quantity" in rows.columns:
        rows = rows.filter(pl.col("quantity") == "two_point")
    if "estimator" in rows.columns:
        rows = rows.filter(pl.col("estimator") == "grassberger")
    for col in ("run_id", "source"):
        if col in rows.columns and col in frame.columns:
            rows = rows.filter(pl.col(col).is_in(frame[col].unique().to_list()))
    if rows.height == 0:
        return None
    if rows.height > 1:
        raise InputError(
            f"{builder}: {rows.height} decay fits match the two-point series",
            "pass the fits of one run (filter fits on run_id and source)",
        )
    return rows.row(0, named=True)


def _series(frame: pl.DataFrame, label: str, y: str, se: pl.Expr | None) -> pl.DataFrame:
    se = pl.lit(None, dtype=pl.Float64) if se is None else se
    return frame.select(
        pl.lit(label).alias("series"),
        pl.col("distance").cast(pl.Float64).alias("x"),
        pl.col(y).alias("y"),
        se.alias("stderr"),
        *[pl.col(c) for c in ("n_pairs", "run_id") if c in frame.columns],
    ).with_columns(z95_bounds("y", "stderr"))


def two_point_mi_chart(
    two_point: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    run_id: str | None = None,
    show_floor: bool = True,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. 2 e–f / A.4: I_d against d on log-log axes, uncorrected and bias-corrected.

    Without correction the estimator's positive bias makes I_d plateau at large d (the shuffle
    baseline shows that floor); subtracting the floor, or the fitted offset C of
    I = A·d^(−α) + C, leaves the power-law decay. Error bars ±1.96·stderr. Values ≤ 0 (a
    corrected I_d below its floor) cannot be drawn on the log axis: dropped and counted in the
    subtitle. show_floor=False hides the floor and I_d − floor series.
    """
    builder = "two_point_mi_chart"
    frame = require_frame(
        two_point, builder=builder, arg="two_point", required=TWO_POINT_REQUIRED, fix=TWO_POINT_FIX
    )
    frame = filter_equal(frame, "run_id", run_id, builder=builder, arg="two_point")
    if "run_id" in frame.columns and frame["run_id"].n_unique() > 1:
        raise InputError(
            f"{builder}: `two_point` holds {frame['run_id'].n_unique()} runs; one chart shows one",
            f"pass run_id= one of: {values_of(frame, 'run_id')}",
        )
    frame = finite_floats(frame, ["mi", "mi_stderr", "floor", "floor_stderr", "above_floor"])
    frame = frame.sort("distance")
    has = set(frame.columns)
    mi_se = pl.col("mi_stderr") if "mi_stderr" in has else None
    parts = [_series(frame, RAW, "mi", mi_se)]
    if show_floor and "floor" in has and frame["floor"].null_count() < frame.height:
        if "above_floor" not in has:
            frame = frame.with_columns((pl.col("mi") - pl.col("floor")).alias("above_floor"))
        fl_se = pl.col("floor_stderr") if "floor_stderr" in has else None
        parts.append(_series(frame, FLOOR, "floor", fl_se))
        both = (
            (pl.col("mi_stderr") ** 2 + pl.col("floor_stderr") ** 2).sqrt()
            if mi_se is not None and fl_se is not None
            else None
        )
        parts.append(
            _series(frame.filter(pl.col("floor").is_not_null()), ABOVE, "above_floor", both)
        )
    fit = _decay_fit(fits, frame, builder)
    curves = None
    labels = {s: s for s in (RAW, FLOOR, ABOVE, MINUS_C)}
    notes = []
    if fit is not None:
        c = float(fit["offset_c"]) if fit.get("offset_c") is not None else 0.0
        alpha = exponent_text("α", fit["exponent"], fit["exponent_lo"], fit["exponent_hi"])
        labels[MINUS_C] = f"I_d − C (C = {fmt(c, '.4g')} fitted): {alpha}"
        labels[RAW] = f"{RAW} (dashed: A·d^−α + C)"
        parts.append(
            _series(
                frame.with_columns((pl.col("mi") - c).alias("minus_c")), MINUS_C, "minus_c", mi_se
            )
        )
        corrected, with_offset = decay_curve(fit)
        curves = pl.concat(
            [
                curve_frame(labels[MINUS_C], corrected.x, corrected.y, corrected.lo, corrected.hi),
                curve_frame(labels[RAW], corrected.x, with_offset),
            ]
        ).with_columns(
            *exponent_columns(fit, "alpha"),
            pl.lit(c).alias("offset_c"),
            pl.lit(fit.get("r2"), dtype=pl.Float64).alias("r2"),
            pl.lit("; ".join(fit_warnings(fit)) or "none").alias("fit_warnings"),
        )
        band = {
            "pivot": "band: α 95 % interval pivoting at the log-centre of the fitted range",
            "none": "no band (open α interval)",
        }[corrected.band]
        notes.append(f"dashed: fit I_d = A·d^−α + C (Eq. A.18); {band}")
        if fit_warnings(fit):
            notes.append("fit warnings: " + "; ".join(fit_warnings(fit)))
    points = pl.concat(parts, how="diagonal_relaxed").with_columns(
        pl.col("series").replace_strict(labels, default=pl.col("series"))
    )
    points, n_drop, n_clipped = log_y_points(points)
    if points.height == 0:
        raise InputError(
            f"{builder}: every two-point value is ≤ 0 or missing: nothing to draw on log axes",
            "check the run (mi column)",
        )
    order = [labels[s] for s in (RAW, FLOOR, ABOVE, MINUS_C) if labels[s] in set(points["series"])]
    scale = color_scale(order, {labels[k]: v for k, v in COLOURS.items()})
    tooltip = [
        alt.Tooltip("series:N", title="series"),
        alt.Tooltip("x:Q", title="d (tokens)", format=",d"),
        alt.Tooltip("y:Q", title="I (nats)", format=".4g"),
        alt.Tooltip("stderr:Q", title="stderr (nats)", format=".3g"),
    ]
    if "n_pairs" in points.columns:
        tooltip.append(alt.Tooltip("n_pairs:Q", title="token pairs", format=",d"))
    curve_tooltip = [
        alt.Tooltip("series:N", title="series"),
        alt.Tooltip("x:Q", title="d (tokens)", format=",.0f"),
        alt.Tooltip("fit:Q", title="fit (nats)", format=".4g"),
        *exponent_tooltip("alpha", "α"),
        alt.Tooltip("offset_c:Q", title="C (nats)", format=".4g"),
        alt.Tooltip("fit_warnings:N", title="fit warnings"),
    ]
    layers = series_layers(
        points,
        curves,
        x_title=X_TITLE,
        y_title=Y_TITLE,
        color=scale,
        legend_title="series",
        point_tooltip=tooltip,
        curve_tooltip=curve_tooltip,
        connect=[labels[FLOOR]],
    )
    lines = [
        ERRORBAR_NOTE if has_error_bars(points) else None,
        *notes,
        None if n_drop == 0 else f"{n_drop} points ≤ 0 (below their floor) not shown (log axis)",
        None if n_clipped == 0 else f"{n_clipped} lower error bars reach ≤ 0: cut at the axis",
    ]
    where = ""
    if "source" in frame.columns and frame["source"].n_unique() == 1:
        where = f" — {frame['source'][0]}"
    return layered(
        layers,
        title=title or f"Two-point mutual information vs distance{where}",
        notes=subtitle(lines),
    )
