"""The score_logprobs step: a prepared corpus scored by a language model q into
``token_logprobs`` (the three conditions of the windowed plan), in process or on Dask.

Before any model is loaded or any row written: the model folder, the plan, the context length,
the corpus's tokenizer (it must be the model's) and the vocabulary are checked. Samples are
chosen with the seed (spread over documents; a q trained on this corpus run only among the
samples it held out), X′ comes from a seeded cross-document
derangement, and the run records q (name, weights and tokenizer sha256, BOS), the backend, the
plan and the chosen samples, then the throughput.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from l2m_analysis.progress import Stages
from l2m_analysis.scoring import ScoringPlan, default_splits, derangement, score_run
from l2m_analysis.scoring.driver import ScoringSummary
from l2m_analysis.scoring.llm_checks import check_context, check_corpus_for_model, check_vocabulary
from l2m_analysis.scoring.plan import RATIOS
from l2m_analysis.scoring.samples import choose_samples, unseen_by_model, windows_from_tokens
from l2m_analysis.scoring.specs import EMBEDDED_MODEL, LLMSpec, opened, resolve_model
from l2m_analysis.warehouse import Warehouse


@dataclass(frozen=True)
class LogprobScoring:
    """The score_logprobs options (see ``python -m pipelines.score_logprobs --help``)."""

    corpus_run: str
    model: str = EMBEDDED_MODEL
    backend: str = "vllm"
    samples: int = 32
    length: int = 256
    splits: tuple[int, ...] | None = None
    ratios: tuple[int, ...] = RATIOS
    seed: int = 0
    batch_size: int = 8
    dtype: str = "float32"
    device: str = "cpu"
    tensor_parallel: int = 1
    max_num_batched_tokens: int | None = None


@dataclass(frozen=True)
class ScoredRun:
    run_id: str
    model: str
    summary: ScoringSummary
    wall_seconds: float


def score_logprobs(
    wh: Warehouse,
    options: LogprobScoring,
    *,
    run_id: str | None = None,
    client: Any = None,
    stages: Stages | None = None,
) -> ScoredRun:
    """Check, choose the samples, register (or resume) the run and score it."""
    stages = stages or Stages.quiet()
    model_dir, identity = resolve_model(options.model, wh.path)  # bad folder: a clear error
    splits = tuple(sorted(set(options.splits or default_splits(options.length))))
    plan = ScoringPlan(options.samples, splits, batch_size=options.batch_size,
                       ratios=tuple(options.ratios))  # fmt: skip
    plan.validate(options.length)
    check_context(options.length, identity)
    corpus = wh.require_run(options.corpus_run)
    check_corpus_for_model(corpus, identity, str(model_dir))
    lengths = wh.query(
        "SELECT sample_id, any_value(doc_id) AS doc_id, count(*) AS n_tokens FROM tokens "
        "WHERE run_id = ? GROUP BY sample_id",
        [options.corpus_run],
    )
    lengths = unseen_by_model(lengths, model_dir, options.corpus_run)  # a trained q: held out
    choice = choose_samples(lengths, options.length, options.samples, options.seed,
                            options.corpus_run)  # fmt: skip
    wh.con.register("_chosen", pl.DataFrame({"sample_id": choice.corpus_sample_ids}))
    tokens = wh.query(
        "SELECT sample_id, position, token_id FROM tokens JOIN _chosen USING (sample_id) "
        "WHERE run_id = ? AND position < ?",
        [options.corpus_run, options.length],
    )
    windows = windows_from_tokens(tokens, choice, options.length)
    check_vocabulary(int(windows.tokens.max()), identity)
    partners = derangement(windows.doc_ids, options.seed)
    config = {
        "corpus_run_id": options.corpus_run, "model": asdict(identity),
        "backend": options.backend, "model_dir": str(model_dir), "dtype": options.dtype,
        "device": options.device, "samples": options.samples, "length": options.length,
        "splits": list(splits), "ratios": sorted(options.ratios), "seed": options.seed,
        "batch_size": options.batch_size, "bos_id": identity.bos_id,
        "partners": "derangement across documents (scoring.plan), seed = seed",
        "corpus_sample_ids": choice.corpus_sample_ids.tolist(),
    }  # fmt: skip
    run_id = wh.start_run("llm", run_id=run_id, model=identity.name,
                          tokenizer=corpus["tokenizer"], dataset=corpus["dataset"],
                          config=config, seed=options.seed)  # fmt: skip
    stages.note(
        f"run {run_id}: q = {identity.name} ({options.backend}, {options.dtype}), "
        f"{options.samples} samples of {options.length} tokens from {options.corpus_run}"
    )
    spec = LLMSpec(options.backend, str(model_dir), identity.bos_id, options.dtype,
                   options.device, options.tensor_parallel,
                   options.max_num_batched_tokens)  # fmt: skip
    started = time.perf_counter()
    if client is None:
        with opened(spec) as backend:
            summary = score_run(wh, run_id, backend, windows, plan, partners)
    else:
        from l2m_analysis.cluster.scoring import score_run_on_dask

        summary = score_run_on_dask(client, str(wh.root), run_id, spec, windows, plan, partners,
                                    stages=stages)  # fmt: skip
    wall = time.perf_counter() - started
    wh.finish_run(run_id, summary={
        **asdict(summary), "tokens_per_second": summary.tokens_per_second,
        "wall_seconds": wall, "tokens_per_sample": plan.tokens_forwarded(options.length),
        "full_length_tokens_per_sample": plan.full_length_tokens(options.length),
        "scheduler": "in process" if client is None else "dask",
    })  # fmt: skip
    return ScoredRun(run_id, identity.name, summary, wall)
