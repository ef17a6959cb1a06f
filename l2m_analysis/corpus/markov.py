"""Ground truth for two-point MI: a stationary Markov chain with a known transition matrix.

For a chain started in its stationary distribution π, the pair (X, Y) = (w_t, w_{t+d}) has
p(x, y) = π_x (P^d)_{xy} and p(y) = π_y, so the exact two-point MI (Definition 4.3, Eq. 10) is

    I_d = Σ_{x,y} π_x (P^d)_{xy} log((P^d)_{xy} / π_y)      (nats)

and decays as |λ_2|^(2d) for large d (λ_2: the second-largest eigenvalue modulus of P).
"""

from __future__ import annotations

import numpy as np

from l2m_analysis.errors import InputError


def check_transition_matrix(transition: np.ndarray) -> np.ndarray:
    """Validate a (K, K) row-stochastic matrix and return it as float64."""
    p = np.asarray(transition, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != p.shape[1] or p.shape[0] < 2:
        raise InputError(f"transition matrix must be (K, K) with K >= 2, got {p.shape}")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-10):
        raise InputError("transition matrix rows must be non-negative and sum to 1")
    return p


def sticky_transition_matrix(
    n_states: int, stickiness: float, rng: np.random.Generator, concentration: float = 1.0
) -> np.ndarray:
    """(K, K) matrix s·I + (1 − s)·Q with Q's rows drawn from Dirichlet(concentration).

    Larger stickiness s -> slower decay of I_d (λ_2 ≈ s for a well-mixed Q).
    """
    if not 0.0 <= stickiness < 1.0:
        raise InputError(f"stickiness must be in [0, 1), got {stickiness}")
    q = rng.dirichlet(np.full(n_states, concentration), size=n_states)  # (K, K)
    return stickiness * np.eye(n_states) + (1.0 - stickiness) * q


def stationary_distribution(transition: np.ndarray) -> np.ndarray:
    """π with π P = π, Σ π = 1, shape (K,); solved as a least-squares linear system."""
    p = check_transition_matrix(transition)
    k = p.shape[0]
    a = np.vstack([p.T - np.eye(k), np.ones((1, k))])  # (K + 1, K)
    b = np.concatenate([np.zeros(k), [1.0]])
    pi, *_ = np.linalg.lstsq(a, b, rcond=None)
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def exact_two_point_mi(transition: np.ndarray, distances) -> np.ndarray:
    """Exact I_d in nats for each d in ``distances`` -> shape (len(distances),)."""
    p = check_transition_matrix(transition)
    pi = stationary_distribution(p)
    out = []
    for d in distances:
        pd = np.linalg.matrix_power(p, int(d))  # (K, K): p(y | x) at distance d
        joint = pi[:, None] * pd
        nz = joint > 0
        ratio = pd[nz] / np.broadcast_to(pi[None, :], pd.shape)[nz]
        out.append(float(np.sum(joint[nz] * np.log(ratio))))  # Eq. (10) with p(x, y) = π_x P^d
    return np.maximum(np.array(out), 0.0)


def sample_markov_chain(
    transition: np.ndarray, n_docs: int, doc_length: int, rng: np.random.Generator
) -> np.ndarray:
    """Token streams, shape (n_docs, doc_length), int64; each document starts from π.

    Vectorized across documents: one step of all chains at a time (inverse-CDF sampling).
    """
    p = check_transition_matrix(transition)
    if n_docs < 1 or doc_length < 1:
        raise InputError(f"need n_docs, doc_length >= 1, got {n_docs}, {doc_length}")
    cdf = np.cumsum(p, axis=1)  # (K, K)
    cdf[:, -1] = 1.0
    pi_cdf = np.cumsum(stationary_distribution(p))
    pi_cdf[-1] = 1.0
    out = np.empty((n_docs, doc_length), dtype=np.int64)
    out[:, 0] = np.searchsorted(pi_cdf, rng.random(n_docs), side="right")
    u = rng.random((doc_length, n_docs))
    for t in range(1, doc_length):  # over time steps; all n_docs chains move at once
        row = cdf[out[:, t - 1]]  # (n_docs, K)
        out[:, t] = (row < u[t][:, None]).sum(axis=1)
    return out


def exact_bipartite_mi(transition: np.ndarray) -> float:
    """Exact I(X_{1:ℓ}; Y_{1:L−ℓ}) of the stationary chain, nats, for every ℓ >= 1 and L > ℓ.

    By the Markov property only the boundary pair matters: I_BP = I(w_{ℓ−1}; w_ℓ) = I_1.
    """
    return float(exact_two_point_mi(transition, [1])[0])


def exact_vclub_limit(transition: np.ndarray) -> float:
    """What vCLUB (Eq. 7) converges to with q = p, nats: E[log P(Y1|X_ℓ)] − E_{X′ ⊥ Y}[log
    P(Y1|X′_ℓ)] (every later term cancels), i.e. Σ π_x P_xy log P_xy − Σ π_x π_y log P_xy."""
    p = check_transition_matrix(transition)
    pi = stationary_distribution(p)
    logp = np.log(np.where(p > 0, p, 1.0))
    joint = float(np.sum(pi[:, None] * p * logp))
    product = pi[:, None] * pi[None, :]
    if np.any((product > 0) & (p == 0)):
        return float("inf")  # an X′ can make Y1 impossible: the CLUB bound diverges
    return joint - float(np.sum(product * logp))


def adjacent_pair_entropy(transition: np.ndarray) -> float:
    """Exact H(w_t, w_{t+1}) of the stationary chain, nats: what Ĥ_G(Y1, Y2) estimates."""
    p = check_transition_matrix(transition)
    joint = stationary_distribution(p)[:, None] * p
    nz = joint > 0
    return float(-np.sum(joint[nz] * np.log(joint[nz])))
