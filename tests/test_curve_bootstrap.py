"""The curve bootstrap: when every point of a curve is a mean over the SAME samples, β's interval
must come from resampling samples, not from the scatter of the points around the line."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from l2m_analysis.fits import fit_power_law
from l2m_analysis.fits.curve_bootstrap import curve_bootstrap_beta, with_curve_bootstrap

LENGTHS = 4 * 2 ** np.arange(6)  # L = 4 .. 128
BETA, TAU, SAMPLES = 0.7, 0.4, 100


def planted(seed: int) -> pl.DataFrame:
    """Per-sample values A·L^β·(1 + b_s·(log L − mean log L)), b_s ~ N(0, τ²): the population
    mean is exactly A·L^β, but each sample tilts the whole curve, so the points are correlated."""
    rng = np.random.default_rng(seed)
    tilt = rng.normal(0, TAU, SAMPLES)[:, None] * (np.log(LENGTHS) - np.log(LENGTHS).mean())
    noise = rng.normal(0, 0.02, (SAMPLES, LENGTHS.size))
    values = 2.0 * LENGTHS**BETA * (1 + tilt / 4 + noise)  # (S, P)
    return pl.DataFrame({
        "run_id": "r", "estimator": "direct", "ratio": 2,
        "length": np.tile(LENGTHS, SAMPLES), "split_at": np.tile(LENGTHS // 2, SAMPLES),
        "sample_id": np.repeat(np.arange(SAMPLES), LENGTHS.size),
        "sample_value": values.reshape(-1), "common_stderr": None,
    }).cast({"ratio": pl.Int32, "common_stderr": pl.Float64})  # fmt: skip


def test_the_bootstrap_covers_beta_where_the_point_fit_does_not() -> None:
    boot_hits = naive_hits = 0
    seeds = range(40)
    for seed in seeds:
        per_sample = planted(seed)
        (row,) = curve_bootstrap_beta(per_sample, n_boot=400, seed=seed).to_dicts()
        boot_hits += row["bootstrap_exponent_lo"] <= BETA <= row["bootstrap_exponent_hi"]
        points = per_sample.group_by("length").agg(
            value=pl.col("sample_value").mean(),
            stderr=pl.col("sample_value").std() / np.sqrt(SAMPLES),
        ).sort("length")  # fmt: skip
        naive = fit_power_law(points["length"], points["value"], points["stderr"])
        naive_hits += naive.exponent_lo <= BETA <= naive.exponent_hi
    assert boot_hits / len(seeds) >= 0.8  # measured 0.875 (35/40)
    assert naive_hits / len(seeds) <= 0.5  # measured 0.20: the independent-points interval


def test_the_common_term_widens_the_interval() -> None:
    per_sample = planted(1)
    plain = curve_bootstrap_beta(per_sample, n_boot=400, seed=0).row(0, named=True)
    common = curve_bootstrap_beta(
        per_sample.with_columns(common_stderr=pl.lit(3.0)), n_boot=400, seed=0
    ).row(0, named=True)
    width = lambda r: r["bootstrap_exponent_hi"] - r["bootstrap_exponent_lo"]  # noqa: E731
    assert width(common) > 1.2 * width(plain)
    assert plain["bootstrap_samples"] == SAMPLES and plain["bootstrap_replicates"] == 400


def test_the_interval_lands_in_the_power_law_rows_detail() -> None:
    boot = curve_bootstrap_beta(planted(2), n_boot=50, seed=0)
    rows = pl.DataFrame({"run_id": ["r", "r"], "quantity": ["bipartite"] * 2,
                         "estimator": ["direct"] * 2, "ratio": [2, 2], "law": ["power", "log"],
                         "detail": ["{}", "{}"]})  # fmt: skip
    out = [json.loads(d) for d in with_curve_bootstrap(rows, boot)["detail"]]
    assert out[0]["bootstrap_exponent_lo"] == pytest.approx(boot["bootstrap_exponent_lo"][0])
    assert "bootstrap_exponent_lo" not in out[1]
