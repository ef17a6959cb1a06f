"""How much bipartite MI a D-number linear summary of the past can carry (the L²M bound made
exact for the Gaussian families).

For jointly Gaussian X (past block, ℓ numbers) and Y (future block), with canonical
correlations ρ_1 ≥ ρ_2 ≥ … (singular values of Σ_XX^{−½} Σ_XY Σ_YY^{−½}),

    I(X; Y) = −½ Σ_k log(1 − ρ_k²)                       (all pairs: the exact I_BP)

and the most MI any D-dimensional linear summary z = W X (W: D × ℓ) keeps about Y is

    max_W I(W X; Y) = −½ Σ_{k ≤ D} log(1 − ρ_k²)          (the D largest canonical pairs)

This is the capacity curve beside Theorem 5.2's C·dim(z) + log M (Eq. 11): C·D assumes an
unknown number of nats per state number, the linear capacity is exact for linear states. With
c independent copies per token (Eq. E.34) every canonical pair appears c times. Nats throughout.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import scipy.linalg

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.construction import DEFAULT_BOUNDARY_RULE
from l2m_analysis.gaussian.exact import check_window, covariance_dense

CAPACITY_MAX_LAYERS = 5  # L = 1024: ~2 s on 2 busy cores (L = 4096: ~40 s, too slow for a step)


def canonical_correlations(
    sigma: np.ndarray, split_at: int, length: int | None = None
) -> np.ndarray:
    """ρ_k of X = Z_[0, ℓ) and Y = Z_[ℓ, length), descending, shape (min(ℓ, length − ℓ),).

    sigma: (L, L) covariance, symmetric positive definite. Whitened by Cholesky factors:
    ρ = singular values of L_X⁻¹ Σ_XY L_Y⁻ᵀ (Σ_XX = L_X L_Xᵀ, Σ_YY = L_Y L_Yᵀ)."""
    length = check_window(sigma.shape[0], split_at, length)
    window = np.asarray(sigma, dtype=np.float64)[:length, :length]
    chol_x = scipy.linalg.cholesky(window[:split_at, :split_at], lower=True)
    chol_y = scipy.linalg.cholesky(window[split_at:, split_at:], lower=True)
    left = scipy.linalg.solve_triangular(chol_x, window[:split_at, split_at:], lower=True)
    whitened = scipy.linalg.solve_triangular(chol_y, left.T, lower=True).T  # L_X⁻¹ Σ_XY L_Y⁻ᵀ
    rho = scipy.linalg.svd(whitened, compute_uv=False)
    return np.clip(rho, 0.0, 1.0)


def canonical_information(rho: np.ndarray) -> np.ndarray:
    """−½ log(1 − ρ_k²) per canonical pair, nats, same shape as ``rho`` (∞ where ρ = 1)."""
    rho = np.asarray(rho, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return -0.5 * np.log1p(-(rho**2))


def linear_summary_mi(rho: np.ndarray, dim: int, copies: int = 1) -> float:
    """max over D × (c·ℓ) matrices W of I(W X; Y), nats: the D largest of the canonical terms,
    each of the ``copies`` independent copies contributing every pair once.

    rho: canonical correlations of one copy (any order). dim: D >= 0 numbers."""
    if dim < 0 or copies < 1:
        raise InputError(f"need dim >= 0 and copies >= 1, got {dim}, {copies}",
                         "dim counts the numbers of the summary")  # fmt: skip
    terms = np.sort(canonical_information(rho))[::-1]
    whole, part = divmod(int(dim), copies)  # the first `whole` pairs in every copy, then part
    total = copies * float(terms[:whole].sum())
    if part and whole < terms.size:
        total += part * float(terms[whole])
    return total


def linear_capacity_curve(
    family: str,
    lengths: list[int],
    dims: dict[str, int | list[int]],
    copies: int = 1,
    boundary_rule: str = DEFAULT_BOUNDARY_RULE,
) -> pl.DataFrame:
    """Exact I_BP(L/2; L) and the linear capacity of each named state size, per L.

    lengths: L = 4^k, k = 1 … CAPACITY_MAX_LAYERS, each a whole sample of its own (as the exact
    curve of ``gaussian.curves.bipartite_curve``; the first L tokens of a longer sample have
    another covariance); dims: name -> D (one for every L, or a list aligned with ``lengths``).
    Columns: name, length, dim, i_bp, linear_capacity (nats, per token of ``copies`` numbers),
    one row per name × L."""
    powers = {4**k: k for k in range(1, CAPACITY_MAX_LAYERS + 1)}
    if not lengths or any(n not in powers for n in lengths):
        raise InputError(
            f"lengths must be powers of 4 from 4 to {4**CAPACITY_MAX_LAYERS}, got {lengths}",
            "the capacity needs the dense covariance: use e.g. L = 16 64 256 1024",
        )
    rows = []
    for i, length in enumerate(lengths):
        sigma = covariance_dense(family, powers[length], boundary_rule)
        rho = canonical_correlations(sigma, length // 2)
        i_bp = copies * float(canonical_information(rho).sum())
        for name, dim in dims.items():
            d = dim[i] if isinstance(dim, list) else dim
            rows.append({"name": name, "length": length, "dim": d, "i_bp": i_bp,
                         "linear_capacity": linear_summary_mi(rho, d, copies)})  # fmt: skip
    return pl.DataFrame(rows)
