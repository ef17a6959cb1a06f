"""Two-point MI from counts against exact MI (nats)."""

from __future__ import annotations

import numpy as np
import pytest

from l2m_analysis.errors import InputError
from l2m_analysis.estimators.entropy import count_of_counts, entropy_grassberger, entropy_plugin
from l2m_analysis.estimators.two_point import (
    TwoPointMI,
    mi_stderr_from_joint,
    two_point_mi,
    two_point_mi_from_counts,
)


def _joint_table(x: np.ndarray, y: np.ndarray, kx: int, ky: int) -> np.ndarray:
    return np.bincount(x * ky + y, minlength=kx * ky).reshape(kx, ky)  # (K_x, K_y)


def test_independent_tokens_give_zero():
    rng = np.random.default_rng(0)
    k, n = 20, 20_000
    px, py = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
    values, plugin, inside = [], [], 0
    for _ in range(40):
        table = _joint_table(rng.choice(k, n, p=px), rng.choice(k, n, p=py), k, k)
        est = two_point_mi_from_counts(table.sum(1), table.sum(0), table, distance=3)
        assert est.stderr_method == "joint_delta"
        values.append(est.value)
        inside += abs(est.value) < 3 * est.stderr
        hx, hy = entropy_plugin(table.sum(1)), entropy_plugin(table.sum(0))
        plugin.append(hx.value + hy.value - entropy_plugin(table).value)
    # plug-in bias is (k−1)²/(2N) ≈ 9e-3 here; Grassberger's is far smaller
    assert np.mean(plugin) > 5e-3
    assert abs(np.mean(values)) < 1.5e-3
    assert inside >= 36


def _bsc_table(rng, n: int, eps: float) -> np.ndarray:
    x = rng.integers(0, 2, n)
    y = x ^ (rng.random(n) < eps)
    return _joint_table(x, y, 2, 2)


def test_binary_symmetric_channel_gives_exact_mi():
    eps = 0.1
    exact = np.log(2) + eps * np.log(eps) + (1 - eps) * np.log(1 - eps)
    rng = np.random.default_rng(1)
    ests = []
    for _ in range(200):
        t = _bsc_table(rng, 2000, eps)
        ests.append(two_point_mi_from_counts(t.sum(1), t.sum(0), t, distance=1))
    values = np.array([e.value for e in ests])
    spread = values.std(ddof=1)
    assert abs(values.mean() - exact) < 3 * spread / np.sqrt(values.size)
    # the joint delta-method stderr is calibrated
    assert 0.8 < np.mean([e.stderr for e in ests]) / spread < 1.25
    big = _bsc_table(rng, 400_000, eps)
    one = two_point_mi_from_counts(big.sum(1), big.sum(0), big, distance=1)
    assert abs(one.value - exact) < 4 * one.stderr
    assert abs(one.value - exact) < 3e-3


def test_same_unigram_counts_twice_and_count_of_counts():
    # Markov chain tokens: X = Y marginal from 1-gram counts (the paper's Ĥ(X) = Ĥ(Y))
    rng = np.random.default_rng(2)
    k = 30
    tokens = np.cumsum(rng.integers(0, 3, 50_000)) % k
    unigram = np.bincount(tokens, minlength=k)
    pairs = _joint_table(tokens[:-5], tokens[5:], k, k).ravel()
    est = two_point_mi_from_counts(unigram, unigram, pairs, distance=5)
    h_u, h_p = entropy_grassberger(unigram), entropy_grassberger(pairs)
    assert est.value == pytest.approx(2 * h_u.value - h_p.value, abs=1e-12)
    assert est.h_x == est.h_y == h_u
    assert est.n == pairs.sum() and est.distance == 5
    # flat pair counts (no identities) -> triangle bound on the stderr
    assert est.stderr_method == "triangle_bound"
    assert est.stderr == pytest.approx(2 * h_u.stderr + h_p.stderr, rel=1e-12)
    uv, um = count_of_counts(unigram)
    pv, pm = count_of_counts(pairs)
    from_coc = two_point_mi_from_counts(
        uv, uv, pv, 5, x_multiplicity=um, y_multiplicity=um, xy_multiplicity=pm
    )
    assert from_coc == est


def test_two_point_mi_from_estimates():
    hx = entropy_grassberger([5, 3, 2])
    hy = entropy_grassberger([4, 4, 2])
    hxy = entropy_grassberger([3, 2, 2, 1, 1, 1])
    est = two_point_mi(hx, hy, hxy, distance=2)
    assert isinstance(est, TwoPointMI)
    assert est.value == pytest.approx(hx.value + hy.value - hxy.value, abs=1e-15)
    assert est.stderr == pytest.approx(hx.stderr + hy.stderr + hxy.stderr)
    assert two_point_mi(hx, hy, hxy, 2, stderr=0.01).stderr_method == "joint_delta"


def test_joint_stderr_has_chi_square_floor_at_independence():
    table = np.full((3, 4), 25)  # exactly independent: first-order term 0
    n = table.sum()
    assert mi_stderr_from_joint(table) == pytest.approx(np.sqrt(2 * 3 / (2 * n**2)))


@pytest.mark.parametrize("distance", [0, -1, 1.5, "3", True, None])
def test_bad_distance_raises(distance):
    h = entropy_grassberger([2, 1])
    with pytest.raises(InputError, match="distance"):
        two_point_mi(h, h, h, distance)


def test_bad_tables_raise():
    with pytest.raises(InputError, match="no observations"):
        two_point_mi_from_counts([1, 2], [1, 2], [0, 0], 1)
    with pytest.raises(InputError, match="2-D"):
        mi_stderr_from_joint([1, 2, 3])
    with pytest.raises(InputError, match="non-negative"):
        mi_stderr_from_joint([[1, -2], [3, 4]])
    h = entropy_grassberger([2, 1])
    with pytest.raises(InputError, match="stderr"):
        two_point_mi(h, h, h, 1, stderr=float("nan"))
