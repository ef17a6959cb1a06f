"""Grassberger and plug-in entropy estimators against exact values (nats)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import digamma

from l2m_analysis.errors import InputError
from l2m_analysis.estimators.entropy import (
    EntropyEstimate,
    count_of_counts,
    entropy_grassberger,
    entropy_plugin,
    grassberger_g,
)

N_SEEDS = 100


def _distributions() -> dict[str, np.ndarray]:
    zipf = 1.0 / np.arange(1, 1001)
    geom = 0.95 ** np.arange(150)
    return {
        "zipf1000": zipf / zipf.sum(),
        "uniform200": np.full(200, 1 / 200),
        "geometric150": geom / geom.sum(),
    }


def _exact_entropy(p: np.ndarray) -> float:
    return float(-np.sum(p * np.log(p)))


def test_g_matches_its_integral_definition():
    n = np.arange(1, 51)
    integral = np.array([quad(lambda x, k=k: x ** (k - 1) / (1 + x), 0, 1)[0] for k in n])
    expected = digamma(n) + (-1.0) ** n * integral
    np.testing.assert_allclose(grassberger_g(n), expected, rtol=0, atol=1e-10)


def test_g_is_vectorized_and_hand_values():
    g = grassberger_g(np.array([[1, 2], [3, 4]]))
    assert g.shape == (2, 2)
    # G(1) = −γ − log 2 ; G(2) = G(3) = 2 − γ − log 2
    assert g[0, 0] == pytest.approx(-np.euler_gamma - np.log(2), abs=1e-14)
    assert g[0, 1] == pytest.approx(2 - np.euler_gamma - np.log(2), abs=1e-14)
    assert g[1, 0] == pytest.approx(g[0, 1], abs=1e-14)


def test_hand_computed_entropies():
    # two singletons: H_G = log 2 − (1/2)·2·G(1) = 2 log 2 + γ
    est = entropy_grassberger([1, 1])
    assert est.value == pytest.approx(2 * np.log(2) + np.euler_gamma, abs=1e-14)
    assert (est.n, est.n_distinct, est.estimator) == (2, 2, "grassberger")
    plug = entropy_plugin([5, 5, 5, 5, 0])
    assert plug.value == pytest.approx(np.log(4), abs=1e-14)
    assert (plug.n, plug.n_distinct, plug.stderr) == (20, 4, 0.0)
    # stderr: sqrt((Σ p log² p − H²)/N) for p = (3/4, 1/4)
    p = np.array([0.75, 0.25])
    h = -np.sum(p * np.log(p))
    expected = np.sqrt((np.sum(p * np.log(p) ** 2) - h**2) / 4)
    assert entropy_plugin([3, 1]).stderr == pytest.approx(expected, rel=1e-12)
    assert entropy_grassberger([3, 1]).stderr == pytest.approx(expected, rel=1e-12)


def _mean_bias(estimator, p: np.ndarray, n_obs: int) -> float:
    counts = np.random.default_rng(n_obs).multinomial(n_obs, p, size=N_SEEDS)
    values = np.array([estimator(c).value for c in counts])
    return float(values.mean() - _exact_entropy(p))


def _bias_criterion_holds(estimator) -> bool:
    """Bias at most half the plug-in's everywhere, and < 0.01 nats once N = 5000."""
    for p in _distributions().values():
        for n_obs in (200, 1000, 5000):
            bias = _mean_bias(estimator, p, n_obs)
            plugin_bias = _mean_bias(entropy_plugin, p, n_obs)
            if abs(bias) >= 0.5 * abs(plugin_bias):
                return False
            if n_obs == 5000 and abs(bias) >= 0.01:
                return False
    return True


def _entropy_with_g(g):
    def estimator(counts) -> EntropyEstimate:
        values, mult = count_of_counts(counts)
        n = float(np.sum(values * mult))
        value = np.log(n) - np.sum(mult * values * g(values)) / n
        return EntropyEstimate(float(value), 0.0, int(n), int(mult.sum()), "test")

    return estimator


def test_grassberger_bias_is_small_on_multinomial_samples():
    assert _bias_criterion_holds(entropy_grassberger)


def test_bias_criterion_rejects_wrong_g():
    # the criterion above can fail: G(n) = log n (plug-in) and G(n) = ψ(n) (Grassberger 1988)
    assert not _bias_criterion_holds(_entropy_with_g(lambda n: np.log(n)))
    assert not _bias_criterion_holds(_entropy_with_g(digamma))


def test_stderr_matches_spread_when_well_sampled():
    p = _distributions()["geometric150"]
    counts = np.random.default_rng(7).multinomial(20_000, p, size=200)
    estimates = [entropy_grassberger(c) for c in counts]
    spread = np.std([e.value for e in estimates], ddof=1)
    mean_stderr = np.mean([e.stderr for e in estimates])
    assert 0.8 < mean_stderr / spread < 1.25


def test_count_of_counts_gives_same_value():
    rng = np.random.default_rng(3)
    counts = rng.multinomial(3000, _distributions()["zipf1000"])
    values, mult = count_of_counts(counts)
    assert np.all(np.diff(values) > 0) and values.min() > 0
    assert int(np.sum(values * mult)) == 3000
    for estimator in (entropy_grassberger, entropy_plugin):
        per_item = estimator(counts)
        assert estimator(values, mult) == per_item  # identical, stderr included
        # unsorted, split and zero rows (as a warehouse table may hold them)
        order = rng.permutation(values.size)
        v2 = np.concatenate([values[order], [0, values[0]], values[:1]])
        m2 = np.concatenate([mult[order], [5, 0], [0]])
        other = estimator(v2.astype(float), m2)
        assert other.value == pytest.approx(per_item.value, rel=1e-14)
        assert other.stderr == pytest.approx(per_item.stderr, rel=1e-12)
        assert (other.n, other.n_distinct) == (per_item.n, per_item.n_distinct)


def test_two_d_table_is_flattened():
    table = np.array([[3, 0, 1], [2, 2, 5]])
    assert entropy_grassberger(table) == entropy_grassberger(table.ravel())


@pytest.mark.parametrize(
    ("counts", "multiplicity", "message"),
    [
        ([], None, "no observations"),
        ([0, 0, 0], None, "no observations"),
        ([3, 2], [0, 0], "no observations"),
        ([3, -1], None, "negative"),
        ([3, 1], [2, -1], "negative"),
        ([1.5, 2.0], None, "non-integer"),
        ([1.0, np.inf], None, "non-integer"),
        ([1.0, np.nan], None, "NaN"),
        ([1, 2], [1.0, np.nan], "NaN"),
        ([1, 2, 3], [1, 1], "shape"),
        (["a", "b"], None, "dtype"),
    ],
)
def test_bad_input_raises(counts, multiplicity, message):
    with pytest.raises(InputError, match=message):
        entropy_grassberger(counts, multiplicity)
    with pytest.raises(InputError, match=message):
        entropy_plugin(counts, multiplicity)


def test_g_rejects_zero():
    with pytest.raises(InputError, match="positive integers"):
        grassberger_g([0, 1])
