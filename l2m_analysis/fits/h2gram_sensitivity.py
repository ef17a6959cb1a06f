"""β of the corrected `direct` curve under each Ĥ_G(Y1, Y2) its convergence offers.

The 2-gram correction (Eq. A.14) subtracts 4/5·Ĥ_G from the marginal's first two log-probs, so
with another value h of the adjacent-pair entropy every `direct` point moves by the same
0.8·(h − Ĥ_G used), in nats. Ĥ_G is biased low while it still rises with the data
(``estimators.entropy_convergence``); refitting the shifted curve at Ĥ_G of 1/8, 1/4, 1/2 and
all of the data, and at its extrapolated limit, shows how far β still moves with it: the
remaining bias of Ĥ_G carried into β. The fit's ``detail`` gets ``h2gram_convergence`` (one
entry per Ĥ_G: fraction of the pairs (None: extrapolated), Ĥ_G, the shift, β) and, when the
rise from 1/2 to all exceeds 2 stderrs, its warnings get ``WARNING``.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from l2m_analysis.errors import InputError
from l2m_analysis.estimators.entropy_convergence import CONVERGED_WITHIN, is_converged
from l2m_analysis.fits.power import fit_power_law
from l2m_analysis.fits.series import SERIES_KEYS, usable_points

WARNING = "Ĥ_G not converged"
CORRECTED = "direct"  # the estimator with the 2-gram correction
SHIFT_PER_NAT = 0.8  # Eq. (A.14): 4/5 of Ĥ_G enters every corrected point


def with_h2gram_sensitivity(
    rows: pl.DataFrame, estimates: pl.DataFrame, convergence: pl.DataFrame
) -> pl.DataFrame:
    """``fits`` rows with the power-law fits of `direct` series annotated (other rows as given).

    rows: fit rows (``fits.series.FITS_SCHEMA``); estimates: the ``mi_estimates`` rows they were
    fitted to; convergence: rows of ``queries/adjacent_pair_convergence.sql`` (run_id, fraction,
    h_2gram, h_2gram_stderr, h_2gram_used, extrapolated).
    """
    if rows.is_empty() or convergence.is_empty():
        return rows
    out = []
    for row in rows.iter_rows(named=True):
        steps = convergence.filter(pl.col("run_id") == row["run_id"])
        if row["estimator"] == CORRECTED and row["law"] == "power" and steps.height:
            row = _annotated(row, _series(estimates, row), steps)
        out.append(row)
    return pl.DataFrame(out, schema=rows.schema, orient="row")


def _series(estimates: pl.DataFrame, row: dict) -> tuple[np.ndarray, np.ndarray]:
    """The points the fit row used: L and I (nats), shape (n,) each, chosen exactly as
    ``fits.series.fit_mi_series`` chose them (``usable_points``)."""
    mine = estimates.filter(*(pl.col(k).eq_missing(row[k]) for k in SERIES_KEYS))
    x, y, _, _ = usable_points(mine, "bipartite", weighted=False)
    return x, y


def _annotated(row: dict, points: tuple[np.ndarray, np.ndarray], steps: pl.DataFrame) -> dict:
    detail = json.loads(row["detail"] or "{}")
    x, y = points
    entries = []
    for s in steps.sort("extrapolated", "fraction").iter_rows(named=True):
        shift = SHIFT_PER_NAT * (s["h_2gram"] - s["h_2gram_used"])
        entries.append({"fraction": None if s["extrapolated"] else s["fraction"],
                        "h_2gram": s["h_2gram"], "shift": shift,
                        "beta": beta_shifted(x, y, shift)})  # fmt: skip
    detail["h2gram_convergence"] = entries
    warnings = list(row.get("warnings") or [])
    if not h2gram_converged(steps) and WARNING not in warnings:
        warnings.append(WARNING)
    return {**row, "detail": json.dumps(detail, default=float), "warnings": warnings}


def beta_shifted(x: np.ndarray, y: np.ndarray, shift: float):
    """β of I + shift against L (nats; OLS on log I, as the reported β: fits.series.BETA_TARGET),
    or None when a shifted point is ≤ 0 (no power law through it)."""
    try:
        return fit_power_law(x, y + shift).exponent
    except InputError:
        return None


def h2gram_converged(steps: pl.DataFrame, k: float = CONVERGED_WITHIN) -> bool:
    """The rule of ``entropy_convergence``: Ĥ_G(all) − Ĥ_G(1/2) ≤ k·stderr of Ĥ_G(all)."""
    measured = steps.filter(~pl.col("extrapolated")).sort("fraction")
    if measured.height < 2:
        return True
    last, before = measured.row(-1, named=True), measured.row(-2, named=True)
    return is_converged(last["h_2gram"] - before["h_2gram"], last["h_2gram_stderr"] or 0.0, k)
