"""The curve bootstrap: when every point of a curve is a mean over the SAME samples, β's interval
must come from resampling samples (whole documents when samples share one), not from the
scatter of the points around the line; replicates without β are counted, never dropped."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l2m_analysis.fits import fit_power_law
from l2m_analysis.fits.curve_bootstrap import (
    conservative_percentiles,
    curve_bootstrap_beta,
    few_units_widening,
    with_curve_bootstrap,
)
from l2m_analysis.warehouse.memory import frames_connection

LENGTHS = 4 * 2 ** np.arange(6)  # L = 4 .. 128
BETA, TAU, SAMPLES = 0.7, 0.4, 100


def table(values: np.ndarray, lengths: np.ndarray = LENGTHS) -> pl.DataFrame:
    """stg_bipartite_per_sample rows of one series from per-sample values (S, P), nats."""
    n_samples = values.shape[0]
    return pl.DataFrame({
        "run_id": "r", "estimator": "direct", "ratio": 2,
        "length": np.tile(lengths, n_samples), "split_at": np.tile(lengths // 2, n_samples),
        "sample_id": np.repeat(np.arange(n_samples), lengths.size),
        "sample_value": values.reshape(-1), "common_stderr": None,
    }).cast({"ratio": pl.Int32, "common_stderr": pl.Float64})  # fmt: skip


def planted_values(seed: int, tilts: np.ndarray) -> np.ndarray:
    """A·L^β·(1 + t_s·(log L − mean log L)/4 + noise): the population mean is exactly A·L^β
    (so the OLS slope of its log is β), but each sample's tilt t_s moves the whole curve."""
    rng = np.random.default_rng(seed)
    tilt = tilts[:, None] * (np.log(LENGTHS) - np.log(LENGTHS).mean())
    noise = rng.normal(0, 0.02, (tilts.size, LENGTHS.size))
    return 2.0 * LENGTHS**BETA * (1 + tilt / 4 + noise)  # (S, P)


def planted(seed: int) -> pl.DataFrame:
    return table(planted_values(seed, np.random.default_rng([seed, 1]).normal(0, TAU, SAMPLES)))


def covers(row: dict, value: float = BETA) -> bool:
    return row["bootstrap_exponent_lo"] <= value <= row["bootstrap_exponent_hi"]


def test_the_bootstrap_covers_beta_where_the_point_fit_does_not() -> None:
    boot_hits = naive_hits = 0
    seeds = range(30)
    for seed in seeds:
        per_sample = planted(seed)
        (row,) = curve_bootstrap_beta(per_sample, n_boot=400, seed=seed).to_dicts()
        boot_hits += covers(row)
        points = per_sample.group_by("length").agg(
            value=pl.col("sample_value").mean(),
            stderr=pl.col("sample_value").std() / np.sqrt(SAMPLES),
        ).sort("length")  # fmt: skip
        naive = fit_power_law(points["length"], points["value"], points["stderr"])
        naive_hits += naive.exponent_lo <= BETA <= naive.exponent_hi
    assert boot_hits / len(seeds) >= 0.8  # measured 0.90 (27/30)
    assert naive_hits / len(seeds) <= 0.5  # measured 0.267 (8/30): the independent-points interval


def test_samples_of_one_document_are_resampled_together() -> None:
    # 20 documents of 5 samples each; the tilt belongs to the document, so its 5 samples move
    # together and a bootstrap over samples sees 100 draws where there are 20
    docs, per_doc = 20, 5
    documents = pl.DataFrame({"run_id": "r", "sample_id": np.arange(docs * per_doc),
                              "doc_id": np.repeat(np.arange(docs), per_doc)})  # fmt: skip
    by_doc = by_sample = 0
    seeds = range(30)
    for seed in seeds:
        tilts = np.repeat(np.random.default_rng([seed, 2]).normal(0, TAU, docs), per_doc)
        per_sample = table(planted_values(seed, tilts))
        (doc_row,) = curve_bootstrap_beta(per_sample, n_boot=300, documents=documents).to_dicts()
        (sample_row,) = curve_bootstrap_beta(per_sample, n_boot=300).to_dicts()
        assert doc_row["bootstrap_documents"] == docs and sample_row["bootstrap_documents"] is None
        by_doc += covers(doc_row)
        by_sample += covers(sample_row)
    assert by_doc / len(seeds) >= 0.8  # measured 0.90 (27/30)
    assert by_sample / len(seeds) <= 0.65  # measured 0.533 (16/30): clustering ignored


