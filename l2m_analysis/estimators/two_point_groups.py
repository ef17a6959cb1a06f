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
Every value is in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from l2m_analysis.errors import InputError
from l2m_analysis.estimators.entropy import entropy_grassberger

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
    var_jack = (n_groups - 1) / n_groups * np.sum((loo - loo.mean()) ** 2)
    return GroupedTwoPoint(
        distance=int(distance),
        value=float(pooled),
        stderr_jackknife=float(np.sqrt(var_jack)),
        stderr_batch_means=float(alone.std(ddof=1) / np.sqrt(n_groups)),
        jackknife_corrected=float(n_groups * pooled - (n_groups - 1) * loo.mean()),
        n_groups=n_groups,
    )
