"""Fits recover planted exponents within their reported intervals; laws are told apart."""

from __future__ import annotations

import json

import numpy as np
import pytest

from l2m_analysis.errors import InputError
from l2m_analysis.fits import (
    compare_laws,
    fit_decay_with_offset,
    fit_log_law,
    fit_power_law,
)
from l2m_analysis.fits.series import FITS_COLUMNS

SEEDS = range(50)
LENGTHS = 4.0 ** np.arange(1, 9)  # L = 4^1 .. 4^8
DISTANCES = 2.0 ** np.arange(0, 11)  # d = 1 .. 1024


def _lognormal(seed: int, size: int, sigma: float) -> np.ndarray:
    return np.exp(sigma * np.random.default_rng(seed).standard_normal(size))


def test_power_law_interval_covers_planted_beta():
    beta, fits = 0.4, []
    for seed in SEEDS:
        y = 0.5 * LENGTHS**beta * _lognormal(seed, LENGTHS.size, 0.1)
        fits.append(fit_power_law(LENGTHS, y))
    covered = np.mean([f.exponent_lo <= beta <= f.exponent_hi for f in fits])
    widths = np.array([f.exponent_hi - f.exponent_lo for f in fits])
    assert covered >= 0.85
    assert np.median(widths) < 0.1  # theory: 2·t(6)·0.1/sqrt(Σ(log L − mean)²) ≈ 0.054
    assert np.mean([f.amplitude_lo <= 0.5 <= f.amplitude_hi for f in fits]) >= 0.85


def test_power_law_weighted_and_exact():
    exact = fit_power_law(LENGTHS, 2.0 * LENGTHS**0.3)
    assert exact.exponent == pytest.approx(0.3, abs=1e-12)
    assert exact.amplitude == pytest.approx(2.0, rel=1e-10)
    sigma = 0.05 * 2.0 * LENGTHS**0.3
    y = 2.0 * LENGTHS**0.3 * _lognormal(1, LENGTHS.size, 0.05)
    weighted = fit_power_law(LENGTHS, y, stderr=sigma)
    assert weighted.weighted and weighted.exponent_lo <= 0.3 <= weighted.exponent_hi


def test_log_law_interval_covers_planted_slope():
    fits = []
    for seed in SEEDS:
        y = 0.5 * np.log(LENGTHS) + 0.1 + 0.05 * np.random.default_rng(seed).standard_normal(8)
        fits.append(fit_log_law(LENGTHS, y))
    assert np.mean([f.slope_lo <= 0.5 <= f.slope_hi for f in fits]) >= 0.85
    assert np.median([f.slope_hi - f.slope_lo for f in fits]) < 0.05


def _planted_decay(seed: int, noise_on_total: bool):
    amp, alpha, offset = 0.3, 0.6, 0.01
    eps = _lognormal(seed, DISTANCES.size, 0.05)
    power = amp * DISTANCES**-alpha
    y = (power + offset) * eps if noise_on_total else power * eps + offset
    return y, (amp, alpha, offset)


def test_decay_fit_is_exact_on_noise_free_data():
    y = 0.3 * DISTANCES**-0.6 + 0.01
    fit = fit_decay_with_offset(DISTANCES, y, n_boot=20)
    assert fit.exponent == pytest.approx(0.6, abs=1e-6)
    assert fit.amplitude == pytest.approx(0.3, rel=1e-6)
    assert fit.offset == pytest.approx(0.01, rel=1e-5)
    assert fit.exponent_lo <= 0.6 <= fit.exponent_hi and fit.r2 > 0.999999
    no_offset = fit_decay_with_offset(DISTANCES, 0.3 * DISTANCES**-0.6, n_boot=0)
    assert no_offset.offset == pytest.approx(0.0, abs=1e-9)
    assert no_offset.exponent == pytest.approx(0.6, abs=1e-6)


