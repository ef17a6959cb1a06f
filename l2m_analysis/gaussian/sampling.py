"""Sampling through the sparse stages of Z = T ξ, its inverse, and exact joint log-densities.

T never exists as a matrix: applying it costs O(L) per sample (each layer is a 4x4 mix per row
and a 2x2 mix per boundary pair; the three copies of the subvolume family are one batched call).
Appendix E stacking: a token is ``copies`` (64 in the paper) independent copies at one position
(Eq. E.34), and a zero BOS token is prepended for models.
"""

from __future__ import annotations

import numpy as np

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.construction import (
    DEFAULT_BOUNDARY_RULE,
    LOG_ABS_DET_MIX,
    MIX,
    MIX_INV,
    GaussianFamily,
)
from l2m_analysis.gaussian.diagonals import CovarianceDiagonals

PAPER_COPIES = 64  # Appendix E: 64 copies per token


class HierarchicalGaussian:
    """One family at ``layers`` layers: Z = T ξ with ξ ~ N(0, I_L), L = 4^layers.

    ``apply`` (ξ -> Z), ``whiten`` (Z -> ξ), ``log_abs_det`` (log|det T|), ``log_density`` and
    ``sample`` all work on arrays shaped (..., L), float64.
    """

    def __init__(
        self, family: str | GaussianFamily, layers: int, boundary_rule: str = DEFAULT_BOUNDARY_RULE
    ) -> None:
        self.diagonals = CovarianceDiagonals(family, layers, boundary_rule)
        self.family = self.diagonals.family
        self.layers = self.diagonals.layers
        self.boundary_rule = self.diagonals.boundary_rule
        self.length = 4**self.layers
        # (α, β) of the boundary pairs of every layer k = 1..layers
        self.pairs = {k: self.diagonals.pair_params(k)[1:] for k in range(1, self.layers + 1)}

    # --------------------------------------------------------------------- T and T⁻¹
    def apply(self, xi: np.ndarray) -> np.ndarray:
        """Z = T ξ: (..., L) -> (..., L)."""
        xi = self._check_last_axis(xi, "xi")
        flat = xi.reshape(-1, self.length)
        return self._apply(self.layers, flat).reshape(xi.shape)

    def whiten(self, z: np.ndarray) -> np.ndarray:
        """ξ = T⁻¹ Z: (..., L) -> (..., L); ξ ~ N(0, I) when Z is a sample."""
        z = self._check_last_axis(z, "z")
        flat = z.reshape(-1, self.length)
        return self._whiten(self.layers, flat).reshape(z.shape)

    def log_abs_det(self) -> float:
        """log|det T| = ½ log det Σ (nats), by the layer recursion."""
        value = 0.0
        for k in range(1, self.layers + 1):
            alpha, beta = self.pairs[k]
            prev_len = 4 ** (k - 1)
            value = (
                self.family.n_copies * value
                + prev_len * LOG_ABS_DET_MIX
                + float(np.log(alpha**2 - beta**2).sum())
            )
        return value

    def log_density(self, z: np.ndarray) -> np.ndarray:
        """log p(z) of whole samples, nats: log N(T⁻¹z; 0, I) − log|det T|. (..., L) -> (...)."""
        xi = self.whiten(z)
        return -0.5 * (xi**2).sum(-1) - 0.5 * self.length * np.log(2 * np.pi) - self.log_abs_det()

    # --------------------------------------------------------------------- sampling
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent samples (n, L)."""
        return self.apply(rng.standard_normal((n, self.length)))

    def sample_tokens(
        self, n: int, rng: np.random.Generator, copies: int = PAPER_COPIES
    ) -> np.ndarray:
        """``n`` samples of L tokens, each token ``copies`` independent copies (Eq. E.34):
        (n, L, copies)."""
        if copies < 1:
            raise InputError(f"copies must be >= 1, got {copies}", "use 64 as in Appendix E")
        flat = self.sample(n * copies, rng)  # (n·copies, L)
        return flat.reshape(n, copies, self.length).transpose(0, 2, 1).copy()

    # --------------------------------------------------------------------- recursion
    def _apply(self, k: int, xi: np.ndarray) -> np.ndarray:
        if k == 0:
            return xi.copy()
        n, prev_len = xi.shape[0], 4 ** (k - 1)
        x = np.empty((n, prev_len, 4))
        fam = self.family
        copies = xi[:, : fam.n_copies * prev_len].reshape(n * fam.n_copies, prev_len)
        y = self._apply(k - 1, copies).reshape(n, fam.n_copies, prev_len)
        x[:, :, list(fam.copy_columns)] = y.transpose(0, 2, 1)
        noise = xi[:, fam.n_copies * prev_len :]  # subvolume: W_i = ξ[i]; log: W_ij = ξ[3i+j]
        x[:, :, list(fam.noise_columns)] = noise.reshape(n, prev_len, -1)
        z = (x @ MIX.T).reshape(n, 4 * prev_len)  # Eqs. (B.20)-(B.22)
        return _mix_pairs(z, *self.pairs[k])  # Eq. (B.23)

    def _whiten(self, k: int, z: np.ndarray) -> np.ndarray:
        if k == 0:
            return z.copy()
        n, prev_len = z.shape[0], 4 ** (k - 1)
        fam = self.family
        alpha, beta = self.pairs[k]
        det = alpha**2 - beta**2
        tilde = _mix_pairs(z.copy(), alpha / det, -beta / det)  # inverse of [[α, β], [β, α]]
        x = tilde.reshape(n, prev_len, 4) @ MIX_INV.T
        copies = x[:, :, list(fam.copy_columns)].transpose(0, 2, 1).reshape(-1, prev_len)
        xi_copies = self._whiten(k - 1, copies).reshape(n, fam.n_copies * prev_len)
        noise = x[:, :, list(fam.noise_columns)]
        return np.concatenate([xi_copies, noise.reshape(n, -1)], axis=1)

    def _check_last_axis(self, array: np.ndarray, name: str) -> np.ndarray:
        array = np.asarray(array, dtype=float)
        if array.ndim == 0 or array.shape[-1] != self.length:
            raise InputError(
                f"{name} must have last axis L = {self.length}, got shape {array.shape}",
                f"pass arrays shaped (..., {self.length}) for {self.layers} layers",
            )
        return array


class GaussianSampleSource:
    """Deterministic stacked samples by pair id (a ``scoring.driver.SampleSource``).

    Pair i's tokens come from ``np.random.default_rng([seed, i])`` alone, so any batching or a
    resumed run reproduces them. ``samples(ids)`` -> (n, L, copies).
    """

    def __init__(self, model: HierarchicalGaussian, seed: int, copies: int = PAPER_COPIES) -> None:
        self.model = model
        self.seed = int(seed)
        self.copies = int(copies)
        self.length = model.length

    def samples(self, sample_ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(sample_ids, dtype=np.int64).reshape(-1)
        xi = np.zeros((ids.size, self.copies, self.length))
        for row, sample_id in enumerate(ids):  # one generator per pair: batching-independent
            xi[row] = np.random.default_rng([self.seed, int(sample_id)]).standard_normal(
                (self.copies, self.length)
            )
        z = self.model.apply(xi)  # (n, copies, L)
        return z.transpose(0, 2, 1).copy()


def _mix_pairs(z: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Apply [[α, β], [β, α]] to every boundary pair (4i+3, 4i+4) of z (n, L); returns z."""
    left = 4 * np.arange(alpha.size) + 3
    lo, hi = z[:, left].copy(), z[:, left + 1].copy()
    z[:, left] = alpha * lo + beta * hi
    z[:, left + 1] = beta * lo + alpha * hi
    return z


def with_bos(tokens: np.ndarray) -> np.ndarray:
    """Prepend the all-zero BOS token W_0 of Appendix E: (n, L, C) -> (n, L+1, C)."""
    tokens = np.asarray(tokens, dtype=float)
    if tokens.ndim != 3:
        raise InputError(
            f"tokens must be shaped (n, L, copies), got {tokens.shape}",
            "use HierarchicalGaussian.sample_tokens",
        )
    bos = np.zeros((tokens.shape[0], 1, tokens.shape[2]))
    return np.concatenate([bos, tokens], axis=1)
