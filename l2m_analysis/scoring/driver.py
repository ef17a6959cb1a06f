"""The scoring driver: samples -> score requests of the plan (``plan.py``) -> ``token_logprobs``.

Work is cut into batches of samples; each (condition, split_at, sample range) is one warehouse
batch with a deterministic key, committed atomically by ``Warehouse.append_batch``. A rerun of a
killed run (same run id, same plan) skips every committed key and scores only the rest: no
duplicates. Every log-prob a backend returns is checked (finite; <= 0 for discrete tokens)
before anything is written.

Samples come from a ``SampleSource``: ``samples(ids)`` must return the same tokens for the same
ids on every call (a seed per sample, or a fixed array), so resumed batches see the same data.
``partners[i]`` is the sample whose first ℓ tokens are X′ for sample i (``plan.derangement``).
Each batch of samples [start, stop) is ONE backend call: the no_split and marginal requests of
those samples and the split requests of the samples whose X′ they are, so a backend can serve
a split request's prefix BOS + X′[:ℓ] from the no_split pass of X′'s own sample.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import polars as pl
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from l2m_analysis.errors import InputError
from l2m_analysis.scoring.backend import ScoreRequest, ScoringBackend
from l2m_analysis.scoring.plan import ScoringPlan

if TYPE_CHECKING:
    from l2m_analysis.warehouse import Warehouse

TABLE = "token_logprobs"
LOGPROB_TOLERANCE = 1e-6  # log q may round a hair above 0 for a near-certain token


class SampleSource(Protocol):
    """Deterministic samples by id: (n,) ids -> (n, L) token ids or (n, L, C) floats."""

    length: int

    def samples(self, sample_ids: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class TokenWindows:
    """Samples held in memory: ``tokens`` (n, L) int64 ids, ``doc_ids`` (n,) their documents."""

    tokens: np.ndarray
    doc_ids: np.ndarray

    @property
    def length(self) -> int:
        return int(self.tokens.shape[1])

    def samples(self, sample_ids: np.ndarray) -> np.ndarray:
        return self.tokens[np.asarray(sample_ids, dtype=np.int64)]


@dataclass(frozen=True)
class ScoringSummary:
    """How a scoring call went: batches written and found committed, rows written, and the
    tokens forwarded (BOS included) with the seconds spent in the backend."""

    batches_written: int
    batches_skipped: int
    rows_written: int
    tokens_forwarded: int = 0
    backend_seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float | None:
        return self.tokens_forwarded / self.backend_seconds if self.backend_seconds else None

    def __add__(self, other: ScoringSummary) -> ScoringSummary:
        return ScoringSummary(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


NOTHING = ScoringSummary(0, 0, 0)
WriteBatch = Callable[[str, pl.DataFrame], bool]  # (batch key, rows) -> False if committed before


def check_partners(plan: ScoringPlan, partners: np.ndarray) -> np.ndarray:
    """``borrowers[j]``: the sample whose X′ is sample j; refuses partners that are not a
    pairing of each sample with another one."""
    partners = np.asarray(partners, dtype=np.int64)
    if partners.shape != (plan.n_samples,) or np.any(partners == np.arange(plan.n_samples)):
        raise InputError(
            f"partners must pair each of {plan.n_samples} samples with another one",
            "use scoring.plan.derangement(doc_ids, seed)",
        )
    return np.argsort(partners)


def batch_ranges(plan: ScoringPlan) -> list[tuple[int, int]]:
    """[start, stop) of every batch of samples: one backend call (and one task) each."""
    return [(s, min(s + plan.batch_size, plan.n_samples))
            for s in range(0, plan.n_samples, plan.batch_size)]  # fmt: skip


def score_batch(
    write: WriteBatch,
    committed: set[str],
    backend: ScoringBackend,
    source: SampleSource,
    plan: ScoringPlan,
    borrowers: np.ndarray,
    start: int,
    stop: int,
) -> ScoringSummary:
    """Score the batch of samples [start, stop) with ONE backend call and write each of its
    uncommitted keys (``plan.batch_keys``); the unit of work in process and on Dask."""
    keys = plan.batch_keys(start, stop)
    todo = [k for k in keys if k[2] not in committed]
    skipped = len(keys) - len(todo)
    if not todo:
        return ScoringSummary(0, skipped, 0)
    groups = batch_groups(plan, source, todo, np.arange(start, stop), borrowers)
    requests = [r for g in groups for r in g[4]]
    t0 = time.perf_counter()
    answers = backend.score(requests)  # one call for the whole batch
    seconds = time.perf_counter() - t0
    forwarded = sum(1 + len(r.context) + len(r.continuation) for r in requests)
    if len(answers) != len(requests):
        raise InputError(
            f"backend {backend.name!r} answered {len(answers)} of {len(requests)} requests",
            "a backend answers every request, in order",
        )
    frames, offset = [], 0
    for cond, split_at, key, sample_ids, reqs in groups:  # check everything before writing
        frames.append(
            (
                key,
                rows_frame(
                    backend, sample_ids, reqs, answers[offset : offset + len(reqs)], cond, split_at
                ),
            )
        )
        offset += len(reqs)
    written = rows = 0
    for key, frame in frames:
        if write(key, frame):
            written += 1
            rows += frame.height
        else:  # another writer (a duplicate Dask task) committed it first
            skipped += 1
    return ScoringSummary(written, skipped, rows, forwarded, seconds)


def score_run(
    wh: Warehouse,
    run_id: str,
    backend: ScoringBackend,
    source: SampleSource,
    plan: ScoringPlan,
    partners: np.ndarray,
    *,
    show_progress: bool = True,
) -> ScoringSummary:
    """Score ``plan`` with ``backend`` into ``token_logprobs`` of ``run_id``, batch after batch
    in this process; resumable (``cluster.scoring`` runs the same batches on Dask)."""
    plan.validate(source.length)
    borrowers = check_partners(plan, partners)
    # the ratios L/ℓ the plan's windows serve: the bipartite SQL reads them (stg_run_ratios)
    wh.record_in_config(run_id, "ratios", sorted(plan.ratios))
    committed = wh.committed_batches(TABLE, run_id)
    total = NOTHING
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("samples · {task.fields[rate]}"), TimeRemainingColumn()]  # fmt: skip

    def write(key: str, frame: pl.DataFrame) -> bool:
        return wh.append_batch(TABLE, run_id, key, frame)

    with Progress(*columns, disable=not show_progress) as progress:
        task = progress.add_task(f"scoring {run_id}", total=plan.n_samples, rate="")
        for start, stop in batch_ranges(plan):
            total += score_batch(write, committed, backend, source, plan, borrowers, start, stop)
            rate = total.tokens_per_second
            progress.update(task, advance=stop - start,
                            rate=f"{rate:,.0f} tokens/s" if rate else "resumed")  # fmt: skip
    return total


def batch_groups(
    plan: ScoringPlan,
    source: SampleSource,
    todo: list[tuple[str, int, str]],
    ids: np.ndarray,
    borrowers: np.ndarray,
) -> list[tuple[str, int, str, np.ndarray, list[ScoreRequest]]]:
    """(condition, split_at, key, sample ids, requests) of each uncommitted key of a batch: the
    samples ``ids`` for no_split and marginal, and for split the samples whose X′ they are."""
    lenders = source.samples(ids)
    borrowed = borrowers[ids]
    borrowing = source.samples(borrowed)
    check_sample_count(lenders, ids.size)
    check_sample_count(borrowing, ids.size)
    groups = []
    for cond, split_at, key in todo:
        samples, owners = (borrowing, borrowed) if cond == "split" else (lenders, ids)
        groups.append(
            (cond, split_at, key, owners, build_requests(plan, samples, lenders, cond, split_at))
        )
    return groups


def build_requests(
    plan: ScoringPlan, samples: np.ndarray, others: np.ndarray, condition: str, split_at: int
) -> list[ScoreRequest]:
    """The requests of one condition for samples (n, L[, C]) whose X′ are ``others`` (n, L[, C]),
    windows cut at r·ℓ."""
    length = samples.shape[1]
    end = plan.window_end(split_at, length) if split_at else length
    out = []
    for sample, other in zip(samples, others, strict=True):
        if condition == "no_split":
            out.append(ScoreRequest(sample[:0], sample, 0))
        elif condition == "split":
            out.append(ScoreRequest(other[:split_at], sample[split_at:end], split_at))
        else:  # marginal
            out.append(ScoreRequest(sample[:0], sample[split_at:end], split_at))
    return out


def rows_frame(
    backend: ScoringBackend,
    sample_ids: np.ndarray,
    requests: Sequence[ScoreRequest],
    logprobs: Sequence[np.ndarray],
    condition: str,
    split_at: int,
) -> pl.DataFrame:
    """token_logprobs rows (without run_id) of one condition for a batch; checks the values."""
    if len(logprobs) != len(requests):
        raise InputError(
            f"backend {backend.name!r} answered {len(logprobs)} of {len(requests)} requests",
            "a backend answers every request",
        )
    parts = []
    for sample_id, req, lp in zip(sample_ids, requests, logprobs, strict=True):
        n = len(req.continuation)
        lp = np.asarray(lp, dtype=np.float64)
        if lp.shape != (n,):
            raise InputError(
                f"backend {backend.name!r} returned {lp.shape} log-probs for {n} tokens",
                "a backend returns one log-prob per continuation token",
            )
        parts.append((sample_id, req.start_position, n, backend.token_ids(req), lp))
    logprob = np.concatenate([p[4] for p in parts])
    check_logprobs(backend, logprob, condition, split_at)
    n_rows = logprob.size
    return pl.DataFrame(
        {
            "sample_id": np.concatenate([np.full(n, s, dtype=np.int64) for s, _, n, _, _ in parts]),
            "condition": [condition] * n_rows,
            "split_at": np.full(n_rows, split_at, dtype=np.int32),
            "position": np.concatenate(
                [np.arange(p, p + n, dtype=np.int32) for _, p, n, _, _ in parts]
            ),
            "token_id": np.concatenate([p[3] for p in parts]),
            "logprob": logprob,
        }
    )


def check_logprobs(backend: ScoringBackend, logprob: np.ndarray, condition: str, split_at: int):
    """A backend's log-probs must be finite, and <= 0 for discrete tokens (nats)."""
    where = f"backend {backend.name!r}, condition {condition}, ℓ = {split_at}"
    bad = int(np.sum(~np.isfinite(logprob)))
    if bad:
        raise InputError(
            f"{where} returned {bad} NaN or infinite log-probs; nothing of this batch was written",
            "score in float32 (bf16/fp16 logits overflow), or check the model's weights",
        )
    if not backend.continuous and (high := int(np.sum(logprob > LOGPROB_TOLERANCE))):
        raise InputError(
            f"{where} returned {high} positive log-probs (max {logprob.max():.3g}); a "
            "log-probability is <= 0; nothing of this batch was written",
            "return log_softmax of the logits (not logits or -log q)",
        )


def check_sample_count(samples: Sequence[object] | np.ndarray, n: int) -> None:
    """Raise if a sample source returned the wrong number of samples."""
    if len(samples) != n:
        raise InputError(f"sample source returned {len(samples)} samples for {n} ids",
                         "return one sample per requested id")  # fmt: skip
