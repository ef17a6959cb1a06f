"""The two Gaussian families side by side (Fig. 3): different bipartite, identical two-point MI.

Input ``estimates`` (nats): rows of the ``mi_estimates`` table. Required: ``source`` (the
family, e.g. 'gaussian_subvolume', 'gaussian_log'), ``quantity``, ``estimator``, ``value``;
``length`` for bipartite rows, ``distance`` for two-point rows; ``ratio`` selects ℓ = L/ratio.
Exact rows carry no stderr; rows that have one get error bars ±1.96·stderr.

Input ``fits`` (optional): rows of the ``fits`` table (columns as in ``charts.bipartite``).
(a) draws each family's *preferred* law (``preferred_law``: the power law I = A·L^β, or the
log law I = a·log L + b) with its 95 % band; (b) draws the decay I = A·d^(−α) + C.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import polars as pl

from l2m_analysis.charts._common import (
    ERRORBAR_NOTE,
    Z95,
    exponent_text,
    filter_equal,
    finite_floats,
    fit_warnings,
    fmt,
    interval,
    no_rows_left,
    parse_detail,
    require_frame,
    subtitle,
    values_of,
)
from l2m_analysis.charts._fitcurves import decay_curve, log_law_curve, power_law_curve
from l2m_analysis.charts._layers import clip_lower, layered, series_layers
from l2m_analysis.charts.theme import color_scale

REQUIRED = ("source", "quantity", "estimator", "value")
FIX = (
    "pass rows of the mi_estimates table (columns source, quantity, estimator, value, length, "
    "distance, ratio[, stderr]); run `python -m pipelines.gaussian_mi`"
)
FITS_REQUIRED = ("source", "quantity", "estimator", "law", "exponent", "amplitude")
FITS_FIX = "pass rows of the fits table (run `python -m pipelines.fit_exponents`), or fits=None"
FAMILY_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")


def _family_label(source: str) -> str:
    s = source.lower()
    if "subvolume" in s:
        return f"sub-volume ({source})"
    if "log" in s:
        return f"log ({source})"
    return source


def _rows(
    estimates: object,
    builder: str,
    quantity: str,
    x_col: str,
    estimator: str,
    families: Sequence[str] | None,
    run_id: str | None,
) -> pl.DataFrame:
    frame = require_frame(
        estimates, builder=builder, arg="estimates", required=(*REQUIRED, x_col), fix=FIX
    )
    frame = filter_equal(frame, "run_id", run_id, builder=builder, arg="estimates")
    frame = filter_equal(frame, "quantity", quantity, builder=builder, arg="estimates")
    frame = filter_equal(frame, "estimator", estimator, builder=builder, arg="estimates")
    if families is not None:
        frame = filter_equal(frame, "source", list(families), builder=builder, arg="estimates")
    frame = frame.filter(pl.col(x_col).is_not_null())
    if frame.height == 0:
        raise no_rows_left(builder, "estimates", f"non-null {x_col}", values_of(frame, x_col))
    frame = finite_floats(frame, ["value", "stderr"])
    if "stderr" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("stderr"))
    return frame.sort("source", x_col)


def _fits_for(fits: object, builder: str, quantity: str, estimator: str) -> pl.DataFrame | None:
    if fits is None:
        return None
    rows = require_frame(fits, builder=builder, arg="fits", required=FITS_REQUIRED, fix=FITS_FIX)
    return rows.filter((pl.col("quantity") == quantity) & (pl.col("estimator") == estimator))


def _pick(rows: pl.DataFrame | None, source: str, run_id, ratio, law: str | None) -> dict | None:
    if rows is None:
        return None
    cond = pl.col("source") == source
    if run_id is not None and "run_id" in rows.columns:
        cond = cond & (pl.col("run_id") == run_id)
    if ratio is not None and "ratio" in rows.columns:
        cond = cond & (pl.col("ratio") == ratio)
    if law is not None:
        cond = cond & (pl.col("law") == law)
    sel = rows.filter(cond)
    return sel.row(0, named=True) if sel.height else None


def _points(frame: pl.DataFrame, x_col: str, labels: dict[str, str]) -> pl.DataFrame:
    return frame.with_columns(
        pl.col("source").replace_strict(labels, default=pl.col("source")).alias("series"),
        pl.col(x_col).cast(pl.Float64).alias("x"),
        pl.col("value").alias("y"),
        (pl.col("value") - Z95 * pl.col("stderr")).alias("y_lo"),
        (pl.col("value") + Z95 * pl.col("stderr")).alias("y_hi"),
    )


def _curve_frame(label: str, x, y, lo, hi, **extra) -> pl.DataFrame:
    n = len(x)
    return pl.DataFrame(
        {
            "series": [label] * n,
            "x": x,
            "fit": y,
            "band_lo": lo if lo is not None else [None] * n,
            "band_hi": hi if hi is not None else [None] * n,
        },
        schema_overrides={"band_lo": pl.Float64, "band_hi": pl.Float64},
    ).with_columns(
        [
            pl.lit(v, dtype=pl.Float64 if isinstance(v, float) else None).alias(k)
            for k, v in extra.items()
        ]
    )


CURVE_TOOLTIP = [
    alt.Tooltip("series:N", title="family"),
    alt.Tooltip("law:N", title="law"),
    alt.Tooltip("parameter:N", title="fitted"),
    alt.Tooltip("r2:Q", title="R²", format=".4f"),
    alt.Tooltip("band_method:N", title="band"),
    alt.Tooltip("fit_warnings:N", title="fit warnings"),
]


def _finish(points, curves, order, *, x_title, y_title, title, notes, tooltip, filled=True):
    n_all = points.height
    points = points.filter(pl.col("y").is_not_null() & (pl.col("y") > 0))
    floor = float(points["y"].min()) / 2 if points.height else 1e-12
    points, n_clipped = clip_lower(points, "y_lo", floor)
    lines = [
        ERRORBAR_NOTE
        if points.filter(pl.col("y_lo").is_not_null()).height
        else "exact values (no error bars)",
        *notes,
        None if n_all == points.height else f"{n_all - points.height} points ≤ 0 not shown (log)",
        None if n_clipped == 0 else f"{n_clipped} lower error bars cut at the axis",
    ]
    scale = color_scale(order, dict(zip(order, FAMILY_COLOURS, strict=False)))
    layers = series_layers(
        points,
        curves,
        x_title=x_title,
        y_title=y_title,
        color=scale,
        legend_title="distribution family (dashed: fitted law, band 95 %)",
        point_tooltip=tooltip,
        curve_tooltip=CURVE_TOOLTIP,
        filled=filled,
    )
    return layered(layers, title=title, notes=subtitle(lines), width=380, height=280)


def gaussian_bipartite_chart(
    estimates: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    estimator: str = "exact",
    ratio: int = 2,
    families: Sequence[str] | None = None,
    run_id: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. 3a: exact I_BP(L/ratio; L) against L for each family, log-log, with its preferred law.

    The sub-volume family grows as L^β (a straight line), the log family as log L (a curve
    that bends down on log-log axes); the legend names each family's preferred law and its
    fitted parameter with the 95 % interval.
    """
    builder = "gaussian_bipartite_chart"
    frame = _rows(estimates, builder, "bipartite", "length", estimator, families, run_id)
    if "ratio" in frame.columns:
        frame = filter_equal(frame, "ratio", ratio, builder=builder, arg="estimates")
    fit_rows = _fits_for(fits, builder, "bipartite", estimator)
    sources = frame["source"].unique(maintain_order=True).to_list()
    labels, curves, notes, bands = {}, [], [], set()
    for src in sources:
        rows = frame.filter(pl.col("source") == src)
        power = _pick(fit_rows, src, run_id, ratio, "power")
        law = (power or {}).get("preferred_law") or "power"
        fit = power if law == "power" else _pick(fit_rows, src, run_id, ratio, "log")
        label = _family_label(src)
        if fit is None:
            labels[src] = label
            continue
        x, y = rows["length"].to_numpy().astype(float), rows["value"].to_numpy()
        se = rows["stderr"].to_numpy() if rows["stderr"].null_count() < rows.height else None
        if law == "power":
            curve = power_law_curve(fit, x, y, se)
            param = exponent_text("β", fit["exponent"], fit["exponent_lo"], fit["exponent_hi"])
            label = f"{label}: L^β, {param}"
        else:
            curve = log_law_curve(fit, x, y, se)
            d = parse_detail(fit.get("detail"))
            param = exponent_text(
                "a", fit["amplitude"], d.get("slope_lo"), d.get("slope_hi"), ".4f"
            )
            label = f"{label}: a·log L + b, {param}"
        labels[src] = label
        bands.add(curve.band)
        warnings = fit_warnings(fit)
        if warnings:
            notes.append(f"fit warnings, {src}: " + "; ".join(warnings))
        curves.append(
            _curve_frame(
                label,
                curve.x,
                curve.y,
                curve.lo,
                curve.hi,
                law="power law I = A·L^β" if law == "power" else "log law I = a·log L + b",
                parameter=param,
                r2=fit.get("r2"),
                band_method=curve.band,
                fit_warnings="; ".join(warnings) or "none",
            )
        )
    points = _points(frame, "length", labels)
    if curves:
        kinds = " / ".join(sorted(bands))
        notes.insert(0, f"dashed: each family's preferred law (by AIC); band: 95 % ({kinds})")
    tooltip = [
        alt.Tooltip("series:N", title="family"),
        alt.Tooltip("x:Q", title="L (tokens)", format=",d"),
        alt.Tooltip("y:Q", title="I_BP (nats)", format=".4g"),
        alt.Tooltip("stderr:Q", title="stderr (nats)", format=".3g"),
    ]
    return _finish(
        points,
        pl.concat(curves, how="diagonal_relaxed") if curves else None,
        [labels[s] for s in sources],
        x_title="sequence length L (tokens)",
        y_title=f"bipartite MI I(L/{ratio}; L) (nats)",
        title=title or "(a) Bipartite MI of the Gaussian families",
        notes=notes,
        tooltip=tooltip,
    )


