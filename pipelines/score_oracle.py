"""Score samples of a Gaussian family with the exact oracle (q = p) into token_logprobs.

Draws --samples samples of L = 4^--layers tokens, each token --copies independent copies (Eq.
E.34), seeded per sample (--seed), and writes the exact conditional log-densities (nats, summed
over the copies, token_id = -1) in three conditions: no_split (every position, split_at = 0),
split (Y of sample i after the X of another sample, a seeded derangement) and marginal (Y after
BOS only, the true p(Y)), for every split ℓ in --splits, each window Y = [ℓ, r·ℓ) with r the
largest of --ratios (default 2 3 4, recorded in the run's config) that fits in L
(scoring.plan). It also writes the exact answers for this run to mi_estimates: estimator exact
(I_BP) and exact_vclub (what vCLUB converges to with q = p) for each window X = [0, ℓ),
Y = [ℓ, ratio·ℓ), ratio in --ratios, ratio·ℓ <= L — the windows pipelines.bipartite_mi reports.

Batches commit atomically with deterministic keys: rerun a killed command (same --run-id and
options) to resume without duplicates.

Examples:
  python -m pipelines.score_oracle                        # subvolume, L = 256, 200 samples
  python -m pipelines.score_oracle --family log --layers 3 --samples 500 --splits 32 16
  python -m pipelines.bipartite_mi --run-id oracle-gaussian-subvolume   # then estimate
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence

import numpy as np
import polars as pl
from rich.console import Console

from l2m_analysis.cli import make_parser, positive_int, run_cli
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.bipartite import RATIOS
from l2m_analysis.gaussian.construction import (
    BOUNDARY_RULES,
    DEFAULT_BOUNDARY_RULE,
    FAMILIES,
    family_source,
)
from l2m_analysis.gaussian.curves import exact_window_estimates
from l2m_analysis.gaussian.exact import DENSE_MAX_LAYERS
from l2m_analysis.gaussian.sampling import PAPER_COPIES, GaussianSampleSource
from l2m_analysis.scoring.driver import score_run
from l2m_analysis.scoring.oracle import GaussianOracle
from l2m_analysis.scoring.plan import ScoringPlan, derangement
from l2m_analysis.warehouse import CONDITIONS, Warehouse

DEFAULTS = {"layers": 4, "samples": 200, "copies": PAPER_COPIES, "seed": 0, "batch_size": 50}


def build_parser():
    parser = make_parser("pipelines.score_oracle", __doc__)
    parser.add_argument(
        "--family", choices=list(FAMILIES), default="subvolume", help="default subvolume"
    )
    parser.add_argument(
        "--layers", type=int, default=DEFAULTS["layers"], help="l, L = 4^l (default 4: L = 256)"
    )
    parser.add_argument(
        "--samples",
        dest="samples",
        type=positive_int,
        default=DEFAULTS["samples"],
        help="samples to score (default 200)",
    )
    # the old name, kept for one release and hidden from --help
    parser.add_argument(
        "--pairs",
        dest="samples",
        type=positive_int,
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--ratios",
        nargs="+",
        type=int,
        default=list(RATIOS),
        help="ratios L/ℓ the estimators report (default 2 3 4)",
    )
    parser.add_argument(
        "--splits",
        nargs="+",
        type=int,
        default=None,
        help="split positions ℓ (default: L/2 and L/4)",
    )
    parser.add_argument(
        "--copies", type=int, default=DEFAULTS["copies"], help="copies per token (default 64)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="default 0")
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULTS["batch_size"], help="samples per batch"
    )
    parser.add_argument(
        "--conditions",
        nargs="+",
        choices=CONDITIONS,
        default=list(CONDITIONS),
        help="conditions to score (default: all three)",
    )
    parser.add_argument(
        "--boundary-rule",
        choices=BOUNDARY_RULES,
        default=DEFAULT_BOUNDARY_RULE,
        help="reading of Eq. (B.23) (see docs/gaussian.md)",
    )
    return parser


def check_args(args) -> list[int]:
    """Validate the options; returns the split positions ℓ."""
    if not 1 <= args.layers <= DENSE_MAX_LAYERS:
        raise InputError(
            f"--layers must be in [1, {DENSE_MAX_LAYERS}], got {args.layers}",
            "the marginal condition uses the dense covariance; use e.g. --layers 4",
        )
    length = 4**args.layers
    splits = args.splits or sorted({length // 2, length // 4} - {0})
    if any(not 1 <= s < length for s in splits):
        raise InputError(
            f"--splits must be in [1, {length - 1}], got {splits}", "use e.g. --splits L/2"
        )
    if args.copies < 1 or args.samples < 2 or args.batch_size < 1:
        raise InputError(
            "--copies and --batch-size must be >= 1 and --samples >= 2",
            "use e.g. --samples 200 --copies 64",
        )
    return sorted(set(splits))


def run_config(args, splits: list[int]) -> dict:
    return {
        "family": args.family,
        "layers": args.layers,
        "samples": args.samples,
        "windows": "Y = [ℓ, r·ℓ), r the largest of --ratios inside L",
        "ratios": sorted(args.ratios),
        "partners": "derangement, seed = --seed",
        "splits": splits,
        "copies": args.copies,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "conditions": sorted(args.conditions),
        "boundary_rule": args.boundary_rule,
    }


def default_run_id(args, config: dict) -> str:
    """``oracle-gaussian-<family>`` for default options, else with a hash of the options."""
    base = f"oracle-gaussian-{args.family}"
    defaults = build_parser().parse_args(["--family", args.family])
    if config == run_config(defaults, check_args(defaults)):
        return base
    return f"{base}-{hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    splits = check_args(args)
    config = run_config(args, splits)
    console = Console()
    started = time.perf_counter()
    oracle = GaussianOracle(args.family, args.layers, args.copies, args.boundary_rule)
    source = GaussianSampleSource(oracle.conditionals.model, args.seed, args.copies)
    plan = ScoringPlan(
        args.samples, tuple(splits), tuple(args.conditions), args.batch_size, tuple(args.ratios)
    )
    partners = derangement(np.arange(args.samples), args.seed)  # iid samples: any other one
    with Warehouse.open(args.warehouse) as wh:
        exact = exact_window_estimates(
            args.family, args.layers, splits, args.ratios, args.boundary_rule, copies=args.copies
        )
        run_id = wh.start_run(
            "oracle",
            run_id=args.run_id or default_run_id(args, config),
            model=oracle.name,
            dataset=family_source(args.family, args.copies),
            config={**config, "backend": oracle.describe()},
            seed=args.seed,
        )
        summary = score_run(wh, run_id, oracle, source, plan, partners)
        wh.replace_partitions("mi_estimates", exact.with_columns(run_id=pl.lit(run_id)))
        wh.finish_run(run_id)
    console.print(
        f"run {run_id}: {summary.batches_written} batches written "
        f"({summary.rows_written} rows), {summary.batches_skipped} already committed; "
        f"{exact.height} exact rows; {time.perf_counter() - started:.1f} s"
    )
    console.print(f"next: python -m pipelines.bipartite_mi --run-id {run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
