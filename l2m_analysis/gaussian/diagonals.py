"""Diagonals of the covariance Σ of a layer without building Σ: Σ_k[p, p+d] for all p.

Σ_k = B_k Σ~_k B_kᵀ with Σ~_k[4i+a, 4j+b] = Σ_{k-1}[i, j]·P[a, b] + δ_ij·Q[a, b] (Eqs. B.20-B.24)
and B_k the boundary-pair transformations (Eq. B.23). A diagonal at offset d of layer k therefore
needs only the few diagonals at offsets ≈ d/4 of layer k-1: O(L) work per diagonal, memoized.
The boundary-pair parameters of layer k come from diagonal 1 of layer k-1.
"""

from __future__ import annotations

import numpy as np

from l2m_analysis.gaussian.construction import (
    DEFAULT_BOUNDARY_RULE,
    GaussianFamily,
    check_boundary_rule,
    check_layers,
    get_family,
    pair_params_from_superdiagonal,
    pair_weights,
)


class CovarianceDiagonals:
    """Σ_k[p, p+d] of layers k = 0..layers of one family, computed on demand and memoized."""

    def __init__(
        self,
        family: str | GaussianFamily,
        layers: int,
        boundary_rule: str = DEFAULT_BOUNDARY_RULE,
    ) -> None:
        self.family = get_family(family)
        self.layers = check_layers(layers)
        self.boundary_rule = check_boundary_rule(boundary_rule)
        self._diagonals: dict[tuple[int, int], np.ndarray] = {}
        self._pairs: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def pair_params(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(current correlation, α, β) of the boundary pairs of layer k ≥ 1, each (4^(k-1)-1,)."""
        if k not in self._pairs:
            prev_super = self.diagonal(k - 1, 1)
            self._pairs[k] = pair_params_from_superdiagonal(
                self.family, self.boundary_rule, prev_super
            )
        return self._pairs[k]

    def diagonal(self, k: int, d: int) -> np.ndarray:
        """Σ_k[p, p+d] for p = 0 .. 4^k - d - 1, shape (4^k - d,); unit variances at d = 0."""
        length = 4**k
        if not 0 <= d < length:
            return np.zeros(0)
        key = (k, d)
        if key in self._diagonals:
            return self._diagonals[key]
        if k == 0:
            out = np.ones(1)
        else:
            out = self._diagonal_from_previous(k, d)
        self._diagonals[key] = out
        return out

    def entry(self, k: int, p: int, q: int) -> float:
        """One covariance entry Σ_k[p, q]."""
        p, q = min(p, q), max(p, q)
        return float(self.diagonal(k, q - p)[p])

    def _diagonal_from_previous(self, k: int, d: int) -> np.ndarray:
        length = 4**k
        _, alpha, beta = self.pair_params(k)
        a, b, partner = pair_weights(alpha, beta, length)
        p = np.arange(length - d)
        q = p + d
        p_terms = ((p, a[p]), (partner[p], b[p]))
        q_terms = ((q, a[q]), (partner[q], b[q]))
        out = np.zeros(length - d)
        for u, w_u in p_terms:  # Σ[p, q] = Σ_{u, v} w_u w_v Σ~[u, v]
            for v, w_v in q_terms:
                weight = w_u * w_v
                used = weight != 0.0
                out[used] += weight[used] * self._tilde_entries(k, u[used], v[used])
        return out

    def _tilde_entries(self, k: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Σ~_k[u, v] (before the boundary pairs) for index arrays u, v."""
        i, a = np.divmod(u, 4)
        j, b = np.divmod(v, 4)
        offset = j - i
        prev = np.empty(u.size)
        for e in np.unique(offset):  # a handful of offsets ≈ d/4
            sel = offset == e
            diag = self.diagonal(k - 1, int(abs(e)))
            prev[sel] = diag[i[sel]] if e >= 0 else diag[j[sel]]
        fam = self.family
        return prev * fam.copy_cross[a, b] + (offset == 0) * fam.noise_cross[a, b]


def two_point_mi_from_correlation(corr: np.ndarray) -> np.ndarray:
    """Two-point MI of two unit-variance jointly Gaussian variables, nats: -½ log(1 - ρ²)."""
    corr = np.asarray(corr, dtype=float)
    return -0.5 * np.log1p(-(corr**2))
