"""The bipartite-MI series of ``charts.bipartite``: estimates rows and stored power-law fits in,
the points and fitted curves ``series_layers`` draws out.

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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from l2m_analysis.charts._common import (
    filter_equal,
    finite_floats,
    fit_warnings,
    fmt,
    interval,
    parse_detail,
    require_frame,
    varying,
    z95_bounds,
)
from l2m_analysis.charts._fitcurves import power_law_curve
from l2m_analysis.charts._layers import curve_frame, exponent_columns
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


def prepare_estimates(estimates: object, builder: str) -> pl.DataFrame:
    """The bipartite rows of ``estimates`` with finite floats and a ``stderr`` column (nats;
    all null when the input has none)."""
    frame = require_frame(
        estimates, builder=builder, arg="estimates", required=ESTIMATES_REQUIRED, fix=ESTIMATES_FIX
    )
    if "quantity" in frame.columns:
        frame = filter_equal(frame, "quantity", "bipartite", builder=builder, arg="estimates")
    frame = finite_floats(frame, ["value", "stderr", "length"])
    if "stderr" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("stderr"))
    return frame


def default_estimators(frame: pl.DataFrame) -> list[str]:
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


def prepare_fits(
    fits: object, builder: str, run_id: str | None, source: str | None
) -> pl.DataFrame | None:
    """The bipartite ``law = 'power'`` rows of ``fits`` (None: no fits), of that run/source
    when given and the frame has the column."""
    if fits is None:
        return None
    frame = require_frame(fits, builder=builder, arg="fits", required=FITS_REQUIRED, fix=FITS_FIX)
    frame = frame.filter(pl.col("law") == "power")
    if "quantity" in frame.columns:
        frame = frame.filter(pl.col("quantity") == "bipartite")
    for col, val in (("run_id", run_id), ("source", source)):
        if val is not None and col in frame.columns:
            frame = frame.filter(pl.col(col) == val)
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


def _band_note(bands: set[str]) -> str:
    parts = []
    if "regression" in bands:
        parts.append("band: its 95 % confidence band")
    if "pivot" in bands:
        parts.append("band: β 95 % interval pivoting at the log-centre of the fitted range")
    if "none" in bands:
        parts.append("no band where the fit has an open β interval")
    return "dashed: power-law fit I = A·L^β over the fitted range; " + "; ".join(parts)


def _curve(fit: dict, rows: pl.DataFrame, label: str) -> tuple[pl.DataFrame, str, list[str]]:
    """(curve frame, band method, fit warnings) of one series' stored power law: I = A·L^β on
    60 points over [x_min, x_max] (nats), its 95 % band and the tooltip columns."""
    se = rows["stderr"]
    curve = power_law_curve(
        fit,
        rows["length"].to_numpy().astype(float),
        rows["value"].to_numpy(),
        None if se.null_count() == se.len() else se.to_numpy(),
    )
    warnings = fit_warnings(fit)
    frame = curve_frame(label, curve.x, curve.y, curve.lo, curve.hi).with_columns(
        *exponent_columns(fit, "beta"),
        pl.lit(fit.get("r2"), dtype=pl.Float64).alias("r2"),
        pl.lit(fit.get("n_points"), dtype=pl.Int64).alias("n_points"),
        pl.lit(_verdict(fit)).alias("verdict"),
        pl.lit(curve.band).alias("band_method"),
        pl.lit("; ".join(warnings) or "none").alias("fit_warnings"),
    )
    return frame, curve.band, warnings


def series_frames(
    frame: pl.DataFrame,
    fits: pl.DataFrame | None,
    *,
    group: str,
    group_label: Callable[[Any], str],
    builder: str,
) -> tuple[pl.DataFrame, pl.DataFrame | None, list[str], dict[str, str], list[str]]:
    """points, curves, series labels in order, label -> fixed colour key, notes.

    One series per distinct value of the key columns (``SERIES_KEYS``) present, named by
    ``group_label(value of group)`` (plus run/source when those vary) and, with a matched fit,
    its β with the 95 % interval. points: series, x = L (tokens), y = I (nats), y_lo/y_hi
    (± 1.96·stderr) and the input columns; curves: see ``_curve`` (None without fits).
    """
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
        points.append(
            rows.with_columns(
                pl.lit(label).alias("series"),
                pl.col("length").cast(pl.Float64).alias("x"),
                pl.col("value").alias("y"),
                *z95_bounds("value", "stderr"),
            )
        )
        if fit is not None:
            curve, band, warnings = _curve(fit, rows, label)
            bands.add(band)
            if warnings:
                warn_notes.append(f"fit warnings, {base}: " + "; ".join(warnings))
            curves.append(curve)
    pts_all = pl.concat(points, how="diagonal_relaxed")
    curves_all = pl.concat(curves, how="diagonal_relaxed") if curves else None
    if curves_all is not None:
        notes.append(_band_note(bands))
    notes.extend(warn_notes)
    if unfitted:
        notes.append("no stored power-law fit for: " + ", ".join(unfitted))
    return pts_all, curves_all, labels, colour_keys, notes
