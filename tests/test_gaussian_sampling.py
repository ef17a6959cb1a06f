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


def test_tokens_stack_copies_and_bos_is_zero():
    model = HierarchicalGaussian("log", 2)
    tokens = model.sample_tokens(3, np.random.default_rng(0), copies=64)
    assert tokens.shape == (3, 16, 64)  # (n, L, copies), Eq. (E.34)
    flat = tokens.transpose(0, 2, 1).reshape(-1, 16)  # copies are independent samples
    assert np.allclose(model.whiten(model.apply(model.whiten(flat))), model.whiten(flat))
    framed = with_bos(tokens)
    assert framed.shape == (3, 17, 64)
    assert np.all(framed[:, 0] == 0) and np.array_equal(framed[:, 1:], tokens)


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
