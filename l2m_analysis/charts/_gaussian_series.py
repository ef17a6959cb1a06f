"""The Gaussian families' series of ``charts.gaussian``: ``mi_estimates`` and ``fits`` rows in,
one series per family (``source``) out, as the points and curves ``series_layers`` draws.

Input ``estimates`` (nats): rows of the ``mi_estimates`` table. Required: ``source`` (the
family, e.g. 'gaussian_subvolume', 'gaussian_log'), ``quantity``, ``estimator``, ``value``;
``length`` for bipartite rows, ``distance`` for two-point rows; ``ratio`` selects ℓ = L/ratio.
Exact rows carry no stderr; rows that have one get error bars ±1.96·stderr.

Input ``fits`` (optional): rows of the ``fits`` table (columns as in ``charts.bipartite``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from l2m_analysis.charts._common import (
    filter_by,
    finite_floats,
    fit_warnings,
    no_rows_left,
    require_frame,
    values_of,
    z95_bounds,
)
from l2m_analysis.charts._layers import curve_frame

REQUIRED = ("source", "quantity", "estimator", "value")
FIX = (
    "pass rows of the mi_estimates table (columns source, quantity, estimator, value, length, "
    "distance, ratio[, stderr]); run `python -m pipelines.gaussian_mi`"
)
FITS_REQUIRED = ("source", "quantity", "estimator", "law", "exponent", "amplitude")
FITS_FIX = "pass rows of the fits table (run `python -m pipelines.fit_exponents`), or fits=None"


def family_label(source: str) -> str:
    """How a family is named in the legend: 'sub-volume (gaussian_subvolume)', 'log (…)'."""
    s = source.lower()
    if "subvolume" in s:
        return f"sub-volume ({source})"
    if "log" in s:
        return f"log ({source})"
    return source


def family_rows(
    estimates: object,
    builder: str,
    quantity: str,
    x_col: str,
    estimator: str,
    families: Sequence[str] | None,
    run_id: str | None,
) -> pl.DataFrame:
    """The rows of one quantity and estimator with a non-null ``x_col`` (``length`` or
    ``distance``, tokens), finite values and a ``stderr`` column (nats), sorted by family, x."""
    frame = require_frame(
        estimates, builder=builder, arg="estimates", required=(*REQUIRED, x_col), fix=FIX
    )
    frame = filter_by(
        frame,
        builder=builder,
        arg="estimates",
        run_id=run_id,
        quantity=quantity,
        estimator=estimator,
        source=None if families is None else list(families),
    )
    frame = frame.filter(pl.col(x_col).is_not_null())
    if frame.height == 0:
        raise no_rows_left(builder, "estimates", f"non-null {x_col}", values_of(frame, x_col))
    frame = finite_floats(frame, ["value", "stderr"])
    if "stderr" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("stderr"))
    return frame.sort("source", x_col)


def family_fits(fits: object, builder: str, quantity: str, estimator: str) -> pl.DataFrame | None:
    """The ``fits`` rows of one quantity and estimator (None: no fits)."""
    if fits is None:
        return None
    rows = require_frame(fits, builder=builder, arg="fits", required=FITS_REQUIRED, fix=FITS_FIX)
    return rows.filter((pl.col("quantity") == quantity) & (pl.col("estimator") == estimator))


def pick_fit(rows: pl.DataFrame | None, source: str, run_id, ratio, law: str | None) -> dict | None:
    """The first fits row of that family (and run, ratio, law where given and present)."""
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


def family_points(frame: pl.DataFrame, x_col: str, labels: dict[str, str]) -> pl.DataFrame:
    """The points: series = the family's legend label, x = ``x_col`` (tokens), y = value (nats)
    with y_lo/y_hi = ± 1.96·stderr."""
    return frame.with_columns(
        pl.col("source").replace_strict(labels, default=pl.col("source")).alias("series"),
        pl.col(x_col).cast(pl.Float64).alias("x"),
        pl.col("value").alias("y"),
        *z95_bounds("value", "stderr"),
    )


def family_curve(
    source: str,
    label: str,
    fit: dict,
    x: np.ndarray,
    y: np.ndarray,
    lo: np.ndarray | None,
    hi: np.ndarray | None,
    *,
    law: str,
    parameter: str,
    band_method: str,
) -> tuple[pl.DataFrame, str | None]:
    """(curve frame, subtitle note on the fit's warnings or None) of one family's fitted law:
    the fitted values ``y`` (nats) and band ``lo``/``hi`` on the grid ``x``, shape (n,), with
    the tooltip columns law, parameter, r2, band_method and fit_warnings."""
    warnings = fit_warnings(fit)
    extra = {
        "law": law,
        "parameter": parameter,
        "r2": fit.get("r2"),
        "band_method": band_method,
        "fit_warnings": "; ".join(warnings) or "none",
    }
    frame = curve_frame(label, x, y, lo, hi).with_columns(
        [
            pl.lit(v, dtype=pl.Float64 if isinstance(v, float) else None).alias(k)
            for k, v in extra.items()
        ]
    )
    note = f"fit warnings, {source}: " + "; ".join(warnings) if warnings else None
    return frame, note
