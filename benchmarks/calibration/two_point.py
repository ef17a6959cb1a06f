"""Coverage of the per-distance two-point MI interval Î_d ± 1.96·stderr (issue 18, item 1).

Sources with exact I_d (``l2m_analysis.corpus.known_sources``):

* ``sticky-topic HMM``: 100 documents × 8,192 tokens, 40 words, 8 topics (stickiness 0.99);
* ``clustered HMM``: the same words, each document of one of 4 types drawn at random, each type
  with its own topic transition (stickiness 0.9 … 0.995 and its own topic mix); the exact I_d is
  that of the pooled pair distribution (types equally likely).

Per seed the corpus is counted as ``count_ngrams`` does (``count_corpus``) and Î_d, stderr are
computed from the counts with the entropies' bound σ_X + σ_Y + σ_XY (i.i.d. pairs); beside it the
stderr from 20 groups of whole documents (``estimators.two_point_groups``: delete-one-group
jackknife and batch means). Rows: coverage at d = 1, 16, 256 and over all d ≤ 256.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from benchmarks.calibration.common import coverage_row
from l2m_analysis.corpus.corpus_counts import count_corpus
from l2m_analysis.corpus.known_sources import (
    exact_hmm_two_point_mi,
    exact_pooled_two_point_mi,
    sample_hmm,
    sticky_topic_hmm,
)
from l2m_analysis.estimators.entropy import entropy_grassberger
from l2m_analysis.estimators.two_point import two_point_mi
from l2m_analysis.estimators.two_point_groups import group_key_counts, grouped_two_point_mi

STUDY = "two_point"
DISTANCES = tuple(2**k for k in range(9))  # 1 .. 256
REPORTED = (1, 16, 256)
N_TOPICS, N_WORDS, N_GROUPS = 8, 40, 20
STICKINESS = (0.9, 0.97, 0.99, 0.995)  # the clustered source's four document types
Z = 1.959963984540054


def hmm_source(seed: int = 0):
    """(T, E) of the sticky-topic HMM; the same source for every replicate."""
    return sticky_topic_hmm(N_TOPICS, N_WORDS, 0.99, np.random.default_rng(seed))


def clustered_types(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(T_c, E) per document type: T_c = s_c·I + (1 − s_c)·1ρ_cᵀ, ρ_c ~ Dirichlet(1)."""
    rng = np.random.default_rng(seed)
    _, emission = hmm_source(seed)
    types = []
    for s in STICKINESS:
        rho = rng.dirichlet(np.ones(N_TOPICS))
        types.append((s * np.eye(N_TOPICS) + (1 - s) * rho[None, :], emission))
    return types


def sample_source(source: str, n_docs: int, doc_length: int, rng) -> np.ndarray:
    """Words (n_docs, doc_length) of one replicate of ``source``."""
    if source == "sticky-topic HMM":
        return sample_hmm(*hmm_source(), n_docs, doc_length, rng)
    types = clustered_types()
    kind = rng.integers(len(types), size=n_docs)
    words = np.empty((n_docs, doc_length), dtype=np.int64)
    for c, (t, e) in enumerate(types):
        if np.any(kind == c):
            words[kind == c] = sample_hmm(t, e, int(np.sum(kind == c)), doc_length, rng)
    return words


def exact_curve(source: str) -> np.ndarray:
    if source == "sticky-topic HMM":
        return exact_hmm_two_point_mi(*hmm_source(), DISTANCES)
    types = clustered_types()
    return exact_pooled_two_point_mi(types, np.ones(len(types)), DISTANCES)


def replicate(words: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """Î_d and its stderrs (nats) at every d of DISTANCES for one corpus (n_docs, L)."""
    n_docs, length = words.shape
    docs = np.repeat(np.arange(n_docs), length)
    counts = count_corpus(words.ravel(), docs, N_WORDS, DISTANCES, shuffle_seed=None, threads=1)
    uni = counts.ngrams.filter(pl.col("order") == 1)
    h_x = entropy_grassberger(uni["count"].to_numpy(), uni["n_items"].to_numpy())
    group_of_doc = np.arange(n_docs) * n_groups // n_docs  # contiguous groups of whole docs
    tokens = np.stack([np.bincount(words[group_of_doc == g].ravel(), minlength=N_WORDS)
                       for g in range(n_groups)])  # fmt: skip
    out: dict[str, list[float]] = {k: [] for k in ("value", "iid", "jack", "batch", "corrected")}
    for d in DISTANCES:
        cc = counts.pairs.filter((pl.col("distance") == d) & ~pl.col("shuffled"))
        h_xy = entropy_grassberger(cc["count"].to_numpy(), cc["n_items"].to_numpy())
        written = two_point_mi(h_x, h_x, h_xy, d)  # what pipelines.two_point_mi writes
        keys = (words[:, :-d] * N_WORDS + words[:, d:]).ravel()
        pair_groups = np.repeat(group_of_doc, length - d)
        grouped = grouped_two_point_mi(tokens, group_key_counts(keys, pair_groups, n_groups), d)
        assert abs(grouped.value - written.value) < 1e-9  # the same counts, the same estimate
        for k, v in (("value", written.value), ("iid", written.stderr),
                     ("jack", grouped.stderr_jackknife), ("batch", grouped.stderr_batch_means),
                     ("corrected", grouped.jackknife_corrected)):  # fmt: skip
            out[k].append(v)
    return {k: np.array(v) for k, v in out.items()}


def run(seeds: int, quick: bool) -> list[dict]:
    n_docs, length = (40, 2048) if quick else (100, 8192)
    rows = []
    for source in ("sticky-topic HMM", "clustered HMM"):
        exact = exact_curve(source)
        reps = [replicate(sample_source(source, n_docs, length, np.random.default_rng(s)),
                          N_GROUPS) for s in range(seeds)]  # fmt: skip
        values = np.stack([r["value"] for r in reps])  # (seeds, n_d)
        size = f"{n_docs} docs × {length} tokens, {N_WORDS} words"
        methods = (("iid", "entropy bound σ_X+σ_Y+σ_XY (i.i.d. pairs)"),
                   ("jack", f"jackknife over {N_GROUPS} document groups (two_point_mi)"),
                   ("batch", f"batch means over {N_GROUPS} document groups"))  # fmt: skip
        for method, label in methods:
            se = np.stack([r[method] for r in reps])
            covered = np.abs(values - exact) <= Z * se
            for d in REPORTED:
                i = DISTANCES.index(d)
                rows.append(coverage_row(
                    STUDY, f"grassberger ± {label}", f"{source}, {size}", f"I_d, d = {d}",
                    float(exact[i]), values[:, i], covered[:, i],
                    note=f"mean stderr {se[:, i].mean():.4f}, "
                    f"sd of Î_d {values[:, i].std(ddof=1):.4f}",
                ))  # fmt: skip
            rows.append(coverage_row(
                STUDY, f"grassberger ± {label}", f"{source}, {size}", "I_d, every d = 1..256",
                float(exact.mean()), values.mean(axis=1), covered.all(axis=1),
                note="coverage: all 9 distances covered at once (simultaneous, so < 0.95 is "
                f"expected); per-d coverage {covered.mean():.3f}",
            ))  # fmt: skip
        corrected = np.stack([r["corrected"] for r in reps])
        rows.append(coverage_row(
            STUDY, "grassberger, jackknife bias-corrected", f"{source}, {size}",
            "I_d, mean over d = 1..256", float(exact.mean()), corrected.mean(axis=1), None,
            note="point estimate only",
        ))  # fmt: skip
    return rows
