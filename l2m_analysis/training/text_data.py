"""Training windows from the corpus token store (the ``tokens`` table of prepare_corpus).

A corpus sample starts at a sentence and holds >= min_tokens tokens (docs/corpus.md). The
paper trains on the first L_train tokens of each such sample (``windows="first"``, Appendix E);
``windows="all"`` also uses the later non-overlapping windows of L_train tokens (only the first
is sentence-aligned). Samples whose ``sample_id % holdout_every == 0`` are held out: evaluation
windows come from them only.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from l2m_analysis.errors import InputError


def corpus_windows(
    tokens: pl.DataFrame, length: int, windows: str = "first"
) -> tuple[np.ndarray, np.ndarray]:
    """(sample_id of each window (n,), windows (n, length) int64) from ``tokens`` rows
    [sample_id, position, token_id]; samples shorter than ``length`` give none."""
    frame = tokens.select("sample_id", "position", "token_id").sort("sample_id", "position")
    ids = frame["token_id"].to_numpy().astype(np.int64)
    sample = frame["sample_id"].to_numpy()
    if ids.size == 0:
        return np.zeros(0, np.int64), np.zeros((0, length), np.int64)
    starts = np.flatnonzero(np.r_[True, sample[1:] != sample[:-1]])
    ends = np.r_[starts[1:], ids.size]
    owners, rows = [], []
    for a, b in zip(starts, ends, strict=True):
        count = (b - a) // length if windows == "all" else min(1, (b - a) // length)
        for w in range(count):
            rows.append(ids[a + w * length : a + (w + 1) * length])
            owners.append(sample[a])
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, length), np.int64)
    return np.asarray(owners, np.int64), np.stack(rows)


def held_out(owners: np.ndarray, holdout_every: int) -> np.ndarray:
    """Which windows are held out for evaluation: those of samples with id % holdout_every == 0."""
    return owners % holdout_every == 0


def split_holdout(
    owners: np.ndarray, rows: np.ndarray, holdout_every: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train windows, held-out windows)."""
    held = held_out(owners, holdout_every)
    return rows[~held], rows[held]


def check_vocabulary(rows: np.ndarray, vocab_size: int, corpus_run: str) -> None:
    """Every token id < vocab_size, else the corpus was tokenized for another vocabulary."""
    if rows.size and int(rows.max()) >= vocab_size:
        raise InputError(
            f"corpus run {corpus_run!r} holds token id {int(rows.max())} >= the model's vocabulary "
            f"size {vocab_size}: it was tokenized with another tokenizer",
            "prepare the corpus with the model's tokenizer (python -m pipelines.prepare_corpus "
            "--tokenizer neox), or pass --vocab-size and --tokenizer of that tokenizer",
        )


def check_tokenizer(corpus_tokenizer: str | None, expected: str, corpus_run: str) -> None:
    """The corpus run's ``runs.tokenizer`` ('<name> sha256:<hex>') must name ``expected``."""
    name = (corpus_tokenizer or "").split(" sha256:")[0]
    if name != expected:
        raise InputError(
            f"corpus run {corpus_run!r} was tokenized with {corpus_tokenizer or 'no tokenizer'!r}, "
            f"but the model's vocabulary is {expected!r}",
            f"prepare the corpus with {expected} (python -m pipelines.prepare_corpus --tokenizer "
            "neox for gpt-neox-20b), or pass --tokenizer NAME --vocab-size N for that tokenizer",
        )
