"""Power law I = A·L^β (bipartite MI): OLS (or WLS) of log I on log L."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import statsmodels.api as sm

from l2m_analysis.fits.common import MIN_POINTS, ROW_COLUMNS, FitBase, base_fields, check_curve


@dataclass(frozen=True)
class PowerLawFit(FitBase):
    """I = A·L^β. exponent = β (stderr, [lo, hi] at ``ci_level``), amplitude = A in nats.

    r2, aic, bic: of the regression of log I on log L (weighted when ``weighted``).
    log_amplitude_stderr, cov_log_amplitude_exponent: se(log A) and cov(log A, β) of that
    regression, so the fitted line's confidence band follows from the row (``fits.bands``).
    """

    exponent: float
    exponent_stderr: float
    exponent_lo: float
    exponent_hi: float
    amplitude: float
    amplitude_lo: float
    amplitude_hi: float
    log_amplitude_stderr: float
    cov_log_amplitude_exponent: float
    result: Any = field(repr=False, compare=False)

    _LAW = "power"
    _COLUMNS = {c: c for c in ROW_COLUMNS[:4]}


def fit_power_law(x, y, stderr=None, alpha: float = 0.05) -> PowerLawFit:
    """Fit I = A·L^β by OLS of log I on log L; WLS with weights (I/σ)² when ``stderr`` is given.

    The weights are the delta method, var(log I) ≈ (σ/I)². β's interval is statsmodels'
    t-interval at level 1 − alpha (residual scale estimated from the data, also under WLS).
    """
    x, y, s = check_curve(x, y, stderr, min_points=MIN_POINTS["power"], positive_y="power law")
    lx, ly = np.log(x), np.log(y)
    design = sm.add_constant(lx)
    res = (sm.OLS(ly, design) if s is None else sm.WLS(ly, design, weights=(y / s) ** 2)).fit()
    ci = res.conf_int(alpha)
    return PowerLawFit(
        **base_fields(x, res.rsquared, res.aic, res.bic, alpha, s),
        method="OLS of log I on log L" if s is None else "WLS of log I on log L, weights (I/σ)²",
        exponent=float(res.params[1]),
        exponent_stderr=float(res.bse[1]),
        exponent_lo=float(ci[1, 0]),
        exponent_hi=float(ci[1, 1]),
        amplitude=float(np.exp(res.params[0])),
        amplitude_lo=float(np.exp(ci[0, 0])),
        amplitude_hi=float(np.exp(ci[0, 1])),
        log_amplitude_stderr=float(res.bse[0]),
        cov_log_amplitude_exponent=float(res.cov_params()[0, 1]),
        result=res,
    )