def gaussian_two_point_chart(
    estimates: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    estimator: str = "exact",
    families: Sequence[str] | None = None,
    run_id: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. 3b: exact two-point MI I_d against d for each family, log-log, with the decay fit.

    estimator 'exact' (default): the pair at maximum separation d = L − 1, identical for the
    two families as in the paper; 'exact_pair_average': averaged over all pairs at distance d.
    """
    builder = "gaussian_two_point_chart"
    frame = _rows(estimates, builder, "two_point", "distance", estimator, families, run_id)
    fit_rows = _fits_for(fits, builder, "two_point", estimator)
    sources = frame["source"].unique(maintain_order=True).to_list()
    labels, curves, notes = {}, [], []
    for src in sources:
        fit = _pick(fit_rows, src, run_id, None, "decay")
        label = _family_label(src)
        if fit is None:
            labels[src] = label
            continue
        corrected, with_offset = decay_curve(fit)
        param = (
            f"α = {fmt(fit['exponent'], '.3f')} {interval(fit['exponent_lo'], fit['exponent_hi'])}"
        )
        label = f"{label}: {param}"
        labels[src] = label
        warnings = fit_warnings(fit)
        if warnings:
            notes.append(f"fit warnings, {src}: " + "; ".join(warnings))
        curves.append(
            _curve_frame(
                label,
                corrected.x,
                with_offset,
                None,
                None,
                law="decay I = A·d^−α + C",
                parameter=f"{param}, C = {fmt(fit.get('offset_c'), '.3g')}",
                r2=fit.get("r2"),
                band_method="none",
                fit_warnings="; ".join(warnings) or "none",
            )
        )
    points = _points(frame, "distance", labels)
    if curves:
        notes.insert(0, "dashed: fitted decay I_d = A·d^−α + C (Eq. A.18)")
    if len(sources) > 1:
        same = _identical(frame)
        if same:
            notes.append("the families' values coincide (open markers drawn over each other)")
    tooltip = [
        alt.Tooltip("series:N", title="family"),
        alt.Tooltip("x:Q", title="d (tokens)", format=",d"),
        alt.Tooltip("y:Q", title="I_d (nats)", format=".4g"),
    ]
    return _finish(
        points,
        pl.concat(curves, how="diagonal_relaxed") if curves else None,
        [labels[s] for s in sources],
        x_title="distance d (tokens)",
        y_title="two-point MI I_d (nats)",
        title=title or "(b) Two-point MI of the Gaussian families",
        notes=notes,
        tooltip=tooltip,
        filled=False,
    )


def _identical(frame: pl.DataFrame) -> bool:
    groups = [g.sort("distance")["value"].to_numpy() for _, g in frame.group_by("source")]
    return all(g.shape == groups[0].shape and np.allclose(g, groups[0]) for g in groups[1:])


def gaussian_families_chart(
    estimates: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    ratio: int = 2,
    two_point_estimator: str = "exact",
    families: Sequence[str] | None = None,
    run_id: str | None = None,
    title: str = "Gaussian families: bipartite vs two-point MI scaling (Fig. 3)",
) -> alt.HConcatChart:
    """Fig. 3: (a) ``gaussian_bipartite_chart`` and (b) ``gaussian_two_point_chart``
    side by side."""
    left = gaussian_bipartite_chart(estimates, fits, ratio=ratio, families=families, run_id=run_id)
    right = gaussian_two_point_chart(
        estimates, fits, estimator=two_point_estimator, families=families, run_id=run_id
    )
    return (
        alt.hconcat(left, right)
        .resolve_scale(color="independent", shape="independent")
        .properties(title=alt.TitleParams(title, fontSize=16))
    )
