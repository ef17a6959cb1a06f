"""Fit every MI series of a ``mi_estimates`` frame: β for bipartite, α for two-point.

A *series* is one (run_id, source, quantity, estimator, ratio): bipartite MI against L
(power law ``I = A·L^β`` vs. log law ``I = a·log L + b``) or two-point MI against d
(``I = A·d^(−α) + C``, Eq. A.17/A.18). The result is a frame with the columns ``FITS_SCHEMA``.

Bipartite β is the OLS slope of log I on log L over the measured L, unweighted even when the
points carry stderr: its target is then well defined — the same fit of the exact curve at the
same L (``BETA_TARGET``, docs/estimators.md "Which β an interval is about") — while stderr
weights would make the target depend on the estimates' own noise. Its interval is the curve
bootstrap (``fits.curve_bootstrap``) where per-sample values exist.

A two-point series with a shuffle baseline (estimator ``e`` beside ``e_shuffled``) is fitted
twice: as it is (C absorbs the estimator's bias floor) and as the shuffle-subtracted series
``e_minus_baseline``, I_d − I_d^shuffled, whose floor is ~0 (``two_point_mi`` writes it with
the jackknife stderr; derived here with √(σ² + σ_shuffled²) for runs that lack it).
On a power-law chain at the books' N/V² the raw curve rises with d (fewer pairs, more bias)
and its α is wrong, the subtracted α covers the exact one (``benchmarks.calibration.alpha``),
so reports quote the subtracted α (``docs/estimators.md``).

Points a fit cannot use are dropped and counted, never silently: a point without a value, and
I ≤ 0 where the fit takes log I (the power-vs-log comparison; the decay fit without stderr). The
stderr-weighted decay fit works on I itself and keeps every point. Each row carries the count,
the reason and the warnings of ``fits.diagnostics``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from l2m_analysis.errors import InputError
from l2m_analysis.fits import compare_laws, fit_decay_with_offset
from l2m_analysis.fits.diagnostics import fit_warnings
from l2m_analysis.warehouse.schema import TABLES

SERIES_KEYS = ["run_id", "source", "quantity", "estimator", "ratio"]
# The rows frame: one row per fitted law of a series, the columns of the warehouse's ``fits``
# table (defined once, with a comment per column, in ``warehouse.schema``) but ``created_at``.
FITS_SCHEMA: dict[str, pl.DataType] = {
    name: dtype
    for name, dtype in pl.from_arrow(TABLES["fits"].empty_table()).schema.items()
    if name != "created_at"
}
FITS_COLUMNS = list(FITS_SCHEMA)
# Estimators that are baselines, not signals: listed next to the signal, never fitted.
BASELINE_SUFFIX = "_shuffled"
# What a bipartite β (and its interval) is about; stored in every power row's detail.
BETA_TARGET = (
    "OLS slope of log I on log L over the fitted L (unweighted); the exact β of a known source "
    "is the same fit of the exact I at the same L"
)

# The shuffle-subtracted two-point series: estimator ``e`` + this suffix.
SUBTRACTED_SUFFIX = "_minus_baseline"


@dataclass(frozen=True)
class SeriesFits:
    """Fitted rows (``FITS_SCHEMA``) and the series that were skipped: each skipped entry is the
    series keys plus reason, n_points (usable points), n_dropped and drop_reason."""

    rows: pl.DataFrame
    skipped: list[dict[str, object]] = field(default_factory=list)


def fit_mi_series(
    estimates: pl.DataFrame, *, min_points: int = 3, weighted: bool = True, n_boot: int = 200
) -> SeriesFits:
    """Fit each series in ``estimates`` (rows of ``mi_estimates``; values in nats).

    A series with fewer than ``min_points`` usable points is skipped. ``weighted``: use the
    stderr column when every point has one > 0 (else that series is fitted unweighted); a
    bipartite series is always fitted by OLS (``BETA_TARGET``).
    ``n_boot``: wild-bootstrap replicates of each decay fit."""
    required = {"run_id", "source", "quantity", "estimator", "value", "stderr"}
    missing = required - set(estimates.columns)
    if missing:
        raise InputError(
            f"mi_estimates frame lacks columns {sorted(missing)}",
            "pass rows of the mi_estimates table (see docs/warehouse.md)",
        )
    estimates = with_baseline_subtracted(
        estimates.with_columns(pl.col("value", "stderr").cast(pl.Float64))
    )
    rows: list[dict[str, object]] = []
    skipped: list[dict[str, object]] = []
    for key, series in estimates.group_by(SERIES_KEYS, maintain_order=True):
        ident = dict(zip(SERIES_KEYS, key, strict=True))
        if str(ident["estimator"]).endswith(BASELINE_SUFFIX):
            continue
        x, y, se, drops = usable_points(series, str(ident["quantity"]), weighted)
        counts = {"n_points": int(x.size), **drops}
        if x.size < min_points:
            skipped.append({**ident, "reason": f"{x.size} usable points < {min_points}", **counts})
            continue
        try:
            fitted = _fit_one(ident, x, y, se, n_boot)
        except InputError as err:
            skipped.append({**ident, "reason": err.problem, **counts})
            continue
        for row in fitted:
            row.update(drops, warnings=fit_warnings(row, x, y, se, min_points))
        rows.extend(fitted)
    return SeriesFits(_rows_frame(rows), skipped)


def with_baseline_subtracted(estimates: pl.DataFrame) -> pl.DataFrame:
    """``estimates`` plus, for every two-point series ``e`` with a baseline ``e_shuffled`` and
    no stored ``e_minus_baseline`` (``two_point_mi`` writes it, with the jackknife stderr, since
    issue 18), that series: I_d − I_d^shuffled (nats) and √(σ² + σ_shuffled²) at the distances
    both have (NULL stderr when either lacks one)."""
    if "distance" not in estimates.columns or estimates.is_empty():
        return estimates
    keys = ["run_id", "source", "quantity", "estimator", "distance"]
    two_point = estimates.filter(pl.col("quantity") == "two_point")
    is_base = pl.col("estimator").str.ends_with(BASELINE_SUFFIX)
    base = two_point.filter(is_base).select(
        *keys[:3],
        pl.col("estimator").str.strip_suffix(BASELINE_SUFFIX),
        "distance",
        pl.col("value").alias("_base"),
        pl.col("stderr").alias("_base_se"),
    )
    signal = two_point.filter(~is_base & ~pl.col("estimator").str.ends_with(SUBTRACTED_SUFFIX))
    present = two_point.filter(pl.col("estimator").str.ends_with(SUBTRACTED_SUFFIX)).select(
        *keys[:3], pl.col("estimator").str.strip_suffix(SUBTRACTED_SUFFIX)
    )  # written by two_point_mi (with the jackknife stderr): not derived again
    signal = signal.join(present.unique(), on=keys[:4], how="anti")
    joined = signal.join(base, on=keys, how="inner")
    if joined.is_empty():
        return estimates
    subtracted = joined.with_columns(
        value=pl.col("value") - pl.col("_base"),
        stderr=(pl.col("stderr") ** 2 + pl.col("_base_se") ** 2).sqrt(),
        estimator=pl.col("estimator") + SUBTRACTED_SUFFIX,
    ).select(estimates.columns)
    return pl.concat([estimates, subtracted.cast(estimates.schema)])


def usable_points(series: pl.DataFrame, quantity: str, weighted: bool):
    """The points a series' fit uses -> x (L or d), y (nats), stderr or None, each (n,), and
    {"n_dropped", "drop_reason"} for the rest.

    Dropped: rows without x, points without a value (NULL/NaN), and I <= 0 where the fit takes
    log I (bipartite; two-point without usable stderr). Kept: I <= 0 in the stderr-weighted
    decay fit, which works on I itself."""
    x_col = "length" if quantity == "bipartite" else "distance"
    reasons: list[tuple[int, str]] = [(series[x_col].null_count(), f"with no {x_col}")]
    series = series.filter(pl.col(x_col).is_not_null()).sort(x_col)
    # One value per x: the estimates at a given x are averaged over splits (none expected).
    series = series.group_by(x_col, maintain_order=True).agg(
        pl.col("value").mean(), (pl.col("stderr") ** 2).mean().sqrt()
    )
    valid = pl.col("value").is_not_null() & pl.col("value").is_not_nan()
    reasons.append((series.height - series.filter(valid).height, "with no value (NULL or NaN)"))
    series = series.filter(valid)
    if quantity == "bipartite":  # the comparison is on log I, weighted or not
        series = _drop_non_positive(series, reasons, "the law comparison on log I")
    se = _stderr(series) if weighted and quantity != "bipartite" else None
    if se is None and quantity != "bipartite":
        series = _drop_non_positive(series, reasons, "the log-space decay fit, Eq. A.18,")
    reasons = [(k, why) for k, why in reasons if k]
    drops = {
        "n_dropped": sum(k for k, _ in reasons),
        "drop_reason": "; ".join(f"{k} point{'s' * (k != 1)} {why}" for k, why in reasons) or None,
    }
    x = series[x_col].to_numpy().astype(float)
    y = series["value"].to_numpy().astype(float)
    return x, y, se, drops


def _stderr(series: pl.DataFrame) -> np.ndarray | None:
    """The points' stderr when every one is > 0, else None (e.g. exact values: unweighted)."""
    se = series["stderr"].to_numpy().astype(float)
    return None if np.isnan(se).any() or (se <= 0).any() else se


