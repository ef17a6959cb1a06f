"""Count 1-grams, adjacent 2-grams and token pairs d apart in a prepared corpus run.

Steps:
  1. reads the run's `tokens` Parquet batches one at a time (whole documents each) and groups
     them into blocks of at most --block-tokens tokens;
  2. forms pairs (w_i, w_{i+d}) for every d in --distances inside each document only (samples
     of a document are consecutive, so a pair may span two samples of the same document, never
     two documents), packs each pair into one 64-bit key x*V + y, and counts keys with
     --engine (numpy sort, Polars group_by or DuckDB GROUP BY: identical counts);
  3. the shuffle baseline: the same X and Y tokens re-paired (--baseline) so that any MI left
     is the estimator's bias floor;
  4. writes count-of-counts to `ngram_counts` (order 1, 2) and `pair_counts` (distance,
     shuffled), one batch per series, and prints pairs per distance.
Steps 1-3 are l2m_analysis.corpus.block_counting.count_token_files; this command only asks the
warehouse for the files, writes the batches and prints. A corpus larger than --block-tokens is
counted block by block with per-key partial counts spilled to --spill-dir in hash buckets and
merged bucket by bucket: memory stays bounded.
Rerunning counts only the series not yet committed, so new --distances add their series, and
a very large corpus can be counted a few distances at a time (less scratch disk per call).

Examples:
  python -m pipelines.count_ngrams --run-id books
  python -m pipelines.count_ngrams --run-id pg19 --distances 1 2 4 8 16 --engine duckdb
Next: python -m pipelines.twopoint_mi --run-id <run>
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.progress import Progress

from l2m_analysis.cli import make_parser, nonnegative_int, positive_int, run_cli
from l2m_analysis.cli import table as cli_table
from l2m_analysis.corpus.block_counting import (
    COUNT_STAGE,
    CountOptions,
    count_token_files,
    plan_counting,
)
from l2m_analysis.corpus.corpus_counts import CorpusCounts
from l2m_analysis.corpus.counting import ENGINES, check_key_packing
from l2m_analysis.corpus.series import BASELINES, DEFAULT_DISTANCES, check_distances
from l2m_analysis.errors import InputError, WarehouseError
from l2m_analysis.warehouse import Warehouse


def build_parser():
    parser = make_parser(
        "pipelines.count_ngrams", __doc__, run_id_help="the prepare_corpus run to count (required)"
    )
    parser.add_argument(
        "--distances",
        type=positive_int,
        nargs="+",
        default=list(DEFAULT_DISTANCES),
        help="pair distances d (default 1 2 4 ... 8192)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="numpy",
        help="numpy (default: sort + run lengths, fastest here), polars "
        "(hash group_by) or duckdb (SQL GROUP BY); counts are identical",
    )
    parser.add_argument(
        "--baseline",
        choices=BASELINES,
        default="shift",
        help="shuffle baseline: shift (default) rotates the Y stream by a seeded "
        "offset, keeping its serial correlation; permute: random permutation",
    )
    parser.add_argument(
        "--seed", type=nonnegative_int, default=0, help="seed of the baseline (default 0)"
    )
    parser.add_argument(
        "--block-tokens",
        type=positive_int,
        default=10_000_000,
        help="tokens counted in memory at once (default 1e7: ~1 GB, about 100 bytes per "
        "token); larger corpora stream block by block through --spill-dir",
    )
    parser.add_argument(
        "--spill-dir",
        type=Path,
        default=None,
        help="scratch folder for partial counts of multi-block corpora "
        "(default: <warehouse>_spill/<run>; removed when done)",
    )
    parser.add_argument(
        "--buckets",
        type=positive_int,
        default=16,
        help="hash buckets of the spilled partial counts (default 16); raise it "
        "if one bucket of the largest series does not fit in memory",
    )
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.run_id is None:
        raise InputError("--run-id is required", "pass the run written by prepare_corpus")
    distances = check_distances(args.distances)
    console = Console()
    with Warehouse.open(args.warehouse, create=False) as wh:
        run = wh.require_run(args.run_id)
        files = token_files(wh, args.run_id)
        vocab_size = corpus_vocab_size(wh, run)
        wanted = {("ngram_counts", f"order-{o}") for o in (1, 2)}
        wanted |= {
            ("pair_counts", f"pairs-d{d:06d}{s}") for d in distances for s in ("", "-baseline")
        }
        done = {(t, k) for t in ("ngram_counts", "pair_counts")
                for k in wh.committed_batches(t, args.run_id)}  # fmt: skip
        todo = tuple(d for d in distances if ("pair_counts", f"pairs-d{d:06d}") not in done
                     or ("pair_counts", f"pairs-d{d:06d}-baseline") not in done)  # fmt: skip
        if wanted <= done:
            console.print(f"run {args.run_id}: every requested series is already counted")
        else:  # only distances not yet counted (1-grams and 2-grams are cheap: always)
            spill = args.spill_dir or wh.path.parent / f"{wh.path.stem}_spill" / args.run_id
            options = CountOptions(engine=args.engine, baseline=args.baseline, seed=args.seed,
                                   block_tokens=args.block_tokens, buckets=args.buckets,
                                   spill_dir=spill)  # fmt: skip
            counts = count_with_progress(files, vocab_size, todo or (1,), options, console)
            write_counts(wh, args.run_id, counts, todo)
        print_summary(wh, args.run_id, distances, console)
    console.print(f"next: python -m pipelines.twopoint_mi --run-id {args.run_id}")
    return 0


def token_files(wh: Warehouse, run_id: str) -> list[tuple[Path, int]]:
    """The run's committed `tokens` Parquet files in batch order, with their row counts."""
    files = wh.batch_files("tokens", run_id)
    if sum(n for _, n in files) == 0:
        raise WarehouseError(
            f"run {run_id!r} has no tokens (empty corpus or not prepared)",
            f"python -m pipelines.prepare_corpus --run-id {run_id} [--source ...]",
        )
    return [(Path(path), n) for path, n in files]


