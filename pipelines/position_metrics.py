"""Position-wise NLL (Eq. E.38) and KL divergence (Eq. E.36) of scored runs, nats per token.

The per-position values are a view over the stored tokens (position_metrics, built on
queries/staging/stg_position_metrics.sql): nothing is written. For every run with whole-sample
(no_split) log-probs in token_logprobs (or only --run-id), this
  1. checks its token_logprobs (columns, NaN or positive log-probs, conditions, duplicates);
  2. checks that a run whose config names a reference run ("reference_run_id", the exact log p
     of the same samples) scored the very same tokens (queries/position_kl.sql);
  3. prints the averages over positions with their standard errors over samples (Eqs. E.37,
     E.39; queries/average_metrics.sql). NLL per position: −mean over samples of log q
     (queries/position_nll.sql); KL per position: the closed-form KL of each token where the
     run has one (token_kl, pipelines.evaluate), else the mean of log p − log q against its
     reference run, else NULL.

Examples:
  python -m pipelines.position_metrics
  python -m pipelines.position_metrics --run-id my-model-run
  duckdb warehouse/l2m.duckdb < queries/position_kl.sql      # the same numbers, by hand
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import polars as pl
from rich.console import Console
from rich.progress import track

from l2m_analysis.cli import make_parser, plus_minus, run_cli
from l2m_analysis.cli import table as cli_table
from l2m_analysis.estimators.logprob_checks import validate_token_logprobs_sql
from l2m_analysis.estimators.position import average_metrics_sql, position_kl_sql
from l2m_analysis.warehouse import Warehouse

SCORERS = (
    "score a run first: python -m pipelines.score_oracle (Gaussian oracle) or another scoring "
    "step that writes no_split rows; python -m pipelines.run_all does it all"
)


def build_parser():
    """--warehouse, --run-id (default: every run with no_split log-probs)."""
    return make_parser("pipelines.position_metrics", __doc__)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    with Warehouse.open(args.warehouse, create=False) as wh:
        run_ids = wh.scored_runs(("no_split",), args.run_id, SCORERS)
        averages = []
        for run_id in track(run_ids, description="position metrics", console=console):
            validate_token_logprobs_sql(wh.con, run_id)
            kl = position_kl_sql(wh.con, run_id)  # refuses a reference with other tokens
            average = average_metrics_sql(wh.con, run_id)
            reference = average["reference_run_id"][0]
            if reference is not None and kl.height == 0:
                console.print(
                    f"[yellow]{run_id}: its reference run {reference!r} has no no_split rows "
                    "for the same (sample_id, position); kl left NULL[/]"
                )
            averages.append(average)
    print_averages(pl.concat(averages), console)
    return 0


def print_averages(averages: pl.DataFrame, console: Console) -> None:
    """Average NLL and KL per run (Eqs. E.37, E.39), nats per token."""
    table = cli_table(
        "Average NLL and KL over positions (nats per token, ± stderr over samples)",
        [(c, "right" if c.startswith(("seq", "avg")) else "left")
         for c in ["run", "model", "reference", "seq_len", "avg NLL", "avg KL", "KL"]],
    )  # fmt: skip
    for r in averages.iter_rows(named=True):
        table.add_row(
            r["run_id"], r["model"] or "-", r["reference_run_id"] or "-", str(r["seq_len"]),
            plus_minus(r["avg_nll"], r["avg_nll_stderr"]),
            plus_minus(r["avg_kl"], r["avg_kl_stderr"]), r["kl_method"] or "-",
        )  # fmt: skip
    console.print(table)
    console.print("position-wise values: SELECT * FROM position_metrics ORDER BY run_id, position")


if __name__ == "__main__":
    sys.exit(run_cli(main))
