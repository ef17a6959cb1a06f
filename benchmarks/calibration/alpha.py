"""α of the two-point decay on a power-law chain, at the books' N/V² (issue 18, item 3).

Source: ``NestedClusters`` (``l2m_analysis.corpus.known_sources``), V = 2^14 words with Zipfian
π, exact I_d close to a power law over d = 1..1024; and a clustered variant whose documents are
of two types (their own leak and noise), exact I_d of the pooled pairs. Size: the embedded
books have N = 1,530,288 tokens and V = 26,763 distinct tokens, N/V² = 0.00214; here
140 documents × 4,096 tokens over 16,384 words (N/V² = 0.00214; ``--quick``: 9 × 4,096 over
4,096 words, the same ratio).

Per seed the corpus is counted as ``count_ngrams`` does (``count_corpus``, shift baseline), Î_d
and stderr as ``two_point_mi`` writes them (the jackknife over 20 batches of documents), and two
fits (``fit_decay_with_offset`` with σ):

* **bias floor**: I_d = A·d^−α + C on the raw curve (C absorbs the estimator's floor);
* **shuffle-subtracted**: the same law on I_d − I_d^shuffled, σ its jackknife stderr.

The exact α of a fit (its estimand) is the same fit of the exact I_d with the same σ, so each
replicate is compared like with like; coverage is the share of 95 % intervals containing it.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from benchmarks.calibration.common import coverage_row
from l2m_analysis.corpus.corpus_counts import count_corpus
from l2m_analysis.corpus.known_sources import NestedClusters, exact_pooled_nested_mi
from l2m_analysis.estimators.entropy import entropy_grassberger
from l2m_analysis.estimators.two_point import two_point_mi
from l2m_analysis.estimators.two_point_groups import jackknife_two_point, sample_batches
from l2m_analysis.fits import fit_decay_with_offset
from l2m_analysis.steps.two_point_mi import GROUPS

STUDY = "alpha"
DISTANCES = tuple(2**k for k in range(11))  # 1 .. 1024
BOOKS_N, BOOKS_V = 1_530_288, 26_763  # the embedded books (GPT-NeoX tokens)
DOC_LENGTH = 4096
CLUSTER_TYPES = ({"leak": 0.5, "noise": 0.8}, {"leak": 0.2, "noise": 0.9})


def sizes(quick: bool) -> tuple[int, int]:
    """(depth, n_docs) so that N/V² = n_docs·4096 / 4^depth is the books' ratio."""
    depth = 12 if quick else 14
    n_docs = round(BOOKS_N / BOOKS_V**2 * 4**depth / DOC_LENGTH)
    return depth, n_docs


def curve(words: np.ndarray, vocab: int) -> tuple[np.ndarray, ...]:
    """(I, σ, I_shuffled, σ_shuffled, σ of the difference), each (len(DISTANCES),), nats, as
    two_point_mi writes them."""
    n_docs, length = words.shape
    docs = np.repeat(np.arange(n_docs), length)
    counts = count_corpus(words.ravel(), docs, vocab, DISTANCES, shuffle_seed=0, threads=1)
    batches = sample_batches(docs, min(GROUPS, n_docs))
    uni = counts.ngrams.filter(pl.col("order") == 1)
    h_x = entropy_grassberger(uni["count"].to_numpy(), uni["n_items"].to_numpy())
    out = np.empty((5, len(DISTANCES)))
    for i, d in enumerate(DISTANCES):
        for j, shuffled in enumerate((False, True)):
            cc = counts.pairs.filter((pl.col("distance") == d) & (pl.col("shuffled") == shuffled))
            h_xy = entropy_grassberger(cc["count"].to_numpy(), cc["n_items"].to_numpy())
            mi = two_point_mi(h_x, h_x, h_xy, d)  # Eq. (A.16)
            out[2 * j, i], out[2 * j + 1, i] = mi.value, mi.stderr
        jack = jackknife_two_point(words.ravel(), docs, batches, d, baseline_seed=0)
        out[1, i], out[3, i], out[4, i] = jack.stderr, jack.stderr_baseline, jack.stderr_difference
    return tuple(out)


def fitted(d: np.ndarray, y: np.ndarray, s: np.ndarray) -> tuple[float, float, float]:
    """(α, lo, hi) of the decay fit with σ; an open end is ∓inf."""
    fit = fit_decay_with_offset(d, y, stderr=s, n_boot=0)
    lo = -math.inf if not np.isfinite(fit.exponent_lo) else fit.exponent_lo
    hi = math.inf if not np.isfinite(fit.exponent_hi) else fit.exponent_hi
    return fit.exponent, lo, hi


def source(kind: str, depth: int):
    """(sampler(n_docs, rng) -> words, exact I_d)."""
    if kind == "power-law chain":
        chain = NestedClusters.build(depth=depth)
        return chain.sample, chain.exact_two_point_mi(DISTANCES)
    types = [NestedClusters.build(depth=depth, **t) for t in CLUSTER_TYPES]

    def sample(n_docs: int, length: int, rng: np.random.Generator) -> np.ndarray:
        kind_of = rng.integers(len(types), size=n_docs)
        words = np.empty((n_docs, length), dtype=np.int64)
        for c, chain in enumerate(types):
            if np.any(kind_of == c):
                words[kind_of == c] = chain.sample(int(np.sum(kind_of == c)), length, rng)
        return words

    return sample, exact_pooled_nested_mi(types, np.ones(len(types)), DISTANCES)


def run(seeds: int, quick: bool) -> list[dict]:
    depth, n_docs = sizes(quick)
    d = np.array(DISTANCES, dtype=float)
    rows = []
    for kind in ("power-law chain", "clustered power-law chain"):
        sample, exact = source(kind, depth)
        found = {"bias floor": [], "shuffle-subtracted": []}  # (α̂, lo, hi, α_exact) per seed
        for seed in range(seeds):
            words = sample(n_docs, DOC_LENGTH, np.random.default_rng(seed))
            i, s, i_shuf, _, s_sub = curve(words, 2**depth)
            for name, y, se in (("bias floor", i, s), ("shuffle-subtracted", i - i_shuf, s_sub)):
                found[name].append((*fitted(d, y, se), fitted(d, exact, se)[0]))
        size = f"{n_docs} docs × {DOC_LENGTH} tokens, V = {2**depth}, N/V² = books'"
        for name, reps in found.items():
            a = np.array(reps)  # (seeds, 4)
            covered = (a[:, 1] <= a[:, 3]) & (a[:, 3] <= a[:, 2])
            rows.append(coverage_row(
                STUDY, f"α, decay fit with σ, {name}", f"{kind}, {size}",
                "α of the same fit of the exact I_d, d = 1..1024", float(a[:, 3].mean()),
                a[:, 0], covered,
                note=f"OLS power-law slope of the exact I_d: "
                f"{-np.polyfit(np.log(d), np.log(exact), 1)[0]:.3f}; median interval width "
                f"{np.median(a[:, 2] - a[:, 1]):.3f}",
            ))  # fmt: skip
    return rows
