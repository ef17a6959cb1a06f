"""What a scoring run scores: the windowed plan of the three conditions, and X′'s partner.

For a sample a of L tokens (after BOS) and a split ℓ, the estimators (queries/bipartite_mi.sql)
use Y = a[ℓ : r·ℓ) for the ratios r = L/ℓ asked for, so the plan scores, per sample,

* ``no_split``: BOS + a, once — a causal model's log q(a_t | a_<t) serves every ℓ;
* ``marginal``: BOS + a[ℓ : r·ℓ), and ``split``: BOS + X′[:ℓ] + a[ℓ : r·ℓ), for each ℓ,

with r the largest requested ratio with r·ℓ <= L: every prompt stops at r·ℓ, since what follows
cannot change the log-probs before it. The paper's code scores 1 + 2·(number of splits)
full-length passes instead (Appendix A, ../shared/notes/anchors.md).

X′ (Eq. 7) comes from another sample chosen by a seeded derangement that never pairs two
samples of the same document: consecutive samples of one book share its topic and would make
q(Y | X′) too good, biasing vCLUB low.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from l2m_analysis.errors import InputError
from l2m_analysis.estimators.bipartite import RATIOS
from l2m_analysis.warehouse.schema import CONDITIONS


@dataclass(frozen=True)
class ScoringPlan:
    """``n_samples`` samples, each split at every ℓ in ``split_ats``; batches of
    ``batch_size`` samples. ``ratios``: the L/ℓ the estimators need (windows end at r·ℓ)."""

    n_samples: int
    split_ats: tuple[int, ...]
    conditions: tuple[str, ...] = CONDITIONS
    batch_size: int = 32
    ratios: tuple[int, ...] = RATIOS

    def validate(self, length: int) -> None:
        """Refuse a plan that cannot be scored on samples of ``length`` tokens."""
        if self.n_samples < 2:
            raise InputError(f"need at least 2 samples, got {self.n_samples}",
                             "the split condition pairs Y with another sample's X")  # fmt: skip
        if self.batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {self.batch_size}", "use e.g. 32")
        bad = [c for c in self.conditions if c not in CONDITIONS]
        if bad or not self.conditions:
            raise InputError(f"unknown conditions {bad}", f"use some of {list(CONDITIONS)}")
        if not self.ratios or min(self.ratios) < 2:
            raise InputError(f"ratios must be >= 2, got {list(self.ratios)}", "use 2 3 4")
        if set(self.conditions) - {"no_split"}:
            bad_splits = [s for s in self.split_ats if not 1 <= s or min(self.ratios) * s > length]
            if bad_splits or not self.split_ats:
                raise InputError(
                    f"splits {bad_splits or list(self.split_ats)} leave no window "
                    f"Y = [ℓ, {min(self.ratios)}·ℓ) inside samples of L = {length} tokens",
                    f"give 1 <= ℓ <= {length // min(self.ratios)} (e.g. powers of 2 up to L/2)",
                )

    def window_end(self, split_at: int, length: int) -> int:
        """r·ℓ for the largest ratio r with r·ℓ <= length: where marginal and split stop."""
        return max(r for r in self.ratios if r * split_at <= length) * split_at

    def batch_keys(self, start: int, stop: int) -> list[tuple[str, int, str]]:
        """(condition, split_at, batch key) of every warehouse batch of the batch [start, stop):
        no_split and marginal rows of the samples start..stop-1, and split rows of the samples
        whose X′ comes from them (so a backend that keeps a sample's no_split pass can reuse it
        as the X′ prefix of the split requests in the same call)."""
        keys = []
        for cond in self.conditions:
            for split_at in (0,) if cond == "no_split" else self.split_ats:
                tag = cond if cond == "no_split" else f"{cond}/split_at={split_at}"
                span = "partners" if cond == "split" else "samples"
                keys.append((cond, split_at, f"{tag}/{span}={start:08d}-{stop:08d}"))
        return keys

    def tokens_forwarded(self, length: int) -> int:
        """Tokens one sample's prompts hold under this plan (BOS included)."""
        total = length + 1 if "no_split" in self.conditions else 0
        for s in self.split_ats:
            end = self.window_end(s, length)
            total += (end - s + 1) * ("marginal" in self.conditions)
            total += (end + 1) * ("split" in self.conditions)
        return total

    def full_length_tokens(self, length: int) -> int:
        """What the paper's code forwards per sample: 1 + 2·splits passes of L tokens."""
        return (1 + 2 * len(self.split_ats)) * length


def default_splits(length: int) -> tuple[int, ...]:
    """ℓ = 2, 4, 8, …, L/2 (the paper's splits, Appendix A)."""
    return tuple(2**k for k in range(1, int(np.log2(length))) if 2**k <= length // 2)


def derangement(doc_ids: np.ndarray, seed: int) -> np.ndarray:
    """A seeded permutation π with doc_ids[π[i]] != doc_ids[i] for every sample i, shape (n,).

    Samples are shuffled within and across documents, laid out document by document, and each
    is paired with the one m places further on (m = the largest document's sample count), which
    always lies in another document when m <= n/2.
    """
    doc_ids = np.asarray(doc_ids).reshape(-1)
    n = doc_ids.size
    _, counts = np.unique(doc_ids, return_counts=True)
    m = int(counts.max()) if n else 0
    if n < 2 or 2 * m > n:
        raise InputError(
            f"cannot give each of {n} samples an X′ from another document: one document holds "
            f"{m} of them (more than half)",
            "score samples from more documents (a larger corpus, or fewer samples per document)",
        )
    rng = np.random.default_rng(seed)
    docs = np.unique(doc_ids)
    order = rng.permutation(docs.size)
    rank = np.empty(docs.size, dtype=np.int64)
    rank[order] = np.arange(docs.size)
    doc_rank = rank[np.searchsorted(docs, doc_ids)]
    layout = np.lexsort((rng.random(n), doc_rank))  # (n,) sample indices, document by document
    partners = np.empty(n, dtype=np.int64)
    partners[layout] = layout[(np.arange(n) + m) % n]
    return partners
