"""A text-like Markov chain with a large vocabulary and an exact adjacent-pair entropy.

K ≈ 50,000 states (like a tokenizer's vocabulary) cannot be a dense K × K matrix (20 GB), so
the transition matrix here is a scipy CSR matrix with sparse rows: row i keeps the successors
it drew from a Zipfian base distribution, weighted by that distribution, and frequent states
have more distinct successors (as frequent words do). Its stationary π is solved by power
iteration to 1e-13 in L1, so the exact entropy of an adjacent pair of the stationary chain is

    H(Y1, Y2) = H(π) + Σ_i π_i H(P_i·)      (nats)

the quantity Grassberger's Ĥ_G (Eq. A.12) estimates for the 2-gram correction (Eq. A.14).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from l2m_analysis.errors import InputError


def zipf_sparse_chain(
    n_states: int,
    rng: np.random.Generator,
    *,
    exponent: float = 1.0,
    successors: float = 400.0,
    min_successors: int = 4,
) -> sparse.csr_matrix:
    """(K, K) CSR row-stochastic matrix: row i draws about ``successors``·√(K·w_i)/Σ√(K·w)·K
    distinct successors from the Zipf weights w ∝ rank^−exponent (at least ``min_successors``)
    and gives each its base weight, renormalized. Every row i also holds state 0 (the most
    frequent) and state i + 1 (mod K), so every state is reachable (irreducible) and state 0
    returns to itself (aperiodic): π is unique and positive."""
    if n_states < 2 or successors <= 0 or min_successors < 1:
        raise InputError(f"need n_states >= 2, successors > 0, min_successors >= 1, got "
                         f"{n_states}, {successors}, {min_successors}")  # fmt: skip
    w = np.arange(1, n_states + 1, dtype=np.float64) ** -exponent
    w /= w.sum()
    spread = np.sqrt(w)
    sizes = np.clip(successors * spread / spread.mean(), min_successors, n_states).astype(int)
    cdf = np.cumsum(w)
    rows, cols = [], []
    for i, size in enumerate(sizes):
        drawn = np.unique(np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right"))
        drawn = np.union1d(np.minimum(drawn, n_states - 1), [0, (i + 1) % n_states])
        rows.append(np.full(drawn.size, i))
        cols.append(drawn)
    r, c = np.concatenate(rows), np.concatenate(cols)
    p = sparse.csr_matrix((w[c], (r, c)), shape=(n_states, n_states))
    return sparse.csr_matrix(sparse.diags(1.0 / np.asarray(p.sum(axis=1)).ravel()) @ p)


def check_sparse_transition(transition) -> sparse.csr_matrix:
    """Validate a (K, K) sparse row-stochastic matrix -> CSR float64 with sorted indices."""
    p = sparse.csr_matrix(transition, dtype=np.float64)
    if p.shape[0] != p.shape[1] or p.shape[0] < 2:
        raise InputError(f"transition matrix must be (K, K) with K >= 2, got {p.shape}")
    sums = np.asarray(p.sum(axis=1)).ravel()
    if (p.data < 0).any() or not np.allclose(sums, 1.0, atol=1e-10):
        raise InputError("transition matrix rows must be non-negative and sum to 1")
    p.sort_indices()
    return p


def sparse_stationary(transition, tol: float = 1e-13, max_iter: int = 100_000) -> np.ndarray:
    """π with π P = π, Σ π = 1, shape (K,), by power iteration until the L1 change < tol."""
    p = check_sparse_transition(transition)
    pt = p.T.tocsr()
    pi = np.full(p.shape[0], 1.0 / p.shape[0])
    for _ in range(max_iter):
        new = pt @ pi
        new /= new.sum()
        if np.abs(new - pi).sum() < tol:
            return new
        pi = new
    raise InputError(f"the power iteration did not converge in {max_iter} steps",
                     "the chain mixes too slowly (or is periodic): add self-loops")  # fmt: skip


def sparse_pair_entropy(transition, pi: np.ndarray | None = None) -> float:
    """Exact H(w_t, w_{t+1}) of the stationary chain = H(π) + Σ_i π_i H(P_i·), nats."""
    p = check_sparse_transition(transition)
    pi = sparse_stationary(p) if pi is None else np.asarray(pi, dtype=np.float64)
    row_of = np.repeat(np.arange(p.shape[0]), np.diff(p.indptr))
    plogp = np.where(p.data > 0, p.data * np.log(np.where(p.data > 0, p.data, 1.0)), 0.0)
    row_entropy = -np.bincount(row_of, weights=plogp, minlength=p.shape[0])
    nz = pi > 0
    return float(-np.sum(pi[nz] * np.log(pi[nz])) + np.sum(pi * row_entropy))


def sparse_bipartite_mi(transition, pi: np.ndarray | None = None) -> float:
    """Exact I(w_t; w_{t+1}) = 2 H(π) − H(w_t, w_{t+1}), nats: the stationary chain's I_BP at
    every ℓ and L (as ``markov.exact_bipartite_mi``)."""
    p = check_sparse_transition(transition)
    pi = sparse_stationary(p) if pi is None else np.asarray(pi, dtype=np.float64)
    nz = pi > 0
    return float(-2 * np.sum(pi[nz] * np.log(pi[nz])) - sparse_pair_entropy(p, pi))


def sample_sparse_chain(
    transition, n_docs: int, doc_length: int, rng: np.random.Generator, pi: np.ndarray
) -> np.ndarray:
    """Token streams (n_docs, doc_length), int64, each document started from ``pi``.

    Inverse CDF over the CSR data: the rows sum to 1, so the running sum of all stored
    probabilities reaches i + u inside row i at the successor drawn by u."""
    p = check_sparse_transition(transition)
    if n_docs < 1 or doc_length < 1:
        raise InputError(f"need n_docs, doc_length >= 1, got {n_docs}, {doc_length}")
    running = np.cumsum(p.data)
    pi_cdf = np.cumsum(pi)
    out = np.empty((n_docs, doc_length), dtype=np.int64)
    out[:, 0] = np.minimum(np.searchsorted(pi_cdf, rng.random(n_docs) * pi_cdf[-1], "right"),
                           p.shape[0] - 1)  # fmt: skip
    u = rng.random((doc_length, n_docs))
    for t in range(1, doc_length):
        state = out[:, t - 1]
        base = running[p.indptr[state] - 1] * (p.indptr[state] > 0)  # sum before row i
        at = np.searchsorted(running, base + u[t] * (running[p.indptr[state + 1] - 1] - base),
                             side="right")  # fmt: skip
        at = np.clip(at, p.indptr[state], p.indptr[state + 1] - 1)
        out[:, t] = p.indices[at]
    return out
