"""Curves and 95 % bands of the stored fits (rows of the ``fits`` table), for drawing.

Power law I = A·L^β (``law = 'power'``) is a straight line y = c₀ + c₁·t in t = log L,
y = log I (c₀ = log A, c₁ = β). The fits store the 95 % t-intervals of both coefficients:
[exponent_lo, exponent_hi] for c₁ and (detail) [amplitude_lo, amplitude_hi] for A, so
h₁ = (β_hi − β_lo)/2 = t·se(β) and h₀ = (log A_hi − log A_lo)/2 = t·se(log A).

**Band "regression"** (used whenever the data allow): the pointwise 95 % confidence band of the
fitted line, exactly what statsmodels' ``get_prediction().conf_int()`` gives for that fit. For a
(weighted) least-squares line cov(c₀, c₁) = −t̄·var(c₁), t̄ the (weighted) mean of log L over
the fitted points, so

    half-width(t) = sqrt(h₀² + (t² − 2·t·t̄)·h₁²)      (the t quantile is already in h₀, h₁)

t̄ is recomputed from the estimates: the points the fit used are the series' positive values
with x_min ≤ L ≤ x_max (``l2m_analysis.exponents.fit_mi_series``), weighted by (I/σ)² when
``detail.weighted``. It is used only when their count equals ``n_points`` and h₀² ≥ t̄²·h₁².

**Band "pivot"** (fallback: no amplitude interval, or the fitted points cannot be matched):
the envelope of the lines through the fitted value at the log-centre of the fitted range,
t_c = (log x_min + log x_max)/2, with slopes β_lo and β_hi. It shows the exponent's
uncertainty only and has zero width at t_c; charts say which band they draw.

The log law I = a·log L + b (``law = 'log'``: amplitude = a, offset_c = b, on the linear I
scale) gets the same two bands on y = I (h₁ from detail.slope_lo/hi, h₀ = h₁·se(b)/se(a)).
The two-point decay I = A·d^(−α) + C (``law = 'decay'``) gets the pivot band of A·d^(−α) in
log-log (its α interval is a profile interval; no joint covariance is stored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from l2m_analysis.charts._common import parse_detail


@dataclass(frozen=True)
class Curve:
    """A fitted curve on a grid of x; lo/hi None when no band can be drawn."""

    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray | None
    hi: np.ndarray | None
    band: str  # "regression", "pivot" or "none"


def _finite(*values: object) -> bool:
    return all(v is not None and math.isfinite(float(v)) for v in values)  # type: ignore[arg-type]


def grid(x_min: float, x_max: float, n: int = 60) -> np.ndarray:
    """n log-spaced points from x_min to x_max."""
    return np.geomspace(float(x_min), float(x_max), n)


def _fit_grid(fit: dict, n: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(x, t = log x, t_c): the fit's grid over [x_min, x_max], shape (n,), and the log-centre
    t_c = (log x_min + log x_max)/2 of the fitted range, where the pivot band pivots."""
    xs = grid(fit["x_min"], fit["x_max"], n)
    t_c = (math.log(float(fit["x_min"])) + math.log(float(fit["x_max"]))) / 2
    return xs, np.log(xs), t_c


def _exp_curve(xs: np.ndarray, centre, lo, hi, method: str) -> Curve:
    """The Curve of a line drawn in log y: exp of the centre and of the band ends."""
    return Curve(
        xs,
        np.exp(centre),
        None if lo is None else np.exp(lo),
        None if hi is None else np.exp(hi),
        method,
    )


def fitted_points_mean(
    x: np.ndarray,
    y: np.ndarray,
    se: np.ndarray | None,
    fit: dict,
    *,
    weight: str,
) -> float | None:
    """t̄: the (weighted) mean of log x over the points the fit used, or None if unmatched.

    weight: "power" -> (y/σ)², "log" -> 1/σ², when the fit was weighted (detail.weighted).
    """
    x_min, x_max, n_points = fit.get("x_min"), fit.get("x_max"), fit.get("n_points")
    if not _finite(x_min, x_max) or n_points is None:
        return None
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    tol = 1e-9 * max(abs(float(x_max)), 1.0)
    used = np.isfinite(x) & np.isfinite(y) & (y > 0)
    used &= (x >= float(x_min) - tol) & (x <= float(x_max) + tol)
    # the fit averaged repeated x into one point
    xs = np.unique(x[used])
    if xs.size != int(n_points) or xs.size < 2:
        return None
    t = np.log(xs)
    if not parse_detail(fit.get("detail")).get("weighted"):
        return float(t.mean())
    if se is None:
        return None
    se = np.asarray(se, dtype=float)
    w = []
    for xv in xs:
        m = used & (x == xv)
        yv, sv = y[m].mean(), np.sqrt(np.mean(se[m] ** 2))
        if not (np.isfinite(sv) and sv > 0):
            return None
        w.append((yv / sv) ** 2 if weight == "power" else 1.0 / sv**2)
    w = np.asarray(w)
    return float(np.sum(w * t) / np.sum(w))