def _drop_non_positive(series: pl.DataFrame, reasons: list, need: str) -> pl.DataFrame:
    """Drop I <= 0 (a fit that takes log I), noting how many in ``reasons``."""
    kept = series.filter(pl.col("value") > 0)
    reasons.append((series.height - kept.height, f"with I <= 0 ({need} needs I > 0)"))
    return kept


def _fit_one(
    ident: dict[str, object], x: np.ndarray, y: np.ndarray, se: np.ndarray | None, n_boot: int
) -> list[dict[str, object]]:
    if ident["quantity"] == "bipartite":
        # both laws scored on the log I scale, so their AIC/BIC compare (fits.compare_laws)
        rows = [{**ident, **row} for row in compare_laws(x, y, stderr=se).to_rows()]
        rows[0]["detail"]["beta_target"] = BETA_TARGET
        return rows
    decay = fit_decay_with_offset(x, y, stderr=se, n_boot=n_boot)
    return [{**ident, **decay.to_row(), "preferred_law": "decay"}]


def _rows_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    for row in rows:
        row["detail"] = json.dumps(row.get("detail") or {}, default=float)
    return pl.DataFrame(
        [{k: row.get(k) for k in FITS_SCHEMA} for row in rows], schema=FITS_SCHEMA, orient="row"
    )
