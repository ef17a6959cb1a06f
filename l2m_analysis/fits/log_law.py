"""Log law I = a·log L + b (nats): OLS (or WLS) on the linear scale."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import statsmodels.api as sm

from l2m_analysis.fits.common import MIN_POINTS, FitBase, base_fields, check_curve


@dataclass(frozen=True)
class LogLawFit(FitBase):
    """I = a·log L + b (nats), fitted on the linear scale; r2/aic/bic on that scale.

    cov_intercept_slope: cov(b, a), for the fitted line's confidence band (``fits.bands``)."""

    slope: float
    slope_stderr: float
    slope_lo: float
    slope_hi: float
    intercept: float
    intercept_stderr: float
    cov_intercept_slope: float
    result: Any = field(repr=False, compare=False)

    _LAW = "log"
    _COLUMNS = {"amplitude": "slope", "offset_c": "intercept"}


def fit_log_law(x, y, stderr=None, alpha: float = 0.05) -> LogLawFit:
    """Fit I = a·log L + b by OLS (WLS with weights 1/σ² when ``stderr`` is given)."""
    x, y, s = check_curve(x, y, stderr, min_points=MIN_POINTS["log"], positive_y=None)
    design = sm.add_constant(np.log(x))
    res = (sm.OLS(y, design) if s is None else sm.WLS(y, design, weights=1.0 / s**2)).fit()
    ci = res.conf_int(alpha)
    return LogLawFit(
        **base_fields(x, res.rsquared, res.aic, res.bic, alpha, s),
        method="OLS of I on log L" if s is None else "WLS of I on log L, weights 1/σ²",
        slope=float(res.params[1]),
        slope_stderr=float(res.bse[1]),
        slope_lo=float(ci[1, 0]),
        slope_hi=float(ci[1, 1]),
        intercept=float(res.params[0]),
        intercept_stderr=float(res.bse[0]),
        cov_intercept_slope=float(res.cov_params()[0, 1]),
        result=res,
    )
