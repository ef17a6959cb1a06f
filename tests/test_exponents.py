"""fit_exponents on planted series: recovers β, α, C and tells a power law from a log law."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from l2m_analysis.errors import InputError
from l2m_analysis.exponents import fit_mi_series

ROOT = Path(__file__).resolve().parents[1]
LENGTHS = 4.0 ** np.arange(1, 9)
DISTANCES = 2.0 ** np.arange(0, 12)


def planted_estimates(seed: int = 0) -> pl.DataFrame:
    """Three planted series: power law β=0.6, log law, and decay α=0.8 over a floor C=0.01."""
    rng = np.random.default_rng(seed)
    noise = lambda n: np.exp(rng.normal(0, 0.01, n))  # noqa: E731
    power = 0.3 * LENGTHS**0.6 * noise(LENGTHS.size)
    log_law = (0.7 * np.log(LENGTHS) + 0.2) * noise(LENGTHS.size)
    decay = 0.5 * DISTANCES**-0.8 + 0.01
    decay = decay * noise(DISTANCES.size)
    rows = []
    for source, values in (("planted_power", power), ("planted_log", log_law)):
        rows += [
            {"run_id": "planted", "source": source, "quantity": "bipartite", "estimator": "exact",
             "length": int(L), "split_at": int(L) // 2, "ratio": 2, "distance": None,
             "value": float(v), "stderr": None}
            for L, v in zip(LENGTHS, values, strict=True)
        ]  # fmt: skip
    rows += [
        {"run_id": "planted", "source": "planted_decay", "quantity": "two_point",
         "estimator": "grassberger", "length": None, "split_at": None, "ratio": None,
         "distance": int(d), "value": float(v), "stderr": None}
        for d, v in zip(DISTANCES, decay, strict=True)
    ]  # fmt: skip
    return pl.DataFrame(rows)


def test_planted_exponents_are_recovered_within_their_intervals() -> None:
    covered = {"beta": 0, "alpha": 0}
    for seed in range(5):  # 95% intervals: demand coverage in at least 4 of 5 seeds
        fits = fit_mi_series(planted_estimates(seed)).rows
        power = fits.filter(source="planted_power", law="power").row(0, named=True)
        covered["beta"] += power["exponent_lo"] <= 0.6 <= power["exponent_hi"]
        assert power["exponent"] == pytest.approx(0.6, abs=0.02)
        assert power["preferred_law"] == "power"
        assert set(fits.filter(source="planted_log")["preferred_law"]) == {"log"}
        decay = fits.filter(source="planted_decay").row(0, named=True)
        assert decay["law"] == "decay"
        covered["alpha"] += decay["exponent_lo"] <= 0.8 <= decay["exponent_hi"]
        assert decay["exponent"] == pytest.approx(0.8, abs=0.05)
        assert decay["offset_c"] == pytest.approx(0.01, abs=0.005)
    assert covered["beta"] >= 4 and covered["alpha"] >= 4, covered


def test_shuffled_baselines_are_not_fitted_and_short_series_are_skipped() -> None:
    est = planted_estimates().with_columns(
        estimator=pl.when(pl.col("source") == "planted_decay")
        .then(pl.lit("grassberger_shuffled"))
        .otherwise(pl.col("estimator"))
    )
    short = est.filter(pl.col("source") == "planted_power").head(2)
    result = fit_mi_series(pl.concat([est.filter(pl.col("source") != "planted_power"), short]))
    assert "planted_decay" not in result.rows["source"].to_list()
    assert [s["source"] for s in result.skipped] == ["planted_power"]


def test_missing_columns_are_named() -> None:
    with pytest.raises(InputError, match="lacks columns"):
        fit_mi_series(planted_estimates().drop("stderr"))
