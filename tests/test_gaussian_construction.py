"""The Appendix B construction: M, the boundary rules, unit variances, persymmetry, Σ = T Tᵀ."""

from __future__ import annotations

import numpy as np
import pytest

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.construction import (
    BOUNDARY_RULES,
    MIX,
    boundary_target,
    family_source,
    get_family,
    pair_transform,
)
from l2m_analysis.gaussian.diagonals import CovarianceDiagonals
from l2m_analysis.gaussian.exact import covariance_dense
from l2m_analysis.gaussian.sampling import HierarchicalGaussian

FAMILY_NAMES = ("subvolume", "log")


def test_mix_matrix_has_unit_rows_and_row_products_minus_quarter():
    gram = MIX @ MIX.T  # Eq. (B.19): unit variances, every two rows -1/4
    assert np.allclose(np.diag(gram), 1.0)
    off = gram[~np.eye(4, dtype=bool)]
    assert np.allclose(off, -0.25)


def test_paper_literal_rule_targets_zero_and_magnitude_two_fifths():
    current = np.array([0.1, -0.3])
    assert np.allclose(boundary_target("paper_literal", current), 0.0)  # the known pitfall
    assert np.allclose(boundary_target("magnitude", current), 0.4)
    assert np.allclose(boundary_target("weighted_average", current), -0.2 + 0.2 * current)
    assert np.allclose(boundary_target("none", current), current)


@pytest.mark.parametrize("current,target", [(0.1, 0.4), (-0.3, 0.0), (0.05, -0.19)])
def test_pair_transform_sets_the_target_correlation_with_unit_variances(current, target):
    alpha, beta = pair_transform(np.array(current), np.array(target))
    a = np.array([[alpha, beta], [beta, alpha]])
    c = np.array([[1.0, current], [current, 1.0]])
    out = a @ c @ a.T
    assert np.allclose(np.diag(out), 1.0)
    assert out[0, 1] == pytest.approx(target)
    assert np.all(np.linalg.eigvalsh(a) > 0)  # symmetric positive definite


@pytest.mark.parametrize("family", FAMILY_NAMES)
@pytest.mark.parametrize("rule", BOUNDARY_RULES)
def test_unit_variances_and_persymmetry_dense(family, rule):
    for layers in range(1, 5):
        sigma = covariance_dense(family, layers, rule)
        assert np.allclose(np.diag(sigma), 1.0, atol=1e-12)
        assert np.allclose(sigma, sigma[::-1, ::-1], atol=1e-12)  # J Σ J = Σ
        assert np.linalg.eigvalsh(sigma).min() > 0


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_unit_variances_at_eight_layers(family):
    diag = CovarianceDiagonals(family, 8).diagonal(8, 0)
    assert diag.shape == (4**8,)
    assert np.allclose(diag, 1.0, atol=1e-12)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_noise_count_is_l_and_sigma_is_t_t_transpose(family):
    model = HierarchicalGaussian(family, 3)
    t = model.apply(np.eye(model.length)).T  # column i = T e_i: T is square (L noises)
    assert t.shape == (64, 64)
    assert np.allclose(t @ t.T, covariance_dense(family, 3), atol=1e-12)
    assert 2 * model.log_abs_det() == pytest.approx(np.linalg.slogdet(t @ t.T)[1], rel=1e-12)


def test_bad_input_raises_naming_the_fix():
    with pytest.raises(InputError, match="subvolume"):
        get_family("cubic")
    with pytest.raises(InputError, match="boundary rule"):
        covariance_dense("log", 2, "sideways")
    with pytest.raises(InputError, match="layers"):
        covariance_dense("log", -1)
    with pytest.raises(InputError, match="GiB"):
        covariance_dense("log", 9)


def test_source_names_are_stable():
    assert family_source("subvolume") == "gaussian_subvolume"
    assert family_source("log") == "gaussian_log"
    assert family_source("subvolume", 64) == "gaussian_subvolume_x64"
    assert get_family("subvolume").n_copies == 3 and get_family("log").n_copies == 1
