"""Entropy of a discrete distribution from counts: Grassberger's bias-reduced and plug-in.

Input is either counts per distinct item (any shape; a 2-D contingency table is read as its
flattened cells) or a count-of-counts table (``counts[k]`` seen ``multiplicity[k]`` times each),
which is how the warehouse stores ``ngram_counts`` and ``pair_counts`` (columns ``count``,
``n_items``). Both forms go through the same kernel on the count-of-counts table, so they give
identical numbers and the cost is O(number of distinct counts), never O(distinct items).

All entropies are in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma

from l2m_analysis.errors import InputError


@dataclass(frozen=True)
class EntropyEstimate:
    """An entropy estimate with its uncertainty.

    value: nats. stderr: nats, delta-method standard error (see ``_delta_stderr``).
    n: number of observations N. n_distinct: distinct items seen (count > 0).
    estimator: "grassberger" or "plugin".
    """

    value: float
    stderr: float
    n: int
    n_distinct: int
    estimator: str


def grassberger_g(n: np.ndarray | int) -> np.ndarray:
    """Grassberger's G(n) for positive integers n (array-like, any shape) -> float64 array.

    G(n) = ψ(n) + ½(−1)^n (ψ((n+1)/2) − ψ(n/2)), the closed form of
    ψ(n) + (−1)^n ∫_0^1 x^(n−1)/(1+x) dx.
    """
    n = _as_integer_array(n, "n")
    if np.any(n < 1):
        raise InputError(
            "grassberger_g needs positive integers n >= 1", "drop zero counts before calling"
        )
    nf = n.astype(np.float64)
    sign = np.where(n % 2 == 0, 1.0, -1.0)
    return digamma(nf) + 0.5 * sign * (
        digamma((nf + 1.0) / 2.0) - digamma(nf / 2.0)
    )  # Eq. (9), (A.13)


def count_of_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts per item (any shape) -> (values, multiplicity), both int64 1-D, zeros dropped.

    ``multiplicity[k]`` distinct items were each seen ``values[k]`` times; values ascending.
    """
    c = _as_integer_array(counts, "counts").ravel()
    if np.any(c < 0):
        raise InputError("counts contain negative values", "counts must be non-negative integers")
    values, multiplicity = np.unique(c[c > 0], return_counts=True)
    return values.astype(np.int64), multiplicity.astype(np.int64)


def entropy_grassberger(counts, multiplicity=None) -> EntropyEstimate:
    """Grassberger (2008) bias-reduced entropy in nats: Ĥ = log N − (1/N) Σ_i n_i G(n_i).

    counts: counts per distinct item, or with ``multiplicity`` a count-of-counts table.
    Still biased low when N is small against the support size, but far less than plug-in.
    """
    values, mult = _count_table(counts, multiplicity)
    n_total = float(np.sum(values * mult, dtype=np.float64))
    value = (
        np.log(n_total) - np.sum(mult * values * grassberger_g(values)) / n_total
    )  # Eq. (8), (A.12)
    return _estimate(float(value), values, mult, "grassberger")


def entropy_plugin(counts, multiplicity=None) -> EntropyEstimate:
    """Plug-in (naive, maximum-likelihood) entropy in nats: Ĥ = log N − (1/N) Σ_i n_i log n_i."""
    values, mult = _count_table(counts, multiplicity)
    return _estimate(_plugin_value(values, mult), values, mult, "plugin")


def _plugin_value(values: np.ndarray, mult: np.ndarray) -> float:
    n_total = float(np.sum(values * mult, dtype=np.float64))
    vf = values.astype(np.float64)
    return float(np.log(n_total) - np.sum(mult * vf * np.log(vf)) / n_total)  # Eq. (A.11)


def _delta_stderr(values: np.ndarray, mult: np.ndarray, h_plugin: float) -> float:
    """Delta-method standard error of the entropy, nats.

    Var(Ĥ) ≈ (Σ p (log p)^2 − H^2) / N with p = n/N and H the plug-in entropy (the first-order
    variance of the plug-in estimator; Grassberger's correction changes only the bias to this
    order). Written as Σ p (log p + H)^2 / N, which is the same number without cancellation.
    It is zero for a uniform distribution (the variance is then second order) and it
    understates the spread when N is not large against the support size.
    """
    n_total = float(np.sum(values * mult, dtype=np.float64))
    p = values.astype(np.float64) / n_total
    var = np.sum(mult * p * (np.log(p) + h_plugin) ** 2) / n_total
    return float(np.sqrt(max(var, 0.0)))


def _estimate(
    value: float, values: np.ndarray, mult: np.ndarray, estimator: str
) -> EntropyEstimate:
    h_plugin = value if estimator == "plugin" else _plugin_value(values, mult)
    return EntropyEstimate(
        value=value,
        stderr=_delta_stderr(values, mult, h_plugin),
        n=int(np.sum(values * mult)),
        n_distinct=int(np.sum(mult)),
        estimator=estimator,
    )


def _count_table(counts, multiplicity) -> tuple[np.ndarray, np.ndarray]:
    """Validate input -> (values, multiplicity), int64 1-D, only entries with count > 0."""
    if multiplicity is None:
        values, mult = count_of_counts(counts)
    else:
        c = _as_integer_array(counts, "counts")
        m = _as_integer_array(multiplicity, "multiplicity")
        if c.shape != m.shape:
            raise InputError(
                f"counts has shape {c.shape} but multiplicity has shape {m.shape}",
                "pass one multiplicity (n_items) per count value",
            )
        if np.any(c < 0) or np.any(m < 0):
            raise InputError(
                "counts or multiplicity contain negative values",
                "a count-of-counts table holds non-negative integers only",
            )
        keep = (c > 0) & (m > 0)
        values, mult = c[keep].ravel(), m[keep].ravel()
    if values.size == 0:
        raise InputError(
            "no observations: all counts are zero or the table is empty (N == 0)",
            "check the counting step produced rows for this run/order/distance",
        )
    return values, mult


def _as_integer_array(a, name: str) -> np.ndarray:
    """array-like of whole numbers -> int64 array; InputError on NaN, inf, fractions, bools."""
    arr = np.asarray(a)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if np.any(np.isnan(arr)):
            raise InputError(f"{name} contains NaN", f"drop or fill missing {name} before counting")
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise InputError(
                f"{name} contains non-integer values", f"{name} must be whole numbers of items"
            )
        return arr.astype(np.int64)
    raise InputError(
        f"{name} has dtype {arr.dtype}, not integers", f"pass {name} as an integer numpy array"
    )