def test_decay_intervals_cover_planted_alpha_and_offset():
    fits = [fit_decay_with_offset(DISTANCES, _planted_decay(s, False)[0], n_boot=20, seed=s)
            for s in SEEDS]  # fmt: skip
    assert np.mean([f.exponent_lo <= 0.6 <= f.exponent_hi for f in fits]) >= 0.85
    assert np.mean([f.offset_lo <= 0.01 <= f.offset_hi for f in fits]) >= 0.8
    assert np.median([f.exponent_hi - f.exponent_lo for f in fits]) < 0.15
    assert np.median([f.offset_hi - f.offset_lo for f in fits]) < 0.01
    # the offset is what makes the exponent right: a plain power law is biased low
    plain = [fit_power_law(DISTANCES, _planted_decay(s, False)[0]).exponent for s in SEEDS]
    assert -np.mean(plain) < 0.5  # fitted I ∝ d^β with β = −α


def test_weighted_decay_with_noise_proportional_to_total():
    fits = []
    for seed in SEEDS:
        y, (amp, alpha, offset) = _planted_decay(seed, True)
        sigma = 0.05 * (amp * DISTANCES**-alpha + offset)
        fits.append(fit_decay_with_offset(DISTANCES, y, stderr=sigma, n_boot=20, seed=seed))
    assert all(f.weighted for f in fits)
    assert np.mean([f.exponent_lo <= 0.6 <= f.exponent_hi for f in fits]) >= 0.8
    assert np.median([f.exponent_hi - f.exponent_lo for f in fits]) < 0.3


# the embedded books' two-point curve (make run; nats): a floor of ≈1.14 under a fast decay
BOOKS_D = 2.0 ** np.arange(0, 14)
BOOKS_I = np.array([2.61672, 1.72145, 1.31829, 1.20701, 1.1947, 1.17371, 1.16613, 1.16142,
                    1.15914, 1.15655, 1.15662, 1.15619, 1.15936, 1.16334])  # fmt: skip


def test_weighted_books_curve_profile_stays_near_the_bootstrap():
    # With log-space weights frozen at the best fit, C = 0 once looked acceptable here (C in
    # [0, 1.156], α in [0.45, 1.50]); the chi-square in I keeps C near the floor. The fit is the
    # minimum of that chi-square, C free above min I: before (log-space IRLS point estimate, C <
    # min I) α = 1.416, profile [1.376, 1.530]; now α = 1.457, [1.377, 1.542] (brute force in
    # tests/test_decay_chi2.py).
    fit = fit_decay_with_offset(BOOKS_D, BOOKS_I, stderr=np.full(14, 0.0068), n_boot=200)
    detail = fit.to_row()["detail"]
    assert 1.14 < fit.offset_lo <= fit.offset <= fit.offset_hi < 1.17
    assert fit.offset > BOOKS_I.min()  # the floor sits above the lowest (noisy) point
    boot_width = detail["bootstrap_exponent_hi"] - detail["bootstrap_exponent_lo"]
    assert fit.exponent_hi - fit.exponent_lo < 2.5 * boot_width
    assert fit.exponent_lo < fit.exponent < fit.exponent_hi
    assert detail["bootstrap_exponent_lo"] < fit.exponent < detail["bootstrap_exponent_hi"]


def test_short_weighted_curve_gets_a_finite_interval():
    # 30k tokens, d = 1..16: log-space weights re-fitted along the profile vanished for large α
    # and left the interval unbounded; the chi-square in I bounds it.
    d = np.array([1.0, 2, 4, 8, 16])
    y = np.array([3.231464, 2.723124, 2.332596, 2.231806, 2.207545])
    s = np.array([0.036901, 0.035599, 0.033151, 0.03305, 0.032877])
    fit = fit_decay_with_offset(d, y, stderr=s, n_boot=0)
    assert np.isfinite([fit.exponent_lo, fit.exponent_hi]).all()
    assert fit.exponent_lo < fit.exponent < fit.exponent_hi < 5


def test_decay_bootstrap_is_seeded_and_reported():
    y = _planted_decay(3, False)[0]
    a, b = fit_decay_with_offset(DISTANCES, y, seed=5), fit_decay_with_offset(DISTANCES, y, seed=5)
    assert a.to_row() == b.to_row()
    detail = a.to_row()["detail"]
    assert "profile" in detail["interval_method"] and detail["n_boot"] == 200
    assert detail["bootstrap_exponent_lo"] < a.exponent < detail["bootstrap_exponent_hi"]
    assert a.amplitude_lo <= a.amplitude <= a.amplitude_hi


