"""Two-point MI decay with offset, I_d = A·d^(−α) + C (Eq. A.17, A.18): the result and the entry.

Two fits, by what the points carry:

* without standard errors: the paper's log-space fit (Eq. A.18, ``decay_log.py``), 0 ≤ C < min I,
  every I > 0;
* with standard errors σ: least chi-square Σ((I − C − A·d^−α)/σ)² in I (``decay_chi2.py``),
  A ≥ 0, C ≥ 0, any sign of I.

Either way α and C get profile-likelihood intervals on the fit's own sum of squares, and A (and,
in ``detail``, α and C) a wild-bootstrap interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import t as t_dist

from l2m_analysis.errors import InputError
from l2m_analysis.fits.common import MIN_POINTS, ROW_COLUMNS, FitBase, check_curve
from l2m_analysis.fits.decay_chi2 import fit_chi2
from l2m_analysis.fits.decay_log import fit_log_space


@dataclass(frozen=True)
class DecayFit(FitBase):
    """I_d = A·d^(−α) + C. exponent = α; amplitude = A, offset = C in nats.

    Intervals at ``ci_level`` by ``interval_method``; bootstrap_* from the wild bootstrap (None
    when n_boot = 0). r2/aic/bic: unweighted, of the regression of log(I − C) on log d at the
    best C; weighted, of the chi-square fit on the linear scale. C is counted (k = 3) either way.
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
    _COLUMNS = {**{c: c for c in ROW_COLUMNS[:4]}, "offset_c": "offset"}


def fit_decay_with_offset(
    d, y, stderr=None, n_boot: int = 200, seed: int = 0, alpha: float = 0.05
) -> DecayFit:
    """Fit I_d = A·d^(−α) + C to y (nats) at distances d (shape (n,), n >= 4).

    Without ``stderr``: Eq. A.18, least squares of log(I − C) on log d with C profiled over
    [0, min I) (a grid of C/min I, zoomed, polished by bounded Brent); needs every I > 0, and its
    intervals assume noise ∝ I − C. With ``stderr`` σ (n,): the minimum of the chi-square
    Σ((I − C − A·d^−α)/σ)² over A ≥ 0, C ≥ 0 and α (exact profile of α, grid, zoom, bounded
    Brent); I may be ≤ 0.

    Intervals for α and C (level 1 − alpha): profile likelihood on the same sum of squares the
    point estimate minimizes (``profile.py``); exponent_stderr = half-width / t(n−3). A's
    interval, and bootstrap intervals for α and C in ``detail``: wild bootstrap (Rademacher signs
    on the residuals, log-space ones without σ, linear ones with σ; ``n_boot`` replicates,
    ``seed``; 0 skips it), every replicate refitted including C.
    """
    positive = "the log-space decay fit (Eq. A.18)" if stderr is None else None
    d, y, s = check_curve(d, y, stderr, min_points=MIN_POINTS["decay"], positive_y=positive)
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 0:
        raise InputError(f"n_boot must be an integer >= 0, got {n_boot!r}", "use e.g. 200")
    n_boot = int(n_boot)
    if s is None:
        est = fit_log_space(d, y, n_boot, seed, alpha)
    else:
        est = fit_chi2(d, y, s, n_boot, seed, alpha)
    boot = dict.fromkeys(["sd", "lo", "hi", "c_lo", "c_hi"])
    amp, amp_lo, amp_hi = est["amplitude"], np.nan, np.nan
    if est["boot"] is not None:
        a_b, amp_b, c_b = est["boot"]
        q = [50 * alpha, 100 - 50 * alpha]
        amp_lo, amp_hi = np.percentile(amp_b, q)
        amp_lo, amp_hi = float(min(amp_lo, amp)), float(max(amp_hi, amp))
        values = [np.std(a_b, ddof=1), *np.percentile(a_b, q), *np.percentile(c_b, q)]
        boot = dict(zip(boot, map(float, values), strict=True))
    n, a_lo, a_hi = y.size, est["exponent_lo"], est["exponent_hi"]
    return DecayFit(
        n_points=int(n),
        x_min=float(d.min()),
        x_max=float(d.max()),
        r2=float(est["r2"]),
        aic=float(est["aic"]),
        bic=float(est["bic"]),
        ci_level=1.0 - alpha,
        weighted=s is not None,
        method=est["method"],
        exponent=float(est["exponent"]),
        exponent_stderr=float((a_hi - a_lo) / (2 * t_dist.ppf(1 - alpha / 2, n - 3))),
        exponent_lo=float(a_lo),
        exponent_hi=float(a_hi),
        amplitude=float(amp),
        amplitude_lo=amp_lo,
        amplitude_hi=amp_hi,
        offset=float(est["offset"]),
        offset_lo=float(est["offset_lo"]),
        offset_hi=float(est["offset_hi"]),
        interval_method=est["interval_method"],
        n_boot=n_boot,
        seed=int(seed),
        bootstrap_exponent_sd=boot["sd"],
        bootstrap_exponent_lo=boot["lo"],
        bootstrap_exponent_hi=boot["hi"],
        bootstrap_offset_lo=boot["c_lo"],
        bootstrap_offset_hi=boot["c_hi"],
        result=est["result"],
    )
