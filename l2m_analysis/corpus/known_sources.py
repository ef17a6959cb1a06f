"""Known-answer token sources for calibrating two-point MI and α (issue 18): exact I_d in nats.

* ``sticky_topic_hmm``: hidden topics z with a sticky transition T (K, K), words x emitted by
  E (K, V). The pair d apart has p(x, y) = Σ_{z,z'} π_z E_zx (T^d)_zz' E_z'y (Definition 4.3,
  Eq. 10 with an HMM's joint), so I_d follows from T and E (``exact_hmm_two_point_mi``).
* ``NestedClusters``: a power-law chain. V = 2^depth words sit at the leaves of a binary tree;
  each step draws a level k with probability w_k and resamples the word inside its level-k block
  (∝ π), so blocks of size 2^k leak at a rate that halves level by level; each emitted word is
  then replaced by a draw from π with probability ``noise``. Its exact I_d has a closed form
  (``NestedClusters.exact_two_point_mi``) and is close to a power law in d.
* clustered variants: documents of several types, each with its own transition; the exact I_d
  is that of the POOLED pair distribution Σ_c w_c p_c(x, y) (``exact_pooled_two_point_mi``,
  ``exact_pooled_nested_mi``), w_c the share of pairs from type c.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from l2m_analysis.corpus.markov import (
    check_transition_matrix,
    sample_markov_chain,
    stationary_distribution,
)
from l2m_analysis.errors import InputError


def mi_of_joint(joint: np.ndarray) -> float:
    """Mutual information (nats) of a 2-D probability table (K_x, K_y) summing to 1 (Eq. 10)."""
    p = np.asarray(joint, dtype=np.float64)
    px, py = p.sum(axis=1, keepdims=True), p.sum(axis=0, keepdims=True)
    nz = p > 0
    return max(float(np.sum(p[nz] * np.log(p[nz] / (px @ py)[nz]))), 0.0)


def check_emission_matrix(emission: np.ndarray, n_states: int) -> np.ndarray:
    """Validate a (K, V) row-stochastic emission matrix for K hidden states."""
    e = np.asarray(emission, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] != n_states or e.shape[1] < 2:
        raise InputError(f"emission must be ({n_states}, V >= 2), got {e.shape}", "one row/state")
    if np.any(e < 0) or not np.allclose(e.sum(axis=1), 1.0, atol=1e-10):
        raise InputError("emission rows must be non-negative and sum to 1", "normalize the rows")
    return e


def hmm_pair_joint(transition: np.ndarray, emission: np.ndarray, distance: int) -> np.ndarray:
    """p(x, y) of words d apart in the stationary HMM, shape (V, V): Eᵀ diag(π) T^d E."""
    t = check_transition_matrix(transition)
    e = check_emission_matrix(emission, t.shape[0])
    pi = stationary_distribution(t)
    return e.T @ (pi[:, None] * np.linalg.matrix_power(t, int(distance))) @ e


def exact_hmm_two_point_mi(transition, emission, distances) -> np.ndarray:
    """Exact I_d (nats) of the stationary HMM for each d, shape (len(distances),)."""
    return np.array([mi_of_joint(hmm_pair_joint(transition, emission, d)) for d in distances])


def exact_pooled_two_point_mi(
    models: Sequence[tuple[np.ndarray, np.ndarray]], weights, distances
) -> np.ndarray:
    """Exact I_d (nats) of documents of several HMM types pooled: the MI of Σ_c w_c p_c(x, y).

    models: (transition, emission) per type; weights (n_types,): each type's share of pairs."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(models),) or np.any(w < 0) or w.sum() <= 0:
        raise InputError("weights must be one non-negative share per model", "e.g. [0.5, 0.5]")
    w = w / w.sum()
    return np.array([
        mi_of_joint(sum(wc * hmm_pair_joint(t, e, d) for wc, (t, e) in zip(w, models, strict=True)))
        for d in distances
    ])  # fmt: skip


