"""The toy source of §4.4: every token of a sequence is the same symbol, drawn from M symbols.

    p(x_1, …, x_L) = 1(x_1 = … = x_L) / M

It is a Markov chain with transition matrix P = I (the identity) and a uniform start, so its
exact answers are

    I_d^TP = log M at every distance d,     I_{ℓ;L}^BP = log M at every ℓ and L      (nats)

(two-point MI that never decays, bipartite MI that never grows: §4.4). From D sequences the
symbol frequencies p̂ are a multinomial draw of D, not of the D·L tokens: every count-based
estimate (Ĥ_G of pairs, two-point I_d) measures H(p̂), and log M − H(p̂) ≈ χ²_{M−1} / (2D)
(second-order expansion of H around the uniform p; mean (M − 1)/(2D), sd √(2(M − 1))/(2D)).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy.stats import chi2

from l2m_analysis.errors import InputError


def toy_transition_matrix(n_symbols: int) -> np.ndarray:
    """P = I, shape (M, M): p(x_i | x_{i−1}) = 1(x_i = x_{i−1}) (§4.4)."""
    _check(n_symbols, 1, 1)
    return np.eye(n_symbols)


def exact_toy_mi(n_symbols: int) -> float:
    """log M in nats: I_d^TP at every d and I^BP at every ℓ, L (§4.4)."""
    _check(n_symbols, 1, 1)
    return math.log(n_symbols)


def constant_sequences(
    n_symbols: int, n_docs: int, length: int, rng: np.random.Generator
) -> np.ndarray:
    """D sequences of L tokens, each one symbol drawn uniformly from 0..M−1: (D, L) int64."""
    _check(n_symbols, n_docs, length)
    symbols = rng.integers(0, n_symbols, size=n_docs)
    return np.repeat(symbols[:, None], length, axis=1).astype(np.int64)


def toy_tokens_frame(sequences: np.ndarray) -> pl.DataFrame:
    """The sequences (D, L) as rows of the ``tokens`` table: one document = one sample."""
    n_docs, length = sequences.shape
    doc = np.repeat(np.arange(n_docs), length)
    return pl.DataFrame({
        "doc_id": doc, "sample_id": doc, "chunk_index": np.zeros(doc.size, np.int32),
        "position": np.tile(np.arange(length, dtype=np.int32), n_docs),
        "token_id": sequences.reshape(-1),
    })  # fmt: skip


def sampling_deficit_bound(n_symbols: int, n_docs: int, level: float = 0.999) -> float:
    """Upper ``level`` quantile of log M − H(p̂) from D sequences, nats: χ²_{M−1}(level)/(2D).

    The count-based estimates of the toy source sit this far below log M at most (with
    probability ``level``); Grassberger's correction cannot help, because the sample size it
    corrects for (N tokens) is not the number of independent draws (D sequences).
    """
    _check(n_symbols, n_docs, 1)
    return float(chi2.ppf(level, n_symbols - 1) / (2 * n_docs))


def _check(n_symbols: int, n_docs: int, length: int) -> None:
    if n_symbols < 2 or n_docs < 1 or length < 1:
        raise InputError(
            f"the toy source needs M >= 2 symbols, D >= 1 sequences and L >= 1 tokens, got "
            f"M = {n_symbols}, D = {n_docs}, L = {length}",
            "use e.g. M = 8, D = 400, L = 64",
        )
