"""The scoring-backend interface: what every scorer (oracle, HF transformers, vLLM) implements.

A backend turns ``ScoreRequest``s into per-token log-probabilities log q(token | BOS, context,
earlier continuation tokens), in nats. The scoring driver (``driver.py``) builds the requests of
the three conditions of ``schema.CONDITIONS`` and writes ``token_logprobs``; a backend never
touches the warehouse.

Requests and conditions (ℓ = split_at, positions 0-based in the ORIGINAL sample, BOS excluded):

=========  ==================================  ================  ================
condition  context                             continuation      start_position
=========  ==================================  ================  ================
no_split   empty                               the whole sample  0
split      X' = first ℓ tokens of ANOTHER      Y = tokens ℓ..    ℓ
           sample
marginal   empty (BOS only)                    Y = tokens ℓ..    ℓ
=========  ==================================  ================  ================

So either ``len(context) == start_position`` (the continuation follows its context) or the
context is empty and ``start_position > 0`` (the marginal). An LLM scores BOS + context +
continuation and may ignore ``start_position``; a model whose distribution depends on absolute
position (the Gaussian oracle) uses it, so its marginal is the true p(Y) of those positions.

Tokens are integer ids, shape (n,), for LLMs (discrete, ``continuous = False``), and float
vectors, shape (n, C), for continuous models (the Gaussian tokens of Eq. E.34; their log-prob is
a log-density and their ``token_id`` column is -1).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from l2m_analysis.errors import InputError

CONTINUOUS_TOKEN_ID = -1  # token_id stored for continuous tokens


@dataclass(frozen=True)
class ScoreRequest:
    """Score ``continuation`` after ``context``; see the module docstring for the conditions.

    context: (n_ctx,) int64 ids or (n_ctx, C) floats; n_ctx may be 0 (BOS only).
    continuation: (n_cont,) or (n_cont, C), n_cont >= 1.
    start_position: index of continuation[0] in the original sample.
    """

    context: np.ndarray
    continuation: np.ndarray
    start_position: int

    def __post_init__(self) -> None:
        n_ctx, n_cont = len(self.context), len(self.continuation)
        if n_cont < 1:
            raise InputError("a score request needs at least one continuation token",
                             "pass a non-empty continuation")  # fmt: skip
        if n_ctx not in (0, self.start_position) or self.start_position < 0:
            raise InputError(
                f"context of {n_ctx} tokens does not fit start_position {self.start_position}",
                "the context is either empty (no_split at 0, marginal at ℓ) or exactly the "
                "ℓ = start_position tokens before the continuation (split)",
            )

    @property
    def is_marginal(self) -> bool:
        """True for BOS-only scoring of a continuation that starts after position 0."""
        return len(self.context) == 0 and self.start_position > 0


class ScoringBackend(ABC):
    """A model q that returns log q(token | BOS, context, earlier continuation) in nats."""

    #: recorded as ``runs.model``
    name: str = "unnamed"
    #: True for continuous tokens (log-densities, token_id = -1)
    continuous: bool = False

    @abstractmethod
    def score(self, requests: Sequence[ScoreRequest]) -> list[np.ndarray]:
        """Per-token log q of each request's continuation: a list of (n_cont,) float64, nats.

        Backends batch as they like; the result order matches ``requests``.
        """

    def token_ids(self, request: ScoreRequest) -> np.ndarray:
        """The ``token_id`` column for a request's continuation: the ids, or -1 if continuous."""
        if self.continuous:
            return np.full(len(request.continuation), CONTINUOUS_TOKEN_ID, dtype=np.int64)
        return np.asarray(request.continuation, dtype=np.int64)

    def describe(self) -> dict[str, Any]:
        """The backend's configuration, stored in ``runs.config`` (JSON-serializable)."""
        return {"backend": type(self).__name__, "name": self.name}

    def close(self) -> None:
        """Release what the backend holds (processes, memory); a no-op unless overridden."""
        return None
