"""Bipartite mutual information against sequence length L (Fig. 2 b–c, A.1, A.3).

Inputs (all values in nats):

* ``estimates``: rows of the ``mi_estimates`` table or the output of
  ``queries/bipartite_mi.sql``. Required: ``estimator``, ``length`` (L, tokens), ``value``
  (I_BP, nats). Used when present: ``stderr`` (nats; error bars ±1.96·stderr), ``ratio``
  (L/ℓ), ``split_at`` (ℓ), ``n`` (pairs of samples), ``run_id``, ``source``, ``quantity``
  (only ``'bipartite'`` rows are drawn).
* ``fits``: rows of the ``fits`` table. Required: ``estimator``, ``law``, ``exponent``,
  ``exponent_lo``, ``exponent_hi``, ``amplitude``, ``x_min``, ``x_max``. Used when present:
  ``ratio``, ``run_id``, ``source``, ``quantity``, ``n_points``, ``r2``, ``preferred_law``,
  ``detail`` (JSON: amplitude interval, weighting, ΔAIC), and the coming ``warnings``
  (list of strings), ``n_dropped``, ``drop_reason``. The ``'power'`` row of each series is
  drawn; a fit belongs to the estimates series with the same values of the key columns both
  frames have (run_id, source, estimator, ratio).

The fitted line is I = A·L^β over the fitted range [x_min, x_max]; its band is the 95 %
confidence band of that line, computed from the stored intervals (``charts._fitcurves``:
"regression" band when the points the fit used can be matched, else the "pivot" band of
β_lo..β_hi through the fitted value at the log-centre of the range). The subtitle says which.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from l2m_analysis.charts._common import (
    ERRORBAR_NOTE,
    Z95,
    dropped_note,
    filter_equal,
    finite_floats,
    fit_warnings,
    fmt,
    interval,
    no_rows_left,
    ordered_unique,
    parse_detail,
    require_frame,
    subtitle,
    values_of,
    varying,
)
from l2m_analysis.charts._fitcurves import power_law_curve
from l2m_analysis.charts._layers import clip_lower, layered, series_layers
from l2m_analysis.charts.theme import ESTIMATOR_COLORS, ESTIMATOR_LABELS, color_scale
from l2m_analysis.errors import InputError

ESTIMATES_REQUIRED = ("estimator", "length", "value")
FITS_REQUIRED = (
    "estimator",
    "law",
    "exponent",
    "exponent_lo",
    "exponent_hi",
    "amplitude",
    "x_min",
    "x_max",
)
ESTIMATES_FIX = (
    "pass rows of the mi_estimates table or the output of queries/bipartite_mi.sql "
    "(columns estimator, length, value[, stderr, ratio, split_at, n, run_id, source]); "
    "run `python -m pipelines.bipartite_mi` if the warehouse has none"
)
FITS_FIX = (
    "pass rows of the fits table (columns estimator, law, exponent, exponent_lo, exponent_hi, "
    "amplitude, x_min, x_max[, ratio, run_id, source, detail, warnings]); "
    "run `python -m pipelines.fit_exponents`, or pass fits=None to draw the points only"
)
SERIES_KEYS = ("run_id", "source", "estimator", "ratio")
Y_TITLE = "bipartite MI I(X; Y) (nats)"
X_TITLE = "sequence length L (tokens)"
COMPARISON_ORDER = ("exact", "direct", "direct_uncorrected", "vclub", "exact_vclub")


def _prepare(estimates: object, builder: str) -> pl.DataFrame:
    frame = require_frame(
        estimates, builder=builder, arg="estimates", required=ESTIMATES_REQUIRED, fix=ESTIMATES_FIX
    )
    if "quantity" in frame.columns:
        frame = filter_equal(frame, "quantity", "bipartite", builder=builder, arg="estimates")
    frame = finite_floats(frame, ["value", "stderr", "length"])
    if "stderr" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("stderr"))
    return frame


def _default_estimators(frame: pl.DataFrame) -> list[str]:
    """The main-text estimators present: direct (or direct_uncorrected without it) and vCLUB."""
    present = set(frame["estimator"].drop_nulls().to_list())
    chosen = []
    if "direct" in present:
        chosen.append("direct")
    elif "direct_uncorrected" in present:
        chosen.append("direct_uncorrected")
    if "vclub" in present:
        chosen.append("vclub")
    return chosen or sorted(present)


def _prepare_fits(fits: object, builder: str) -> pl.DataFrame:
    frame = require_frame(fits, builder=builder, arg="fits", required=FITS_REQUIRED, fix=FITS_FIX)
    frame = frame.filter(pl.col("law") == "power")
    if "quantity" in frame.columns:
        frame = frame.filter(pl.col("quantity") == "bipartite")
    return frame


def _match_fit(fits: pl.DataFrame | None, ident: dict, builder: str) -> dict | None:
    """The one power-law fits row of a series (None if none); ambiguity is an InputError."""
    if fits is None:
        return None
    keys = [k for k in SERIES_KEYS if k in fits.columns and k in ident]
    cond = pl.lit(True)
    for k in keys:
        cond = cond & (pl.col(k).is_null() if ident[k] is None else (pl.col(k) == pl.lit(ident[k])))
    rows = fits.filter(cond)
    if rows.height == 0:
        return None
    if rows.height > 1:
        raise InputError(
            f"{builder}: {rows.height} power-law fits match the series {ident} "
            f"(keys compared: {keys})",
            "add run_id/source columns to `estimates`, or select one run with run_id=/source=",
        )
    return rows.row(0, named=True)


def _fit_label(fit: dict) -> str:
    return f"β = {fmt(fit['exponent'], '.3f')} {interval(fit['exponent_lo'], fit['exponent_hi'])}"


def _verdict(fit: dict) -> str:
    law = fit.get("preferred_law")
    if not law:
        return ""
    delta = parse_detail(fit.get("detail")).get("delta_aic")
    return f"{law} law" + (f" (ΔAIC log − power = {delta:+.1f})" if delta is not None else "")


def _series_frames(
    frame: pl.DataFrame,
    fits: pl.DataFrame | None,
    *,
    group: str,
    group_label,
    builder: str,
) -> tuple[pl.DataFrame, pl.DataFrame | None, list[str], dict[str, str], list[str]]:
    """points, curves, series labels in order, label -> fixed colour key, notes."""
    keys = [k for k in SERIES_KEYS if k in frame.columns]
    extra = [k for k in varying(frame, ["run_id", "source"]) if k != group]
    points, curves, labels, colour_keys, notes, warn_notes = [], [], [], {}, [], []
    unfitted: list[str] = []
    bands: set[str] = set()
    for ident_tuple, rows in frame.group_by(keys, maintain_order=True):
        ident = dict(zip(keys, ident_tuple, strict=True))
        base = group_label(ident[group])
        if extra:
            base += " · " + " · ".join(str(ident[k]) for k in extra)
        fit = _match_fit(fits, ident, builder)
        if fit is None and fits is not None:
            unfitted.append(base)
        label = base if fit is None else f"{base}: {_fit_label(fit)}"
        labels.append(label)
        colour_keys[label] = str(ident[group])
        rows = rows.sort("length")
        se = rows["stderr"]
        pts = rows.with_columns(
            pl.lit(label).alias("series"),
            pl.col("length").cast(pl.Float64).alias("x"),
            pl.col("value").alias("y"),
            (pl.col("value") - Z95 * pl.col("stderr")).alias("y_lo"),
            (pl.col("value") + Z95 * pl.col("stderr")).alias("y_hi"),
        )
        points.append(pts)
        if fit is not None:
            curve = power_law_curve(
                fit,
                rows["length"].to_numpy().astype(float),
                rows["value"].to_numpy(),
                None if se.null_count() == se.len() else se.to_numpy(),
            )
            bands.add(curve.band)
            warnings = fit_warnings(fit)
            if warnings:
                warn_notes.append(f"fit warnings, {base}: " + "; ".join(warnings))
            curves.append(
                pl.DataFrame(
                    {
                        "series": [label] * curve.x.size,
                        "x": curve.x,
                        "fit": curve.y,
                        "band_lo": curve.lo if curve.lo is not None else [None] * curve.x.size,
                        "band_hi": curve.hi if curve.hi is not None else [None] * curve.x.size,
                    },
                    schema_overrides={"band_lo": pl.Float64, "band_hi": pl.Float64},
                ).with_columns(
                    pl.lit(float(fit["exponent"])).alias("beta"),
                    pl.lit(fit.get("exponent_lo"), dtype=pl.Float64).alias("beta_lo"),
                    pl.lit(fit.get("exponent_hi"), dtype=pl.Float64).alias("beta_hi"),
                    pl.lit(float(fit["amplitude"])).alias("amplitude"),
                    pl.lit(fit.get("r2"), dtype=pl.Float64).alias("r2"),
                    pl.lit(fit.get("n_points"), dtype=pl.Int64).alias("n_points"),
                    pl.lit(_verdict(fit)).alias("verdict"),
                    pl.lit(curve.band).alias("band_method"),
                    pl.lit("; ".join(warnings) or "none").alias("fit_warnings"),
                )
            )
    pts_all = pl.concat(points, how="diagonal_relaxed")
    curves_all = pl.concat(curves, how="diagonal_relaxed") if curves else None
    if curves_all is not None:
        notes.append(_band_note(bands))
    notes.extend(warn_notes)
    if unfitted:
        notes.append("no stored power-law fit for: " + ", ".join(unfitted))
    return pts_all, curves_all, labels, colour_keys, notes


def _band_note(bands: set[str]) -> str:
    parts = []
    if "regression" in bands:
        parts.append("band: its 95 % confidence band")
    if "pivot" in bands:
        parts.append("band: β 95 % interval pivoting at the log-centre of the fitted range")
    if "none" in bands:
        parts.append("no band where the fit has an open β interval")
    return "dashed: power-law fit I = A·L^β over the fitted range; " + "; ".join(parts)


def _point_tooltip(points: pl.DataFrame) -> list[alt.Tooltip]:
    tips = [alt.Tooltip("series:N", title="series")]
    tips.append(alt.Tooltip("x:Q", title="L (tokens)", format=",d"))
    if "split_at" in points.columns:
        tips.append(alt.Tooltip("split_at:Q", title="ℓ (tokens)", format=",d"))
    if "ratio" in points.columns:
        tips.append(alt.Tooltip("ratio:Q", title="L/ℓ"))
    tips.append(alt.Tooltip("y:Q", title="I (nats)", format=".4g"))
    tips.append(alt.Tooltip("stderr:Q", title="stderr (nats)", format=".3g"))
    if "n" in points.columns:
        tips.append(alt.Tooltip("n:Q", title="n (pairs)", format=",d"))
    if "run_id" in points.columns:
        tips.append(alt.Tooltip("run_id:N", title="run"))
    return tips


CURVE_TOOLTIP = [
    alt.Tooltip("series:N", title="series"),
    alt.Tooltip("beta:Q", title="β", format=".4f"),
    alt.Tooltip("beta_lo:Q", title="β 95 % lo", format=".4f"),
    alt.Tooltip("beta_hi:Q", title="β 95 % hi", format=".4f"),
    alt.Tooltip("amplitude:Q", title="A (nats)", format=".4g"),
    alt.Tooltip("r2:Q", title="R² (log I)", format=".4f"),
    alt.Tooltip("n_points:Q", title="points fitted"),
    alt.Tooltip("verdict:N", title="preferred law"),
    alt.Tooltip("band_method:N", title="band"),
    alt.Tooltip("fit_warnings:N", title="fit warnings"),
]


def _finish(
    points: pl.DataFrame,
    curves: pl.DataFrame | None,
    labels: list[str],
    colour_keys: dict[str, str],
    notes: list[str],
    *,
    title: str,
    legend_title: str,
    fixed_colours: dict[str, str],
    connect: Sequence[str] = (),
) -> alt.LayerChart:
    n_all = points.height
    points = points.filter(pl.col("y").is_not_null() & (pl.col("y") > 0))
    dropped = dropped_note(n_all - points.height, "I ≤ 0 (or missing)")
    if points.height == 0:
        raise InputError(
            f"every bipartite MI value is ≤ 0 or missing ({n_all} rows): nothing to draw on "
            "log axes",
            "check the estimator (a bias-dominated series can be negative at small L)",
        )
    floor = float(points["y"].min()) / 2
    points, n_clipped = clip_lower(points, "y_lo", floor)
    has_bars = points.filter(pl.col("y_lo").is_not_null()).height > 0
    lines = [
        ERRORBAR_NOTE if has_bars else "no stderr: no error bars",
        *notes,
        dropped,
        None
        if n_clipped == 0
        else f"{n_clipped} lower error bars reach ≤ 0 and are cut at the axis (log scale)",
    ]
    scale = color_scale(
        labels,
        {
            lab: fixed_colours[colour_keys[lab]]
            for lab in labels
            if colour_keys[lab] in fixed_colours
        },
    )
    layers = series_layers(
        points,
        curves,
        x_title=X_TITLE,
        y_title=Y_TITLE,
        color=scale,
        legend_title=legend_title,
        point_tooltip=_point_tooltip(points),
        curve_tooltip=CURVE_TOOLTIP,
        connect=connect,
    )
    return layered(layers, title=title, notes=subtitle(lines))


def bipartite_mi_chart(
    estimates: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    estimators: Sequence[str] | None = None,
    ratio: int | None = 2,
    run_id: str | None = None,
    source: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. 2 b–c: I_BP(ℓ = L/ratio; L) against L on log-log axes, one colour per estimator.

    Points are the estimates with error bars ±1.96·stderr; the dashed line is the stored power
    law I = A·L^β of each series over its fitted range, with the 95 % band described in the
    module docstring; the legend carries β and its 95 % interval, the tooltips every number.

    estimators: default the main-text ones present: 'direct' (else 'direct_uncorrected') and
    'vclub'. ratio: L/ℓ (default 2, ℓ = L/2; None keeps every ratio as its own series).
    run_id/source: keep only that run or source (both frames). Points with I ≤ 0 cannot be
    shown on the log axis: they are dropped and counted in the subtitle.
    """
    builder = "bipartite_mi_chart"
    frame = _prepare(estimates, builder)
    frame = filter_equal(frame, "run_id", run_id, builder=builder, arg="estimates")
    frame = filter_equal(frame, "source", source, builder=builder, arg="estimates")
    if ratio is not None:
        frame = filter_equal(frame, "ratio", ratio, builder=builder, arg="estimates")
    chosen = list(estimators) if estimators is not None else _default_estimators(frame)
    frame = filter_equal(frame, "estimator", chosen, builder=builder, arg="estimates")
    fit_rows = None
    if fits is not None:
        fit_rows = _prepare_fits(fits, builder)
        for col, val in (("run_id", run_id), ("source", source)):
            if val is not None and col in fit_rows.columns:
                fit_rows = fit_rows.filter(pl.col(col) == val)
    points, curves, labels, keys, notes = _series_frames(
        frame,
        fit_rows,
        group="estimator",
        group_label=lambda e: ESTIMATOR_LABELS.get(e, e),
        builder=builder,
    )
    where = f"ℓ = L/{ratio}" if ratio is not None else "all ratios L/ℓ"
    title = title or f"Bipartite mutual information vs length ({where})"
    return _finish(
        points,
        curves,
        labels,
        keys,
        notes,
        title=title,
        legend_title="estimator (fit: I = A·L^β, β with 95 % CI)",
        fixed_colours=ESTIMATOR_COLORS,
    )


