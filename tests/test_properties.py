"""Properties every estimator and fit must have, checked on random inputs (hypothesis):
entropy does not depend on the names of symbols, MI is symmetric, β does not depend on the unit
of I, Gaussian MI does not depend on the unit of each variable, a summary of more numbers holds
at least as much, and the exact Markov I_d does not depend on how states are numbered."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from l2m_analysis.corpus.markov import exact_two_point_mi
from l2m_analysis.estimators.entropy import count_of_counts, entropy_grassberger
from l2m_analysis.estimators.two_point import two_point_mi_from_counts
from l2m_analysis.fits.power import fit_power_law
from l2m_analysis.gaussian.capacity import canonical_correlations, linear_summary_mi
from l2m_analysis.gaussian.exact import bipartite_mi_from_covariance

FAST = settings(max_examples=40, deadline=None)
counts_st = arrays(np.int64, st.integers(2, 40), elements=st.integers(1, 500))
seeds = st.integers(0, 2**32 - 1)


@FAST
@given(tokens=arrays(np.int64, st.integers(2, 300), elements=st.integers(0, 30)), seed=seeds)
def test_grassberger_entropy_is_invariant_under_relabelling_of_symbols(tokens, seed) -> None:
    names = np.random.default_rng(seed).permutation(1000)[:31]  # a bijection 0..30 -> names
    before = entropy_grassberger(np.unique(tokens, return_counts=True)[1])
    after = entropy_grassberger(np.unique(names[tokens], return_counts=True)[1])
    assert after.value == pytest.approx(before.value, abs=1e-12)
    assert after.stderr == pytest.approx(before.stderr, abs=1e-12)


@FAST
@given(counts=counts_st, seed=seeds)
def test_grassberger_entropy_is_invariant_under_permutation_and_count_of_counts(counts, seed):
    h = entropy_grassberger(counts)
    shuffled = entropy_grassberger(np.random.default_rng(seed).permutation(counts))
    assert shuffled.value == pytest.approx(h.value, abs=1e-12) and shuffled.n == h.n
    values, multiplicity = count_of_counts(counts)  # the warehouse's count-of-counts form
    assert entropy_grassberger(values, multiplicity).value == pytest.approx(h.value, abs=1e-12)


@FAST
@given(table=arrays(np.int64, st.tuples(st.integers(2, 8), st.integers(2, 8)),
                    elements=st.integers(1, 200)))  # fmt: skip
def test_two_point_mi_is_symmetric_in_x_and_y(table) -> None:
    xy = two_point_mi_from_counts(table.sum(axis=1), table.sum(axis=0), table, 1)
    yx = two_point_mi_from_counts(table.sum(axis=0), table.sum(axis=1), table.T, 1)
    assert yx.value == pytest.approx(xy.value, abs=1e-12)
    assert yx.stderr == pytest.approx(xy.stderr, abs=1e-12)


@FAST
@given(beta=st.floats(0.1, 1.5, allow_subnormal=False),
       amplitude=st.floats(0.1, 10, allow_subnormal=False),
       scale=st.floats(1e-3, 1e3, allow_subnormal=False), seed=seeds)  # fmt: skip
def test_power_law_beta_is_unchanged_when_i_is_scaled(beta, amplitude, scale, seed) -> None:
    x = 4.0 ** np.arange(1, 7)
    rng = np.random.default_rng(seed)
    y = amplitude * x**beta * np.exp(rng.normal(0, 0.05, x.size))
    stderr = 0.05 * y
    for s in (None, stderr):  # OLS and WLS
        base = fit_power_law(x, y, s)
        scaled = fit_power_law(x, scale * y, None if s is None else scale * s)  # I in c·nats
        assert scaled.exponent == pytest.approx(base.exponent, abs=1e-9)
        assert scaled.exponent_lo == pytest.approx(base.exponent_lo, abs=1e-9)
        assert scaled.exponent_hi == pytest.approx(base.exponent_hi, abs=1e-9)
        assert scaled.amplitude == pytest.approx(scale * base.amplitude, rel=1e-9)


def _random_covariance(rng: np.random.Generator, n: int) -> np.ndarray:
    a = rng.normal(size=(n, n))
    return a @ a.T + 0.5 * np.eye(n)  # (n, n) symmetric positive definite


@FAST
@given(n=st.integers(3, 10), seed=seeds, data=st.data())
def test_exact_gaussian_mi_is_invariant_under_scaling_each_variable(n, seed, data) -> None:
    rng = np.random.default_rng(seed)
    sigma = _random_covariance(rng, n)
    split = data.draw(st.integers(1, n - 1))
    units = np.exp(rng.uniform(-3, 3, n))  # each variable in its own unit
    rescaled = units[:, None] * sigma * units[None, :]  # Cov(D Z) = D Σ D
    mi = bipartite_mi_from_covariance(sigma, split)
    assert mi >= 0
    assert bipartite_mi_from_covariance(rescaled, split) == pytest.approx(mi, rel=1e-8, abs=1e-10)
    rho = canonical_correlations(sigma, split)
    assert canonical_correlations(rescaled, split) == pytest.approx(rho, abs=1e-8)


@FAST
@given(n=st.integers(4, 12), seed=seeds, copies=st.integers(1, 4))
def test_a_linear_summary_of_more_numbers_holds_more_up_to_all_of_i_bp(n, seed, copies) -> None:
    sigma = _random_covariance(np.random.default_rng(seed), n)
    rho = canonical_correlations(sigma, n // 2)
    held = [linear_summary_mi(rho, d, copies) for d in range(copies * n)]
    assert held[0] == 0 and all(a <= b + 1e-12 for a, b in zip(held, held[1:], strict=False))
    exact = copies * bipartite_mi_from_covariance(sigma, n // 2)
    assert held[-1] == pytest.approx(exact, rel=1e-8, abs=1e-10)


@FAST
@given(k=st.integers(2, 6), seed=seeds)
def test_exact_markov_two_point_mi_does_not_depend_on_state_numbering(k, seed) -> None:
    rng = np.random.default_rng(seed)
    transition = rng.dirichlet(np.ones(k), size=k)  # (K, K), every entry > 0: one π
    order = rng.permutation(k)
    relabelled = transition[np.ix_(order, order)]
    distances = [1, 2, 5]
    assert exact_two_point_mi(relabelled, distances) == pytest.approx(
        exact_two_point_mi(transition, distances), abs=1e-10
    )
