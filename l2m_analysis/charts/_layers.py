"""The layered "points + error bars + fitted curve + band" chart most figures are made of.

Every layer carries a ``name`` (``fit-band``, ``fit-line``, ``error-bars``, ``points``,
``point-lines``, ``reference``) so tests and notebooks can find it in ``chart.to_dict()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import polars as pl

from l2m_analysis.charts._common import finite_floats, title_params

# Log-axis tick labels: plain numbers from 0.001 to 999, SI prefixes above ("4k", "50M"),
# scientific notation outside ("1e-7"), instead of Vega's mix of "0.000001" and "1e-7".
LOG_LABELS = (
    "datum.value >= 1000 && datum.value < 1e15 ? format(datum.value, '~s') : "
    "(datum.value >= 0.001 && datum.value < 1000 ? format(datum.value, '~g') : "
    "format(datum.value, '.0e'))"
)


def _scale(log: bool, domain: list[float] | None = None) -> alt.Scale:
    kwargs = {} if domain is None else {"domain": domain, "nice": False}
    return (
        alt.Scale(type="log", **kwargs) if log else alt.Scale(type="linear", zero=False, **kwargs)
    )


def padded_domain(values: Sequence[float], log: bool, pad: float = 0.05) -> list[float] | None:
    """[lo, hi] of the finite values (> 0 on a log axis), widened by ``pad`` of the span.

    Vega's "nice" log domains round out to whole decades and can leave most of the plot empty;
    an explicit domain keeps the data filling the frame.
    """
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if log:
        vals = [v for v in vals if v > 0]
    if not vals:
        return None
    lo, hi = min(vals), max(vals)
    if log:
        span = max(math.log(hi / lo), math.log(1.5))
        return [lo * math.exp(-pad * span), hi * math.exp(pad * span)]
    span = (hi - lo) or max(abs(hi), 1.0)
    return [lo - pad * span, hi + pad * span]


def log_ticks(domain: list[float] | None) -> list[float] | None:
    """Tick values for a log axis over ``domain``: whole decades, or 1-2-5 / 1..9 steps inside
    them when the domain spans fewer decades (Vega's own log ticks crowd the labels)."""
    if not domain or domain[0] <= 0:
        return None
    lo, hi = domain
    decades = math.log10(hi / lo)
    if decades > 9:
        mantissas, step = (1,), 2
    elif decades > 3.5:
        mantissas, step = (1,), 1
    elif decades > 1.2:
        mantissas, step = (1, 2, 5), 1
    else:
        mantissas, step = (1, 2, 3, 4, 5, 6, 7, 8, 9), 1
    ticks = []
    for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        if step > 1 and k % step:
            continue
        for m in mantissas:
            v = float(f"{m}e{k}")
            if lo <= v <= hi:
                ticks.append(v)
    return ticks if len(ticks) >= 2 else None


def log_axis(domain: list[float] | None, **kwargs) -> alt.Axis:
    """A log axis with ``log_ticks`` and ``LOG_LABELS``."""
    ticks = log_ticks(domain)
    extra = {"values": ticks} if ticks else {}
    return alt.Axis(labelExpr=LOG_LABELS, **extra, **kwargs)


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
    x_enc = alt.X(
        "x:Q",
        title=x_title,
        scale=_scale(log_x, x_dom),
        axis=log_axis(x_dom) if log_x else alt.Axis(format=x_format),
    )
    y_axis = log_axis(y_dom) if log_y else alt.Axis(format=y_format)
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
                    y=alt.Y("band_lo:Q", title=y_title, scale=_scale(log_y, y_dom), axis=y_axis),
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
                y=alt.Y("fit:Q", title=y_title, scale=_scale(log_y, y_dom), axis=y_axis),
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
                y=alt.Y("y:Q", title=y_title, scale=_scale(log_y, y_dom), axis=y_axis),
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
                y=alt.Y("y_lo:Q", title=y_title, scale=_scale(log_y, y_dom), axis=y_axis),
                y2="y_hi:Q",
                color=colour,
            )
            .properties(name="error-bars")
        )
    point_enc = dict(
        x=x_enc,
        y=alt.Y("y:Q", title=y_title, scale=_scale(log_y, y_dom), axis=y_axis),
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