def corpus_vocab_size(wh: Warehouse, run: dict) -> int:
    """The tokenizer's vocabulary size from the run config (else max token id + 1)."""
    config = json.loads(run["config"] or "{}") if isinstance(run["config"], str) else run["config"]
    vocab = (config or {}).get("vocab_size")
    if vocab is None:
        vocab = int(wh.query("SELECT max(token_id) + 1 AS v FROM tokens WHERE run_id = ?",
                             [run["run_id"]])["v"][0])  # fmt: skip
    return check_key_packing(int(vocab))


def count_with_progress(files, vocab_size, distances, options, console) -> CorpusCounts:
    """Steps 1-3 (``corpus.block_counting``) with a progress bar per stage."""
    plan = plan_counting(files, distances, options)
    label = f"counting {plan.n_tokens:,} tokens in {len(plan.blocks)} block(s)"
    with Progress(console=console) as progress:
        tasks = {COUNT_STAGE: progress.add_task(label, total=plan.count_steps)}

        def on_step(stage: str) -> None:
            if stage not in tasks:  # the merge bar appears once every block is counted
                tasks[stage] = progress.add_task("merging buckets", total=plan.merge_steps)
            progress.advance(tasks[stage])

        return count_token_files(files, vocab_size, distances, options, on_step)


def write_counts(wh: Warehouse, run_id: str, counts: CorpusCounts, distances) -> None:
    """Step 4: one batch per series (empty when no pair exists at that d, so a rerun knows it
    was counted); committed series are skipped (append_batch returns False)."""
    for order in (1, 2):
        part = counts.ngrams.filter(pl.col("order") == order)
        wh.append_batch("ngram_counts", run_id, f"order-{order}", part, meta={"order": order})
    for d in distances:
        for shuffled in (False, True):
            part = counts.pairs.filter((pl.col("distance") == d) & (pl.col("shuffled") == shuffled))
            key = f"pairs-d{d:06d}" + ("-baseline" if shuffled else "")
            meta = {"distance": d, "shuffled": shuffled}
            wh.append_batch("pair_counts", run_id, key, part, meta=meta)


def print_summary(wh: Warehouse, run_id: str, distances, console: Console) -> None:
    totals = wh.query(
        "SELECT distance, shuffled, sum(count * n_items) AS pairs, sum(n_items) AS distinct_pairs "
        "FROM pair_counts WHERE run_id = ? GROUP BY ALL ORDER BY ALL",
        [run_id],
    )
    table = cli_table(
        f"token pairs of run {run_id}",
        [(c, "right") for c in ("d", "pairs", "distinct pairs", "baseline pairs")],
    )
    real = {r["distance"]: r for r in totals.filter(~pl.col("shuffled")).iter_rows(named=True)}
    base = {r["distance"]: r for r in totals.filter(pl.col("shuffled")).iter_rows(named=True)}
    for d in distances:
        if d not in real:
            table.add_row(str(d), "0 (every document shorter than d: skipped)", "", "")
            continue
        table.add_row(str(d), f"{real[d]['pairs']:,}", f"{real[d]['distinct_pairs']:,}",
                      f"{base[d]['pairs']:,}" if d in base else "-")  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    sys.exit(run_cli(main))