def estimator_comparison_chart(
    estimates: pl.DataFrame,
    *,
    estimators: Sequence[str] | None = None,
    ratio: int | None = 2,
    run_id: str | None = None,
    source: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. A.1: every bipartite estimator of one run on the same log-log axes.

    estimators: default those present of exact, direct, direct_uncorrected, vclub, exact_vclub
    (exact: the true I_BP of Gaussian runs; exact_vclub: what vCLUB converges to when q = p).
    Points are joined per estimator so the small-L bias of the uncorrected estimator and the
    convergence at large L read at a glance; error bars ±1.96·stderr.
    """
    builder = "estimator_comparison_chart"
    frame = _prepare(estimates, builder)
    frame = filter_equal(frame, "run_id", run_id, builder=builder, arg="estimates")
    frame = filter_equal(frame, "source", source, builder=builder, arg="estimates")
    if ratio is not None:
        frame = filter_equal(frame, "ratio", ratio, builder=builder, arg="estimates")
    if estimators is None:
        present = set(frame["estimator"].to_list())
        estimators = [e for e in COMPARISON_ORDER if e in present]
        if not estimators:
            raise no_rows_left(
                builder,
                "estimates",
                f"estimators {list(COMPARISON_ORDER)}",
                values_of(frame, "estimator"),
            )
    frame = filter_equal(frame, "estimator", list(estimators), builder=builder, arg="estimates")
    order = {e: i for i, e in enumerate(estimators)}
    frame = frame.sort(pl.col("estimator").replace_strict(order, default=len(order)), "length")
    points, _, labels, keys, notes = _series_frames(
        frame,
        None,
        group="estimator",
        group_label=lambda e: ESTIMATOR_LABELS.get(e, e),
        builder=builder,
    )
    where = f"ℓ = L/{ratio}" if ratio is not None else "all ratios L/ℓ"
    title = title or f"Bipartite MI estimators compared ({where})"
    return _finish(
        points,
        None,
        labels,
        keys,
        notes,
        title=title,
        legend_title="estimator",
        fixed_colours=ESTIMATOR_COLORS,
        connect=ordered_unique(points["series"].to_list()),
    )


def ratio_chart(
    estimates: pl.DataFrame,
    fits: pl.DataFrame | None = None,
    *,
    estimator: str | None = None,
    ratios: Sequence[int] = (2, 3, 4),
    run_id: str | None = None,
    source: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Fig. A.3: I_BP against L for the ratios L/ℓ = 2, 3, 4 of one estimator, each with its fit.

    estimator: default 'direct' (else the first of the main-text estimators present). Colours
    are the ratios; the legend carries each ratio's β with its 95 % interval.
    """
    builder = "ratio_chart"
    frame = _prepare(estimates, builder)
    if "ratio" not in frame.columns:
        raise InputError(
            f"{builder}: `estimates` has no `ratio` column (L/ℓ)",
            "pass rows of mi_estimates or queries/bipartite_mi.sql, which carry `ratio`",
        )
    frame = filter_equal(frame, "run_id", run_id, builder=builder, arg="estimates")
    frame = filter_equal(frame, "source", source, builder=builder, arg="estimates")
    estimator = estimator or _default_estimators(frame)[0]
    frame = filter_equal(frame, "estimator", estimator, builder=builder, arg="estimates")
    frame = filter_equal(frame, "ratio", list(ratios), builder=builder, arg="estimates")
    frame = frame.sort("ratio", "length")
    fit_rows = None
    if fits is not None:
        fit_rows = _prepare_fits(fits, builder)
        for col, val in (("run_id", run_id), ("source", source)):
            if val is not None and col in fit_rows.columns:
                fit_rows = fit_rows.filter(pl.col(col) == val)
    points, curves, labels, keys, notes = _series_frames(
        frame, fit_rows, group="ratio", group_label=lambda r: f"L/ℓ = {r}", builder=builder
    )
    title = title or f"Bipartite MI for ratios L/ℓ = {', '.join(map(str, ratios))}"
    title += f" — {ESTIMATOR_LABELS.get(estimator, estimator)}"
    return _finish(
        points,
        curves,
        labels,
        keys,
        notes,
        title=title,
        legend_title="ratio L/ℓ (fit: I = A·L^β, β with 95 % CI)",
        fixed_colours={},
    )