def sticky_topic_hmm(
    n_topics: int = 8,
    n_words: int = 40,
    stickiness: float = 0.99,
    rng: np.random.Generator | None = None,
    word_concentration: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """(T (K, K), E (K, V)): topics stay with probability ``stickiness`` and otherwise jump to
    a uniformly drawn topic; each topic's words ~ Dirichlet(word_concentration)."""
    if not 0.0 <= stickiness < 1.0:
        raise InputError(f"stickiness must be in [0, 1), got {stickiness}", "e.g. 0.99")
    rng = rng or np.random.default_rng(0)
    t = stickiness * np.eye(n_topics) + (1.0 - stickiness) / n_topics
    e = rng.dirichlet(np.full(n_words, word_concentration), size=n_topics)
    return t, e


def sample_hmm(
    transition: np.ndarray,
    emission: np.ndarray,
    n_docs: int,
    doc_length: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Words, shape (n_docs, doc_length), int64; each document's topics start from π."""
    topics = sample_markov_chain(transition, n_docs, doc_length, rng)
    e = check_emission_matrix(emission, len(transition))
    cdf = np.cumsum(e, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random(topics.shape)
    out = np.empty(topics.shape, dtype=np.int64)
    for z in range(cdf.shape[0]):  # per topic: inverse-CDF draw of its words
        at = topics == z
        out[at] = np.searchsorted(cdf[z], u[at], side="right")
    return out


@dataclass(frozen=True)
class NestedClusters:
    """The power-law chain over V = 2^depth words (nats throughout).

    level_weights (depth + 1,): w_k, the probability that a step resamples inside the level-k
    block (k = 0 keeps the word, k = depth draws from π). pi (V,): the stationary word
    distribution. noise: probability that an emitted word is replaced by a draw from π."""

    level_weights: np.ndarray
    pi: np.ndarray
    noise: float = 0.0

    @classmethod
    def build(
        cls,
        depth: int = 14,
        leak: float = 0.5,
        spread: float = 1.5,
        noise: float = 0.85,
        zipf: float = 1.0,
        seed: int = 0,
    ) -> NestedClusters:
        """Leak rates r_k = P(level > k) = leak·2^(−spread·k) for k < depth (a spread of mixing
        rates); π ∝ rank^−zipf over the words, ranks placed on the leaves at random (seed)."""
        if depth < 1 or not 0 < leak <= 1 or spread <= 0 or not 0 <= noise < 1:
            raise InputError(
                f"need depth >= 1, 0 < leak <= 1, spread > 0, 0 <= noise < 1; got {depth}, "
                f"{leak}, {spread}, {noise}",
                "e.g. NestedClusters.build(depth=14, leak=0.5, spread=1.5, noise=0.85)",
            )
        rates = leak * 2.0 ** (-spread * np.arange(depth))  # r_0 .. r_{depth-1}
        weights = np.concatenate([[1.0 - rates[0]], rates[:-1] - rates[1:], [rates[-1]]])
        ranks = np.random.default_rng(seed).permutation(2**depth) + 1.0
        pi = ranks**-zipf
        return cls(weights, pi / pi.sum(), float(noise))

    @property
    def depth(self) -> int:
        return len(self.level_weights) - 1

    def block_mass(self) -> np.ndarray:
        """π(B_k(x)) for every word x and level k, shape (V, depth + 1)."""
        v = self.pi.size
        out = np.empty((v, self.depth + 1))
        for k in range(self.depth + 1):
            sums = self.pi.reshape(-1, 2**k).sum(axis=1)  # (V / 2^k,)
            out[:, k] = np.repeat(sums, 2**k)
        return out

    def level_reach(self, distance: int) -> np.ndarray:
        """q_k(d): probability that the highest level drawn in d steps is k, with the noise
        folded in (it acts like a draw at the top level on both ends), shape (depth + 1,)."""
        cum = np.cumsum(self.level_weights)
        cum[-1] = 1.0
        q = np.diff(np.concatenate([[0.0], cum**distance]))
        q *= (1.0 - self.noise) ** 2  # E P^d E = (1−η)² P^d + (1 − (1−η)²) 1πᵀ
        q[-1] += 1.0 - (1.0 - self.noise) ** 2
        return q

    def exact_two_point_mi(self, distances) -> np.ndarray:
        """Exact I_d (nats), shape (len(distances),); see ``exact_pooled_nested_mi``."""
        return exact_pooled_nested_mi([self], [1.0], distances)

    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """(transition (V, V), emission (V, V)) as an HMM over words (small depth only)."""
        v = self.pi.size
        p = np.zeros((v, v))
        for k, w in enumerate(self.level_weights):
            blocks = np.arange(v) >> k
            same = blocks[:, None] == blocks[None, :]
            p += (
                w
                * same
                * self.pi[None, :]
                / np.where(same, self.pi[None, :], 0).sum(axis=1)[:, None]
            )
        e = (1.0 - self.noise) * np.eye(v) + self.noise * self.pi[None, :]
        return p, e

    def sample(self, n_docs: int, doc_length: int, rng: np.random.Generator) -> np.ndarray:
        """Words, shape (n_docs, doc_length), int64; every document starts from π."""
        cum_pi = np.concatenate([[0.0], np.cumsum(self.pi)])  # (V + 1,)
        cum_pi /= cum_pi[-1]
        level_cdf = np.cumsum(self.level_weights)
        level_cdf[-1] = 1.0
        v = self.pi.size

        def draw_in_block(start: np.ndarray, size: np.ndarray) -> np.ndarray:
            lo, hi = cum_pi[start], cum_pi[start + size]
            target = lo + rng.random(start.size) * (hi - lo)
            return np.clip(
                np.searchsorted(cum_pi, target, side="right") - 1, start, start + size - 1
            )

        hidden = draw_in_block(np.zeros(n_docs, dtype=np.int64), np.full(n_docs, v))
        out = np.empty((n_docs, doc_length), dtype=np.int64)
        for t in range(doc_length):  # all documents step at once
            if t:
                level = np.searchsorted(level_cdf, rng.random(n_docs), side="right")
                size = np.left_shift(1, level)
                moved = draw_in_block((hidden >> level) << level, size)
                hidden = np.where(level > 0, moved, hidden)
            replaced = rng.random(n_docs) < self.noise
            word = hidden.copy()
            if replaced.any():
                word[replaced] = draw_in_block(
                    np.zeros(int(replaced.sum()), dtype=np.int64), np.full(int(replaced.sum()), v)
                )
            out[:, t] = word
        return out


def exact_pooled_nested_mi(types: Sequence[NestedClusters], weights, distances) -> np.ndarray:
    """Exact I_d (nats) of documents of several ``NestedClusters`` types on the same words and π,
    pooled with pair shares ``weights``, shape (len(distances),).

    p(x, y)/(π_x π_y) = g_m(x) = Σ_c w_c Σ_{k ≥ m} q^c_k(d)/π(B_k(x)), m the lowest level whose
    block holds both x and y, so I_d = Σ_x π_x Σ_m [π(B_m(x)) − π(B_{m−1}(x))] g_m log g_m."""
    w = np.asarray(weights, dtype=np.float64)
    if not types or w.shape != (len(types),) or np.any(w < 0) or w.sum() <= 0:
        raise InputError("weights must be one non-negative share per type", "e.g. [0.5, 0.5]")
    pi = types[0].pi
    if any(t.pi.shape != pi.shape or not np.allclose(t.pi, pi) for t in types):
        raise InputError("pooled nested chains must share π", "build them with the same seed")
    w = w / w.sum()
    mass = types[0].block_mass()  # (V, depth + 1)
    shell = np.diff(np.concatenate([np.zeros((pi.size, 1)), mass], axis=1), axis=1)
    out = []
    for d in distances:
        q = sum(wc * t.level_reach(int(d)) for wc, t in zip(w, types, strict=True))
        g = np.cumsum((q[None, :] / mass)[:, ::-1], axis=1)[:, ::-1]  # (V, depth + 1)
        terms = np.where(shell > 0, shell * g * np.log(np.where(g > 0, g, 1.0)), 0.0)
        out.append(float(np.sum(pi * terms.sum(axis=1))))  # Eq. (10)
    return np.maximum(np.array(out), 0.0)
