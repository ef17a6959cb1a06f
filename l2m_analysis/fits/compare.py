"""Power law vs log law: AIC/BIC of both laws on the same response, log I."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from l2m_analysis.fits.common import MIN_POINTS, check_curve, gaussian_ic, json_scalar
from l2m_analysis.fits.log_law import LogLawFit, fit_log_law
from l2m_analysis.fits.power import PowerLawFit, fit_power_law


@dataclass(frozen=True)
class LawComparison:
    """Power law vs log law on the same data; aic_*/bic_* are on the log I scale.

    delta_aic = aic_log − aic_power (> 0: the power law is preferred). log_slope/log_intercept:
    the log law refitted by least squares on log I (what aic_log scores); aic_log = inf when
    no a, b with a·log L + b > 0 at every L fits.
    """

    power: PowerLawFit
    log: LogLawFit
    aic_power: float
    aic_log: float
    bic_power: float
    bic_log: float
    delta_aic: float
    preferred: str
    log_slope: float
    log_intercept: float

    def to_rows(self) -> list[dict]:
        """Two ``fits`` rows (power, log) with aic/bic on the log I scale and preferred_law."""
        rows = [self.power.to_row(), self.log.to_row()]
        for row, aic, bic in zip(
            rows, (self.aic_power, self.aic_log), (self.bic_power, self.bic_log), strict=True
        ):
            row.update(aic=json_scalar(aic), bic=json_scalar(bic), preferred_law=self.preferred)
            row["detail"].update(aic_scale="log I", delta_aic=json_scalar(self.delta_aic))
        rows[1]["detail"].update(
            log_scale_slope=json_scalar(self.log_slope),
            log_scale_intercept=json_scalar(self.log_intercept),
        )
        return rows


def compare_laws(x, y, stderr=None) -> LawComparison:
    """Tell an L^β family from a log L family by AIC on the same response, log I.

    Why log I: the power law is linear there, its noise is multiplicative (entropy-difference
    MI estimates have errors that scale with I), and one response is needed for AIC to compare.
    Both laws are least-squares fits of log I with two parameters (the log law's prediction is
    log(a·log L + b), refitted on that scale from the linear fit), so ΔAIC = n·log(SSR_log /
    SSR_power) and AIC and BIC agree on ``preferred``. Weights (I/σ)² when ``stderr`` is given.
    """
    x, y, s = check_curve(x, y, stderr, min_points=MIN_POINTS["power"], positive_y="law comparison")
    power, loglaw = fit_power_law(x, y, s), fit_log_law(x, y, s)
    lx, ly = np.log(x), np.log(y)
    w = np.ones_like(y) if s is None else (y / s) ** 2
    a, b, ssr_log = _log_law_on_log_scale(lx, ly, w, loglaw.slope, loglaw.intercept)
    ssr_pow = float(np.sum(w * power.result.resid**2))
    aic_p, bic_p = gaussian_ic(ssr_pow, w, k=2)
    aic_l, bic_l = gaussian_ic(ssr_log, w, k=2)
    return LawComparison(
        power=power,
        log=loglaw,
        aic_power=aic_p,
        aic_log=aic_l,
        bic_power=bic_p,
        bic_log=bic_l,
        delta_aic=aic_l - aic_p,
        preferred="power" if aic_p <= aic_l else "log",
        log_slope=a,
        log_intercept=b,
    )


def _log_law_on_log_scale(lx, ly, w, a0, b0):
    """Least squares of log I on log(a·log L + b) from feasible starts -> (a, b, ssr)."""

    def resid(theta):
        pred = theta[0] * lx + theta[1]
        safe = np.log(np.where(pred > 0, pred, 1.0))
        return np.sqrt(w) * np.where(pred > 0, ly - safe, 1e6)

    best = (np.nan, np.nan, np.inf)
    for start in ((a0, b0), (0.0, float(np.exp(np.average(ly, weights=w))))):
        if np.all(start[0] * lx + start[1] > 0):
            sol = least_squares(resid, np.asarray(start, dtype=float), method="trf")
            if np.all(sol.x[0] * lx + sol.x[1] > 0) and 2 * sol.cost < best[2]:
                best = (float(sol.x[0]), float(sol.x[1]), float(2 * sol.cost))
    return best
