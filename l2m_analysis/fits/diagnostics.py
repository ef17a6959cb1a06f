"""Warnings that mark a fitted row as uninformative; each rule is one function.

``fit_warnings(row, x, y, stderr, min_points)`` -> the list of warnings of one ``fits`` row (the
dict of ``.to_row()``; an infinite interval end is None there). The rules:

* "interval spans 0": exponent_lo ≤ 0 ≤ exponent_hi, an open end counting as ∓∞ (the data do
  not tell a decay/growth from a constant).
* "open interval": exponent_lo or exponent_hi is infinite (None).
* "R² < 0.5": the fit's own R² (see the law's docstring for its scale) is below 0.5.
* "few points": n_points is at the minimum the fit accepts, max(min_points, the law's own
  minimum: 3 for power/log, 4 for decay), so at most one degree of freedom is left over.
* "rising tail" (decay only): the tail, the ⌈n/3⌉ (at least 3) points with the largest d, rises
  with log d: the least-squares slope of I on log d over the tail (weights 1/σ² with stderr)
  is positive at one-sided level 1% — z = slope/se > 2.326 with se from the known σ, or
  t > t(0.99; m − 2) with se from the tail's residuals when there is no stderr. A decay with a
  constant floor cannot rise, so such a tail is the estimator's bias drifting with d, not MI.

Interval rules apply to rows with an exponent (power, decay), not to the log law's row.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm
from scipy.stats import t as t_dist

from l2m_analysis.fits.common import MIN_POINTS

SPANS_ZERO = "interval spans 0"
OPEN_INTERVAL = "open interval"
LOW_R2 = "R² < 0.5"
FEW_POINTS = "few points"
RISING_TAIL = "rising tail"
TAIL_LEVEL = 0.01  # one-sided level of the rising-tail test


def fit_warnings(
    row: dict, x: np.ndarray, y: np.ndarray, stderr: np.ndarray | None, min_points: int
) -> list[str]:
    """Warnings for one fitted row over the points it used: x, y (nats), stderr, shape (n,)."""
    out = []
    if row.get("exponent") is not None:
        lo, hi = _end(row.get("exponent_lo"), -math.inf), _end(row.get("exponent_hi"), math.inf)
        if lo <= 0.0 <= hi:
            out.append(SPANS_ZERO)
        if math.isinf(lo) or math.isinf(hi):
            out.append(OPEN_INTERVAL)
    r2 = row.get("r2")
    if r2 is not None and math.isfinite(r2) and r2 < 0.5:
        out.append(LOW_R2)
    if row["n_points"] <= max(min_points, MIN_POINTS[row["law"]]):
        out.append(FEW_POINTS)
    if row["law"] == "decay" and rising_tail(x, y, stderr):
        out.append(RISING_TAIL)
    return out


def rising_tail(x: np.ndarray, y: np.ndarray, stderr: np.ndarray | None) -> bool:
    """Whether the ⌈n/3⌉ (≥ 3) points of largest x have a significantly positive slope of y on
    log x (one-sided level ``TAIL_LEVEL``); see the module docstring."""
    m = max(3, math.ceil(x.size / 3))
    if x.size < m:
        return False
    tail = np.argsort(x)[-m:]
    lx, ty = np.log(x[tail]), y[tail]
    w = np.ones(m) if stderr is None else 1.0 / stderr[tail] ** 2
    xm = np.average(lx, weights=w)
    sxx = float((w * (lx - xm) ** 2).sum())
    if sxx <= 0.0:
        return False
    slope = float((w * (lx - xm) * (ty - np.average(ty, weights=w))).sum()) / sxx
    if stderr is not None:  # known σ: z-test
        return slope / math.sqrt(1.0 / sxx) > norm.ppf(1.0 - TAIL_LEVEL)
    resid = ty - np.average(ty, weights=w) - slope * (lx - xm)
    s2 = float((resid**2).sum()) / (m - 2)
    scale = float(np.abs(ty).max())
    if s2 <= (1e-12 * scale) ** 2:  # a straight tail (exact data): rising iff clearly sloped up
        return slope > 1e-9 * scale
    return slope / math.sqrt(s2 / sxx) > t_dist.ppf(1.0 - TAIL_LEVEL, m - 2)


def _end(v: float | None, open_end: float) -> float:
    return open_end if v is None or not math.isfinite(v) else float(v)
