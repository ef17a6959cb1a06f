"""Scaling-law fits that carry their uncertainty: power law, decay with offset, log law.

* ``fit_power_law``: bipartite MI I = A·L^β, OLS (or WLS) in log-log space.
* ``fit_decay_with_offset``: two-point MI I_d = A·d^(−α) + C, C the systematic bias: without
  stderr the paper's log-space fit (Eq. A.18), with stderr the least chi-square in I (Eq. A.17,
  any sign of I); profile-likelihood intervals on the fit's own sum of squares.
* ``fit_log_law``: I = a·log L + b, OLS (or WLS) on the linear scale.
* ``compare_laws``: AIC/BIC of the power and log laws on the same response (log I).

Every result is a frozen dataclass; ``.to_row()`` gives its columns of the ``fits`` rows
(``fits.series.FITS_SCHEMA``); the series keys, drop counts and warnings (``diagnostics.py``) are
the caller's to add.
"""

from l2m_analysis.fits.compare import LawComparison, compare_laws
from l2m_analysis.fits.decay import DecayFit, fit_decay_with_offset
from l2m_analysis.fits.log_law import LogLawFit, fit_log_law
from l2m_analysis.fits.power import PowerLawFit, fit_power_law

__all__ = [
    "DecayFit",
    "LawComparison",
    "LogLawFit",
    "PowerLawFit",
    "compare_laws",
    "fit_decay_with_offset",
    "fit_log_law",
    "fit_power_law",
]
