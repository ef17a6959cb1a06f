"""Exact MI of the Gaussian families: structured vs dense, the families' laws, two-point MI,
the vCLUB limit algebra and entropy rates."""

from __future__ import annotations

import numpy as np
import pytest

from l2m_analysis.fits import compare_laws
from l2m_analysis.gaussian.curves import (
    bipartite_curve,
    entropy_rates,
    exact_window_estimates,
    two_point_max_separation,
    two_point_pair_average,
)
from l2m_analysis.gaussian.diagonals import CovarianceDiagonals
from l2m_analysis.gaussian.exact import (
    bipartite_mi_from_covariance,
    covariance_dense,
    logdet_spd,
    two_point_mi_dense,
    vclub_bound_from_covariance,
)
from l2m_analysis.gaussian.sampling import HierarchicalGaussian
from l2m_analysis.gaussian.structured import prefix_logdets, prefix_logdets_by_layer

FAMILY_NAMES = ("subvolume", "log")


def mi_half(family: str, layers: int, rule: str = "magnitude") -> np.ndarray:
    """I_BP(L/2) for l = 1..layers, nats."""
    by_layer = prefix_logdets_by_layer(family, layers, rule)
    return np.array([d.bipartite_mi(d.length // 2) for d in by_layer[1:]])


@pytest.mark.parametrize("family", FAMILY_NAMES)
@pytest.mark.parametrize("rule", ["magnitude", "weighted_average", "paper_literal"])
@pytest.mark.slow  # dense covariances up to L = 1024
def test_structured_agrees_with_dense_to_1e9(family, rule):
    for layers in range(1, 6):
        sigma = covariance_dense(family, layers, rule)
        logdets = prefix_logdets(family, layers, rule)
        length = sigma.shape[0]
        splits = sorted({1, 2, 3, length // 4, length // 3, length // 2, length - 1} - {0})
        for split_at in splits:
            dense = bipartite_mi_from_covariance(sigma, split_at)
            assert logdets.bipartite_mi(split_at) == pytest.approx(dense, rel=1e-9, abs=1e-12)
        for n in (1, length // 2 + 1, length):  # the prefix log-dets themselves
            assert logdets.logdet[n] == pytest.approx(logdet_spd(sigma[:n, :n]), rel=1e-9)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_covariance_diagonals_match_dense(family):
    sigma = covariance_dense(family, 4)
    diags = CovarianceDiagonals(family, 4)
    for d in range(sigma.shape[0]):
        assert np.allclose(diags.diagonal(4, d), np.diagonal(sigma, d), atol=1e-13)


def test_two_point_at_maximum_separation_is_identical_for_both_families():
    layers = range(1, 9)
    sub = two_point_max_separation("subvolume", layers)["value"].to_numpy()
    log = two_point_max_separation("log", layers)["value"].to_numpy()
    assert np.allclose(sub, log, rtol=1e-12)
    rho = 0.25 * (5 / 16) ** np.arange(8)  # |corr(Z_0, Z_{L-1})| = (1/4)(5/16)^(l-1)
    assert np.allclose(sub, -0.5 * np.log1p(-(rho**2)), rtol=1e-10)
    # a power law in d = L - 1: log-log slope ≈ 2·log_4(5/16) once d >> 1
    d = 4.0 ** np.arange(1, 9) - 1
    slope = np.polyfit(np.log(d[3:]), np.log(sub[3:]), 1)[0]
    assert slope == pytest.approx(2 * np.log(5 / 16) / np.log(4), abs=0.01)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_two_point_pair_average_matches_dense(family):
    sigma = covariance_dense(family, 4)
    frame = two_point_pair_average(family, 4, distances=[1, 5, 64, 255])
    for d, value in zip(frame["distance"], frame["value"], strict=True):
        assert value == pytest.approx(two_point_mi_dense(sigma, d)[1], rel=1e-10)


def test_subvolume_family_grows_as_a_power_of_l():
    mi = mi_half("subvolume", 6)
    lengths = 4.0 ** np.arange(1, 7)
    beta = np.polyfit(np.log(lengths[2:]), np.log(mi[2:]), 1)[0]
    assert beta == pytest.approx(np.log(3) / np.log(4), abs=0.02)  # three copies per layer
    increments = np.diff(mi)
    assert np.all(increments[1:] / increments[:-1] > 2.5)  # increments grow ~3x per layer
    assert compare_laws(lengths, mi).preferred == "power"


def test_log_family_grows_as_log_l():
    mi = mi_half("log", 8)
    increments = np.diff(mi)[1:]  # per layer, i.e. per factor 4 in L
    assert np.all(increments > 0.05)
    assert increments.std() / increments.mean() < 0.01  # constant: I = a·log L + b
    assert compare_laws(4.0 ** np.arange(1, 9), mi).preferred == "log"


def test_paper_literal_rule_leaves_log_family_flat():
    """The pitfall the default rule avoids: Eq. (B.23) read literally sets boundary corr to 0."""
    mi = mi_half("log", 6, "paper_literal")
    assert np.abs(np.diff(mi)[1:]).max() < 1e-9


def test_vclub_limit_closed_form_for_two_variables():
    rho = 0.6
    sigma = np.array([[1.0, rho], [rho, 1.0]])
    assert vclub_bound_from_covariance(sigma, 1) == pytest.approx(rho**2 / (1 - rho**2))
    assert bipartite_mi_from_covariance(sigma, 1) == pytest.approx(-0.5 * np.log(1 - rho**2))


def test_vclub_limit_matches_monte_carlo_of_eq7_with_q_equal_p():
    sigma = covariance_dense("subvolume", 2)
    split_at, n = 8, 40_000
    rng = np.random.default_rng(3)
    z = HierarchicalGaussian("subvolume", 2).sample(n, rng)
    x, y = z[:, :split_at], z[:, split_at:]
    gain = np.linalg.solve(sigma[:split_at, :split_at], sigma[:split_at, split_at:])
    cond = sigma[split_at:, split_at:] - sigma[split_at:, :split_at] @ gain
    prec = np.linalg.inv(cond)

    def log_q(y_, x_):  # log p(y | x) up to the constant, which cancels in Eq. (7)
        r = y_ - x_ @ gain
        return -0.5 * np.einsum("ni,ij,nj->n", r, prec, r)

    per_pair = log_q(y, x) - log_q(y, np.roll(x, 1, axis=0))
    expected = vclub_bound_from_covariance(sigma, split_at)
    assert per_pair.mean() == pytest.approx(expected, abs=4 * per_pair.std() / np.sqrt(n))
    assert expected > 1.5 * bipartite_mi_from_covariance(sigma, split_at)  # not I_BP


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_entropy_rate_matches_dense(family):
    rates = entropy_rates(family, [3])["value"][0]
    sigma = covariance_dense(family, 3)
    dense = 0.5 * np.log(2 * np.pi * np.e) + logdet_spd(sigma) / (2 * 64)
    assert rates == pytest.approx(dense, rel=1e-12)


def test_curves_scale_with_copies_and_window_rows_follow_the_sql_convention():
    one = bipartite_curve("log", [3], ratios=[2])["value"][0]
    many = bipartite_curve("log", [3], ratios=[2], copies=64)
    assert many["value"][0] == pytest.approx(64 * one)
    assert many["source"][0] == "gaussian_log_x64"
    rows = exact_window_estimates("subvolume", 3, [32, 16])
    windows = set(zip(rows["split_at"], rows["ratio"], rows["length"], strict=True))
    assert windows == {(32, 2, 64), (16, 2, 32), (16, 3, 48), (16, 4, 64)}
    sigma = covariance_dense("subvolume", 3)
    exact = rows.filter((rows["estimator"] == "exact") & (rows["length"] == 48))["value"][0]
    assert exact == pytest.approx(bipartite_mi_from_covariance(sigma, 16, 48))