def test_compare_laws_tells_log_from_power():
    for seed in range(20):
        log_data = (0.5 * np.log(LENGTHS) + 0.1) * _lognormal(seed, 8, 0.05)
        power_data = 0.5 * LENGTHS**0.4 * _lognormal(seed, 8, 0.05)
        on_log, on_power = compare_laws(LENGTHS, log_data), compare_laws(LENGTHS, power_data)
        assert on_log.preferred == "log" and on_log.delta_aic < -4
        assert on_power.preferred == "power" and on_power.delta_aic > 4
    # same response scale: the power AIC is statsmodels' log-log AIC
    assert on_power.aic_power == pytest.approx(on_power.power.aic, rel=1e-12)
    assert on_power.bic_log - on_power.bic_power == pytest.approx(on_power.delta_aic)


def test_compare_laws_log_law_stays_feasible():
    y = 1e-3 * LENGTHS**1.5  # convex in log L: the linear fit of the log law goes negative
    assert np.any(fit_log_law(LENGTHS, y).result.fittedvalues <= 0)
    cmp = compare_laws(LENGTHS, y * _lognormal(0, 8, 0.05), stderr=0.05 * y)
    assert cmp.preferred == "power" and cmp.power.weighted
    assert np.isfinite(cmp.aic_log)  # refitted from a feasible start on the log scale
    assert np.all(cmp.log_slope * np.log(LENGTHS) + cmp.log_intercept > 0)


def test_rows_match_the_fits_table():
    # what fit_mi_series adds (the series keys, the verdict, the drop counts, the warnings)
    added = {"run_id", "source", "quantity", "estimator", "ratio", "preferred_law",
             "n_dropped", "drop_reason", "warnings"}  # fmt: skip
    keys = set(FITS_COLUMNS) - added
    y = _planted_decay(0, False)[0]
    rows = [
        fit_power_law(LENGTHS, 0.5 * LENGTHS**0.4).to_row(),
        fit_log_law(LENGTHS, np.log(LENGTHS)).to_row(),
        fit_decay_with_offset(DISTANCES, y, n_boot=0).to_row(),
        *compare_laws(LENGTHS, 0.5 * LENGTHS**0.4).to_rows(),
    ]
    for row in rows:
        assert keys <= set(row) <= set(FITS_COLUMNS)
        json.dumps(row, allow_nan=False)  # JSON-able, no NaN/inf
    assert [r["law"] for r in rows] == ["power", "log", "decay", "power", "log"]
    assert rows[2]["amplitude"] == pytest.approx(0.3, rel=0.2)
    assert rows[3]["preferred_law"] == rows[4]["preferred_law"] == "power"


@pytest.mark.parametrize(
    ("x", "y", "stderr", "message"),
    [
        ([1, 2], [1, 2], None, "at least"),
        ([0, 1, 2], [1, 2, 3], None, "non-positive"),
        ([1, 2, 3], [1, -2, 3], None, "non-positive"),
        ([1, 2, np.nan], [1, 2, 3], None, "NaN"),
        ([1, 2, 3], [1, 2, 3, 4], None, "mismatched"),
        ([1, 2, 3], [1, 2, 3], [0.1, 0.1], "mismatched"),
        ([1, 2, 3], [1, 2, 3], [0.1, 0.0, 0.1], "stderr"),
        ([2, 2, 2], [1, 2, 3], None, "single distinct"),
        ([[1, 2, 3]], [1, 2, 3], None, "1-D"),
    ],
)
def test_bad_input_raises(x, y, stderr, message):
    for fit in (fit_power_law, compare_laws, fit_decay_with_offset):
        with pytest.raises(InputError, match=message):
            fit(x, y, stderr)


def test_log_law_allows_non_positive_y_but_decay_needs_four_points():
    assert fit_log_law([1, 2, 4], [-1.0, 0.0, 1.0]).slope == pytest.approx(1 / np.log(2))
    with pytest.raises(InputError, match="at least 4"):
        fit_decay_with_offset([1, 2, 4], [3.0, 2.0, 1.0])
    with pytest.raises(InputError, match="n_boot"):
        fit_decay_with_offset([1, 2, 4, 8], [4.0, 3.0, 2.0, 1.0], n_boot=-1)
