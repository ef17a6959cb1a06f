"""Two-point mutual information I_d of a counted corpus run, with its shuffle baseline, in nats.

Steps (Section 4.3.2, Appendix A.VII):
  1. Grassberger entropies (Eq. 8-9, A.12-A.13) from the run's count-of-counts: Ĥ(X) = Ĥ(Y) of
     single tokens (quantity unigram), Ĥ of adjacent pairs (quantity adjacent_pair, used by the
     2-gram correction of Eq. A.14), Ĥ(XY_d) per distance (quantity pair_distance, shuffled
     false for the real pairs, true for the baseline); all written to `entropies`;
  2. I_d = Ĥ(X) + Ĥ(Y) − Ĥ(XY_d) (Eq. A.16) per distance to `mi_estimates` (quantity two_point,
     estimator grassberger), and the same for the baseline (estimator grassberger_shuffled):
     its value is the estimator's bias floor, which I_d approaches at large d; and their
     difference I_d − I_d^shuffled (estimator grassberger_minus_baseline), what α is fitted to;
  3. prints I_d ± stderr next to the baseline. Every stderr is the jackknife over
     --groups batches of consecutive samples (pairs in one document are not independent;
     estimators.two_point_groups); with --groups 0 it is the sum of the three entropies'
     standard errors (estimators.two_point).
Distances with no pair (every document shorter than d) are reported and skipped.
The fit I_d = A·d^(−α) + C (Eq. A.18) is python -m pipelines.fit_exponents --quantity two_point.

Examples:
  python -m pipelines.two_point_mi --run-id books
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import polars as pl
from rich.console import Console

from l2m_analysis.cli import make_parser, nonnegative_int, run_cli
from l2m_analysis.cli import table as cli_table
from l2m_analysis.errors import InputError
from l2m_analysis.steps.two_point_mi import (
    BASELINE_ESTIMATOR,
    ESTIMATOR,
    GROUPS,
    SUBTRACTED_ESTIMATOR,
    two_point_mi,
)
from l2m_analysis.warehouse import Warehouse


def build_parser():
    parser = make_parser(
        "pipelines.two_point_mi", __doc__, run_id_help="the counted corpus run (required)"
    )
    parser.add_argument(
        "--groups",
        type=nonnegative_int,
        default=GROUPS,
        help=f"batches of consecutive samples for the stderr of I_d (default {GROUPS}; 0: the "
        "independent-pairs bound)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.run_id is None:
        raise InputError("--run-id is required", "pass the run counted by count_ngrams")
    console = Console()
    with Warehouse.open(args.warehouse, create=False) as wh:
        outcome = two_point_mi(wh, args.run_id, groups=args.groups)
    for d in outcome.skipped:
        console.print(f"[yellow]d = {d}: no token pairs (every document shorter than d), skipped")
    print_estimates(outcome.estimates, args.run_id, console)
    console.print(
        f"next: python -m pipelines.fit_exponents --quantity two_point   (run {args.run_id})"
    )
    return 0


def print_estimates(estimates: pl.DataFrame, run_id: str, console: Console) -> None:
    """I_d, its baseline and the stored I_d − baseline (what α is fitted to) with its
    jackknife stderr, per distance."""
    table = cli_table(
        f"two-point MI of run {run_id} (nats)",
        [(c, "right") for c in ("d", "I_d ± stderr", "baseline (bias floor)",
                                "I_d − baseline ± stderr", "pairs")],
    )  # fmt: skip

    def by_distance(estimator: str) -> dict:
        rows = estimates.filter(pl.col("estimator") == estimator).iter_rows(named=True)
        return {r["distance"]: r for r in rows}

    base, subtracted = by_distance(BASELINE_ESTIMATOR), by_distance(SUBTRACTED_ESTIMATOR)
    for d, r in sorted(by_distance(ESTIMATOR).items()):
        b, s = base.get(d), subtracted.get(d)
        table.add_row(
            str(d), _with_stderr(r),
            f"{b['value']:.4f}" if b else "-",
            _with_stderr(s) if s else "-", f"{r['n']:,}",
        )  # fmt: skip
    console.print(table)


def _with_stderr(row: dict) -> str:
    se = row["stderr"]
    return f"{row['value']:.4f}" + ("" if se is None else f" ± {se:.4f}")


if __name__ == "__main__":
    sys.exit(run_cli(main))
