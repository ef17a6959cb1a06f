"""The layered "points + error bars + fitted curve + band" chart most figures are made of.

``series_layers`` reads two frames. points: ``series``, ``x``, ``y``, ``y_lo``, ``y_hi`` (the
error bar, same unit as y: nats) plus tooltip columns, one row per point; curves (built with
``curve_frame``): ``series``, ``x``, ``fit``, ``band_lo``, ``band_hi`` plus tooltip columns, one
row per grid point of each fitted curve. Every layer carries a ``name`` (``fit-band``,
``fit-line``, ``error-bars``, ``points``, ``point-lines``, ``reference``) so tests and
notebooks can find it in ``chart.to_dict()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import polars as pl

from l2m_analysis.charts._axes import axis_channel, padded_domain
from l2m_analysis.charts._common import finite_floats, title_params


def _column_values(frames: Sequence[pl.DataFrame | None], columns: Sequence[str]) -> list[float]:
    out: list[float] = []
    for f in frames:
        if f is None:
            continue
        for c in columns:
            if c in f.columns:
                out.extend(v for v in f[c].to_list() if v is not None)
    return out


def clip_lower(frame: pl.DataFrame, column: str, floor: float) -> tuple[pl.DataFrame, int]:
    """Lower error-bar ends ≤ 0 raised to ``floor`` (log axes); returns the count clipped."""
    if column not in frame.columns:
        return frame, 0
    bad = pl.col(column).is_not_null() & (pl.col(column) <= 0)
    n = frame.filter(bad).height
    return frame.with_columns(pl.when(bad).then(floor).otherwise(pl.col(column)).alias(column)), n


def log_y_points(points: pl.DataFrame) -> tuple[pl.DataFrame, int, int]:
    """The points a log y axis can show: rows with y > 0, lower error-bar ends (``y_lo``) ≤ 0
    cut at half the smallest y. Returns (points, rows dropped, error bars cut)."""
    kept = points.filter(pl.col("y").is_not_null() & (pl.col("y") > 0))
    n_dropped = points.height - kept.height
    if kept.height == 0:
        return kept, n_dropped, 0
    kept, n_clipped = clip_lower(kept, "y_lo", float(kept["y"].min()) / 2)
    return kept, n_dropped, n_clipped


def has_error_bars(points: pl.DataFrame) -> bool:
    """Whether any point has an error bar (a non-null ``y_lo``)."""
    return points.filter(pl.col("y_lo").is_not_null()).height > 0


def curve_frame(
    label: str,
    x: np.ndarray,
    fit: np.ndarray,
    lo: np.ndarray | None = None,
    hi: np.ndarray | None = None,
) -> pl.DataFrame:
    """One fitted curve as ``series_layers`` reads it: columns series (= ``label``), x, fit and
    the 95 % band band_lo/band_hi (Float64, null where ``lo``/``hi`` is None); each of shape
    (len(x),), in the unit of the curve (nats)."""
    n = len(x)
    return pl.DataFrame(
        {
            "series": [label] * n,
            "x": x,
            "fit": fit,
            "band_lo": lo if lo is not None else [None] * n,
            "band_hi": hi if hi is not None else [None] * n,
        },
        schema_overrides={"band_lo": pl.Float64, "band_hi": pl.Float64},
    )


def exponent_columns(fit: dict, name: str) -> list[pl.Expr]:
    """Constant columns for a fitted line's tooltip: the fits row's exponent as ``name``, its
    95 % interval as ``name_lo``/``name_hi`` (null when open) and the amplitude A (nats)."""
    return [
        pl.lit(float(fit["exponent"])).alias(name),
        pl.lit(fit.get("exponent_lo"), dtype=pl.Float64).alias(f"{name}_lo"),
        pl.lit(fit.get("exponent_hi"), dtype=pl.Float64).alias(f"{name}_hi"),
        pl.lit(float(fit["amplitude"])).alias("amplitude"),
    ]


def exponent_tooltip(name: str, symbol: str) -> list[alt.Tooltip]:
    """The tooltip lines of ``exponent_columns(fit, name)``, the exponent shown as ``symbol``."""
    return [
        alt.Tooltip(f"{name}:Q", title=symbol, format=".4f"),
        alt.Tooltip(f"{name}_lo:Q", title=f"{symbol} 95 % lo", format=".4f"),
        alt.Tooltip(f"{name}_hi:Q", title=f"{symbol} 95 % hi", format=".4f"),
        alt.Tooltip("amplitude:Q", title="A (nats)", format=".4g"),
    ]


def series_layers(
    points: pl.DataFrame,
    curves: pl.DataFrame | None,
    *,
    x_title: str,
    y_title: str,
    color: alt.Scale,
    legend_title: str,
    point_tooltip: Sequence[alt.Tooltip],
    curve_tooltip: Sequence[alt.Tooltip] = (),
    log_x: bool = True,
    log_y: bool = True,
    connect: Sequence[str] = (),
    shape: bool = True,
    x_format: str = "~s",
    y_format: str = "~g",
    filled: bool = True,
) -> list[alt.Chart]:
    """The layers, bottom to top: band, fitted line, lines through points, error bars, points.

    points: series, x, y, y_lo, y_hi (+ tooltip columns); curves: series, x, fit, band_lo,
    band_hi (+ tooltip columns), or None. ``connect``: series whose points are joined by a
    line (exact values, which have no error bars).
    """
    points = finite_floats(points, ["x", "y", "y_lo", "y_hi"])
    if curves is not None:
        curves = finite_floats(curves, ["x", "fit", "band_lo", "band_hi"])
    x_dom = padded_domain(_column_values([points, curves], ["x"]), log_x, pad=0.04)
    y_dom = padded_domain(
        _column_values([points, curves], ["y", "y_lo", "y_hi", "fit", "band_lo", "band_hi"]), log_y
    )
    x_enc = axis_channel(alt.X, "x:Q", x_title, log=log_x, domain=x_dom, fmt=x_format)

    def y_enc(field: str) -> alt.Y:
        return axis_channel(alt.Y, f"{field}:Q", y_title, log=log_y, domain=y_dom, fmt=y_format)

    legend = alt.Legend(title=legend_title, symbolOpacity=1)
    colour = alt.Color("series:N", scale=color, legend=legend)
    layers: list[alt.Chart] = []
    if curves is not None and curves.height:
        banded = curves.filter(pl.col("band_lo").is_not_null() & pl.col("band_hi").is_not_null())
        if banded.height:
            layers.append(
                alt.Chart(banded.select("series", "x", "band_lo", "band_hi"))
                .mark_area(opacity=0.18, line=False)
                .encode(
                    x=x_enc,
                    y=y_enc("band_lo"),
                    y2="band_hi:Q",
                    color=colour,
                    detail="series:N",
                )
                .properties(name="fit-band")
            )
        layers.append(
            alt.Chart(curves)
            .mark_line(strokeDash=[6, 3], strokeWidth=2)
            .encode(
                x=x_enc,
                y=y_enc("fit"),
                color=colour,
                detail="series:N",
                tooltip=list(curve_tooltip),
            )
            .properties(name="fit-line")
        )
    joined = points.filter(pl.col("series").is_in(list(connect))) if connect else None
    if joined is not None and joined.height:
        layers.append(
            alt.Chart(joined)
            .mark_line(strokeWidth=1.5, opacity=0.8)
            .encode(
                x=x_enc,
                y=y_enc("y"),
                color=colour,
                detail="series:N",
                order="x:Q",
            )
            .properties(name="point-lines")
        )
    bars = points.filter(pl.col("y_lo").is_not_null() & pl.col("y_hi").is_not_null())
    if bars.height:
        layers.append(
            alt.Chart(bars.select("series", "x", "y_lo", "y_hi"))
            .mark_errorbar(ticks=True, thickness=1.4)
            .encode(
                x=x_enc,
                y=y_enc("y_lo"),
                y2="y_hi:Q",
                color=colour,
            )
            .properties(name="error-bars")
        )
    point_enc = dict(
        x=x_enc,
        y=y_enc("y"),
        color=colour,
        tooltip=list(point_tooltip),
    )
    if shape:
        domain = color.to_dict().get("domain")
        point_enc["shape"] = alt.Shape(
            "series:N", legend=legend, scale=alt.Scale(domain=domain) if domain else alt.Undefined
        )
    layers.append(
        alt.Chart(points)
        .mark_point(filled=filled, size=55 if filled else 70, opacity=0.95, strokeWidth=1.6)
        .encode(**point_enc)
        .properties(name="points")
    )
    return layers


def layered(
    layers: Sequence[alt.Chart], *, title: str, notes: Sequence[str], width=None, height=None
):
    """Layer the charts under one title with the subtitle lines ``notes``."""
    props = {}
    if width is not None:
        props["width"] = width
    if height is not None:
        props["height"] = height
    chart = alt.layer(*layers).properties(title=title_params(title, list(notes)), **props)
    return chart.resolve_scale(color="shared", shape="shared")
