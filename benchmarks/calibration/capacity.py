"""The linear capacity of the L²M bound (gaussian/capacity.py) against exact answers: with
every canonical pair (D = L/2 numbers of one copy) it must equal the exact I_BP(L/2; L) of the
sub-volume Gaussian, computed independently by the structured log-determinant recursion
(gaussian/structured.py); and on independent pairs with known correlations r_i, the best D
numbers must keep −½ Σ_{i≤D} log(1 − r_i²) of the D largest |r_i|. Deterministic: one row per
case, n = 1 (no seeds). ``quick``: L ≤ 256.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.calibration.common import coverage_row
from l2m_analysis.gaussian.capacity import canonical_correlations, linear_summary_mi
from l2m_analysis.gaussian.exact import covariance_dense
from l2m_analysis.gaussian.structured import bipartite_mi_structured

STUDY = "capacity"
PAIRS = np.array([0.3, 0.9, 0.6, 0.05])  # corr(X_i, Y_i), pairs independent of each other


def run(seeds: int, quick: bool) -> list[dict]:
    """Rows: the sub-volume family at L = 16 … 1024 (D = L/2), independent pairs at D = 2."""
    del seeds  # deterministic
    rows = []
    top = 4 if quick else 5
    for layers in range(2, top + 1):  # each L a whole sample, as the exact curve
        length = 4**layers
        exact = bipartite_mi_structured("subvolume", layers, length // 2)
        sigma = covariance_dense("subvolume", layers)
        held = linear_summary_mi(canonical_correlations(sigma, length // 2), length // 2)
        rows.append(coverage_row(STUDY, "linear_capacity, D = L/2", "sub-volume Gaussian, 1 copy",
                                 f"I_BP(L/2; L = {length})", exact, [held], None,
                                 "exact: structured log-det recursion"))  # fmt: skip
    n = PAIRS.size
    paired = np.block([[np.eye(n), np.diag(PAIRS)], [np.diag(PAIRS), np.eye(n)]])
    exact = -0.5 * (math.log(1 - 0.9**2) + math.log(1 - 0.6**2))  # the two largest |r|
    held = linear_summary_mi(canonical_correlations(paired, n), 2)
    rows.append(coverage_row(STUDY, "linear_capacity, D = 2", "independent pairs r = "
                             "0.3, 0.9, 0.6, 0.05", "−½Σ_{D largest} log(1 − r²)", exact, [held],
                             None, "by hand"))  # fmt: skip
    return rows
