"""The capacity curve of the L²M chart: how much of the exact I^BP_{L/2;L} of the sub-volume
Gaussian a state of D numbers can hold, against D, at one L. Beside it, Theorem 5.2's bound
C·D + log M (Eq. 11) for each C: a bound with an unknown constant, where the linear capacity
(``gaussian.capacity``, the best linear summary of D numbers of the past) is exact."""

from __future__ import annotations

import numpy as np
import polars as pl

from l2m_analysis.gaussian.capacity import (
    CAPACITY_MAX_LAYERS,
    canonical_correlations,
    canonical_information,
    linear_summary_mi,
)
from l2m_analysis.gaussian.exact import covariance_dense
from l2m_analysis.l2m_condition.history_state import history_dim
from l2m_analysis.models.presets import ModelPreset


def capacity_frame(
    presets: list[ModelPreset],
    copies: int,
    layers: int = CAPACITY_MAX_LAYERS,
    nats_per_dim: tuple[float, ...] = (1.0,),
    family: str = "subvolume",
) -> pl.DataFrame:
    """Rows (curve, model, state_dim, nats) at L = 4^layers, tokens of ``copies`` numbers:

    * curve "linear capacity": max I(W X; Y) over D × (c·L/2) matrices W, on a log grid of D
      from 1 to c·L/2 (beyond it the whole past fits) and at each model's dim(z_{L/2});
    * curve "exact I_BP": the whole I^BP_{L/2;L} (nats per token of c numbers), at both ends;
    * curve "C·D + log M (C = …)": Eq. (11) with log M = C·c, for each C in ``nats_per_dim``;
    * curve "model": one row per preset (model set) at its dim(z_{L/2}) and linear capacity.
    """
    length = 4**layers
    rho = canonical_correlations(covariance_dense(family, layers), length // 2)
    i_bp = copies * float(canonical_information(rho).sum())
    full = copies * length // 2
    grid = np.unique(np.geomspace(1, full, 49).round().astype(np.int64))
    rows = [("linear capacity", None, float(d), linear_summary_mi(rho, int(d), copies))
            for d in grid]  # fmt: skip
    rows += [("exact I_BP", None, float(d), i_bp) for d in (grid[0], grid[-1])]
    rows += [(f"C·D + log M (C = {c:g})", None, float(d), c * (d + copies))  # Eq. (11)
             for c in nats_per_dim for d in grid]  # fmt: skip
    for p in presets:
        dim = history_dim(p, length // 2)
        rows.append(("model", p.name, float(dim), linear_summary_mi(rho, dim, copies)))
    return pl.DataFrame(
        rows, schema={"curve": pl.String, "model": pl.String, "state_dim": pl.Float64,
                      "nats": pl.Float64}, orient="row",
    ).with_columns(length=pl.lit(length, pl.Int64), copies=pl.lit(copies, pl.Int64))  # fmt: skip
