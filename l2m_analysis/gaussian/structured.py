"""Exact bipartite MI for large L (up to 4^8 and beyond) from a layer recursion, O(L) time.

Idea. log det Σ_[0,n) = Σ_{p<n} log Var(Z_p | Z_<p) (chain rule), so every prefix log-det
follows from the conditional variances given the past. These obey a recursion over layers:
position n = 4a + s of layer k depends, given the previous rows X_<a-1, only on the three rows
a-1, a, a+1 of X, whose copies of layer k-1 have covariance G_{k-1}(a-1) =
Cov(Y_[a-1, a+2) | Y_<a-1) — a 3x3 window of the previous layer's conditional covariances, and
the same window (width 3) is all that layer k needs to pass up. So each layer costs a batch of
12x12 Gaussian conditionings, one per position (vectorized), and no L x L matrix is ever built.
Rows before 0 and after the end are padded with independent dummy variables (never mixed by a
boundary pair), which leave every real quantity exact.

The families are persymmetric (J Σ J = Σ, J the reversal), so the suffix log-dets equal prefix
log-dets: I_BP(ℓ) = ½[D(ℓ) + D(L−ℓ) − D(L)] with D(n) = log det Σ_[0,n) (nats). Windows that end
before L (interior Y) need ``exact.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.construction import (
    DEFAULT_BOUNDARY_RULE,
    MIX,
    GaussianFamily,
)
from l2m_analysis.gaussian.diagonals import CovarianceDiagonals

WINDOW = 3  # width of the conditional-covariance windows passed from layer to layer
_LOCAL = 12  # three rows of four variables
_MIX_LOCAL = np.kron(np.eye(3), MIX)  # (12, 12): Z~ of three rows from their X


@dataclass(frozen=True)
class ConditionalLayer:
    """Layer k's conditional structure. ``windows`` (L, 3, 3): G_k(n) = Cov(Z_[n, n+3) | Z_<n)
    (entries past the end: identity). ``gains`` (L, 3, 7): E[Z_[n,n+3) | ...] = m_T + gain·(z_C −
    m_C) over the s+4 local conditioning variables (zero-padded), used for conditional means."""

    windows: np.ndarray
    gains: np.ndarray

    @property
    def conditional_variance(self) -> np.ndarray:
        """Var(Z_n | Z_<n) for every position n, (L,)."""
        return self.windows[:, 0, 0]


def conditional_layers(
    family: str | GaussianFamily, layers: int, boundary_rule: str = DEFAULT_BOUNDARY_RULE
) -> tuple[CovarianceDiagonals, list[ConditionalLayer]]:
    """The conditional structure of layers 0..layers (index k), and the diagonals used."""
    diags = CovarianceDiagonals(family, layers, boundary_rule)
    out = [ConditionalLayer(np.eye(WINDOW)[None].copy(), np.zeros((1, WINDOW, 7)))]
    for k in range(1, diags.layers + 1):
        _, alpha, beta = diags.pair_params(k)
        out.append(_next_layer(out[-1].windows, diags.family, alpha, beta))
    return diags, out


def padded_previous(windows: np.ndarray) -> np.ndarray:
    """Previous layer's windows for rows r = -1 .. L_prev-1 (index r+1), (L_prev+1, 3, 3).

    Row -1 is an independent dummy; the window starting there is blockdiag(1, Cov(Y_0, Y_1)).
    """
    first = np.eye(WINDOW)
    first[1:, 1:] = windows[0, :2, :2]
    return np.concatenate([first[None], windows], axis=0)


def local_maps(alpha: np.ndarray, beta: np.ndarray, prev_len: int) -> np.ndarray:
    """B_loc·(I_3 ⊗ M) (prev_len, 12, 12): from the X of rows a-1, a, a+1 to the local Z, where
    local index 0 is Z~ of position 4a-4 and the pairs (3, 4), (7, 8) are the boundary pairs
    a-1 and a (identity where that pair does not exist)."""
    pair_a = np.ones((prev_len, 2))
    pair_b = np.zeros((prev_len, 2))
    idx = np.arange(prev_len)
    has_left = (idx >= 1) & (idx <= prev_len - 1)  # pair a-1 exists: 0 <= a-1 <= prev_len-2
    has_right = idx <= prev_len - 2  # pair a exists
    pair_a[has_left, 0], pair_b[has_left, 0] = alpha[idx[has_left] - 1], beta[idx[has_left] - 1]
    pair_a[has_right, 1], pair_b[has_right, 1] = alpha[idx[has_right]], beta[idx[has_right]]
    maps = np.broadcast_to(_MIX_LOCAL, (prev_len, _LOCAL, _LOCAL)).copy()
    for slot, (lo, hi) in enumerate(((3, 4), (7, 8))):
        a, b = pair_a[:, slot, None], pair_b[:, slot, None]
        row_lo, row_hi = maps[:, lo, :].copy(), maps[:, hi, :].copy()
        maps[:, lo, :] = a * row_lo + b * row_hi
        maps[:, hi, :] = b * row_lo + a * row_hi
    return maps


def local_x_covariance(family: GaussianFamily, prev_windows_padded: np.ndarray) -> np.ndarray:
    """Cov(X of rows a-1..a+1 | X_<a-1) (prev_len, 12, 12), index 4t + j (row t, column j)."""
    n = prev_windows_padded.shape[0] - 1
    cov = np.zeros((n, _LOCAL, _LOCAL))
    for j in family.copy_columns:  # each copy: the previous layer's window at row a-1
        cov[:, j::4, j::4] = prev_windows_padded[:n]
    for j in family.noise_columns:
        cov[:, j::4, j::4] = np.eye(WINDOW)
    return cov


def _next_layer(
    prev_windows: np.ndarray, family: GaussianFamily, alpha: np.ndarray, beta: np.ndarray
) -> ConditionalLayer:
    prev_len = prev_windows.shape[0]
    length = 4 * prev_len
    maps = local_maps(alpha, beta, prev_len)
    k_x = local_x_covariance(family, padded_previous(prev_windows))
    s_loc = maps @ k_x @ maps.transpose(0, 2, 1)  # Cov of the 12 local Z given X_<a-1
    windows = np.empty((length, WINDOW, WINDOW))
    gains = np.zeros((length, WINDOW, 7))
    for s in range(4):  # n = 4a + s: condition on local [0, s+4), target local [s+4, s+7)
        c, t = slice(0, s + 4), slice(s + 4, s + 7)
        s_cc, s_ct, s_tt = s_loc[:, c, c], s_loc[:, c, t], s_loc[:, t, t]
        solved = np.linalg.solve(s_cc, s_ct)  # (prev_len, s+4, 3)
        windows[s::4] = s_tt - s_ct.transpose(0, 2, 1) @ solved
        gains[s::4, :, : s + 4] = solved.transpose(0, 2, 1)
    for n in range(max(0, length - WINDOW + 1), length):  # entries past the end: dummies
        for t in range(length - n, WINDOW):
            windows[n, t, :] = windows[n, :, t] = 0.0
            windows[n, t, t] = 1.0
    windows = 0.5 * (windows + windows.transpose(0, 2, 1))
    return ConditionalLayer(windows, gains)


@dataclass(frozen=True)
class PrefixLogDets:
    """D(n) = log det Σ_[0,n) for n = 0..L (nats, shape (L+1,)) of one family and layer."""

    family: str
    layers: int
    boundary_rule: str
    logdet: np.ndarray

    @property
    def length(self) -> int:
        return self.logdet.size - 1

    def bipartite_mi(self, split_at: int | np.ndarray) -> float | np.ndarray:
        """I_BP (nats) of the whole sample split at ℓ: ½[D(ℓ) + D(L−ℓ) − D(L)] (persymmetry)."""
        ell = np.asarray(split_at)
        if np.any(ell < 1) or np.any(ell >= self.length):
            raise InputError(
                f"split_at must be in [1, {self.length - 1}], got {split_at}",
                "choose ℓ strictly inside the sample, e.g. L // 2",
            )
        d = self.logdet
        value = 0.5 * (d[ell] + d[self.length - ell] - d[-1])
        return float(value) if np.ndim(value) == 0 else value

    def entropy_per_token(self) -> float:
        """H(Z_0..Z_{L-1}) / L in nats: ½ log(2πe) + D(L) / (2L)."""
        return 0.5 * np.log(2 * np.pi * np.e) + self.logdet[-1] / (2 * self.length)


def prefix_logdets(
    family: str, layers: int, boundary_rule: str = DEFAULT_BOUNDARY_RULE
) -> PrefixLogDets:
    """All prefix log-determinants D(n), n = 0..L, of a family at ``layers`` layers, O(L)."""
    return prefix_logdets_by_layer(family, layers, boundary_rule)[-1]


def prefix_logdets_by_layer(
    family: str, layers: int, boundary_rule: str = DEFAULT_BOUNDARY_RULE
) -> list[PrefixLogDets]:
    """``prefix_logdets`` of every layer count 0..layers (index k), from one recursion."""
    diags, cond = conditional_layers(family, layers, boundary_rule)
    out = []
    for k, layer in enumerate(cond):
        logdet = np.concatenate([[0.0], np.cumsum(np.log(layer.conditional_variance))])
        out.append(PrefixLogDets(diags.family.name, k, diags.boundary_rule, logdet))
    return out


def bipartite_mi_structured(
    family: str,
    layers: int,
    split_at: int,
    boundary_rule: str = DEFAULT_BOUNDARY_RULE,
) -> float:
    """Exact I_BP (nats, one copy) of the whole L = 4^layers sample split at ℓ, structured."""
    return prefix_logdets(family, layers, boundary_rule).bipartite_mi(split_at)
