"""The Gaussian oracle: a scoring backend whose q IS p, the exact Appendix B distribution.

Tokens are (C,) vectors of C independent copies (Eq. E.34); log q(token | ...) is the exact
conditional log-density summed over the copies (nats). Because q = p,
* the direct estimator E[log q(Y|X) − log q(Y)] (Eq. 6) converges to the exact I_BP, and
* vCLUB (Eq. 7) converges to tr(S⁻¹Σ_YY) − n_Y (``exact_vclub``), an upper bound of I_BP,
both times C for C copies: the toolkit's end-to-end check against known answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.conditionals import ExactConditionals
from l2m_analysis.gaussian.construction import DEFAULT_BOUNDARY_RULE, family_source
from l2m_analysis.gaussian.sampling import PAPER_COPIES
from l2m_analysis.scoring.backend import ScoreRequest, ScoringBackend


class GaussianOracle(ScoringBackend):
    """Exact log-densities of one Gaussian family at ``layers`` layers, tokens of ``copies``."""

    continuous = True

    def __init__(
        self,
        family: str,
        layers: int,
        copies: int = PAPER_COPIES,
        boundary_rule: str = DEFAULT_BOUNDARY_RULE,
        method: str = "auto",
    ) -> None:
        self.conditionals = ExactConditionals(family, layers, boundary_rule, method)
        self.family = self.conditionals.model.family.name
        self.layers = self.conditionals.model.layers
        self.length = self.conditionals.length
        self.copies = int(copies)
        self.boundary_rule = boundary_rule
        self.name = f"oracle:{family_source(self.family, self.copies)}:l{self.layers}"

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "GaussianOracle",
            "name": self.name,
            "family": self.family,
            "layers": self.layers,
            "copies": self.copies,
            "boundary_rule": self.boundary_rule,
            "method": self.conditionals.method,
        }

    def score(self, requests: Sequence[ScoreRequest]) -> list[np.ndarray]:
        """Exact log p per continuation token (summed over copies), nats; batched by shape."""
        groups: dict[tuple[bool, int, int], list[int]] = defaultdict(list)
        for i, req in enumerate(requests):
            self._check(req)
            groups[(req.is_marginal, req.start_position, len(req.continuation))].append(i)
        out: list[np.ndarray] = [np.empty(0)] * len(requests)
        for (marginal, start, _), idx in groups.items():
            cont = np.stack([np.asarray(requests[i].continuation, float) for i in idx])
            if marginal:  # p(Y) of the continuation's own positions: the suffix marginal
                window, offset = cont, 0
                window_start = start
            else:  # the continuation after its own context, from position 0
                ctx = np.stack([np.asarray(requests[i].context, float) for i in idx])
                window = np.concatenate([ctx.reshape(len(idx), start, self.copies), cont], 1)
                offset, window_start = start, 0
            # (n, T, C) -> (n, C, T): each copy is an independent sample of the family
            logp = self.conditionals.log_prob(window.transpose(0, 2, 1), start=window_start)
            per_token = logp.sum(axis=1)[:, offset:]  # sum over copies -> (n, n_cont)
            for row, i in enumerate(idx):
                out[i] = per_token[row]
        return out

    def _check(self, req: ScoreRequest) -> None:
        cont = np.asarray(req.continuation)
        if cont.ndim != 2 or cont.shape[1] != self.copies:
            raise InputError(
                f"oracle tokens must be ({self.copies},) vectors; got continuation {cont.shape}",
                "sample with HierarchicalGaussian.sample_tokens(copies=...) matching the oracle",
            )
        if req.start_position + len(cont) > self.length:
            raise InputError(
                f"positions up to {req.start_position + len(cont) - 1} exceed L = {self.length}",
                f"score samples of {self.length} tokens ({self.layers} layers)",
            )
