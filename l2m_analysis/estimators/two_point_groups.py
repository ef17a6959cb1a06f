"""Standard errors of two-point MI that respect dependence between pairs: groups of documents.

Pairs d apart inside one document share its topic, so they are not independent draws and the
entropy delta-method stderr (``two_point.two_point_mi``) understates the spread of Î_d. Split the
documents into G groups (whole documents, so no pair is split), count each group's tokens and
pairs, and take the between-group spread:

* **delete-one-group jackknife** (default): Î_(−g) from all groups but g (total − group g),
  var = (G − 1)/G · Σ_g (Î_(−g) − mean)²; each Î_(−g) has (G − 1)/G of the pairs, so its bias
  is close to the pooled estimate's;
* **batch means**: Î_g from each group alone, var = s²(Î_g)/G (each Î_g has only 1/G of the
  pairs, so for a biased estimator its spread, not its mean, is what is used).

Counts are per group over a shared list of keys: ``(G, K)`` integer arrays (token counts for Ĥ(X)
= Ĥ(Y), pair counts for Ĥ(XY_d)); ``group_key_counts`` builds them from keys and group ids.
``jackknife_two_point`` gives the jackknife stderrs straight from a token stream (what
``pipelines.two_point_mi`` writes): batches are runs of whole samples, and a pair belongs to the
batch of its first token, so the batches' pairs add up to the pooled ones. Batch means is not
used there: with few tokens per batch each Î_b sits in the small-sample regime, and batches of
unequal size then differ by their Grassberger bias, not by chance. Every value is in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from l2m_analysis.corpus.counting import pairs_at_distance
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.entropy import entropy_grassberger, grassberger_g

GROUP_METHODS = ("jackknife", "batch_means")


@dataclass(frozen=True)
class GroupedTwoPoint:
    """Î_d of all groups pooled (nats), its stderr by each group method, and the jackknife's
    bias-corrected estimate G·Î − (G − 1)·mean(Î_(−g)); n_groups: G."""

    distance: int
    value: float
    stderr_jackknife: float
    stderr_batch_means: float
    jackknife_corrected: float
    n_groups: int


def group_key_counts(keys: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Integer keys (N,) with their group ids in [0, n_groups) (N,) -> counts (G, K) over the K
    distinct keys (columns in key order)."""
    keys, groups = np.asarray(keys), np.asarray(groups, dtype=np.int64)
    if keys.shape != groups.shape or keys.ndim != 1:
        raise InputError("keys and groups must be 1-D of equal length", "one group id per key")
    if groups.size and (groups.min() < 0 or groups.max() >= n_groups):
        raise InputError(f"group ids must lie in [0, {n_groups})", "number the groups 0..G-1")
    _, column = np.unique(keys, return_inverse=True)
    k = int(column.max()) + 1 if column.size else 0
    return np.bincount(groups * k + column, minlength=n_groups * k).reshape(n_groups, k)


def _mi(token_counts: np.ndarray, pair_counts: np.ndarray) -> float:
    h_x = entropy_grassberger(token_counts[token_counts > 0]).value
    h_xy = entropy_grassberger(pair_counts[pair_counts > 0]).value
    return 2.0 * h_x - h_xy  # Eq. (A.16) with Ĥ(X) = Ĥ(Y)


def grouped_two_point_mi(
    token_counts: np.ndarray, pair_counts: np.ndarray, distance: int
) -> GroupedTwoPoint:
    """Pooled Î_d and its group stderrs. token_counts (G, V), pair_counts (G, K): counts per
    group of documents (``group_key_counts``); G >= 2 groups, each with pairs."""
    tokens, pairs = np.asarray(token_counts), np.asarray(pair_counts)
    if tokens.ndim != 2 or pairs.ndim != 2 or tokens.shape[0] != pairs.shape[0]:
        raise InputError("token and pair counts must be (G, K) with the same G", "count per group")
    n_groups = tokens.shape[0]
    if n_groups < 2 or np.any(pairs.sum(axis=1) == 0):
        raise InputError(
            f"need >= 2 groups of documents, each with pairs at d = {distance}",
            "use fewer groups (--groups) or more documents",
        )
    tok_total, pair_total = tokens.sum(axis=0), pairs.sum(axis=0)
    pooled = _mi(tok_total, pair_total)
    loo = np.array([_mi(tok_total - tokens[g], pair_total - pairs[g]) for g in range(n_groups)])
    alone = np.array([_mi(tokens[g], pairs[g]) for g in range(n_groups)])
    return GroupedTwoPoint(
        distance=int(distance),
        value=float(pooled),
        stderr_jackknife=_jack(loo),
        stderr_batch_means=float(alone.std(ddof=1) / np.sqrt(n_groups)),
        jackknife_corrected=float(n_groups * pooled - (n_groups - 1) * loo.mean()),
        n_groups=n_groups,
    )


def sample_batches(sample_rank: np.ndarray, n_batches: int) -> np.ndarray:
    """Batch id per token (N,) from each token's sample rank 0..S−1 (N,): S samples split into
    ``n_batches`` runs of consecutive samples."""
    rank = np.asarray(sample_rank, dtype=np.int64)
    n_samples = int(rank.max()) + 1 if rank.size else 0
    if n_batches < 2 or n_samples < n_batches:
        raise InputError(
            f"{n_samples} samples cannot make {n_batches} batches (need 2 <= batches <= samples)",
            "pass fewer groups, or prepare more samples",
        )
    return rank * n_batches // n_samples


