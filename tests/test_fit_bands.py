"""A stored fit as a curve: its band is statsmodels' confidence band of the fit itself, from the
covariance stored in the row; the pivot band without it; the crossing inverts the band."""

from __future__ import annotations

import json

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.stats import t as t_dist

from l2m_analysis.fits import compare_laws, describe
from l2m_analysis.fits.bands import crossing, log_law_band, power_law_band

X = 4.0 ** np.arange(1, 7)
RNG = np.random.default_rng(0)
Y = 0.3 * X**0.7 * np.exp(RNG.normal(0, 0.05, X.size))
SE = Y * RNG.uniform(0.02, 0.08, X.size)


def _stored(fit) -> dict:
    """The fit as the fits table holds it: the row with its detail as a JSON string."""
    row = fit.to_row()
    return {**row, "detail": json.dumps(row["detail"])}


@pytest.mark.parametrize("stderr", [None, SE], ids=["unweighted", "weighted"])
def test_bands_are_the_statsmodels_confidence_bands_of_the_fit(stderr):
    laws = compare_laws(X, Y, stderr)
    grid = np.geomspace(2, 40_000, 9)  # inside and outside the fitted range
    for fit, band_of, on_log in (
        (laws.power, power_law_band, True),
        (laws.log, log_law_band, False),
    ):
        band = band_of(_stored(fit), grid)
        assert band.method == "covariance"
        ci = fit.result.get_prediction(sm.add_constant(np.log(grid))).conf_int(alpha=0.05)
        ci = np.exp(ci) if on_log else ci
        np.testing.assert_allclose(band.lo, ci[:, 0], rtol=1e-10)
        np.testing.assert_allclose(band.hi, ci[:, 1], rtol=1e-10)


def test_a_row_without_the_covariance_gets_the_pivot_band():
    row = {"amplitude": 2.0, "exponent": 0.5, "exponent_lo": 0.4, "exponent_hi": 0.6,
           "x_min": 4.0, "x_max": 256.0, "n_points": 4, "detail": None}  # fmt: skip
    band = power_law_band(row, np.array([4.0, 32.0, 256.0]))
    assert band.method == "pivot"  # through the value at the log-centre √(4·256) = 32
    assert band.lo[1] == pytest.approx(band.hi[1]) == pytest.approx(2 * 32**0.5)
    assert band.hi[2] == pytest.approx(2 * 32**0.5 * 8**0.6)
    assert band.lo[0] == pytest.approx(2 * 32**0.5 * 8**-0.6)
    assert power_law_band({**row, "exponent_lo": None}).method == "none"


def test_crossing_is_the_fieller_interval_of_a_constant_capacity():
    fit = compare_laws(X, Y).power
    row, k = _stored(fit), 5_000.0
    at, lo, hi = crossing(row, lambda x: np.full_like(x, k))
    # where the line log A + β·t reaches log k, and where its band's edges do: the roots of
    # (c0 + c1·t − log k)² = q²·(var c0 + 2·t·cov + t²·var c1)
    c0, c1 = fit.result.params
    v = fit.result.cov_params()
    q = t_dist.ppf(0.975, X.size - 2)
    a, b = c1**2 - q**2 * v[1, 1], 2 * (c1 * (c0 - np.log(k)) - q**2 * v[0, 1])
    c = (c0 - np.log(k)) ** 2 - q**2 * v[0, 0]
    roots = sorted(np.exp((-b + s * np.sqrt(b * b - 4 * a * c)) / (2 * a)) for s in (-1, 1))
    step = 2 ** (1 / 64)  # the grid's resolution
    assert np.exp((np.log(k) - c0) / c1) <= at < np.exp((np.log(k) - c0) / c1) * step
    assert roots[0] <= lo < roots[0] * step and roots[1] <= hi < roots[1] * step
    assert crossing(row, lambda x: 10 * x) == (None, None, None)  # capacity ∝ L outgrows L^0.7


def test_fits_in_words():
    power = compare_laws(X, Y).to_rows()[0]  # a fits row, delta_aic in its detail
    row = {
        **power,
        "warnings": ["few points"],
        "n_dropped": 2,
        "drop_reason": "2 points with I <= 0",
    }
    beta = f"β = {row['exponent']:.3f} [{row['exponent_lo']:.3f}, {row['exponent_hi']:.3f}]"
    assert describe.exponent(row) == beta
    delta = row["detail"]["delta_aic"]
    assert describe.verdict(row) == f"power law (ΔAIC {delta:+.1f})".replace("-", "−")
    assert describe.tags(row) == [("few points", describe.WARNING_TEXT["few points"]),
                                  ("2 dropped", "2 points with I <= 0")]  # fmt: skip
    assert describe.exponent({"law": "decay", "exponent": 1.5, "exponent_lo": None,
                              "exponent_hi": 2.0}) == "α = 1.500 [−∞, 2.000]"  # fmt: skip
    assert describe.verdict({"law": "decay", "offset_c": 1.16}) == "decay, C = 1.16 nats"


def test_the_bootstrap_note_names_the_interval_once() -> None:
    """A row whose own interval is the curve bootstrap shows the t-interval beside it (the
    interval is already in the value); an older row shows its bootstrap interval."""
    from l2m_analysis.fits import describe

    own = {
        "law": "power",
        "detail": json.dumps(
            {
                "bootstrap_exponent_lo": 0.46,
                "bootstrap_exponent_hi": 0.70,
                "t_exponent_lo": 0.525,
                "t_exponent_hi": 0.686,
            }
        ),
    }
    assert describe.bootstrap(own) == "curve bootstrap; t-interval [0.525, 0.686]"
    older = {"law": "power", "detail": json.dumps({"bootstrap_exponent_lo": 0.628,
             "bootstrap_exponent_hi": 0.770})}  # fmt: skip
    assert describe.bootstrap(older) == "curve bootstrap [0.628, 0.770]"
    assert describe.bootstrap({"law": "decay", "detail": own["detail"]}) is None
