"""Scoring samples from a prepared corpus: fixed windows of L tokens at sentence-aligned starts.

``prepare_corpus`` cuts documents into samples that start at a sentence (docs/corpus.md); a
scoring run takes the first L tokens of ``n`` of them (L = L_max, 2048 in the paper) among the
samples that hold at least L tokens: seeded, spread evenly over documents (round robin, so that
no book dominates and every X′ can come from another document), kept in corpus order.
Scored sample i is corpus sample ``corpus_sample_ids[i]`` of document ``doc_ids[i]``. A q
trained on the corpus run itself (pipelines.train) is scored only on the samples it held out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from l2m_analysis.assets import _read_record
from l2m_analysis.errors import InputError
from l2m_analysis.scoring.driver import TokenWindows


@dataclass(frozen=True)
class CorpusChoice:
    """Which corpus samples a run scores: ``corpus_sample_ids`` (n,) and their ``doc_ids``."""

    corpus_sample_ids: np.ndarray
    doc_ids: np.ndarray


def choose_samples(
    lengths: pl.DataFrame, length: int, n_samples: int, seed: int, corpus_run: str
) -> CorpusChoice:
    """Pick ``n_samples`` corpus samples with >= ``length`` tokens (seeded), in corpus order.

    lengths: one row per corpus sample, columns sample_id, doc_id, n_tokens.
    """
    eligible = lengths.filter(pl.col("n_tokens") >= length).sort("sample_id")
    if eligible.height < n_samples:
        raise InputError(
            f"corpus run {corpus_run!r} has {eligible.height} samples of at least {length} "
            f"tokens (of {lengths.height}); {n_samples} were asked for",
            f"lower --samples or --length, or prepare the corpus with --min-tokens {length} "
            "(or a larger corpus)",
        )
    # shuffled (seeded); then the first sample of every document, the second of every one, ...
    docs = eligible.select("doc_id").unique().sort("doc_id")
    doc_order = docs.with_columns(doc_rank=pl.Series(np.random.default_rng(seed).permutation(
        docs.height)))  # fmt: skip
    chosen = (
        eligible.sample(fraction=1.0, shuffle=True, seed=seed)
        .with_columns(round=pl.int_range(pl.len()).over("doc_id"))  # rank inside its document
        .join(doc_order, on="doc_id")
        .sort("round", "doc_rank")
        .head(n_samples)
        .sort("sample_id")
    )
    return CorpusChoice(chosen["sample_id"].to_numpy(), chosen["doc_id"].to_numpy())


def unseen_by_model(lengths: pl.DataFrame, model_dir: str | Path, corpus_run: str) -> pl.DataFrame:
    """The rows of ``lengths`` (one per corpus sample) a q may be scored on: all of them, except
    when q was trained by pipelines.train on this very corpus run (its folder's l2m_model.json
    says so) — then only the samples it held out, so that no training window is scored."""
    record = _read_record(Path(model_dir)) or {}
    if record.get("source") != "pipelines.train" or record.get("corpus_run") != corpus_run:
        return lengths
    return lengths.filter(pl.col("sample_id") % int(record["holdout_every"]) == 0)


def windows_from_tokens(tokens: pl.DataFrame, choice: CorpusChoice, length: int) -> TokenWindows:
    """The first ``length`` tokens of each chosen sample as (n, L) ids, in the choice's order.

    tokens: rows of the ``tokens`` table (sample_id, position, token_id) of the chosen samples.
    """
    ids = choice.corpus_sample_ids  # ascending (corpus order)
    rows = tokens.filter(pl.col("position") < length)
    sample = rows["sample_id"].to_numpy()
    where = np.minimum(np.searchsorted(ids, sample), max(ids.size - 1, 0))
    keep = ids[where] == sample if ids.size else np.zeros(sample.size, bool)
    out = np.full((ids.size, length), -1, dtype=np.int64)
    out[where[keep], rows["position"].to_numpy()[keep]] = rows["token_id"].to_numpy()[keep]
    if np.any(out < 0):
        missing = choice.corpus_sample_ids[np.any(out < 0, axis=1)][:5].tolist()
        raise InputError(
            f"corpus samples {missing} lack some of their first {length} tokens",
            "the corpus run is damaged: python -m pipelines.check_warehouse",
        )
    return TokenWindows(out, choice.doc_ids)
