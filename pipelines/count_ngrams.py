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
The work is l2m_analysis.steps.count_ngrams; this command parses the options and prints. In
process (--scheduler local, the default), a corpus larger than --block-tokens is counted block
by block with per-key partial counts spilled to --spill-dir in hash buckets and merged bucket by
bucket: memory stays bounded. On a Dask cluster (--scheduler dask-local, tcp://..., or
--scheduler-file) each block read and each (block, series) count is a task, the partial counts
go to --spill-dir in --split-out hash buckets, and one task per bucket merges them; the tables
are identical (docs/scaling.md).
Rerunning counts only the series not yet committed, so new --distances add their series, and
a very large corpus can be counted a few distances at a time (less scratch disk per call).

Examples:
  python -m pipelines.count_ngrams --run-id books
  python -m pipelines.count_ngrams --run-id pg19 --distances 1 2 4 8 16 --engine duckdb
  python -m pipelines.count_ngrams --run-id pg19 --scheduler dask-local --workers 2
Next: python -m pipelines.two_point_mi --run-id <run>
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from rich.console import Console

from l2m_analysis.cli import (
    add_scheduler_options,
    make_parser,
    nonnegative_int,
    positive_int,
    run_cli,
    scheduler_choice,
)
from l2m_analysis.cli import table as cli_table
from l2m_analysis.cluster.connect import open_cluster
from l2m_analysis.cluster.counting import SHUFFLE_METHODS
from l2m_analysis.corpus.block_counting import CountOptions
from l2m_analysis.corpus.counting import ENGINES
from l2m_analysis.corpus.series import BASELINES, DEFAULT_DISTANCES
from l2m_analysis.errors import InputError
from l2m_analysis.progress import Stages
from l2m_analysis.steps.count_ngrams import count_ngrams
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
        help="scratch folder for partial counts of multi-block corpora (default: "
        "<warehouse>_spill/<run>; removed when done); on a Dask cluster every worker must "
        "be able to read and write it, like the warehouse",
    )
    parser.add_argument(
        "--buckets",
        type=positive_int,
        default=16,
        help="hash buckets of the spilled partial counts (default 16); raise it "
        "if one bucket of the largest series does not fit in memory",
    )
    parser.add_argument(
        "--split-out",
        type=positive_int,
        default=None,
        help="Dask only: hash buckets (disk; default: --buckets, at least one per block) or "
        "partitions of the DataFrame shuffle (tasks, p2p; default: one per task); raise it "
        "when one bucket's partial counts do not fit a worker",
    )
    parser.add_argument(
        "--shuffle-method",
        choices=SHUFFLE_METHODS,
        default="auto",
        help="Dask only: how partial counts of a key meet. disk (auto, the default): numpy "
        "hash buckets through --spill-dir, merged one bucket per task (fastest, memory "
        "bounded by the block); tasks (a Dask DataFrame shuffle in worker memory) or p2p "
        "(its disk-backed form), for workers that share no scratch folder",
    )
    add_scheduler_options(parser)
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.run_id is None:
        raise InputError("--run-id is required", "pass the run written by prepare_corpus")
    console = Console()
    with Warehouse.open(args.warehouse, create=False) as wh:
        spill = args.spill_dir or wh.path.parent / f"{wh.path.stem}_spill" / args.run_id
        options = CountOptions(engine=args.engine, baseline=args.baseline, seed=args.seed,
                               block_tokens=args.block_tokens, buckets=args.buckets,
                               spill_dir=spill)  # fmt: skip
        with open_cluster(scheduler_choice(args), console.print) as client, Stages(console) as bars:
            outcome = count_ngrams(
                wh, args.run_id, tuple(args.distances), options, client=client,
                split_out=args.split_out, shuffle_method=args.shuffle_method, stages=bars,
            )  # fmt: skip
    if not outcome.n_tokens:
        console.print(f"run {args.run_id}: every requested series is already counted")
    print_summary(outcome.totals, args.run_id, sorted(set(args.distances)), console)
    console.print(f"next: python -m pipelines.two_point_mi --run-id {args.run_id}")
    return 0


def print_summary(totals: pl.DataFrame, run_id: str, distances, console: Console) -> None:
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
