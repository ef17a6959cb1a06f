"""Two-point MI decay with offset, I_d = A·d^(−α) + C (Eq. A.17, A.18).

C (the systematic bias) is profiled out: least squares of log(I − C) on log d for each C.
Intervals for α and C by profile likelihood (``decay_profile.py``); for A (and, in ``detail``,
α and C) by a wild bootstrap in log space.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy.optimize import minimize_scalar
from scipy.stats import t as t_dist

from l2m_analysis.errors import InputError
from l2m_analysis.fits._common import _ROW_COLUMNS, _base, _check, _FitBase
from l2m_analysis.fits.decay_profile import minimize_fraction, profile_intervals


@dataclass(frozen=True)
class DecayFit(_FitBase):
    """I_d = A·d^(−α) + C, 0 ≤ C < min I. exponent = α; amplitude = A, offset = C in nats.

    Intervals at ``ci_level`` by ``interval_method``; bootstrap_* from the wild bootstrap (None
    when n_boot = 0). r2/aic/bic: the regression of log(I − C) on log d at the best C, with C
    counted as a parameter (k = 3).
    """

    exponent: float
    exponent_stderr: float
    exponent_lo: float
    exponent_hi: float
    amplitude: float
    amplitude_lo: float
    amplitude_hi: float
    offset: float
    offset_lo: float
    offset_hi: float
    interval_method: str
    n_boot: int
    seed: int
    bootstrap_exponent_sd: float | None
    bootstrap_exponent_lo: float | None
    bootstrap_exponent_hi: float | None
    bootstrap_offset_lo: float | None
    bootstrap_offset_hi: float | None
    result: Any = field(repr=False, compare=False)

    _LAW = "decay"
    _COLUMNS = {**{c: c for c in _ROW_COLUMNS[:4]}, "offset_c": "offset"}


def fit_decay_with_offset(
    d, y, stderr=None, n_boot: int = 200, seed: int = 0, alpha: float = 0.05
) -> DecayFit:
    """Fit I_d = A·d^(−α) + C with 0 ≤ C < min I by least squares of log(I − C) (Eq. A.18).

    C is profiled: for each C, (log A, α) is the closed-form OLS of log(I − C) on log d; the
    profile SSE is scanned on a grid of C/min(I) in [0, 1), zoomed, and polished by bounded
    Brent (``minimize_scalar``). With ``stderr``: weights (m/σ)² with m = A·d^(−α) the fitted
    I − C (two reweighting passes), the delta method for var(log(I − C)).

    Intervals for α and C (level 1 − alpha): profile likelihood (``decay_profile.py``); with
    ``stderr`` on the chi-square Σ((I − C − A·d^−α)/σ)², without on the log-space sum of
    squares. exponent_stderr = half-width / t(n−3). A's interval, and bootstrap intervals for α
    and C in ``detail``: wild bootstrap in log space (Rademacher signs on residuals; ``n_boot``
    replicates, ``seed``; 0 skips it), every replicate refitted including C.
    Unweighted intervals assume noise ∝ I − C; with noise ∝ I pass ``stderr``. Needs n >= 4.
    """
    d, y, s = _check(d, y, stderr, min_points=4, positive_y="decay fit")
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 0:
        raise InputError(f"n_boot must be an integer >= 0, got {n_boot!r}", "use e.g. 200")
    lx, n, ymin = np.log(d), y.size, y.min()

    def prof(f):
        return _profile(f * ymin, lx, y, s)[0]

    f, lo, hi = minimize_fraction(prof, ())
    opt = minimize_scalar(
        lambda t: float(prof(np.array([t]))[0]),
        bounds=(float(lo), float(hi)),
        method="bounded",
        options={"xatol": 1e-14},
    )
    c = float((opt.x if opt.fun < prof(np.array([f]))[0] else f) * ymin)
    _, slope, icpt, w = (v[0] for v in _profile(np.array([c]), lx, y, s))
    res = sm.WLS(np.log(y - c), sm.add_constant(lx), weights=w).fit()
    a_lo, a_hi, c_lo, c_hi = profile_intervals(d, y, s, -float(slope), c, float(res.bse[1]), alpha)
    boot = dict.fromkeys(["sd", "lo", "hi", "c_lo", "c_hi"])
    amp_lo = amp_hi = np.nan
    if n_boot:
        a_b, amp_b, c_b = _wild_bootstrap(lx, y, s, c, icpt + slope * lx, int(n_boot), seed)
        q = [50 * alpha, 100 - 50 * alpha]
        amp_lo, amp_hi = np.percentile(amp_b, q)
        values = [np.std(a_b, ddof=1), *np.percentile(a_b, q), *np.percentile(c_b, q)]
        boot = dict(zip(boot, map(float, values), strict=True))
    amp = float(np.exp(icpt))
    llf = float(res.llf)
    return DecayFit(
        **_base(d, res.rsquared, 2 * 3 - 2 * llf, 3 * np.log(n) - 2 * llf, alpha, s),
        method="profile over C, (weighted) OLS of log(I − C) on log d (Eq. A.18)",
        exponent=-float(slope),
        exponent_stderr=float((a_hi - a_lo) / (2 * t_dist.ppf(1 - alpha / 2, n - 3))),
        exponent_lo=a_lo,
        exponent_hi=a_hi,
        amplitude=amp,
        amplitude_lo=float(min(amp_lo, amp)) if n_boot else np.nan,
        amplitude_hi=float(max(amp_hi, amp)) if n_boot else np.nan,
        offset=c,
        offset_lo=min(c_lo, c),
        offset_hi=max(c_hi, c),
        interval_method="profile likelihood (F); amplitude: wild bootstrap percentile",
        n_boot=int(n_boot),
        seed=int(seed),
        bootstrap_exponent_sd=boot["sd"],
        bootstrap_exponent_lo=boot["lo"],
        bootstrap_exponent_hi=boot["hi"],
        bootstrap_offset_lo=boot["c_lo"],
        bootstrap_offset_hi=boot["c_hi"],
        result=res,
    )


def _wline(lx, ly, w, slope=None):
    """Weighted least-squares line of ly (..., n) on lx (n,), slope fixed when given.

    Returns sse, slope, intercept, each of shape (...).
    """
    sw = w.sum(-1)
    xm, ym = (w * lx).sum(-1) / sw, (w * ly).sum(-1) / sw
    if slope is None:
        dx = lx - xm[..., None]
        slope = (w * dx * (ly - ym[..., None])).sum(-1) / (w * dx * dx).sum(-1)
    slope = np.broadcast_to(slope, ym.shape)
    icpt = ym - slope * xm
    return (w * (ly - icpt[..., None] - slope[..., None] * lx) ** 2).sum(-1), slope, icpt


def _profile(c, lx, y, s, n_reweight: int = 2):
    """Fit log(y − c) on lx for many offsets: c (..., G), y (..., n) -> sse, slope, icpt (..., G)
    and weights (..., G, n); IRLS weights (fitted(y − c)/σ)² when s is given."""
    ly = np.log(y[..., None, :] - c[..., :, None])  # (..., G, n)
    w = np.ones_like(ly) if s is None else _irls_weights(ly, s)
    sse, slope, icpt = _wline(lx, ly, w)
    for _ in range(0 if s is None else n_reweight):
        w = _irls_weights(icpt[..., None] + slope[..., None] * lx, s)
        sse, slope, icpt = _wline(lx, ly, w)
    return np.where(np.isnan(sse), np.inf, sse), slope, icpt, w


def _irls_weights(log_m, s):
    """(m/σ)² from log m, clipped so that absurd trial exponents cannot overflow."""
    return np.exp(np.clip(2.0 * (log_m - np.log(s)), -600.0, 600.0))


def _wild_bootstrap(lx, y, s, c, fitted, n_boot, seed):
    """Refit n_boot wild-bootstrap replicates of log(y − c) -> α, A, C arrays (n_boot,)."""
    resid = np.log(y - c) - fitted
    signs = np.random.default_rng(seed).choice(np.array([-1.0, 1.0]), size=(n_boot, y.size))
    yb = c + np.exp(fitted + resid * signs)  # (B, n)
    ymin = yb.min(axis=1, keepdims=True)
    f, _, _ = minimize_fraction(lambda f: _profile(f * ymin, lx, yb, s)[0], (n_boot,))
    c_b = f * ymin[:, 0]
    _, slope, icpt, _ = _profile(c_b[:, None], lx, yb, s)
    return -slope[:, 0], np.exp(icpt[:, 0]), c_b
