"""The scoring driver: samples -> score requests of the three conditions -> ``token_logprobs``.

Work is cut into batches of pairs; each (condition, split_at, pair range) is one warehouse batch
with a deterministic key, committed atomically by ``Warehouse.append_batch``. A rerun of a killed
run (same run id, same plan) skips every committed key and scores only the rest: no duplicates.

Samples come from a ``SampleSource``: ``samples(sample_ids)`` must return the same tokens for the
same pair ids on every call (seed per pair), so resumed batches see the same data.
In the ``split`` condition pair i's Y follows the X of pair (i + 1) mod n_pairs (Eq. 7's
product of marginals p(x)p(y)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import polars as pl
from rich.progress import Progress

from l2m_analysis.errors import InputError
from l2m_analysis.scoring.backend import ScoreRequest, ScoringBackend
from l2m_analysis.warehouse.schema import CONDITIONS

if TYPE_CHECKING:
    from l2m_analysis.warehouse import Warehouse

TABLE = "token_logprobs"


class SampleSource(Protocol):
    """Deterministic samples by pair id: (n,) ids -> (n, L) token ids or (n, L, C) floats."""

    length: int

    def samples(self, sample_ids: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ScoringPlan:
    """What to score: ``n_pairs`` samples, each split at every ℓ in ``split_ats``."""

    n_pairs: int
    split_ats: tuple[int, ...]
    conditions: tuple[str, ...] = CONDITIONS
    batch_size: int = 32

    def validate(self, length: int) -> None:
        if self.n_pairs < 2:
            raise InputError(f"n_pairs must be >= 2, got {self.n_pairs}",
                             "the split condition pairs Y with another sample's X")  # fmt: skip
        if self.batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {self.batch_size}", "use e.g. 32")
        bad = [c for c in self.conditions if c not in CONDITIONS]
        if bad or not self.conditions:
            raise InputError(f"unknown conditions {bad}", f"use some of {list(CONDITIONS)}")
        bad_splits = [s for s in self.split_ats if not 1 <= s < length]
        if bad_splits or (set(self.conditions) - {"no_split"} and not self.split_ats):
            raise InputError(
                f"split_at values {bad_splits or list(self.split_ats)} not in [1, {length - 1}]",
                "give ℓ with 1 <= ℓ < L for the split and marginal conditions",
            )

    def batch_keys(self, start: int, stop: int) -> list[tuple[str, int, str]]:
        """(condition, split_at, batch key) of every warehouse batch of pairs [start, stop)."""
        keys = []
        for cond in self.conditions:
            splits = (0,) if cond == "no_split" else self.split_ats
            for split_at in splits:
                tag = f"{cond}" if cond == "no_split" else f"{cond}/split_at={split_at}"
                keys.append((cond, split_at, f"{tag}/pairs={start:08d}-{stop:08d}"))
        return keys


@dataclass(frozen=True)
class ScoringSummary:
    """How a scoring call went: batches written now, batches found committed, rows written."""

    batches_written: int
    batches_skipped: int
    rows_written: int


def score_run(
    wh: Warehouse,
    run_id: str,
    backend: ScoringBackend,
    source: SampleSource,
    plan: ScoringPlan,
    *,
    show_progress: bool = True,
) -> ScoringSummary:
    """Score ``plan`` with ``backend`` into ``token_logprobs`` of ``run_id``; resumable."""
    plan.validate(source.length)
    committed = wh.committed_batches(TABLE, run_id)
    starts = range(0, plan.n_pairs, plan.batch_size)
    written = skipped = rows = 0
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task(f"scoring {run_id}", total=len(starts))
        for start in starts:
            stop = min(start + plan.batch_size, plan.n_pairs)
            todo = [k for k in plan.batch_keys(start, stop) if k[2] not in committed]
            skipped += len(plan.batch_keys(start, stop)) - len(todo)
            if todo:
                sample_ids = np.arange(start, stop)
                samples = source.samples(sample_ids)
                partners = source.samples((sample_ids + 1) % plan.n_pairs)
                check_pair_count(samples, sample_ids.size)
                check_pair_count(partners, sample_ids.size)
                for cond, split_at, key in todo:
                    frame = score_batch(backend, sample_ids, samples, partners, cond, split_at)
                    if wh.append_batch(TABLE, run_id, key, frame):
                        written += 1
                        rows += frame.height
            progress.advance(task)
    return ScoringSummary(written, skipped, rows)


def build_requests(
    samples: np.ndarray, partners: np.ndarray, condition: str, split_at: int
) -> list[ScoreRequest]:
    """The requests of one condition for a batch of samples (n, L[, C])."""
    requests = []
    for sample, partner in zip(samples, partners, strict=True):
        if condition == "no_split":
            requests.append(ScoreRequest(sample[:0], sample, 0))
        elif condition == "split":
            requests.append(ScoreRequest(partner[:split_at], sample[split_at:], split_at))
        else:  # marginal
            requests.append(ScoreRequest(sample[:0], sample[split_at:], split_at))
    return requests


def score_batch(
    backend: ScoringBackend,
    sample_ids: np.ndarray,
    samples: np.ndarray,
    partners: np.ndarray,
    condition: str,
    split_at: int,
) -> pl.DataFrame:
    """token_logprobs rows (without run_id) of one condition for a batch of pairs."""
    requests = build_requests(samples, partners, condition, split_at)
    logprobs = backend.score(requests)
    frames = []
    for sample_id, req, lp in zip(sample_ids, requests, logprobs, strict=True):
        n = len(req.continuation)
        lp = np.asarray(lp, dtype=np.float64)
        if lp.shape != (n,):
            raise InputError(
                f"backend {backend.name!r} returned {lp.shape} log-probs for {n} tokens",
                "a backend returns one log-prob per continuation token",
            )
        frames.append(
            {
                "sample_id": np.full(n, sample_id, dtype=np.int64),
                "position": np.arange(req.start_position, req.start_position + n, dtype=np.int32),
                "token_id": backend.token_ids(req),
                "logprob": lp,
            }
        )
    columns = {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}
    return pl.DataFrame(
        {
            "sample_id": columns["sample_id"],
            "condition": [condition] * len(columns["sample_id"]),
            "split_at": np.full(len(columns["sample_id"]), split_at, dtype=np.int32),
            "position": columns["position"],
            "token_id": columns["token_id"],
            "logprob": columns["logprob"],
        }
    )


def check_pair_count(samples: Sequence[object] | np.ndarray, n_pairs: int) -> None:
    """Raise if a sample source returned the wrong number of samples."""
    if len(samples) != n_pairs:
        raise InputError(f"sample source returned {len(samples)} samples for {n_pairs} pair ids",
                         "return one sample per requested pair id")  # fmt: skip
