"""Sampling Z = T ξ: covariance of many draws, seeding, stacking of copies, BOS, densities."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.exact import covariance_dense
from l2m_analysis.gaussian.sampling import GaussianSampleSource, HierarchicalGaussian, with_bos


@pytest.mark.parametrize("family", ["subvolume", "log"])
def test_sample_covariance_matches_sigma_within_sampling_error(family):
    model = HierarchicalGaussian(family, 2)
    n = 40_000
    z = model.sample(n, np.random.default_rng(0))
    sigma = covariance_dense(family, 2)
    empirical = z.T @ z / n  # known zero mean
    stderr = np.sqrt((1 + sigma**2) / n)  # Var(z_i z_j) = 1 + ρ² for unit variances
    assert np.abs(empirical - sigma).max() < 5 * stderr.max()
    assert np.abs(z.mean(0)).max() < 5 / np.sqrt(n)


def test_sample_covariance_detects_a_wrong_sigma():
    """The check above can fail: the log family's draws do not match the subvolume Σ."""
    z = HierarchicalGaussian("log", 2).sample(40_000, np.random.default_rng(0))
    wrong = covariance_dense("subvolume", 2)
    assert np.abs(z.T @ z / z.shape[0] - wrong).max() > 10 * np.sqrt(2 / z.shape[0])


def test_whiten_inverts_apply_and_sampling_is_seeded():
    model = HierarchicalGaussian("subvolume", 3)
    a = model.sample(4, np.random.default_rng(7))
    b = model.sample(4, np.random.default_rng(7))
    assert np.array_equal(a, b)
    xi = np.random.default_rng(1).standard_normal((3, 64))
    assert np.allclose(model.whiten(model.apply(xi)), xi, atol=1e-12)
    before = a.copy()
    model.whiten(a)
    assert np.array_equal(a, before)  # inputs are not modified


@pytest.mark.parametrize("family", ["subvolume", "log"])
def test_joint_log_density_matches_scipy(family):
    model = HierarchicalGaussian(family, 2)
    z = model.sample(5, np.random.default_rng(2))
    reference = scipy.stats.multivariate_normal(cov=covariance_dense(family, 2)).logpdf(z)
    assert np.allclose(model.log_density(z), reference, rtol=1e-10)


def stacking_errors(tokens: np.ndarray, sigma: np.ndarray) -> tuple[float, float]:
    """tokens (n, L, copies): the largest |empirical - Σ| of one copy's covariance and the
    largest |cross-covariance| between two copies, each in units of its sampling stderr."""
    n, _, copies = tokens.shape
    stderr = np.sqrt((1 + sigma**2) / n)  # Var(z_i z_j) = 1 + ρ² for unit variances
    covariance = [tokens[:, :, c].T @ tokens[:, :, c] / n for c in range(copies)]
    own = max((np.abs(cov - sigma) / stderr).max() for cov in covariance)
    pairs = [(a, b) for a in range(copies) for b in range(a + 1, copies)]
    cross = max(np.abs(tokens[:, :, a].T @ tokens[:, :, b] / n).max() for a, b in pairs)
    return float(own), float(cross * np.sqrt(n))  # independent copies: Var(z_i w_j) = 1


def test_tokens_stack_independent_copies_and_bos_is_zero():
    """Eq. (E.34): each copy of a token is an independent draw of the family: every copy has
    covariance Σ and copies are uncorrelated with each other."""
    model = HierarchicalGaussian("log", 2)
    sigma = covariance_dense("log", 2)
    n, copies = 20_000, 3
    tokens = model.sample_tokens(n, np.random.default_rng(0), copies=copies)
    assert tokens.shape == (n, 16, copies)  # (n, L, copies)
    own, cross = stacking_errors(tokens, sigma)
    assert own < 5 and cross < 5, (own, cross)
    # the check fails for wrong stackings: copies taken as neighbouring positions of one draw,
    # or one draw repeated as every copy
    flat = model.sample(n * copies, np.random.default_rng(1))  # (n·copies, L)
    assert stacking_errors(flat.reshape(n, 16, copies), sigma)[0] > 20
    repeated = np.repeat(flat[:n, :, None], copies, axis=2)
    assert stacking_errors(repeated, sigma)[1] > 20
    framed = with_bos(tokens[:4])
    assert framed.shape == (4, 17, copies)
    assert np.all(framed[:, 0] == 0) and np.array_equal(framed[:, 1:], tokens[:4])


def test_sample_source_is_independent_of_batching():
    source = GaussianSampleSource(HierarchicalGaussian("subvolume", 2), seed=5, copies=4)
    together = source.samples(np.arange(6))
    apart = np.concatenate([source.samples(np.array([i])) for i in range(6)])
    assert together.shape == (6, 16, 4)
    assert np.array_equal(together, apart)
    assert not np.array_equal(together[0], together[1])


def test_wrong_shapes_raise():
    model = HierarchicalGaussian("log", 2)
    with pytest.raises(InputError, match="last axis"):
        model.apply(np.zeros((2, 15)))
    with pytest.raises(InputError, match="copies"):
        model.sample_tokens(1, np.random.default_rng(0), copies=0)
    with pytest.raises(InputError, match="n, L, copies"):
        with_bos(np.zeros((2, 16)))
