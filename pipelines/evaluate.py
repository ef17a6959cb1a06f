"""Position-wise KL (Eq. E.36) and NLL (Eq. E.38) of trained models, from their token log-probs.

For every training run (pipelines.train; default: all complete ones, or --train-run ...):
  1. loads its checkpoint (refused when written under another config);
  2. scores --samples samples of its training length L_train: Gaussian — fresh samples of
     stream --eval-seed (the same for every model of one length: curves compare); text — the
     held-out windows of its corpus run;
  3. writes run kind `evaluation` (id eval-<training run>; config: the training run, checkpoint
     step, samples and their sha256 digest, kernel path) and one row per (sample, position) to
     token_logprobs (log q, nats; a Gaussian token's log-density summed over its copies, as the
     oracle's), streamed in blocks of whole samples: a killed evaluation rerun with the same
     options writes only what it lacks, one rerun with other options replaces it. Gaussian
     runs also get token_kl (the analytic KL of each token given its sample's prefix against
     the exact conditionals) and a reference run <evaluation>-exact-p with the exact log p of
     the same tokens (so the Monte-Carlo KL is a query too);
  4. for Gaussian lengths, the exact unconditional baseline q = N(0, 1) (kl = −log σ_p per
     position) as run baseline-<dataset>-L<L>-<rule>, model marginal-baseline
     (exact_position_metrics).
The curves and averages are queries over those rows (position_metrics, queries/position_kl.sql,
position_nll.sql, average_metrics.sql, training_*.sql). Units: nats per token; for Gaussian
tokens the mean over the token's copies (Eq. E.35's normalization). Prints the averages (Eqs.
E.37, E.39) with standard errors over samples.

Examples:
  python -m pipelines.evaluate
  python -m pipelines.evaluate --train-run train-gaussian-gpt2-tiny-L16 --samples 1000
  duckdb warehouse/l2m.duckdb < queries/training_average_kl.sql
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from l2m_analysis.cli import make_parser, nonnegative_int, plus_minus, positive_int, run_cli
from l2m_analysis.cli import table as cli_table
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.position import average_metrics_sql
from l2m_analysis.models.build import configure_torch
from l2m_analysis.training import records
from l2m_analysis.training.checkpoint import default_checkpoint_dir
from l2m_analysis.training.evaluate_run import evaluate_training_run, store_baseline
from l2m_analysis.training.evaluation import ROWS_PER_FILE
from l2m_analysis.warehouse import Warehouse

DEFAULT_EVAL_SEED = 1234


def build_parser():
    parser = make_parser(
        "pipelines.evaluate", __doc__,
        run_id_help="id of the evaluation run (only with one --train-run; default "
        "eval-<training run>)",
    )  # fmt: skip
    parser.add_argument(
        "--train-run", nargs="+", default=None,
        help="training runs to evaluate (default: every complete pipelines.train run)",
    )  # fmt: skip
    parser.add_argument(
        "--samples", type=positive_int, default=256,
        help="evaluation samples per model (default 256; text: at most the held-out windows)",
    )  # fmt: skip
    parser.add_argument(
        "--eval-seed", type=nonnegative_int, default=DEFAULT_EVAL_SEED,
        help=f"seed of the Gaussian evaluation samples (default {DEFAULT_EVAL_SEED})",
    )  # fmt: skip
    parser.add_argument(
        "--batch-size", type=positive_int, default=32, help="samples per forward pass"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--threads", type=positive_int, default=1, help="CPU threads")
    parser.add_argument(
        "--checkpoint-dir", type=Path, default=None,
        help="folder holding latest.pt (only with one --train-run; default "
        "<warehouse>_checkpoints/<training run>/)",
    )  # fmt: skip
    parser.add_argument(
        "--rows-per-file", type=positive_int, default=ROWS_PER_FILE,
        help=f"token rows per committed block of whole samples (default {ROWS_PER_FILE}): "
        "the unit a killed evaluation resumes from",
    )  # fmt: skip
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the unconditional Gaussian baseline"
    )
    return parser


def training_runs(wh: Warehouse, chosen: list[str] | None) -> list[str]:
    if chosen:
        for run_id in chosen:
            records.stored_config(wh, run_id)
        return chosen
    found = wh.query(
        "SELECT run_id FROM runs WHERE kind = ? AND status = 'complete' ORDER BY run_id",
        [records.TRAIN_KIND],
    )["run_id"].to_list()
    if not found:
        raise InputError(
            f"no complete training run in {wh.path}",
            "train one first: python -m pipelines.train --model gpt2-tiny --data gaussian",
        )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_torch(args.threads)
    console = Console(highlight=False)
    evaluated, baselines = [], {}
    with Warehouse.open(args.warehouse, create=False) as wh:
        chosen = training_runs(wh, args.train_run)
        if (args.run_id or args.checkpoint_dir) and len(chosen) != 1:
            raise InputError(
                "--run-id and --checkpoint-dir name one evaluation",
                "pass exactly one --train-run with them",
            )
        with Progress(console=console) as progress:
            for train_run in chosen:
                config, _ = records.stored_config(wh, train_run)
                bar = progress.add_task(f"evaluating {train_run}", total=args.samples)
                folder = args.checkpoint_dir or default_checkpoint_dir(wh.path, train_run)
                result = evaluate_training_run(
                    wh, train_run, folder, args.run_id or f"eval-{train_run}", args.samples,
                    args.eval_seed, args.batch_size, args.device, args.rows_per_file,
                    lambda n, bar=bar: progress.advance(bar, n),
                )  # fmt: skip
                n = result.record["n_samples"]
                progress.update(bar, total=n, completed=n)
                evaluated.append(result)
                if config.data == "gaussian" and not args.no_baseline:
                    base_id = store_baseline(wh, config)
                    baselines[(config.dataset(), config.length)] = base_id
        averages = average_metrics_sql(wh.con)
    print_summary(evaluated, baselines, averages, console)
    return 0


def print_summary(evaluated, baselines, averages, console: Console) -> None:
    """Averages over positions (Eqs. E.37, E.39) with standard errors over samples, one table
    per dataset, from queries/average_metrics.sql; MC KL is the Monte-Carlo check of the
    analytic KL (mean of log p − log q against the exact-p reference run)."""
    by_run = {r["run_id"]: r for r in averages.iter_rows(named=True)}
    for dataset in sorted({e.record["dataset"] for e in evaluated}):
        table = cli_table(
            f"{dataset}: average KL and NLL over positions (nats per token, mean over copies)",
            [(c, "left" if c == "evaluation" else "right")
             for c in ["evaluation", "L_train", "n", "KL", "MC KL", "baseline", "NLL"]],
        )  # fmt: skip
        for e in evaluated:
            r = e.record
            if r["dataset"] != dataset:
                continue
            a = by_run[e.run_id]
            base = by_run.get(baselines.get((dataset, r["seq_len"])), {}).get("avg_kl")
            table.add_row(
                e.run_id, str(r["train_length"]), str(r["n_samples"]),
                plus_minus(a["avg_kl"], a["avg_kl_stderr"], 3), plus_minus(a["avg_mc_kl"], None, 3),
                plus_minus(base, None, 3), plus_minus(a["avg_nll"], a["avg_nll_stderr"], 3),
            )  # fmt: skip
        console.print(table)
    console.print("position-wise: duckdb <warehouse> < queries/training_position_curves.sql")


if __name__ == "__main__":
    sys.exit(run_cli(main))
