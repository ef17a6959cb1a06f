"""The linear capacity of a D-number summary (gaussian/capacity.py) against hand-computable
answers: independent pairs with known correlations, and the exact I_BP of the sub-volume family
when D covers every canonical pair."""

from __future__ import annotations

import math

import numpy as np
import pytest

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.capacity import (
    canonical_correlations,
    linear_capacity_curve,
    linear_summary_mi,
)
from l2m_analysis.gaussian.exact import bipartite_mi_from_covariance, covariance_dense

R = np.array([0.3, 0.9, 0.6])  # corr(X_i, Y_i); the pairs are independent of one another


def paired_covariance(r: np.ndarray) -> np.ndarray:
    """Σ of (X_1..X_n, Y_1..Y_n), unit variances, corr(X_i, Y_j) = r_i·1(i = j)."""
    n = r.size
    return np.block([[np.eye(n), np.diag(r)], [np.diag(r), np.eye(n)]])


def test_independent_pairs_have_their_correlations_as_canonical_correlations() -> None:
    sigma = paired_covariance(R)
    rho = canonical_correlations(sigma, R.size)
    assert rho == pytest.approx([0.9, 0.6, 0.3], abs=1e-12)
    by_hand = [-0.5 * math.log(1 - r * r) for r in (0.9, 0.6, 0.3)]  # descending terms
    for dim in range(4):  # the best D numbers keep the D most correlated pairs
        assert linear_summary_mi(rho, dim) == pytest.approx(sum(by_hand[:dim]), abs=1e-12)
    assert linear_summary_mi(rho, 3) == pytest.approx(bipartite_mi_from_covariance(sigma, 3))


def test_copies_repeat_every_pair() -> None:
    rho = np.array([0.9, 0.6])
    t1, t2 = (-0.5 * math.log(1 - r * r) for r in rho)
    assert linear_summary_mi(rho, 3, copies=2) == pytest.approx(2 * t1 + t2)  # 2 × ρ1, 1 × ρ2
    assert linear_summary_mi(rho, 10, copies=2) == pytest.approx(2 * (t1 + t2))  # saturates
    with pytest.raises(InputError):
        linear_summary_mi(rho, -1)


def test_sub_volume_capacity_saturates_at_the_exact_bipartite_mi() -> None:
    sigma = covariance_dense("subvolume", 3)  # L = 64
    exact = bipartite_mi_from_covariance(sigma, 32)
    rho = canonical_correlations(sigma, 32)
    assert linear_summary_mi(rho, 32) == pytest.approx(exact, rel=1e-9)
    curve = linear_capacity_curve("subvolume", [16, 64], {"one": 1, "all": 4 * 32}, copies=4)
    full = curve.filter(curve["name"] == "all")
    assert full["linear_capacity"].to_list() == pytest.approx(full["i_bp"].to_list(), rel=1e-9)
    assert full["i_bp"][1] == pytest.approx(4 * exact, rel=1e-9)  # MI adds over copies
    one = curve.filter(curve["name"] == "one")["linear_capacity"].to_numpy()
    assert (one < full["i_bp"].to_numpy()).all()  # one number holds less than all of I_BP


def test_l2m_rows_put_the_linear_capacity_beside_the_bound() -> None:
    from l2m_analysis.l2m_condition.condition import MILaw, l2m_rows
    from l2m_analysis.models.presets import PRESETS

    law = MILaw("g", "gaussian", amplitude=6.6, beta=0.8, copies=64, family="subvolume")
    text = MILaw("t", "text", amplitude=0.4, beta=0.8, vocab_size=50432)
    presets = [PRESETS["gpt2-tiny"], PRESETS["mamba-tiny"]]
    rows = {(r["law"], r["model"]): r for r in l2m_rows(presets, [law, text], at_length=4096)}
    exact = 64 * bipartite_mi_from_covariance(covariance_dense("subvolume", 5), 512)
    gpt2, mamba = rows["g", "gpt2-tiny"], rows["g", "mamba-tiny"]
    assert gpt2["capacity_length"] == 1024 and gpt2["exact_i_bp"] == pytest.approx(exact)
    # GPT-2's cache (256 numbers per token × 512) exceeds X's 64 × 512 numbers: holds it all;
    # Mamba's 9,728 numbers are fewer than X's 32,768: a linear state of that size cannot
    assert gpt2["linear_capacity"] == pytest.approx(exact)
    assert 0 < mamba["linear_capacity"] < exact
    assert rows["t", "mamba-tiny"]["linear_capacity"] is None  # no exact answer for text
