"""Exact conditionals p(z_p | past): dense and structured vs brute-force Schur complements."""

from __future__ import annotations

import numpy as np
import pytest

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.conditionals import (
    ExactConditionals,
    conditional_kl_per_position,
    gaussian_kl,
)
from l2m_analysis.gaussian.exact import covariance_dense


def schur_moments(sigma: np.ndarray, z: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: mean and std of z_p given z_[start, p) for every p >= start, one by one."""
    n = z.shape[-1]
    means, stds = np.empty_like(z), np.empty(n)
    for t in range(n):
        p = start + t
        past = np.arange(start, p)
        s_pp = sigma[np.ix_(past, past)]
        s_pq = sigma[past, p]
        gain = np.linalg.solve(s_pp, s_pq) if past.size else np.zeros(0)
        means[:, t] = z[:, :t] @ gain
        stds[t] = np.sqrt(sigma[p, p] - s_pq @ gain)
    return means, stds


@pytest.mark.parametrize("family", ["subvolume", "log"])
@pytest.mark.parametrize("method", ["dense", "structured"])
def test_conditionals_match_schur_complement(family, method):
    for layers in (1, 2, 3):
        cond = ExactConditionals(family, layers, method=method)
        z = cond.model.sample(4, np.random.default_rng(layers))
        mean, std = cond.moments(z)
        ref_mean, ref_std = schur_moments(covariance_dense(family, layers), z, 0)
        assert np.allclose(mean, ref_mean, atol=1e-10)
        assert np.allclose(std, ref_std, atol=1e-10)


@pytest.mark.parametrize("family", ["subvolume", "log"])
def test_structured_matches_dense_up_to_five_layers(family):
    for layers in (4, 5):
        dense = ExactConditionals(family, layers, method="dense")
        fast = ExactConditionals(family, layers, method="structured")
        z = dense.model.sample(3, np.random.default_rng(0))
        for a, b in zip(dense.moments(z), fast.moments(z), strict=True):
            assert np.allclose(a, b, atol=1e-10)


def test_suffix_marginal_conditionals_match_schur():
    cond = ExactConditionals("subvolume", 2, method="dense")
    z = cond.model.sample(3, np.random.default_rng(1))
    start = 5
    mean, std = cond.moments(z[:, start:], start=start)
    ref_mean, ref_std = schur_moments(covariance_dense("subvolume", 2), z[:, start:], start)
    assert np.allclose(mean, ref_mean, atol=1e-10) and np.allclose(std, ref_std, atol=1e-10)
    assert std[0] == pytest.approx(1.0)  # nothing before position 5 is seen


@pytest.mark.parametrize("method", ["dense", "structured"])
def test_conditional_log_probs_sum_to_the_joint_density(method):
    cond = ExactConditionals("log", 4, method=method)
    z = cond.model.sample(3, np.random.default_rng(4))
    assert np.allclose(cond.log_prob(z).sum(-1), cond.model.log_density(z), rtol=1e-11)


def test_structured_conditionals_at_eight_layers_are_consistent():
    cond = ExactConditionals("subvolume", 8)  # auto -> structured (dense Σ would be 32 GiB)
    assert cond.method == "structured"
    z = cond.model.sample(1, np.random.default_rng(0))
    assert np.allclose(cond.log_prob(z).sum(-1), cond.model.log_density(z), rtol=1e-10)


def test_gaussian_kl_closed_form():
    assert gaussian_kl(0.3, 1.2, 0.3, 1.2) == pytest.approx(0.0)
    # KL(N(0,1) || N(1, 2²)) = log 2 + (1 + 1) / 8 - 1/2
    assert gaussian_kl(0.0, 1.0, 1.0, 2.0) == pytest.approx(np.log(2) + 0.25 - 0.5)
    mean = np.zeros((2, 5, 3))
    per_position = conditional_kl_per_position(mean, 1.0, mean + 1.0, 1.0)
    assert per_position.shape == (5,) and np.allclose(per_position, 3 * 0.5)


def test_bad_windows_raise():
    cond = ExactConditionals("log", 2)
    with pytest.raises(InputError, match="window"):
        cond.moments(np.zeros((1, 10)), start=8)
    with pytest.raises(InputError, match="method"):
        ExactConditionals("log", 2, method="magic")
