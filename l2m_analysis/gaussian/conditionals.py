"""Exact conditionals p(z_p | z_[start, p)): mean, standard deviation and log-density, nats.

Two methods:
* ``dense``: Cholesky Σ_W = C Cᵀ of the window W = [start, start + n); with e = C⁻¹ z,
  z_p = Σ_{q<p} C_pq e_q + C_pp e_p, so mean_p = z_p − C_pp e_p and std_p = C_pp. Any start
  (start > 0 gives the marginal of a suffix, the oracle's q(Y)); O(n²) memory.
* ``structured`` (start = 0 only): the layer recursion of ``structured.py`` applied to the sample
  itself — Z determines its three (or one) previous-layer copies exactly (T is invertible), so the
  conditional means follow from the copies' own conditional means; O(L) per sample.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.construction import DEFAULT_BOUNDARY_RULE, MIX_INV
from l2m_analysis.gaussian.exact import DENSE_MAX_LAYERS, covariance_dense
from l2m_analysis.gaussian.sampling import HierarchicalGaussian, _mix_pairs
from l2m_analysis.gaussian.structured import conditional_layers, local_maps

METHODS = ("auto", "dense", "structured")
AUTO_DENSE_MAX_LAYERS = 6  # "auto" uses dense up to L = 4096 (Σ 128 MiB)
_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


class ExactConditionals:
    """Exact Gaussian conditionals of one family at ``layers`` layers (L = 4^layers)."""

    def __init__(
        self,
        family: str,
        layers: int,
        boundary_rule: str = DEFAULT_BOUNDARY_RULE,
        method: str = "auto",
    ) -> None:
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}", f"use one of: {', '.join(METHODS)}")
        self.model = HierarchicalGaussian(family, layers, boundary_rule)
        self.length = self.model.length
        if method == "auto":
            method = "dense" if self.model.layers <= AUTO_DENSE_MAX_LAYERS else "structured"
        self.method = method
        self._sigma: np.ndarray | None = None
        self._chol: dict[tuple[int, int], np.ndarray] = {}
        self._layers = None

    # ------------------------------------------------------------------ public
    def moments(self, z: np.ndarray, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Conditional means (..., n) and standard deviations (n,) of z_p given z_[start, p).

        ``z`` (..., n) holds positions start .. start+n-1 of samples (a suffix window when
        start > 0: then the conditionals are those of the marginal p(z_[start, start+n)))."""
        z = np.asarray(z, dtype=float)
        n = self._check_window(z, start)
        if self.method == "structured" and start == 0 and n == self.length:
            return self._structured_moments(z)
        chol = self._cholesky(start, n)
        flat = z.reshape(-1, n)
        e = scipy.linalg.solve_triangular(chol, flat.T, lower=True, check_finite=False).T
        std = np.diagonal(chol).copy()
        mean = flat - std * e
        return mean.reshape(z.shape), std

    def log_prob(self, z: np.ndarray, start: int = 0) -> np.ndarray:
        """log p(z_p | z_[start, p)) per position, nats, (..., n)."""
        mean, std = self.moments(z, start)
        return -0.5 * ((z - mean) / std) ** 2 - np.log(std) - _HALF_LOG_2PI

    # ------------------------------------------------------------------ dense
    def covariance(self) -> np.ndarray:
        if self._sigma is None:
            if self.model.layers > DENSE_MAX_LAYERS:
                raise InputError(
                    f"dense conditionals need Σ of L = {self.length}: too large",
                    "use start = 0 with method='structured', or fewer layers",
                )
            self._sigma = covariance_dense(
                self.model.family.name, self.model.layers, self.model.boundary_rule
            )
        return self._sigma

    def _cholesky(self, start: int, n: int) -> np.ndarray:
        key = (start, n)
        if key not in self._chol:
            window = self.covariance()[start : start + n, start : start + n]
            self._chol[key] = scipy.linalg.cholesky(window, lower=True, check_finite=False)
        return self._chol[key]

    def _check_window(self, z: np.ndarray, start: int) -> int:
        n = z.shape[-1] if z.ndim else 0
        if not (0 <= start and n >= 1 and start + n <= self.length):
            raise InputError(
                f"window [start={start}, start+{n}) is not inside a sample of L = {self.length}",
                "pass z shaped (..., n) with 0 <= start and start + n <= L",
            )
        return n

    # ------------------------------------------------------------------ structured
    def _structured_moments(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._layers is None:
            _, self._layers = conditional_layers(
                self.model.family, self.model.layers, self.model.boundary_rule
            )
        flat = z.reshape(-1, self.length)
        means = self._window_means(self.model.layers, flat)[:, :, 0]
        std = np.sqrt(self._layers[-1].conditional_variance)
        return means.reshape(z.shape), std

    def _window_means(self, k: int, z: np.ndarray) -> np.ndarray:
        """E[Z_[n, n+3) | Z_<n] for every n of layer k samples z (N, 4^k) -> (N, 4^k, 3)."""
        n_samples, length = z.shape
        if k == 0:
            return np.zeros((n_samples, 1, 3))
        fam, prev_len = self.model.family, length // 4
        alpha, beta = self.model.pairs[k]
        det = alpha**2 - beta**2
        tilde = _mix_pairs(z.copy(), alpha / det, -beta / det)
        x = tilde.reshape(n_samples, prev_len, 4) @ MIX_INV.T  # the rows X_i, exactly
        copies = x[:, :, list(fam.copy_columns)].transpose(0, 2, 1).reshape(-1, prev_len)
        prev = self._window_means(k - 1, copies).reshape(n_samples, fam.n_copies, prev_len, 3)
        prev = np.concatenate([np.zeros((n_samples, fam.n_copies, 1, 3)), prev], axis=2)
        mu_x = np.zeros((n_samples, prev_len, 12))  # E[X of rows a-1..a+1 | X_<a-1]
        for c, j in enumerate(fam.copy_columns):
            mu_x[:, :, j::4] = prev[:, c, :prev_len, :]
        mean_local = np.einsum("aij,naj->nai", local_maps(alpha, beta, prev_len), mu_x)
        z_pad = np.concatenate([np.zeros((n_samples, 4)), z], axis=1)  # position p at p + 4
        observed = np.empty((n_samples, prev_len, 7))
        observed[:, :, 0] = np.concatenate([np.zeros((n_samples, 4)), tilde], axis=1)[
            :, 0 : 4 * prev_len : 4
        ]  # Z~ of position 4a-4
        for i in range(1, 7):  # z of positions 4a-4+i
            observed[:, :, i] = z_pad[:, i : i + 4 * prev_len : 4]
        diff = observed - mean_local[:, :, :7]
        gains = self._layers[k].gains
        out = np.empty((n_samples, length, 3))
        for s in range(4):
            out[:, s::4] = mean_local[:, :, s + 4 : s + 7] + np.einsum(
                "aij,naj->nai", gains[s::4], diff
            )
        return out


def gaussian_kl(
    mean_p: np.ndarray, std_p: np.ndarray, mean_q: np.ndarray, std_q: np.ndarray
) -> np.ndarray:
    """KL(N(μ_p, σ_p²) || N(μ_q, σ_q²)) elementwise, nats: the summand of Eq. (E.35)."""
    return np.log(std_q / std_p) + (std_p**2 + (mean_q - mean_p) ** 2) / (2 * std_q**2) - 0.5


def conditional_kl_per_position(
    mean_p: np.ndarray, std_p: np.ndarray, mean_q: np.ndarray, std_q: np.ndarray
) -> np.ndarray:
    """Per-position KL of Eq. (E.36) in closed form, nats per token: the Gaussian KL summed over
    the token's C copies and averaged over the batch. Inputs broadcast to (B, L, C); returns (L,).
    Eq. (E.35), the training loss, is this averaged over positions and divided by C."""
    kl = gaussian_kl(mean_p, std_p, mean_q, std_q)
    return kl.sum(axis=-1).mean(axis=0)
