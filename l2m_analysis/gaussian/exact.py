"""Dense exact quantities: the full covariance Σ (L, L) and MI from its log-determinants.

The reference method: simple and exact, but Σ takes 8·L² bytes (32 GiB at L = 4^8) and the
log-determinants O(L³) time, so it is used up to L = 4^6 (128 MiB) and to check the structured
method of ``structured.py``. All information quantities are in nats.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.construction import (
    DEFAULT_BOUNDARY_RULE,
    check_boundary_rule,
    check_layers,
    get_family,
    pair_params_from_superdiagonal,
)

DENSE_MAX_LAYERS = 7  # L = 16384: Σ is 2 GiB; beyond that use structured.py


def covariance_dense(
    family: str, layers: int, boundary_rule: str = DEFAULT_BOUNDARY_RULE
) -> np.ndarray:
    """Σ (L, L) of layer ``layers`` built layer by layer (Eqs. B.19-B.24), float64."""
    fam = get_family(family)
    layers = check_layers(layers)
    check_boundary_rule(boundary_rule)
    if layers > DENSE_MAX_LAYERS:
        raise InputError(
            f"a dense covariance of L = 4^{layers} needs {8 * 16**layers / 2**30:.0f} GiB",
            f"use layers <= {DENSE_MAX_LAYERS}, or the structured method (gaussian.structured)",
        )
    sigma = np.ones((1, 1))
    for _ in range(layers):
        prev_len = sigma.shape[0]
        # Σ~ = Σ_prev ⊗ P + I ⊗ Q: rows X_i mixed by M, flattened (Eqs. B.20-B.22)
        tilde = np.kron(sigma, fam.copy_cross)
        tilde += np.kron(np.eye(prev_len), fam.noise_cross)
        _, alpha, beta = pair_params_from_superdiagonal(fam, boundary_rule, np.diagonal(sigma, 1))
        sigma = apply_pairs_both_sides(tilde, alpha, beta)
    return sigma


def apply_pairs_both_sides(sigma: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """B Σ Bᵀ in place for the boundary pairs (4i+3, 4i+4) of Eq. (B.23); returns ``sigma``."""
    left = 4 * np.arange(alpha.size) + 3
    right = left + 1
    for axis in (0, 1):
        lo = np.take(sigma, left, axis=axis)
        hi = np.take(sigma, right, axis=axis)
        shape = (-1, 1) if axis == 0 else (1, -1)
        a, b = alpha.reshape(shape), beta.reshape(shape)
        new_lo, new_hi = a * lo + b * hi, b * lo + a * hi
        if axis == 0:
            sigma[left, :], sigma[right, :] = new_lo, new_hi
        else:
            sigma[:, left], sigma[:, right] = new_lo, new_hi
    return sigma


def logdet_spd(matrix: np.ndarray) -> float:
    """log det of a symmetric positive-definite matrix via Cholesky (0 for an empty matrix)."""
    if matrix.size == 0:
        return 0.0
    chol = scipy.linalg.cholesky(matrix, lower=True, check_finite=False)
    return float(2.0 * np.log(np.diagonal(chol)).sum())


def check_window(total: int, split_at: int, length: int | None) -> int:
    """Validate the window [0, length) split at ℓ = split_at; returns length."""
    length = total if length is None else int(length)
    if not (1 <= split_at < length <= total):
        raise InputError(
            f"need 1 <= split_at < length <= L = {total}, got split_at={split_at}, length={length}",
            "choose ℓ inside the window, e.g. split_at = L // 2",
        )
    return length


def bipartite_mi_from_covariance(
    sigma: np.ndarray, split_at: int, length: int | None = None
) -> float:
    """I(X; Y) in nats, X = Z_[0, ℓ), Y = Z_[ℓ, length):
    ½[log det Σ_XX + log det Σ_YY − log det Σ_window]."""
    length = check_window(sigma.shape[0], split_at, length)
    window = sigma[:length, :length]
    return 0.5 * (
        logdet_spd(window[:split_at, :split_at])
        + logdet_spd(window[split_at:, split_at:])
        - logdet_spd(window)
    )


def vclub_bound_from_covariance(
    sigma: np.ndarray, split_at: int, length: int | None = None
) -> float:
    """vCLUB (Eq. 7) with q = p, nats: tr(S⁻¹ Σ_YY) − n_Y, S = Cov(Y | X) = Σ_YY − Σ_YX Σ_XX⁻¹ Σ_XY.

    E_p(x,y) log p(y|x) = −½ n_Y − ½ log det(2πS) and E_p(x)p(y) log p(y|x) = −½ tr(S⁻¹(Σ_YY +
    Σ_YX Σ_XX⁻¹ Σ_XY)) − ½ log det(2πS); with Σ_YX Σ_XX⁻¹ Σ_XY = Σ_YY − S the difference is
    tr(S⁻¹Σ_YY) − n_Y, the CLUB upper bound (≥ I_BP), not I_BP itself.
    """
    length = check_window(sigma.shape[0], split_at, length)
    window = sigma[:length, :length]
    s_xx = window[:split_at, :split_at]
    s_xy = window[:split_at, split_at:]
    s_yy = window[split_at:, split_at:]
    gain = scipy.linalg.solve(s_xx, s_xy, assume_a="pos", check_finite=False)
    cond = s_yy - s_xy.T @ gain  # S = Cov(Y|X)
    solved = scipy.linalg.solve(cond, s_yy, assume_a="pos", check_finite=False)
    return float(np.trace(solved) - s_yy.shape[0])


def bipartite_mi_dense(
    family: str,
    layers: int,
    split_at: int,
    length: int | None = None,
    boundary_rule: str = DEFAULT_BOUNDARY_RULE,
) -> float:
    """Exact I_BP (nats) of one copy, window [0, length) (default the whole L) split at ℓ."""
    return bipartite_mi_from_covariance(
        covariance_dense(family, layers, boundary_rule), split_at, length
    )


def exact_vclub_bound(
    family: str,
    layers: int,
    split_at: int,
    length: int | None = None,
    boundary_rule: str = DEFAULT_BOUNDARY_RULE,
) -> float:
    """What vCLUB (Eq. 7) converges to for q = p, one copy, nats.

    See ``vclub_bound_from_covariance``; window [0, length) (default all of L) split at ℓ."""
    return vclub_bound_from_covariance(
        covariance_dense(family, layers, boundary_rule), split_at, length
    )


def two_point_mi_dense(sigma: np.ndarray, distance: int) -> tuple[float, float]:
    """(MI of the pair (0, d), mean MI over all pairs (p, p+d)) in nats, from dense Σ."""
    if not 1 <= distance < sigma.shape[0]:
        raise InputError(
            f"distance must be in [1, {sigma.shape[0] - 1}], got {distance}",
            "two-point MI needs two distinct positions inside the sequence",
        )
    corr = np.diagonal(sigma, distance)
    mi = -0.5 * np.log1p(-(corr**2))
    return float(mi[0]), float(mi.mean())