def test_four_documents_are_widened_by_t_with_three_degrees_of_freedom() -> None:
    # the main job's text: 32 samples from 4 books. Percentiles over 4 units are too narrow;
    # scaled by t(0.975; 3)/z(0.975)·√(4/3) = 1.875 about β̂ they cover
    assert few_units_widening(4, 0.05) == pytest.approx(1.8749, abs=1e-4)
    assert few_units_widening(200, 0.05) == pytest.approx(1.0086, abs=1e-4)
    documents = pl.DataFrame({"run_id": "r", "sample_id": np.arange(32),
                              "doc_id": np.repeat(np.arange(4), 8)})  # fmt: skip
    hits = 0
    for seed in range(30):
        tilts = np.repeat(np.random.default_rng([seed, 3]).normal(0, TAU, 4), 8)
        per_sample = table(planted_values(seed, tilts))
        (row,) = curve_bootstrap_beta(per_sample, n_boot=200, documents=documents).to_dicts()
        assert row["bootstrap_widening"] == pytest.approx(1.8749, abs=1e-4)
        hits += covers(row)
    assert hits / 30 >= 0.8  # measured 0.93 (28/30); unwidened percentiles: 0.83 (25/30)


def test_replicates_without_beta_are_counted_and_open_the_interval() -> None:
    # sample 0 is -1000 nats at the first L: every replicate that draws it has a mean <= 0
    # there (no log, no β); that is 1 − (1 − 1/S)^S ≈ 63 % of them
    values = np.ones((SAMPLES, LENGTHS.size)) * LENGTHS**BETA
    values[0, 0] = -1000.0
    (row,) = curve_bootstrap_beta(table(values), n_boot=400, seed=3).to_dicts()
    assert row["bootstrap_replicates"] == 400
    assert 0.56 * 400 < row["bootstrap_nonpositive"] < 0.71 * 400
    assert math.isnan(row["bootstrap_exponent_lo"]) and math.isnan(row["bootstrap_exponent_hi"])
    fits_rows = pl.DataFrame({
        "run_id": ["r"], "quantity": ["bipartite"], "estimator": ["direct"], "ratio": [2],
        "law": ["power"], "exponent": [0.7], "exponent_lo": [0.6], "exponent_hi": [0.8],
        "warnings": [[]], "detail": ["{}"]})  # fmt: skip
    (out,) = with_curve_bootstrap(fits_rows, pl.DataFrame([row])).to_dicts()
    assert out["exponent_lo"] is None and out["exponent_hi"] is None
    assert "open interval" in out["warnings"]
    assert any(f"{row['bootstrap_nonpositive']} of 400 bootstrap" in w for w in out["warnings"])
    detail = json.loads(out["detail"])
    assert detail["t_exponent_lo"] == 0.6 and detail["bootstrap_nonpositive"] > 0


def test_missing_replicates_widen_both_ends_by_their_number() -> None:
    betas = np.arange(1000, dtype=float)  # 2.5 % tails: 25 replicates beyond each end
    assert conservative_percentiles(betas, 0.05) == pytest.approx((24.975, 974.025))
    with_missing = np.concatenate([betas[:990], np.full(10, np.nan)])
    # ranked among all 1000, the 10 missing ones sit below the lower and above the upper end
    assert conservative_percentiles(with_missing, 0.05) == (15.0, 974.0)
    lo, hi = conservative_percentiles(np.concatenate([betas[:974], np.full(26, np.nan)]), 0.05)
    assert math.isnan(lo) and math.isnan(hi)


def test_the_same_seed_gives_the_same_interval_whatever_the_row_order() -> None:
    per_sample = pl.concat([planted(4), planted(5).with_columns(ratio=pl.lit(3, pl.Int32))])
    first = curve_bootstrap_beta(per_sample, n_boot=50, seed=1)
    shuffled = curve_bootstrap_beta(
        per_sample.sample(fraction=1.0, shuffle=True, seed=9), n_boot=50, seed=1
    )
    assert first.sort("ratio").equals(shuffled.sort("ratio"))


def test_the_common_term_widens_the_interval() -> None:
    per_sample = planted(1)
    plain = curve_bootstrap_beta(per_sample, n_boot=400, seed=0).row(0, named=True)
    common = curve_bootstrap_beta(
        per_sample.with_columns(common_stderr=pl.lit(0.5)), n_boot=400, seed=0
    ).row(0, named=True)
    width = lambda r: r["bootstrap_exponent_hi"] - r["bootstrap_exponent_lo"]  # noqa: E731
    assert width(common) > 1.2 * width(plain) and common["bootstrap_nonpositive"] == 0
    assert plain["bootstrap_samples"] == SAMPLES and plain["bootstrap_replicates"] == 400


