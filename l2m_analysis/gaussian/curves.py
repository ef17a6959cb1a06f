"""The exact curves of Fig. 3 as frames with the columns of ``mi_estimates`` / ``entropies``.

Values are per token of ``copies`` stacked independent copies (Eq. E.34): MI and entropy are
additive over independent copies, so they are ``copies`` × the single-copy value (nats), and the
`source` says so (``gaussian_subvolume`` for one copy, ``gaussian_subvolume_x64`` for 64).

* bipartite, estimator ``exact``: the whole sample L = 4^l split at ℓ = round(L/ratio). For
  ratios 2 and 4, ℓ·ratio = L; for ratio 3 (L is never divisible by 3) ℓ = (L−1)/3 and the row's
  length is still L.
* bipartite, estimator ``exact_vclub``: what vCLUB (Eq. 7) converges to with q = p,
  tr(S⁻¹Σ_YY) − n_Y ≥ I_BP (dense method, so only up to ``vclub_max_layers``).
* two_point, estimator ``exact``: the pair at maximum separation (0, L−1) of each L; distance
  d = L − 1 identifies L (Fig. 3b).
* two_point, estimator ``exact_pair_average``: the mean MI over all pairs (p, p+d) of the longest
  sample, at d = 1, 4, 16, ..., L/4 (``default_distances``).
* entropies, quantity ``entropy_rate``: H(Z_0..Z_{L-1}) / L (nats per token), n = L.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from l2m_analysis.errors import InputError
from l2m_analysis.estimators.bipartite import RATIOS
from l2m_analysis.gaussian.construction import (
    DEFAULT_BOUNDARY_RULE,
    check_layers,
    family_source,
)
from l2m_analysis.gaussian.diagonals import CovarianceDiagonals, two_point_mi_from_correlation
from l2m_analysis.gaussian.exact import (
    bipartite_mi_from_covariance,
    covariance_dense,
    vclub_bound_from_covariance,
)
from l2m_analysis.gaussian.structured import prefix_logdets_by_layer

MI_SCHEMA = {
    "source": pl.String,
    "quantity": pl.String,
    "estimator": pl.String,
    "length": pl.Int32,
    "split_at": pl.Int32,
    "ratio": pl.Int32,
    "distance": pl.Int32,
    "value": pl.Float64,
    "stderr": pl.Float64,
    "n": pl.Int64,
}


def split_for_ratio(length: int, ratio: int) -> int:
    """ℓ = round(L / ratio), at least 1 and at most L − 1."""
    if ratio < 2:
        raise InputError(f"ratio L/ℓ must be >= 2, got {ratio}", "use ratios such as 2 3 4")
    return int(min(max(round(length / ratio), 1), length - 1))


def _rows(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        [{k: r.get(k) for k in MI_SCHEMA} for r in rows], schema=MI_SCHEMA, orient="row"
    )


def bipartite_curve(
    family: str,
    layers: Sequence[int],
    ratios: Sequence[int] = RATIOS,
    boundary_rule: str = DEFAULT_BOUNDARY_RULE,
    copies: int = 1,
) -> pl.DataFrame:
    """Exact I_BP (estimator ``exact``) for each layer count and ratio (structured, O(L))."""
    source = family_source(family, copies)
    by_layer = prefix_logdets_by_layer(family, max(check_layers(x) for x in layers), boundary_rule)
    rows = []
    for layer in layers:
        if layer < 1:
            continue
        logdets = by_layer[layer]
        length = logdets.length
        for ratio in ratios:
            split_at = split_for_ratio(length, ratio)
            value = copies * logdets.bipartite_mi(split_at)
            rows.append(
                dict(source=source, quantity="bipartite", estimator="exact", length=length,
                     split_at=split_at, ratio=ratio, value=value)
            )  # fmt: skip
    return _rows(rows)


def vclub_bound_curve(
    family: str,
    layers: Sequence[int],
    ratios: Sequence[int] = RATIOS,
    boundary_rule: str = DEFAULT_BOUNDARY_RULE,
    copies: int = 1,
) -> pl.DataFrame:
    """vCLUB's exact limit with q = p (estimator ``exact_vclub``), dense: keep layers <= 6."""
    source = family_source(family, copies)
    rows = []
    for layer in layers:
        if check_layers(layer) < 1:
            continue
        sigma = covariance_dense(family, layer, boundary_rule)
        length = sigma.shape[0]
        for ratio in ratios:
            split_at = split_for_ratio(length, ratio)
            value = copies * vclub_bound_from_covariance(sigma, split_at)
            rows.append(
                dict(source=source, quantity="bipartite", estimator="exact_vclub",
                     length=length, split_at=split_at, ratio=ratio, value=value)
            )  # fmt: skip
    return _rows(rows)


