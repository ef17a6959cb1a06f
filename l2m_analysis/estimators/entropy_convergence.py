"""Does Ĥ_G(Y1, Y2) still move with more text? Its value from nested fractions of a corpus.

Grassberger's Ĥ_G (Eq. A.12) is biased low while N is small against the number of distinct
adjacent pairs; the bias shrinks as N grows, so Ĥ_G rises with N until it converges. The
2-gram correction (Eq. A.14) moves every corrected `direct` point by 4/5 of whatever Ĥ_G is
still missing, so its convergence belongs next to β.

Subsampling is by whole blocks (a corpus's samples, i.e. its chunks), in a seeded random order;
the fractions are nested prefixes of that order (1/8 ⊂ 1/4 ⊂ 1/2 ⊂ all), so the curve is
monotone in data, not a set of independent draws. A pair belongs to the block of its first
token and pairs follow the corpus counting's rule (``corpus.series.contiguous_groups``: within
a document, never over a gap), so the fraction 1 gives exactly the corpus's ``ngram_counts``
order-2 entropy.

Rule (``CONVERGED_WITHIN``): Ĥ_G has converged when its rise from 1/2 to all of the corpus is
at most k = 2 of its delta-method stderrs. Extrapolation to N → ∞ (``aitken_limit``): Aitken's
Δ² on the last three doublings, i.e. the rises shrink geometrically by r = Δ₂/Δ₁ per doubling
and the rest of the series, Δ₂·r/(1 − r), is added; no limit when the rises do not shrink.
All entropies in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from l2m_analysis.errors import InputError
from l2m_analysis.estimators.entropy import EntropyEstimate, count_of_counts, entropy_grassberger

FRACTIONS = (0.125, 0.25, 0.5, 1.0)
CONVERGED_WITHIN = 2.0  # k: the rise from 1/2 to all may be at most k stderrs of Ĥ_G(all)


@dataclass(frozen=True)
class EntropyConvergence:
    """Ĥ_G at nested fractions of the data (``fractions``: the share of pairs actually used,
    ascending, the last 1.0), the Aitken limit (nats; None when the rises do not shrink), whether
    it converged by the rule of ``CONVERGED_WITHIN`` and a warning when not."""

    fractions: tuple[float, ...]
    estimates: tuple[EntropyEstimate, ...]
    extrapolated: float | None
    converged: bool
    warning: str | None

    @property
    def final(self) -> EntropyEstimate:
        """Ĥ_G of all the data."""
        return self.estimates[-1]


def adjacent_pair_convergence(
    token_ids: np.ndarray,
    group_ids: np.ndarray,
    block_ids: np.ndarray,
    *,
    seed: int = 0,
    fractions: tuple[float, ...] = FRACTIONS,
    k: float = CONVERGED_WITHIN,
) -> EntropyConvergence:
    """Ĥ_G(Y1, Y2) of the adjacent pairs in nested block subsets holding ``fractions`` of the
    tokens.

    token_ids, group_ids, block_ids: (N,) int arrays in text order; a pair (t, t+1) exists when
    both tokens share a group (a gap-free run of one document); block_ids: the unit drawn
    (whole samples or documents). seed: the order in which blocks are drawn.
    """
    tokens, groups, blocks = (np.asarray(a, dtype=np.int64) for a in (token_ids, group_ids,
                                                                        block_ids))  # fmt: skip
    if not tokens.shape == groups.shape == blocks.shape or tokens.ndim != 1:
        raise InputError(
            f"token_ids, group_ids and block_ids must be 1-D of one length, got {tokens.shape}, "
            f"{groups.shape}, {blocks.shape}",
            "pass one group and one block id per token",
        )
    fractions = _check_fractions(fractions)
    has_pair = groups[1:] == groups[:-1]  # (N−1,)
    if not has_pair.any():
        raise InputError("no adjacent pairs: every token is alone in its group",
                         "pass documents or samples of at least two tokens")  # fmt: skip
    keys = tokens[:-1][has_pair] * (int(tokens.max()) + 1) + tokens[1:][has_pair]
    pair_block = blocks[:-1][has_pair]
    chosen = _nested_block_shares(pair_block, fractions, seed)  # (n_fractions, n_pairs) bool
    estimates = []
    for mask in chosen:
        _, per_pair = np.unique(keys[mask], return_counts=True)
        estimates.append(entropy_grassberger(*count_of_counts(per_pair)))  # Eq. (A.12)
    used = tuple(float(m.sum() / keys.size) for m in chosen)
    values = [e.value for e in estimates]
    limit = aitken_limit(values[-3:]) if len(values) >= 3 else None
    rise = values[-1] - values[-2] if len(values) >= 2 else 0.0
    converged = is_converged(rise, estimates[-1].stderr, k)
    warning = None
    if not converged:
        where = "no extrapolated limit: the rises do not shrink" if limit is None else (
            f"extrapolated to N → ∞: {limit:.3f} nats")  # fmt: skip
        warning = (
            f"Ĥ_G(Y1, Y2) has not converged: it rose by {rise:.3f} nats from {used[-2]:.2f} of "
            f"the pairs to all {estimates[-1].n:,} (more than {k:g} × its stderr "
            f"{estimates[-1].stderr:.3f}); {where}. Each nat still missing lowers every "
            "corrected `direct` point by 0.8 nats (Eq. A.14)"
        )
    return EntropyConvergence(used, tuple(estimates), limit, converged, warning)


def is_converged(rise: float, stderr: float, k: float = CONVERGED_WITHIN) -> bool:
    """The rule: Ĥ_G's rise from 1/2 to all of the data (nats) is at most k stderrs of Ĥ_G."""
    return abs(rise) <= k * stderr


def aitken_limit(values) -> float | None:
    """Aitken's Δ² limit of three values at doubling N (nats): h₂ + Δ₂²/(Δ₁ − Δ₂), with
    Δ₁ = h₁ − h₀, Δ₂ = h₂ − h₁; None unless the rises have one sign and shrink (0 < Δ₂/Δ₁ < 1)."""
    h0, h1, h2 = (float(v) for v in values)
    d1, d2 = h1 - h0, h2 - h1
    if d1 == 0 or not 0 < d2 / d1 < 1:
        return None
    return h2 + d2 * d2 / (d1 - d2)  # geometric tail Δ₂·r/(1 − r), r = Δ₂/Δ₁


def _nested_block_shares(pair_block: np.ndarray, fractions, seed: int) -> np.ndarray:
    """(len(fractions), n_pairs) masks: the pairs of the first blocks of a seeded permutation
    holding at least each fraction of the pairs (the last fraction 1.0: every pair)."""
    ids, inverse, per_block = np.unique(pair_block, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(ids.size)  # draw order of the blocks
    rank = np.empty(ids.size, dtype=np.int64)
    rank[order] = np.arange(ids.size)
    cumulative = np.cumsum(per_block[order])  # pairs in the first j + 1 drawn blocks
    masks = []
    for f in fractions:
        n_blocks = int(np.searchsorted(cumulative, f * cumulative[-1] - 1e-9)) + 1
        masks.append(rank[inverse] < n_blocks)
    return np.array(masks)


def _check_fractions(fractions) -> tuple[float, ...]:
    out = tuple(float(f) for f in fractions)
    if (
        not out
        or out[-1] != 1.0
        or any(not 0 < f <= 1 for f in out)
        or list(out) != sorted(set(out))
    ):
        raise InputError(
            f"fractions must ascend in (0, 1] and end at 1.0, got {fractions}",
            "for example (0.125, 0.25, 0.5, 1.0)",
        )
    return out
