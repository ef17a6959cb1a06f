"""MI series of one run: ``mi_estimates`` rows and their stored fits in, the log-log chart of
points and fitted curves (``layers.series_chart``) out.

Inputs (nats): ``estimates``, rows of the ``mi_estimates`` table of ONE run (columns
``ESTIMATES``; ``SELECT * FROM mi_estimates WHERE run_id = ?``), and ``fits``, rows of the
``fits`` table (columns ``FITS``) or None. A series is one (source, estimator, ratio) of the
run; its fit is the ``fits`` row of the same run, quantity and series with the law asked for.
Curves and bands come from the fit row itself (``fits.bands``); no statistics are redone here.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import polars as pl

from l2m_analysis.charts.common import finite, one_run, pick, require, z95
from l2m_analysis.charts.layers import band_note, curve_frame, series_chart
from l2m_analysis.fits import describe
from l2m_analysis.fits.bands import Band, decay_band, log_law_band, power_law_band

ESTIMATES = ("run_id", "source", "quantity", "estimator", "ratio", "length", "distance",
             "value", "stderr")  # fmt: skip
FITS = ("run_id", "source", "quantity", "estimator", "ratio", "law", "exponent", "exponent_lo",
        "exponent_hi", "amplitude", "offset_c", "x_min", "x_max", "n_points", "preferred_law",
        "warnings", "n_dropped", "drop_reason", "detail")  # fmt: skip
ESTIMATES_FIX = (
    "pass the rows of the mi_estimates table of one run (SELECT * FROM mi_estimates WHERE "
    "run_id = ?); `python -m pipelines.gaussian_mi` or `pipelines.bipartite_mi` write them"
)
FITS_FIX = (
    "pass rows of the fits table (SELECT * FROM fits), written by `python -m "
    "pipelines.fit_exponents`; or fits=None to draw the points only"
)
KEYS = ("source", "estimator", "ratio")
POINT_TIPS = {"x": "L or d (tokens)", "ratio": "L/ℓ", "y": "I (nats)", "stderr": "stderr (nats)",
              "n": "samples or pairs"}  # fmt: skip


def run_rows(estimates: object, builder: str, quantity: str, **filters: object) -> pl.DataFrame:
    """The run's rows of ``quantity`` ('bipartite': x = L, 'two_point': x = d, tokens) that match
    ``filters``, with y = value and y_lo/y_hi = value ∓ 1.96·stderr (nats), sorted by series, x."""
    rows = require(estimates, builder, "estimates", ESTIMATES, ESTIMATES_FIX)
    rows = one_run(
        pick(rows, builder, "estimates", quantity=quantity, **filters), builder, "estimates"
    )
    x = pl.col("length" if quantity == "bipartite" else "distance").cast(pl.Float64)
    rows = finite(rows, ["value", "stderr"]).with_columns(x.alias("x"), pl.col("value").alias("y"))
    return rows.with_columns(z95("y", "stderr")).sort(*KEYS, "x", nulls_last=True)


def run_fits(fits: object, builder: str, rows: pl.DataFrame) -> pl.DataFrame | None:
    """The ``fits`` rows of the run and quantity of ``rows`` (None: no fits)."""
    if fits is None:
        return None
    fits = require(fits, builder, "fits", FITS, FITS_FIX)
    return fits.filter(run_id=rows["run_id"][0], quantity=rows["quantity"][0])


def _fit(fits: pl.DataFrame | None, ident: dict, law: str) -> dict | None:
    """The series' fits row of ``law`` ('preferred': the law its fit prefers), or None."""
    if fits is None:
        return None
    same = fits.filter(source=ident["source"], estimator=ident["estimator"])
    same = same.filter(pl.col("ratio").eq_missing(ident["ratio"]))
    law = same["preferred_law"][0] if law == "preferred" and same.height else law
    same = same.filter(law=law)
    return same.row(0, named=True) if same.height else None


def curve(fit: dict, label: str) -> pl.DataFrame:
    """The fitted law of ``fit`` over its fitted range with its band (``fits.bands``); a decay
    is drawn as A·d^(−α) + C without a band (its band is the corrected part's)."""
    if fit["law"] == "decay":
        band = decay_band(fit)
        unbanded = Band(band.x, band.y, None, None, "none")
        return curve_frame(label, unbanded, fit["offset_c"] or 0.0, **fit_text(fit))
    band = (power_law_band if fit["law"] == "power" else log_law_band)(fit)
    return curve_frame(label, band, **fit_text(fit))


def fit_text(fit: dict) -> dict[str, str]:
    """The text columns of a fitted curve (its tooltip): law with its interval, verdict and
    warnings."""
    warnings = describe.warning_text(fit) or "none"
    return {"law": describe.exponent(fit), "verdict": describe.verdict(fit), "warnings": warnings}


def mi_chart(
    rows: pl.DataFrame,
    fits: pl.DataFrame | None,
    *,
    group: str,
    label: Callable[[object], str],
    law: str,
    fixed: dict[str, str] | None = None,
    join: bool = False,
    notes: tuple[str | None, ...] = (),
    **kwargs,
) -> alt.LayerChart:
    """The log-log chart of one series per (source, estimator, ratio) of ``rows``: named
    ``label(value of group)`` (and the source when several) and, with a fit of ``law`` ('power',
    'log', 'decay' or 'preferred'), its exponent with the 95 % interval; coloured ``fixed[value
    of group]`` or from the palette; ``join``: lines through each series' points. The subtitle
    names the band, every fit warning and the series without a stored fit; ``kwargs`` go to
    ``series_chart`` (title, axes, legend, …)."""
    several = rows["source"].n_unique() > 1 and group != "source"
    points, curves, colours, warned, unfitted = [], [], {}, [], []
    for key, part in rows.group_by(KEYS, maintain_order=True):
        ident = dict(zip(KEYS, key, strict=True))
        base = label(ident[group]) + (f" · {ident['source']}" if several else "")
        fit = _fit(fits, ident, law)
        name = base if fit is None else f"{base}: {describe.exponent(fit)}"
        colours[name] = (fixed or {}).get(ident[group])
        points.append(part.with_columns(series=pl.lit(name)))
        if fit is None:
            unfitted.append(base)
            continue
        curves.append(curve(fit, name))
        if describe.tags(fit):
            warned.append(f"fit warnings, {base}: {describe.warning_text(fit)}")
    curves = pl.concat(curves) if curves else None
    missing = "no stored fit for: " + ", ".join(unfitted) if fits is not None and unfitted else None
    return series_chart(
        pl.concat(points),
        curves,
        colours=colours,
        point_tips=POINT_TIPS,
        notes=[band_note(curves), *warned, missing, *notes],
        connect=list(colours) if join else (),
        **kwargs,
    )
