"""Stored fits as curves: the fitted law and its 95 % band at any x, from one ``fits`` row.

A row is a dict of the ``fits`` table (``detail`` as a JSON string or a dict). In t = log x the
power law is the line log I = c₀ + c₁·t (c₀ = log A, c₁ = β) and the log law the line
I = b + a·t; the fit stores the standard errors of both coefficients and their covariance
(``log_amplitude_stderr``, ``exponent_stderr``, ``cov_log_amplitude_exponent``; for the log law
``intercept_stderr``, ``slope_stderr``, ``cov_intercept_slope``), so the band is the fitted
line's pointwise confidence band, exactly statsmodels' ``get_prediction().conf_int()``:

    half-width(t) = q · sqrt(var c₀ + 2·t·cov(c₀, c₁) + t²·var c₁),  q = t-quantile, n − 2 df

It widens away from the fitted points, so it also bounds an extrapolation (``crossing``).
A row without the covariance (fitted before it was stored) and the two-point decay
I = A·d^(−α) + C (its α interval is a profile interval, no joint covariance) get the *pivot*
band instead: the lines through the fitted value at the log-centre of the fitted range with
slopes at the two ends of the exponent's interval; it shows the exponent's uncertainty only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as t_dist


@dataclass(frozen=True)
class Band:
    """A fitted curve at x (shape (n,)): y and its 95 % band lo/hi (None: no band), in the
    unit of the fitted quantity (nats); method "covariance", "pivot" or "none"."""

    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray | None
    hi: np.ndarray | None
    method: str


def detail(row: dict) -> dict:
    """The row's ``detail`` JSON as a dict (empty when missing or unreadable)."""
    value = row.get("detail")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, dict) else {}


def _finite(*values: object) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def _line(row: dict, x, c0: float, c1: float, cov: tuple | None, slopes: tuple) -> Band:
    """The line c0 + c1·t at t = log x (default x: the fitted range) with its covariance band
    when ``cov`` = (var c0, cov(c0, c1), var c1) is known, else the pivot band of the slopes
    ``slopes`` = (lo, hi), else none."""
    x = np.geomspace(row["x_min"], row["x_max"], 60) if x is None else np.asarray(x, float)
    t = np.log(x)
    centre = c0 + c1 * t
    if cov is not None and _finite(*cov, row.get("n_points")) and row["n_points"] > 2:
        q = t_dist.ppf(0.5 + (detail(row).get("ci_level") or 0.95) / 2, row["n_points"] - 2)
        half = q * np.sqrt(np.maximum(cov[0] + 2 * t * cov[1] + t**2 * cov[2], 0.0))
        return Band(x, centre, centre - half, centre + half, "covariance")
    if _finite(*slopes):
        t_c = (math.log(row["x_min"]) + math.log(row["x_max"])) / 2
        ends = [c0 + c1 * t_c + s * (t - t_c) for s in slopes]
        return Band(x, centre, np.minimum(*ends), np.maximum(*ends), "pivot")
    return Band(x, centre, None, None, "none")


def _exp(b: Band) -> Band:
    """A line drawn in log I, back in I."""
    return Band(
        b.x, np.exp(b.y), *(None if e is None else np.exp(e) for e in (b.lo, b.hi)), b.method
    )


def _cov(row: dict, se0: str, se1: str, cov: str) -> tuple | None:
    """(var c0, cov, var c1) from the ``detail`` keys of the two standard errors and the
    covariance, or None when the row lacks them (fitted before they were stored)."""
    d = detail(row)
    values = d.get(se0), d.get(cov), d.get(se1)
    return (values[0] ** 2, values[1], values[2] ** 2) if _finite(*values) else None


def power_law_band(row: dict, x=None) -> Band:
    """I = A·L^β (``law = 'power'``) and its band at x (default: the fitted range), nats."""
    cov = _cov(row, "log_amplitude_stderr", "exponent_stderr", "cov_log_amplitude_exponent")
    slopes = row.get("exponent_lo"), row.get("exponent_hi")
    return _exp(_line(row, x, math.log(row["amplitude"]), row["exponent"], cov, slopes))


def log_law_band(row: dict, x=None) -> Band:
    """I = a·log L + b (``law = 'log'``: amplitude a, offset_c b) and its band at x, nats."""
    cov = _cov(row, "intercept_stderr", "slope_stderr", "cov_intercept_slope")
    slopes = detail(row).get("slope_lo"), detail(row).get("slope_hi")
    return _line(row, x, row["offset_c"], row["amplitude"], cov, slopes)


def decay_band(row: dict, x=None) -> Band:
    """A·d^(−α) of the decay I = A·d^(−α) + C (``law = 'decay'``) with its pivot band, nats;
    add ``row['offset_c']`` for the fitted I."""
    lo, hi = row.get("exponent_lo"), row.get("exponent_hi")
    slopes = (-hi, -lo) if _finite(lo, hi) else (None, None)
    return _exp(_line(row, x, math.log(row["amplitude"]), -row["exponent"], None, slopes))


def crossing(row: dict, capacity, x_max: float = 2.0**200) -> tuple[float | None, ...]:
    """(L, L_lo, L_hi): the smallest x where the power law of ``row`` exceeds ``capacity(x)``
    (a vectorized function of x, nats), and where its band's upper and lower curves do (the
    inversion of the confidence band, Fieller's interval for a straight-line crossing); None
    where it never does up to ``x_max``. Resolution: x steps of 2^(1/64) (1.1 %)."""
    grid = 2.0 ** np.arange(1.0, math.log2(x_max), 1 / 64)
    band, limit = power_law_band(row, grid), capacity(grid)
    above = [np.flatnonzero(curve > limit) for curve in (band.y, band.hi, band.lo)]
    return tuple(float(grid[a[0]]) if a.size else None for a in above)
