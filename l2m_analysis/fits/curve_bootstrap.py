"""β with a sample-level bootstrap over the WHOLE bipartite curve.

Every point I(L) of a scored run's curve is a mean over the same samples, so the points are
correlated; a fit that treats them as independent understates β's interval. Here each replicate
resamples the samples (with replacement), recomputes every point from the per-sample values
(``queries/staging/stg_bipartite_per_sample.sql``), adds one draw of the term common to every
point (4/5·se(Ĥ_G) for the corrected direct estimator), and refits log I on log L with the
original fit's weights (I/σ)². The percentile interval of those β is the curve bootstrap
interval, reported beside the fit's own.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

SERIES = ["run_id", "estimator", "ratio"]
COLUMNS = {"run_id": pl.String, "estimator": pl.String, "ratio": pl.Int32,
           "bootstrap_exponent_lo": pl.Float64, "bootstrap_exponent_hi": pl.Float64,
           "bootstrap_exponent_sd": pl.Float64, "bootstrap_replicates": pl.Int64,
           "bootstrap_samples": pl.Int64}  # fmt: skip


def curve_bootstrap_beta(
    per_sample: pl.DataFrame, *, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> pl.DataFrame:
    """Percentile interval of β per (run_id, estimator, ratio), columns ``COLUMNS``.

    per_sample: rows of stg_bipartite_per_sample (run_id, estimator, length, ratio, sample_id,
    sample_value, common_stderr; nats). Only samples present at every L of a series are used;
    replicates with a non-positive mean at some L (log undefined) are dropped and not counted.
    """
    out = []
    if n_boot < 1 or per_sample.is_empty():
        return pl.DataFrame(schema=COLUMNS)
    rng = np.random.default_rng(seed)
    for key, series in per_sample.group_by(SERIES, maintain_order=True):
        wide = series.pivot(on="length", index="sample_id", values="sample_value").drop_nulls()
        lengths = sorted(int(c) for c in wide.columns if c != "sample_id")
        if len(lengths) < 3 or wide.height < 2:
            continue
        values = wide.select([str(n) for n in lengths]).to_numpy()  # (S, P)
        n_samples = values.shape[0]
        common = series["common_stderr"].drop_nulls()
        counts = rng.multinomial(n_samples, np.full(n_samples, 1 / n_samples), size=n_boot)
        means = counts @ values / n_samples  # (B, P)
        if common.len():
            means = means + rng.normal(0.0, float(common[0]), size=(n_boot, 1))
        betas = _weighted_slopes(np.log(lengths), means, values)
        betas = betas[np.isfinite(betas)]
        if betas.size < 2:
            continue
        lo, hi = np.percentile(betas, [50 * alpha, 100 - 50 * alpha])
        out.append({
            **dict(zip(SERIES, key, strict=True)), "bootstrap_exponent_lo": lo,
            "bootstrap_exponent_hi": hi, "bootstrap_exponent_sd": betas.std(ddof=1),
            "bootstrap_replicates": betas.size, "bootstrap_samples": n_samples,
        })  # fmt: skip
    return pl.DataFrame(out, schema=COLUMNS)


def _weighted_slopes(log_x: np.ndarray, means: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Slope of log(mean) on log x per replicate (B,), weights (I/σ)² of the original points;
    NaN where a replicate mean is <= 0."""
    mean = values.mean(axis=0)
    sigma = values.std(axis=0, ddof=1) / np.sqrt(values.shape[0])
    w = np.where((mean > 0) & (sigma > 0), (mean / np.where(sigma > 0, sigma, 1)) ** 2, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_y = np.log(np.where(means > 0, means, np.nan))  # (B, P)
    xm = np.sum(w * log_x) / w.sum()
    ym = np.sum(w * log_y, axis=1) / w.sum()
    dx = log_x - xm
    return np.sum(w * dx * (log_y - ym[:, None]), axis=1) / np.sum(w * dx * dx)


def with_curve_bootstrap(rows: pl.DataFrame, boot: pl.DataFrame) -> pl.DataFrame:
    """``fits`` rows with each bipartite power-law row's curve bootstrap added to its ``detail``
    (bootstrap_exponent_lo/hi/sd, bootstrap_replicates, bootstrap_samples)."""
    if boot.is_empty() or rows.is_empty():
        return rows
    found = {(r["run_id"], r["estimator"], r["ratio"]): r for r in boot.iter_rows(named=True)}
    details = []
    for r in rows.iter_rows(named=True):
        detail = json.loads(r["detail"] or "{}")
        extra = found.get((r["run_id"], r["estimator"], r["ratio"]))
        if r["law"] == "power" and r["quantity"] == "bipartite" and extra is not None:
            detail |= {k: v for k, v in extra.items() if k.startswith("bootstrap_")}
            detail["curve_bootstrap"] = "samples resampled, every point recomputed, refitted"
        details.append(json.dumps(detail, default=float))
    return rows.with_columns(detail=pl.Series(details, dtype=pl.String))