def test_the_interval_becomes_the_power_law_rows_interval() -> None:
    boot = curve_bootstrap_beta(planted(2), n_boot=50, seed=0)
    rows = pl.DataFrame({"run_id": ["r", "r"], "quantity": ["bipartite"] * 2,
                         "estimator": ["direct"] * 2, "ratio": [2, 2], "law": ["power", "log"],
                         "exponent_lo": [0.1, 0.2], "exponent_hi": [0.9, 0.3],
                         "warnings": [[], []], "detail": ["{}", "{}"]})  # fmt: skip
    out = with_curve_bootstrap(rows, boot).to_dicts()
    assert out[0]["exponent_lo"] == pytest.approx(boot["bootstrap_exponent_lo"][0])
    assert json.loads(out[0]["detail"])["t_exponent_hi"] == 0.9
    assert not any("documents" in w for w in out[0]["warnings"])
    few = boot.with_columns(bootstrap_documents=pl.lit(4, pl.Int64))
    (flagged, _) = with_curve_bootstrap(rows, few).to_dicts()
    assert any(w.startswith("only 4 documents") for w in flagged["warnings"])
    assert out[1]["exponent_lo"] == 0.2 and "bootstrap_exponent_lo" not in out[1]["detail"]


@settings(max_examples=40, deadline=None)
@given(
    scale=st.floats(1e-3, 1e3, allow_subnormal=False),
    stretch=st.sampled_from([2.0, 3.0, 10.0, 0.25]),
    beta=st.floats(-1.0, 1.5, allow_subnormal=False),
    seed=st.integers(0, 2**16),
)
def test_beta_does_not_depend_on_the_units_of_i_or_l(scale, stretch, beta, seed) -> None:
    # I -> c·I: β and its interval unchanged, A -> c·A; L -> k·L: β unchanged, A -> A·k^−β
    rng = np.random.default_rng(seed)
    y = 1.5 * LENGTHS**beta * np.exp(rng.normal(0, 0.05, LENGTHS.size))
    base = fit_power_law(LENGTHS, y)
    for fit, amplitude in (
        (fit_power_law(LENGTHS, scale * y), scale * base.amplitude),
        (fit_power_law(stretch * LENGTHS, y), base.amplitude * stretch**-base.exponent),
    ):
        assert fit.exponent == pytest.approx(base.exponent, abs=1e-9)
        assert fit.exponent_lo == pytest.approx(base.exponent_lo, abs=1e-9)
        assert fit.amplitude == pytest.approx(amplitude, rel=1e-9)
    values = y * (1 + rng.normal(0, 0.1, (8, LENGTHS.size)))
    one = curve_bootstrap_beta(table(values), n_boot=30, seed=seed).row(0, named=True)
    scaled = curve_bootstrap_beta(table(scale * values), n_boot=30, seed=seed).row(0, named=True)
    assert scaled["bootstrap_exponent_lo"] == pytest.approx(one["bootstrap_exponent_lo"], abs=1e-9)
    assert scaled["bootstrap_exponent_hi"] == pytest.approx(one["bootstrap_exponent_hi"], abs=1e-9)


def test_scored_samples_find_their_documents_through_the_run_config() -> None:
    # scored sample i is corpus sample corpus_sample_ids[i] (pipelines.score_logprobs); the
    # tokens table says which document that corpus sample is in; the oracle run has no corpus
    runs = pl.DataFrame({
        "run_id": ["llm", "oracle"],
        "config": [json.dumps({"corpus_run_id": "books", "corpus_sample_ids": [3, 5, 8, 9]}),
                   json.dumps({"family": "subvolume"})],
    })  # fmt: skip
    tokens = pl.DataFrame({
        "run_id": "books", "doc_id": [0, 0, 1, 1, 1, 2, 2, 2, 7],
        "sample_id": [3, 3, 5, 5, 6, 8, 8, 9, 10], "position": [0, 1, 0, 1, 0, 0, 1, 0, 0],
        "token_id": 1,
    })  # fmt: skip
    con = frames_connection({"runs": runs, "tokens": tokens})
    got = con.sql("SELECT * FROM stg_sample_documents ORDER BY sample_id").pl()
    assert got.rows() == [("llm", 0, 0), ("llm", 1, 1), ("llm", 2, 2), ("llm", 3, 2)]
