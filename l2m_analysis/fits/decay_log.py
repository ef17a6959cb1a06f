"""The paper's log-space decay fit, I_d = A·d^(−α) + C with 0 ≤ C < min I (Eq. A.17, A.18).

Used when the points have no standard errors. The sum of squares is Σ(log(I − C) + α·log d −
log A)² (Eq. A.18), so every I must exceed C ≥ 0: the caller drops I ≤ 0. C is profiled (a
fraction f = C/min I of the smallest I); for each C, (log A, α) is closed-form OLS. Intervals:
profile likelihood on that sum of squares (``profile.py``); A's by a wild bootstrap in log space.
"""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm
from scipy.optimize import minimize_scalar

from l2m_analysis.fits.profile import curvature_se, exponent_interval, f_threshold, grid_min, hull

# Fractions f = C / min(I) searched for the offset: dense over [0, 0.99], then geometrically
# closer to (never at) 1, where log(I_min − C) diverges.
F_GRID = np.unique(np.concatenate([np.linspace(0.0, 0.99, 100), 1.0 - np.logspace(-2, -9, 36)]))


def fit_log_space(d: np.ndarray, y: np.ndarray, n_boot: int, seed: int, alpha: float) -> dict:
    """Eq. A.18 fit of y (n,) > 0 nats on d (n,) -> the decay estimate (see ``decay.py``)."""
    lx, ymin = np.log(d), y.min()

    def prof(f):  # batch + (G,) fractions -> SSE over (log A, α)
        return _ols_lines(f * ymin, lx, y)[0]

    f, lo, hi = grid_min(prof, F_GRID, ())
    opt = minimize_scalar(
        lambda t: float(prof(np.array([t]))[0]),
        bounds=(float(lo), float(hi)),
        method="bounded",
        options={"xatol": 1e-14},
    )
    c = float((opt.x if opt.fun < prof(np.array([f]))[0] else f) * ymin)
    res = sm.OLS(np.log(y - c), sm.add_constant(lx)).fit()
    a_hat, icpt = -float(res.params[1]), float(res.params[0])
    a_lo, a_hi, c_lo, c_hi = _intervals(d, y, a_hat, c, float(res.bse[1]), alpha)
    boot = None
    if n_boot:
        boot = _wild_bootstrap(lx, y, c, icpt - a_hat * lx, n_boot, seed)
    return dict(
        exponent=a_hat,
        amplitude=float(np.exp(icpt)),
        offset=c,
        exponent_lo=a_lo,
        exponent_hi=a_hi,
        offset_lo=c_lo,
        offset_hi=c_hi,
        r2=float(res.rsquared),
        aic=2 * 3 - 2 * float(res.llf),  # C counted as a parameter (k = 3)
        bic=3 * np.log(y.size) - 2 * float(res.llf),
        method="profile over C, OLS of log(I − C) on log d (Eq. A.18)",
        interval_method="profile likelihood (F) on the log-space sum of squares; "
        "amplitude: wild bootstrap percentile (log space)",
        boot=boot,
        result=res,
    )


def log_sse(alpha, c, d: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Eq. A.18's sum of squares minimized over log A at each (α, C); alpha, c broadcast."""
    alpha, c = np.asarray(alpha, dtype=float)[..., None], np.asarray(c, dtype=float)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.log(y - c) + alpha * np.log(d)
    sse = ((r - r.mean(-1, keepdims=True)) ** 2).sum(-1)
    return np.where(np.isnan(sse), np.inf, sse)


def _ols_lines(c: np.ndarray, lx: np.ndarray, y: np.ndarray):
    """OLS of log(y − c) on lx for many offsets: c (..., G), y (..., n) -> sse, slope, icpt."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ly = np.log(y[..., None, :] - c[..., :, None])  # (..., G, n)
    xm, ym = lx.mean(), ly.mean(-1)
    dx = lx - xm
    slope = (dx * (ly - ym[..., None])).sum(-1) / (dx * dx).sum()
    icpt = ym - slope * xm
    sse = ((ly - icpt[..., None] - slope[..., None] * lx) ** 2).sum(-1)
    return np.where(np.isnan(sse), np.inf, sse), slope, icpt


def _intervals(d, y, a_hat, c_hat, a_se, alpha) -> tuple[float, float, float, float]:
    """(α_lo, α_hi, C_lo, C_hi): profiles of Eq. A.18's sum of squares, C in [0, min I)."""
    ymin = y.min()

    def alpha_profile(al: np.ndarray) -> np.ndarray:  # min over C (and A), shape of al
        f, _, _ = grid_min(lambda f: log_sse(al[..., None], f * ymin, d, y), F_GRID, al.shape)
        return log_sse(al, f * ymin, d, y)

    sse_min = float(log_sse(a_hat, c_hat, d, y))
    thr = f_threshold(sse_min, y.size, alpha)
    half = max(4.0 * a_se, 4.0 * curvature_se(alpha_profile, a_hat, sse_min, y.size - 3), 1e-3)
    a_lo, a_hi = exponent_interval(alpha_profile, thr, a_hat, half)
    lo = a_lo if np.isfinite(a_lo) else a_hat - 50.0
    hi = a_hi if np.isfinite(a_hi) else a_hat + 50.0
    lo, hi = lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo)  # α searched over the widened interval

    def c_profile(c: np.ndarray) -> np.ndarray:  # min over α (and A), shape of c
        f, _, _ = grid_min(
            lambda f: log_sse(lo + (hi - lo) * f, c[..., None], d, y), F_GRID, c.shape
        )
        return log_sse(lo + (hi - lo) * f, c, d, y)

    grid = np.unique(np.concatenate([np.linspace(0.0, 1.0, 401)[:-1], F_GRID, [c_hat / ymin]]))
    grid = grid * ymin
    c_lo, c_hi = hull(c_profile, grid, c_profile(grid), thr)
    return a_lo, a_hi, min(c_lo, c_hat), max(c_hi, c_hat)


def _wild_bootstrap(lx, y, c, fitted, n_boot, seed):
    """Refit n_boot wild-bootstrap replicates of log(y − c) -> α, A, C arrays (n_boot,)."""
    resid = np.log(y - c) - fitted
    signs = np.random.default_rng(seed).choice(np.array([-1.0, 1.0]), size=(n_boot, y.size))
    yb = c + np.exp(fitted + resid * signs)  # (B, n)
    ymin = yb.min(axis=1, keepdims=True)
    f, _, _ = grid_min(lambda f: _ols_lines(f * ymin, lx, yb)[0], F_GRID, (n_boot,))
    c_b = f * ymin[:, 0]
    _, slope, icpt = _ols_lines(c_b[:, None], lx, yb)
    return -slope[:, 0], np.exp(icpt[:, 0]), c_b