def two_point_max_separation(
    family: str,
    layers: Sequence[int],
    boundary_rule: str = DEFAULT_BOUNDARY_RULE,
    copies: int = 1,
) -> pl.DataFrame:
    """Two-point MI of the pair (0, L−1) for each layer count (estimator ``exact``), nats."""
    source = family_source(family, copies)
    top = max(check_layers(layer) for layer in layers)
    diags = CovarianceDiagonals(family, top, boundary_rule)
    rows = []
    for layer in sorted(set(layers)):
        if layer < 1:
            continue
        distance = 4**layer - 1
        corr = diags.entry(layer, 0, distance)
        value = copies * float(two_point_mi_from_correlation(corr))
        rows.append(
            dict(source=source, quantity="two_point", estimator="exact", distance=distance,
                 value=value)
        )  # fmt: skip
    return _rows(rows)


def default_distances(length: int) -> list[int]:
    """d = 1, 4, 16, ..., L/4: one distance per scale of the hierarchy.

    The pair average is not monotone in d: pairs at d = 4^m sit at the same offset inside
    their blocks and are far more correlated than pairs at d = 2·4^m (a sawtooth in d)."""
    return [4**i for i in range(int(round(np.log(length) / np.log(4))))]


def two_point_pair_average(
    family: str,
    layers: int,
    distances: Sequence[int] | None = None,
    boundary_rule: str = DEFAULT_BOUNDARY_RULE,
    copies: int = 1,
) -> pl.DataFrame:
    """Mean two-point MI over all pairs (p, p+d) of an L = 4^layers sample (estimator
    ``exact_pair_average``), nats, from the diagonals of Σ (O(L) each)."""
    diags = CovarianceDiagonals(family, layers, boundary_rule)
    length = 4**diags.layers
    distances = default_distances(length) if distances is None else list(distances)
    source = family_source(family, copies)
    rows = []
    for d in distances:
        if not 1 <= d < length:
            raise InputError(f"distance {d} is outside [1, {length - 1}]", "use 1 <= d < L")
        value = copies * float(
            two_point_mi_from_correlation(diags.diagonal(diags.layers, d)).mean()
        )
        rows.append(
            dict(source=source, quantity="two_point", estimator="exact_pair_average",
                 distance=d, value=value, n=length - d)
        )  # fmt: skip
    return _rows(rows)


def entropy_rates(
    family: str,
    layers: Sequence[int],
    boundary_rule: str = DEFAULT_BOUNDARY_RULE,
    copies: int = 1,
) -> pl.DataFrame:
    """H(Z_0..Z_{L-1}) / L in nats per token for each layer count (``entropies`` columns)."""
    source = family_source(family, copies)
    by_layer = prefix_logdets_by_layer(family, max(check_layers(x) for x in layers), boundary_rule)
    rows = []
    for layer in layers:
        logdets = by_layer[layer]
        rows.append(
            {"source": source, "quantity": "entropy_rate", "distance": None, "shuffled": False,
             "estimator": "exact", "value": copies * logdets.entropy_per_token(),
             "stderr": None, "n": logdets.length}
        )  # fmt: skip
    return pl.DataFrame(
        rows,
        schema={"source": pl.String, "quantity": pl.String, "distance": pl.Int32,
                "shuffled": pl.Boolean, "estimator": pl.String, "value": pl.Float64,
                "stderr": pl.Float64, "n": pl.Int64},
        orient="row",
    )  # fmt: skip


def exact_window_estimates(
    family: str,
    layers: int,
    split_ats: Sequence[int],
    ratios: Sequence[int] = RATIOS,
    boundary_rule: str = DEFAULT_BOUNDARY_RULE,
    copies: int = 1,
    dense_max_layers: int = 6,
) -> pl.DataFrame:
    """``exact`` and ``exact_vclub`` rows for the windows the bipartite estimators report on an
    oracle run: X = [0, ℓ), Y = [ℓ, ratio·ℓ) for each scored ℓ and ratio with ratio·ℓ <= L
    (the convention of queries/bipartite_mi.sql). Dense up to ``dense_max_layers``; beyond, only
    whole-sample windows (ratio·ℓ = L) and no vCLUB limit."""
    layers = check_layers(layers)
    length = 4**layers
    source = family_source(family, copies)
    dense = layers <= dense_max_layers
    sigma = covariance_dense(family, layers, boundary_rule) if dense else None
    logdets = None if dense else prefix_logdets_by_layer(family, layers, boundary_rule)[-1]
    rows = []
    for split_at in sorted(set(split_ats)):
        for ratio in ratios:
            window = ratio * split_at
            if window > length or (not dense and window != length):
                continue
            common = dict(source=source, quantity="bipartite", length=window,
                          split_at=split_at, ratio=ratio)  # fmt: skip
            if dense:
                mi = bipartite_mi_from_covariance(sigma, split_at, window)
                vclub = vclub_bound_from_covariance(sigma, split_at, window)
                rows.append({**common, "estimator": "exact_vclub", "value": copies * vclub})
            else:
                mi = logdets.bipartite_mi(split_at)
            rows.append({**common, "estimator": "exact", "value": copies * mi})
    return _rows(rows)
