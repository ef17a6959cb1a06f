"""The two_point_mi step: Grassberger entropies and two-point MI of a counted corpus run.

Reads the run's count-of-counts (``ngram_counts``, ``pair_counts``), estimates Ĥ(X) = Ĥ(Y) of
single tokens (quantity unigram), Ĥ of adjacent pairs (adjacent_pair, for the 2-gram correction
of Eq. A.14) and Ĥ(XY_d) per distance (pair_distance; shuffled for the baseline) into
``entropies``, and I_d = Ĥ(X) + Ĥ(Y) − Ĥ(XY_d) (Eq. A.16) into ``mi_estimates`` (quantity
two_point; estimator grassberger, and grassberger_shuffled for the baseline, whose value is the
estimator's bias floor; grassberger_minus_baseline, their difference, is what α is fitted to).
Replaces exactly those partitions of the run.

The stderr of I_d is the delete-one-batch jackknife over ``groups`` batches of consecutive samples
(``estimators.two_point_groups``): pairs inside a document share its topic, and the
independent-pairs bound under-covers on clustered text (``benchmarks.calibration.two_point``).
The baseline and the difference get their jackknife stderr too. It reads the run's tokens into
memory; ``groups=0`` (or a run with fewer than 2 samples) keeps the entropies' bound
σ_X + σ_Y + σ_XY, and √(σ² + σ_shuffled²) for the difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from l2m_analysis.corpus.series import contiguous_groups
from l2m_analysis.errors import WarehouseError
from l2m_analysis.estimators.entropy import EntropyEstimate, entropy_grassberger
from l2m_analysis.estimators.two_point import two_point_mi as two_point_mi_at
from l2m_analysis.estimators.two_point_groups import jackknife_two_point, sample_batches
from l2m_analysis.fits.series import SUBTRACTED_SUFFIX, with_baseline_subtracted
from l2m_analysis.warehouse import Warehouse

ESTIMATOR = "grassberger"
BASELINE_ESTIMATOR = "grassberger_shuffled"
SUBTRACTED_ESTIMATOR = ESTIMATOR + SUBTRACTED_SUFFIX  # I_d − I_d^shuffled: what α is fitted to
ENTROPY_QUANTITIES = ("unigram", "adjacent_pair", "pair_distance")
GROUPS = 20  # batches of consecutive samples behind the stderr of I_d


@dataclass(frozen=True)
class TwoPointOutcome:
    """The rows written (``entropies``, ``mi_estimates``) and the distances with no pair."""

    entropies: pl.DataFrame
    estimates: pl.DataFrame
    skipped: tuple[int, ...]


def two_point_mi(wh: Warehouse, run_id: str, groups: int = GROUPS) -> TwoPointOutcome:
    """Estimate the run's entropies and two-point MI and replace its rows of them; the stderr
    of I_d by the jackknife over ``groups`` batches of samples (0: the entropies' bound)."""
    run = wh.require_run(run_id)
    source = run["dataset"] or run["kind"]
    entropies, estimates, skipped = estimate(wh, run_id, source)
    if groups:
        estimates = with_jackknife_stderr(wh, run_id, estimates, groups)
    estimates = with_subtracted(estimates)
    base = {"run_id": run_id, "source": source}
    wh.replace_partitions("entropies", entropies, recomputed=[
        {**base, "quantity": q, "estimator": ESTIMATOR} for q in ENTROPY_QUANTITIES
    ])  # fmt: skip
    wh.replace_partitions("mi_estimates", estimates, recomputed=[
        {**base, "quantity": "two_point", "estimator": e}
        for e in (ESTIMATOR, BASELINE_ESTIMATOR, SUBTRACTED_ESTIMATOR)
    ])  # fmt: skip
    return TwoPointOutcome(entropies, estimates, tuple(skipped))


def _entropy(cc: pl.DataFrame) -> EntropyEstimate:
    return entropy_grassberger(cc["count"].to_numpy(), cc["n_items"].to_numpy())


def estimate(wh: Warehouse, run_id: str, source: str):
    """(entropies rows, mi_estimates rows, distances skipped) of the run's counts."""
    ngrams = wh.query("SELECT * FROM ngram_counts WHERE run_id = ?", [run_id])
    pairs = wh.query("SELECT * FROM pair_counts WHERE run_id = ?", [run_id])
    hint = f"python -m pipelines.count_ngrams --run-id {run_id}"
    if ngrams.filter(pl.col("order") == 1).is_empty():
        raise WarehouseError(f"run {run_id!r} has no 1-gram counts", f"count it first: {hint}")
    h_x = _entropy(ngrams.filter(pl.col("order") == 1))  # Eq. (8): Ĥ(X) = Ĥ(Y)
    rows = [_entropy_row(run_id, source, "unigram", None, False, h_x)]
    if not ngrams.filter(pl.col("order") == 2).is_empty():
        h_2 = _entropy(ngrams.filter(pl.col("order") == 2))
        rows.append(_entropy_row(run_id, source, "adjacent_pair", None, False, h_2))
    estimates, skipped = [], []
    for d in counted_distances(wh, run_id):
        real = pairs.filter((pl.col("distance") == d) & ~pl.col("shuffled"))
        if real.is_empty():
            skipped.append(d)
            continue
        for shuffled, name in ((False, ESTIMATOR), (True, BASELINE_ESTIMATOR)):
            cc = pairs.filter((pl.col("distance") == d) & (pl.col("shuffled") == shuffled))
            if cc.is_empty():
                continue
            h_xy = _entropy(cc)
            mi = two_point_mi_at(h_x, h_x, h_xy, d)  # Eq. (A.16)
            rows.append(_entropy_row(run_id, source, "pair_distance", d, shuffled, h_xy))
            estimates.append({"run_id": run_id, "source": source, "quantity": "two_point",
                              "estimator": name, "distance": d, "value": mi.value,
                              "stderr": mi.stderr, "n": mi.n})  # fmt: skip
    if not estimates:
        raise WarehouseError(
            f"run {run_id!r} has no token pairs at any counted distance",
            f"count smaller distances: {hint} --distances 1 2 4 8",
        )
    return pl.DataFrame(rows), pl.DataFrame(estimates), skipped


def with_jackknife_stderr(
    wh: Warehouse, run_id: str, estimates: pl.DataFrame, groups: int
) -> pl.DataFrame:
    """``estimates`` with the stderr of each row replaced by the delete-one-batch jackknife over
    min(groups, samples) batches of consecutive samples (the baseline's: of the shift baseline
    with seed 0, count_ngrams' default), plus a column ``stderr_difference``, the jackknife
    stderr of I_d − I_d^shuffled; unchanged with fewer than 2 samples."""
    tokens = wh.query(
        "SELECT doc_id, chunk_index, position, token_id FROM tokens WHERE run_id = ? "
        "ORDER BY doc_id, chunk_index, position",
        [run_id],
    )
    doc, chunk = tokens["doc_id"].to_numpy(), tokens["chunk_index"].to_numpy()
    pair_groups = contiguous_groups(doc, chunk, tokens["position"].to_numpy())
    new_sample = np.concatenate(([0], (doc[1:] != doc[:-1]) | (chunk[1:] != chunk[:-1])))
    rank = np.cumsum(new_sample)
    n_batches = min(groups, int(rank[-1]) + 1 if rank.size else 0)
    if n_batches < 2:
        return estimates
    batches = sample_batches(rank, n_batches)
    ids = tokens["token_id"].to_numpy()
    jack = {
        d: jackknife_two_point(ids, pair_groups, batches, d, baseline_seed=0)
        for d in estimates["distance"].unique().to_list()
    }
    return estimates.with_columns(
        stderr=pl.Series([
            jack[d].stderr if e == ESTIMATOR else jack[d].stderr_baseline
            for e, d in estimates.select("estimator", "distance").iter_rows()
        ], dtype=pl.Float64),
        stderr_difference=pl.Series([jack[d].stderr_difference for d in estimates["distance"]],
                                    dtype=pl.Float64),
    )  # fmt: skip


def with_subtracted(estimates: pl.DataFrame) -> pl.DataFrame:
    """``estimates`` plus the rows ``SUBTRACTED_ESTIMATOR``: I_d − I_d^shuffled (nats) at every
    d with a baseline (``fits.series.with_baseline_subtracted``), their stderr the jackknife's
    (``stderr_difference``) where it was computed."""
    if "stderr_difference" not in estimates.columns:
        return with_baseline_subtracted(estimates)
    jackknifed = estimates.filter(pl.col("estimator") == ESTIMATOR).select(
        "distance", "stderr_difference"
    )
    subtracted = pl.col("estimator") == SUBTRACTED_ESTIMATOR
    return (
        with_baseline_subtracted(estimates.drop("stderr_difference"))
        .join(jackknifed, on="distance", how="left", maintain_order="left")
        .with_columns(
            stderr=pl.when(subtracted)
            .then(pl.coalesce("stderr_difference", "stderr"))
            .otherwise("stderr")
        )
        .drop("stderr_difference")
    )


def counted_distances(wh: Warehouse, run_id: str) -> list[int]:
    """Every distance d count_ngrams counted for the run (its batches' ``distance`` meta),
    including those where no pair exists (an empty batch)."""
    metas = [record.meta for record in wh.batches("pair_counts", run_id)]
    return sorted({int(m["distance"]) for m in metas if "distance" in m})


def _entropy_row(run_id, source, quantity, distance, shuffled, h: EntropyEstimate) -> dict:
    return {"run_id": run_id, "source": source, "quantity": quantity, "distance": distance,
            "shuffled": shuffled, "estimator": ESTIMATOR, "value": h.value,
            "stderr": h.stderr, "n": h.n}  # fmt: skip
