"""Two-point mutual information against distance d, with and without the bias floor (Fig. 2 e–f,
A.4).

Input ``two_point`` (nats): the output of ``queries/two_point_mi.sql`` for one run (columns
``COLUMNS``; ``floor``/``above_floor`` NULL when the run was counted without a shuffle
baseline). ``fits``: rows of the ``fits`` table; the run's ``law = 'decay'`` row of estimator
'grassberger' (I = A·d^(−α) + C, Eq. A.18) is drawn when present.

Series (log-log): the uncorrected I_d with A·d^(−α) + C through it; the shuffle baseline (the
estimator's bias floor); I_d − floor (stderr √(σ_I² + σ_floor²), the two independent); with a
fit, I_d − C (the paper's correction, Appx. A.VII) with A·d^(−α) and its pivot band.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from l2m_analysis.charts.common import one_run, require, z95
from l2m_analysis.charts.layers import band_note, curve_frame, series_chart
from l2m_analysis.charts.series import FITS, FITS_FIX, curve, fit_text
from l2m_analysis.charts.theme import GREY, PALETTE
from l2m_analysis.fits import describe
from l2m_analysis.fits.bands import decay_band

COLUMNS = ("run_id", "source", "distance", "mi", "mi_stderr", "floor", "floor_stderr",
           "above_floor", "n_pairs")  # fmt: skip
FIX = "pass the output of queries/two_point_mi.sql (`python -m pipelines.two_point_mi` fills it)"
RAW, FLOOR, ABOVE, MINUS_C = ("I_d, uncorrected", "shuffle baseline (bias floor)",
                              "I_d − shuffle baseline", "I_d − C (fitted offset)")  # fmt: skip
COLOURS = (PALETTE[0], GREY, PALETTE[2], PALETTE[1])  # of RAW, FLOOR, ABOVE, MINUS_C
TIPS = {"x": "d (tokens)", "y": "I (nats)", "stderr": "stderr (nats)", "n_pairs": "token pairs"}


def _series(frame: pl.DataFrame, label: str, y: pl.Expr, se: pl.Expr) -> pl.DataFrame:
    x = pl.col("distance").cast(pl.Float64).alias("x")
    rows = frame.select(
        pl.lit(label).alias("series"), x, y.alias("y"), se.alias("stderr"), "n_pairs"
    )
    return rows.with_columns(z95("y", "stderr"))


def two_point_mi_chart(two_point: pl.DataFrame, fits: pl.DataFrame | None = None) -> alt.LayerChart:
    """Fig. 2 e–f / A.4: I_d against d on log-log axes, uncorrected and bias-corrected: the
    estimator's positive bias makes I_d plateau at large d (the shuffle baseline shows that
    floor); subtracting it, or the fitted C, leaves the power-law decay. Values ≤ 0 (a
    corrected I_d below its floor) are dropped and counted in the subtitle."""
    builder = "two_point_mi_chart"
    frame = require(two_point, builder, "two_point", COLUMNS, FIX)
    frame = one_run(frame, builder, "two_point").sort("distance")
    fit = None
    if fits is not None:
        decay = require(fits, builder, "fits", FITS, FITS_FIX).filter(
            run_id=frame["run_id"][0], law="decay", estimator="grassberger"
        )
        fit = decay.row(0, named=True) if decay.height else None
    raw = RAW if fit is None else f"{RAW} (dashed: A·d^−α + C)"
    minus_c = MINUS_C if fit is None else f"{MINUS_C}: {describe.exponent(fit)}"
    parts = [_series(frame, raw, pl.col("mi"), pl.col("mi_stderr"))]
    baseline = frame.filter(pl.col("floor").is_not_null())
    if baseline.height:
        both = (pl.col("mi_stderr") ** 2 + pl.col("floor_stderr") ** 2).sqrt()
        parts += [
            _series(baseline, FLOOR, pl.col("floor"), pl.col("floor_stderr")),
            _series(baseline, ABOVE, pl.col("above_floor"), both),
        ]
    curves, notes = None, []
    if fit is not None:
        parts.append(_series(frame, minus_c, pl.col("mi") - fit["offset_c"], pl.col("mi_stderr")))
        text = fit_text(fit)
        curves = pl.concat([curve(fit, raw), curve_frame(minus_c, decay_band(fit), **text)])
        warned = f"fit warnings: {text['warnings']}" if describe.tags(fit) else None
        notes = [band_note(curves), warned]
    points = pl.concat(parts)
    drawn = set(points["series"])
    colours = {
        k: v for k, v in zip((raw, FLOOR, ABOVE, minus_c), COLOURS, strict=True) if k in drawn
    }
    return series_chart(
        points,
        curves,
        colours=colours,
        notes=notes,
        legend="series",
        title=f"Two-point mutual information vs distance — {frame['source'][0]}",
        axes=("distance d (tokens)", "two-point MI I_d (nats)"),
        point_tips=TIPS,
        connect=[FLOOR],
    )
