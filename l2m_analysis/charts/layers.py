"""The log-log "points ± error bars + fitted curve + band" chart most figures are made of.

``series_chart`` reads two frames. points: ``series``, ``x``, ``y``, ``y_lo``, ``y_hi`` (the
95 % error bar, same unit as y) plus tooltip columns, one row per point; curves (rows of
``curve_frame``): ``series``, ``x``, ``fit``, ``band_lo``, ``band_hi`` plus text columns, one
row per grid point of each fitted curve. The layers are named ``fit-band``, ``fit-line``,
``point-lines``, ``error-bars`` and ``points``.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from l2m_analysis.charts.common import ERRORBAR_NOTE, axis, finite, layer, titled, tooltips
from l2m_analysis.charts.theme import colour_scale
from l2m_analysis.errors import InputError
from l2m_analysis.fits.bands import Band

BAND_NOTES = {
    "covariance": "band: the fitted line's 95 % confidence band",
    "pivot": "band: the exponent's 95 % interval pivoting at the log-centre of the fitted range",
    "none": "no band",
}
NO_CURVES = pl.DataFrame(schema=dict.fromkeys(["x", "fit", "band_lo", "band_hi"], pl.Float64))
CURVE_TIPS = {"series": "series", "law": "fitted law", "verdict": "preferred law",
              "band": "band", "warnings": "fit warnings"}  # fmt: skip


def curve_frame(label: str, band: Band, offset: float = 0.0, **text: str) -> pl.DataFrame:
    """One fitted curve: series = ``label``, x, fit = y + ``offset``, band_lo/band_hi (null
    without a band), each of the band's shape, and constant text columns (its tooltip)."""
    lo, hi = ([None] * len(band.x) if b is None else b + offset for b in (band.lo, band.hi))
    return pl.DataFrame(
        {
            "series": label,
            "x": band.x,
            "fit": band.y + offset,
            "band_lo": lo,
            "band_hi": hi,
            "band": band.method,
            **text,
        },
        schema_overrides={"band_lo": pl.Float64, "band_hi": pl.Float64},
    )


def band_note(curves: pl.DataFrame | None) -> str | None:
    """What the dashed lines and their bands are, from the curves' band methods."""
    if curves is None:
        return None
    methods = set(curves["band"])
    return "dashed: the stored fit; " + "; ".join(
        BAND_NOTES[m] for m in sorted(methods - {"none"} or methods)
    )


def _on_log_y(points: pl.DataFrame) -> tuple[pl.DataFrame, list[str | None]]:
    """Points a log y axis shows: y > 0; lower bar ends ≤ 0 cut at half the smallest y."""
    kept = points.filter(pl.col("y") > 0)
    if kept.height == 0:
        raise InputError(
            f"every value is ≤ 0 or missing ({points.height} rows): nothing to draw on a log axis",
            "check the series (a biased estimate can be < 0)",
        )
    cut = kept.filter(pl.col("y_lo") <= 0).height
    dropped = points.height - kept.height
    low = pl.when(pl.col("y_lo") <= 0).then(kept["y"].min() / 2).otherwise("y_lo")
    return kept.with_columns(low.alias("y_lo")), [
        f"{dropped} points ≤ 0 (or missing) not shown on the log axis" if dropped else None,
        f"{cut} lower error bars reach ≤ 0: cut at the axis" if cut else None,
    ]


def series_chart(
    points: pl.DataFrame,
    curves: pl.DataFrame | None,
    *,
    colours: dict[str, str | None],
    title: str,
    notes: Sequence[str | None],
    axes: tuple[str, str],
    legend: str,
    point_tips: dict[str, str],
    connect: Sequence[str] = (),
    filled: bool = True,
    size: tuple[int, int] | None = None,
) -> alt.LayerChart:
    """Log-log layers, bottom to top: band, fitted line, lines through the ``connect`` series'
    points, error bars, points. ``colours``: label -> fixed colour (None: the palette's next),
    in legend order; ``axes``: the x and y titles; ``notes``: subtitle lines (the error-bar
    and log-axis notes are added)."""
    points, log_notes = _on_log_y(finite(points, ["x", "y", "y_lo", "y_hi"]))
    curves = finite(NO_CURVES if curves is None else curves, ["x", "fit", "band_lo", "band_hi"])
    ys = [v for c in ("y", "y_lo", "y_hi") for v in points[c]]
    ys += [v for c in ("fit", "band_lo", "band_hi") for v in curves[c]]
    x = axis(alt.X, "x:Q", axes[0], [*points["x"], *curves["x"]], pad=0.04)
    y = {c: axis(alt.Y, f"{c}:Q", axes[1], ys) for c in ("y", "y_lo", "fit", "band_lo")}
    legend_ = alt.Legend(title=legend, symbolOpacity=1)
    shape = alt.Shape("series:N", legend=legend_, scale=alt.Scale(domain=list(colours)))
    enc = dict(x=x, color=alt.Color("series:N", scale=colour_scale(colours), legend=legend_))
    bars = points.drop_nulls(["y_lo", "y_hi"])
    joined = points.filter(pl.col("series").is_in(connect))
    drawn = [
        layer(curves.drop_nulls("band_lo"), "fit-band", "area", {"opacity": 0.18},
              y=y["band_lo"], y2="band_hi:Q", detail="series:N", **enc),
        layer(curves, "fit-line", "line", {"strokeDash": [6, 3], "strokeWidth": 2},
              y=y["fit"], detail="series:N", tooltip=tooltips(curves, CURVE_TIPS), **enc),
        layer(joined, "point-lines", "line", {"strokeWidth": 1.5, "opacity": 0.8},
              y=y["y"], detail="series:N", order="x:Q", **enc),
        layer(bars, "error-bars", "errorbar", {"ticks": True, "thickness": 1.4},
              y=y["y_lo"], y2="y_hi:Q", **enc),
        layer(points, "points", "point", {"filled": filled, "size": 55 if filled else 70},
              y=y["y"], shape=shape, tooltip=tooltips(points, {"series": "series", **point_tips}),
              **enc),
    ]  # fmt: skip
    chart = alt.layer(*filter(None, drawn)).resolve_scale(color="shared", shape="shared")
    chart = chart.properties(width=size[0], height=size[1]) if size else chart
    lines = [ERRORBAR_NOTE if bars.height else "no error bars (exact values or no stderr)"]
    return titled(chart, title, [*lines, *notes, *log_notes])