def _n_g(n: np.ndarray) -> np.ndarray:
    """n·G(n) of Grassberger's estimator (Eq. A.13), 0 at n = 0."""
    n = np.asarray(n, dtype=np.float64)
    return np.where(n > 0, n * grassberger_g(np.maximum(n, 1)), 0.0)


def _loo_entropies(keys: np.ndarray, batch: np.ndarray, n_batches: int) -> np.ndarray:
    """Grassberger Ĥ (nats) of all observations but batch b's, for each b: shape (B,).

    Ĥ = log N − (1/N) Σ n_k G(n_k) (Eq. A.12–A.13); removing batch b changes only its keys."""
    span = int(keys.max()) + 1 if keys.size else 1
    cell, c = np.unique(batch * span + keys, return_counts=True)  # (batch, key) counts
    owner, key = cell // span, cell % span
    _, column = np.unique(key, return_inverse=True)
    n = np.bincount(column, weights=c)  # total count per key
    n_total, s_total = n.sum(), _n_g(n).sum()
    removed = np.bincount(owner, weights=c, minlength=n_batches)  # N_b
    delta = np.bincount(owner, weights=_n_g(n[column]) - _n_g(n[column] - c), minlength=n_batches)
    rest = n_total - removed
    if np.any(rest <= 0):
        raise InputError("a batch holds every observation", "use more batches")
    return np.log(rest) - (s_total - delta) / rest


@dataclass(frozen=True)
class JackknifeTwoPoint:
    """Delete-one-batch jackknife stderrs (nats) at one distance: of Î_d, of the shift
    baseline Î_d^shuffled and of their difference Î_d − Î_d^shuffled (NaN without a baseline);
    loo: Î_(−b) per batch, shape (B,)."""

    stderr: float
    stderr_baseline: float
    stderr_difference: float
    loo: np.ndarray


def _jack(values: np.ndarray) -> float:
    n = values.size
    return float(np.sqrt((n - 1) / n * np.sum((values - values.mean()) ** 2)))


def _shift_within(y: np.ndarray, pair_batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """y (n,) with each batch's run of pairs (pair_batch non-decreasing) rotated by a seeded
    offset in [n_b/4, 3n_b/4], as ``series.unpaired``'s shift does for a whole block."""
    starts = np.flatnonzero(np.r_[True, pair_batch[1:] != pair_batch[:-1]])
    sizes = np.diff(np.r_[starts, y.size])
    offsets = np.maximum(rng.integers(sizes // 4, 3 * sizes // 4 + 1), 1)
    start_of = np.repeat(starts, sizes)
    size_of = np.repeat(sizes, sizes)
    index = start_of + (np.arange(y.size) - start_of + np.repeat(offsets, sizes)) % size_of
    return y[index]


def jackknife_two_point(
    token_ids: np.ndarray,
    group_ids: np.ndarray,
    batch_ids: np.ndarray,
    distance: int,
    *,
    baseline_seed: int | None = None,
) -> JackknifeTwoPoint:
    """Jackknife stderrs of Î_d (nats) over batches: var = (B − 1)/B · Σ_b (Î_(−b) − mean)².

    token_ids, group_ids: (N,) as ``count_corpus`` takes them (pairs never cross a group);
    batch_ids (N,): batch 0..B−1 of each token (``sample_batches``). Î_(−b) = 2Ĥ_(−b)(X) −
    Ĥ_(−b)(XY_d) (Eq. A.16) without batch b's tokens and the pairs whose first token it holds;
    each is computed from the pooled counts by removing batch b's (O(distinct keys)).
    baseline_seed: also the baseline's and the difference's stderr, the Y side of the pairs
    re-paired as ``count_corpus``'s shift baseline does (a seeded rotation between n/4 and
    3n/4), but within each batch: a rotation across the whole corpus would pair batch b's X
    with another batch's Y, and the batches would no longer be independent units."""
    tokens = np.asarray(token_ids, dtype=np.int64)
    batch = np.asarray(batch_ids, dtype=np.int64)
    if tokens.shape != batch.shape or tokens.shape != np.shape(group_ids):
        raise InputError("token, group and batch ids differ in length", "one of each per token")
    n_batches = int(batch.max()) + 1
    codes = np.unique(tokens, return_inverse=True)[1].astype(np.int64)  # 0..K−1
    k = int(codes.max()) + 1
    if n_batches * k * k >= 2**62:
        raise InputError(f"{k} distinct tokens × {n_batches} batches overflow the pair key",
                         "use fewer batches")  # fmt: skip
    x, y = pairs_at_distance(codes, group_ids, distance)
    if x.size == 0:
        raise InputError(f"no pairs at d = {distance}", "count smaller distances")
    same = np.asarray(group_ids)[:-distance] == np.asarray(group_ids)[distance:]
    pair_batch = batch[:-distance][same]
    h_x = _loo_entropies(codes, batch, n_batches)
    h_xy = _loo_entropies(x * k + y, pair_batch, n_batches)
    loo = 2.0 * h_x - h_xy  # Eq. (A.16) without batch b
    nan = float("nan")
    if baseline_seed is None:
        return JackknifeTwoPoint(_jack(loo), nan, nan, loo)
    rng = np.random.default_rng([baseline_seed, distance])
    h_shuffled = _loo_entropies(x * k + _shift_within(y, pair_batch, rng), pair_batch, n_batches)
    return JackknifeTwoPoint(
        _jack(loo), _jack(2.0 * h_x - h_shuffled), _jack(h_shuffled - h_xy), loo
    )
