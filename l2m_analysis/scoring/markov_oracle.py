"""A discrete oracle: exact log-probabilities of a first-order Markov chain over token ids.

q(w_0 | BOS) = start[w_0] and q(w_t | w_<t) = P[w_{t−1}, w_t]. With ``start`` = the stationary
π this is the true p of the chain ``corpus.markov.sample_markov_chain`` draws, so on its samples

* direct_uncorrected (Eq. 6) converges to I_BP = I_1 (``markov.exact_bipartite_mi``);
* with a deliberately wrong start ρ the marginal's first term is off: the uncorrected estimate
  converges to I_1 + KL(π‖ρ), and the 2-gram correction (Eq. A.14), which replaces 4/5 of the
  first two terms by the corpus's Ĥ_G(Y1, Y2), to I_1 + KL(π‖ρ)/5;
* vCLUB (Eq. 7) converges to ``markov.exact_vclub_limit`` whatever the start.

A large vocabulary (K ≈ 50,000) comes as a scipy sparse matrix (``corpus.sparse_markov``): the
log-probs are then looked up in its stored entries, π comes from power iteration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from l2m_analysis.corpus.markov import check_transition_matrix, stationary_distribution
from l2m_analysis.corpus.sparse_markov import check_sparse_transition, sparse_stationary
from l2m_analysis.errors import InputError
from l2m_analysis.scoring.backend import ScoreRequest, ScoringBackend


class MarkovOracle(ScoringBackend):
    """Exact log q of a Markov chain with transition matrix (K, K), dense or scipy sparse, and
    start distribution (K,)."""

    def __init__(self, transition, start: np.ndarray | None = None) -> None:
        if sparse.issparse(transition):
            self.transition = check_sparse_transition(transition)
            pi = sparse_stationary(self.transition)
        else:
            self.transition = check_transition_matrix(transition)
            pi = stationary_distribution(self.transition)
        k = self.transition.shape[0]
        self.stationary = pi
        self.start = pi if start is None else np.asarray(start, dtype=np.float64)
        if self.start.shape != (k,) or np.any(self.start <= 0) or abs(self.start.sum() - 1) > 1e-9:
            raise InputError(
                f"start must be a positive distribution over {k} tokens",
                "pass None (the stationary distribution) or a (K,) vector",
            )
        self.stationary_start = start is None
        self.name = f"markov-oracle:K{k}" + ("" if start is None else ":wrong-start")
        self._log_start = np.log(self.start)

    @property
    def vocab_size(self) -> int:
        return self.transition.shape[0]

    def kl_start(self) -> float:
        """KL(π‖start) in nats: the bias the start puts on the uncorrected direct estimate."""
        pi = self.stationary
        nz = pi > 0
        return float(np.sum(pi[nz] * (np.log(pi[nz]) - self._log_start[nz])))

    def describe(self) -> dict[str, Any]:
        return {"backend": "MarkovOracle", "name": self.name, "states": self.vocab_size,
                "stationary_start": self.stationary_start}  # fmt: skip

    def score(self, requests: Sequence[ScoreRequest]) -> list[np.ndarray]:
        """log q of each continuation token after BOS + context, nats, shape (n_cont,) each."""
        out = []
        for req in requests:
            tokens = np.concatenate([req.context, req.continuation]).astype(np.int64)
            if tokens.min() < 0 or tokens.max() >= self.vocab_size:
                raise InputError(f"token ids outside 0..{self.vocab_size - 1}",
                                 "score samples drawn from this chain")  # fmt: skip
            lp = np.empty(tokens.size)
            lp[0] = self._log_start[tokens[0]]
            lp[1:] = self._log_transition(tokens[:-1], tokens[1:])
            out.append(lp[len(req.context) :])
        return out

    def _log_transition(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """log P[a, b] per pair, nats; an impossible step gets log of the smallest float."""
        p = self.transition
        prob = np.asarray(p[a, b]).ravel() if sparse.issparse(p) else p[a, b]
        return np.log(np.maximum(prob, np.finfo(float).tiny))
