"""Fit every MI series of a ``mi_estimates`` frame: β for bipartite, α for two-point.

A *series* is one (run_id, source, quantity, estimator, ratio): bipartite MI against L
(power law ``I = A·L^β`` vs. log law ``I = a·log L + b``) or two-point MI against d
(``I = A·d^(−α) + C``, Eq. A.18). The result is a frame with the columns of the ``fits`` table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from l2m_analysis.errors import InputError
from l2m_analysis.fits import compare_laws, fit_decay_with_offset

SERIES_KEYS = ["run_id", "source", "quantity", "estimator", "ratio"]
# Estimators that are baselines, not signals: listed next to the signal, never fitted.
BASELINE_SUFFIX = "_shuffled"


@dataclass(frozen=True)
class SeriesFits:
    """Fitted rows (``fits`` columns) and the series that were skipped, with the reason."""

    rows: pl.DataFrame
    skipped: list[dict[str, object]] = field(default_factory=list)


def fit_mi_series(
    estimates: pl.DataFrame, *, min_points: int = 3, weighted: bool = True, n_boot: int = 200
) -> SeriesFits:
    """Fit each series in ``estimates`` (rows of ``mi_estimates``; values in nats)."""
    required = {"run_id", "source", "quantity", "estimator", "value", "stderr"}
    missing = required - set(estimates.columns)
    if missing:
        raise InputError(
            f"mi_estimates frame lacks columns {sorted(missing)}",
            "pass rows of the mi_estimates table (see docs/warehouse.md)",
        )
    estimates = estimates.with_columns(pl.col("value", "stderr").cast(pl.Float64))
    rows: list[dict[str, object]] = []
    skipped: list[dict[str, object]] = []
    for key, series in estimates.group_by(SERIES_KEYS, maintain_order=True):
        ident = dict(zip(SERIES_KEYS, key, strict=True))
        if str(ident["estimator"]).endswith(BASELINE_SUFFIX):
            continue
        x_col = "length" if ident["quantity"] == "bipartite" else "distance"
        series = series.filter(pl.col(x_col).is_not_null()).sort(x_col)
        # One value per x: the estimates at a given x are averaged over splits (none expected).
        series = series.group_by(x_col, maintain_order=True).agg(
            pl.col("value").mean(), (pl.col("stderr") ** 2).mean().sqrt()
        )
        positive = series.filter(pl.col("value") > 0)
        if positive.height < min_points:
            skipped.append({**ident, "reason": f"{positive.height} positive points < {min_points}"})
            continue
        x = positive[x_col].to_numpy().astype(float)
        y = positive["value"].to_numpy()
        se = positive["stderr"].to_numpy() if weighted else None
        if se is not None and (np.isnan(se).any() or (se <= 0).any()):
            se = None  # exact values (no stderr) are fitted unweighted
        try:
            rows.extend(_fit_one(ident, x, y, se, n_boot))
        except InputError as err:
            skipped.append({**ident, "reason": err.problem})
    return SeriesFits(_rows_frame(rows), skipped)


def _fit_one(
    ident: dict[str, object], x: np.ndarray, y: np.ndarray, se: np.ndarray | None, n_boot: int
) -> list[dict[str, object]]:
    if ident["quantity"] == "bipartite":
        # both laws scored on the log I scale, so their AIC/BIC compare (fits.compare_laws)
        return [{**ident, **row} for row in compare_laws(x, y, stderr=se).to_rows()]
    decay = fit_decay_with_offset(x, y, stderr=se, n_boot=n_boot)
    return [{**ident, **decay.to_row(), "preferred_law": "decay"}]


def _rows_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    for row in rows:
        row["detail"] = json.dumps(row.get("detail") or {}, default=float)
    schema = {
        "run_id": pl.String, "source": pl.String, "quantity": pl.String,
        "estimator": pl.String, "ratio": pl.Int32, "law": pl.String, "exponent": pl.Float64,
        "exponent_lo": pl.Float64, "exponent_hi": pl.Float64, "amplitude": pl.Float64,
        "offset_c": pl.Float64, "r2": pl.Float64, "aic": pl.Float64, "bic": pl.Float64,
        "n_points": pl.Int32, "x_min": pl.Float64, "x_max": pl.Float64,
        "preferred_law": pl.String, "detail": pl.String,
    }  # fmt: skip
    return pl.DataFrame(
        [{k: row.get(k) for k in schema} for row in rows], schema=schema, orient="row"
    )