def _line_band(t, c0, c1, h0, h1, t_bar, slope_lo, slope_hi, t_c):
    """(centre, lo, hi, method) of y = c0 + c1·t: regression band if possible, else pivot."""
    centre = c0 + c1 * t
    if t_bar is not None and h0 is not None and _finite(h0, h1):
        var0 = h0**2 - t_bar**2 * h1**2  # (t·σ)²/Σw ≥ 0 for a consistent fit
        if var0 >= -1e-9 * max(h0**2, 1e-300):
            half = np.sqrt(np.maximum(h0**2 + (t**2 - 2 * t * t_bar) * h1**2, 0.0))
            return centre, centre - half, centre + half, "regression"
    if _finite(slope_lo, slope_hi):
        y_c = c0 + c1 * t_c
        a = y_c + float(slope_lo) * (t - t_c)
        b = y_c + float(slope_hi) * (t - t_c)
        return centre, np.minimum(a, b), np.maximum(a, b), "pivot"
    return centre, None, None, "none"


def power_law_curve(fit: dict, x=None, y=None, se=None, n: int = 60) -> Curve:
    """I = A·L^β over [x_min, x_max] with its 95 % band (see the module docstring)."""
    amp, beta = fit.get("amplitude"), fit.get("exponent")
    xs, t, t_c = _fit_grid(fit, n)
    c0, c1 = math.log(float(amp)), float(beta)
    detail = parse_detail(fit.get("detail"))
    lo_b, hi_b = fit.get("exponent_lo"), fit.get("exponent_hi")
    a_lo, a_hi = detail.get("amplitude_lo"), detail.get("amplitude_hi")
    h0 = h1 = None
    if _finite(lo_b, hi_b) and _finite(a_lo, a_hi) and float(a_lo) > 0 and float(a_hi) > 0:
        h1 = (float(hi_b) - float(lo_b)) / 2
        h0 = (math.log(float(a_hi)) - math.log(float(a_lo))) / 2
    t_bar = None
    if h0 is not None and x is not None and y is not None:
        t_bar = fitted_points_mean(x, y, se, fit, weight="power")
    return _exp_curve(xs, *_line_band(t, c0, c1, h0, h1, t_bar, lo_b, hi_b, t_c))


def log_law_curve(fit: dict, x=None, y=None, se=None, n: int = 60) -> Curve:
    """I = a·log L + b over [x_min, x_max] with its 95 % band on the linear I scale."""
    a, b = float(fit["amplitude"]), float(fit["offset_c"])
    xs, t, t_c = _fit_grid(fit, n)
    detail = parse_detail(fit.get("detail"))
    s_lo, s_hi = detail.get("slope_lo"), detail.get("slope_hi")
    se_a, se_b = detail.get("slope_stderr"), detail.get("intercept_stderr")
    h0 = h1 = None
    if _finite(s_lo, s_hi, se_a, se_b) and float(se_a) > 0:
        h1 = (float(s_hi) - float(s_lo)) / 2
        h0 = h1 * float(se_b) / float(se_a)
    t_bar = None
    if h0 is not None and x is not None and y is not None:
        t_bar = fitted_points_mean(x, y, se, fit, weight="log")
    centre, lo, hi, method = _line_band(t, b, a, h0, h1, t_bar, s_lo, s_hi, t_c)
    return Curve(xs, centre, lo, hi, method)


def decay_curve(fit: dict, n: int = 60) -> tuple[Curve, np.ndarray]:
    """(A·d^(−α) with its pivot band, A·d^(−α) + C on the same grid) over [x_min, x_max]."""
    amp, alpha = float(fit["amplitude"]), float(fit["exponent"])
    offset = fit.get("offset_c")
    offset = float(offset) if _finite(offset) else 0.0
    xs, t, t_c = _fit_grid(fit, n)
    lo_a, hi_a = fit.get("exponent_lo"), fit.get("exponent_hi")
    slopes = (
        (-float(hi_a), -float(lo_a)) if _finite(lo_a, hi_a) else (None, None)
    )  # slope of log(A d^-α) is −α
    centre, lo, hi, method = _line_band(
        t, math.log(amp), -alpha, None, None, None, slopes[0], slopes[1], t_c
    )
    return _exp_curve(xs, centre, lo, hi, method), np.exp(centre) + offset
