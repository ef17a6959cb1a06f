"""Position-wise KL (Eq. E.36) and NLL (Eq. E.38) of trained models, into position_metrics.

For every training run (pipelines.train; default: all complete ones, or --train-run ...):
  1. loads its checkpoint (refused when written under another config);
  2. evaluates --samples samples of its training length L_train: Gaussian — fresh samples of
     stream --eval-seed (the same for every model of one length: curves compare), KL analytic
     per position against the exact conditionals, with a Monte-Carlo check; text — the held-out
     windows of its corpus run, NLL per position;
  3. writes run kind `evaluation` (id eval-<training run>; config: the training run, checkpoint
     step, samples and their sha256 digest, averages with standard errors, kernel path) and its
     position_metrics rows (train_length = L_train, seq_len = the evaluated length, kl, nll,
     standard errors over samples, n, samples_digest); a rerun replaces them;
  4. for Gaussian lengths, the exact unconditional baseline q = N(0, 1) (kl = −log σ_p per
     position) as run baseline-<dataset>-L<L>-<rule>, model marginal-baseline.
Units: nats per token; for Gaussian tokens the mean over the token's copies (Eq. E.35's
normalization: ×copies gives the oracle's per-token sums). Prints the averages (Eqs. E.37, E.39).

Examples:
  python -m pipelines.evaluate
  python -m pipelines.evaluate --train-run train-gaussian-gpt2-tiny-L16 --samples 1000
  duckdb warehouse/l2m.duckdb < queries/training_average_kl.sql
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from l2m_analysis.cli import make_parser, nonnegative_int, positive_int, run_cli
from l2m_analysis.cli import table as cli_table
from l2m_analysis.errors import InputError
from l2m_analysis.models.build import configure_torch
from l2m_analysis.training import runs
from l2m_analysis.training.checkpoint import default_checkpoint_dir
from l2m_analysis.training.evaluate_run import (
    EVAL_KIND,
    baseline_evaluation,
    evaluate_training_run,
    position_rows,
)
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
        "--no-baseline", action="store_true", help="skip the unconditional Gaussian baseline"
    )
    return parser


def training_runs(wh: Warehouse, chosen: list[str] | None) -> list[str]:
    if chosen:
        for run_id in chosen:
            runs.stored_config(wh, run_id)
        return chosen
    found = wh.query(
        "SELECT run_id FROM runs WHERE kind = ? AND status = 'complete' ORDER BY run_id",
        [runs.TRAIN_KIND],
    )["run_id"].to_list()
    if not found:
        raise InputError(
            f"no complete training run in {wh.path}",
            "train one first: python -m pipelines.train --model gpt2-tiny --data gaussian",
        )
    return found


def store(wh: Warehouse, run_id: str, model: str, record: dict, rows, seed: int | None) -> None:
    """(Re)write an evaluation run: a previous one under other options is replaced whole."""
    if wh.has_run(run_id):
        old = json.loads(wh.require_run(run_id)["config"] or "{}")
        if old != json.loads(json.dumps(record, sort_keys=True, default=str)):
            wh.delete_run(run_id)
    wh.start_run(EVAL_KIND, run_id=run_id, model=model, dataset=record["dataset"],
                 config=record, seed=seed)  # fmt: skip
    wh.replace_partitions("position_metrics", rows)
    wh.finish_run(run_id)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_torch(args.threads)
    console = Console(highlight=False)
    summary, baselines = [], {}
    with Warehouse.open(args.warehouse, create=False) as wh:
        chosen = training_runs(wh, args.train_run)
        if (args.run_id or args.checkpoint_dir) and len(chosen) != 1:
            raise InputError(
                "--run-id and --checkpoint-dir name one evaluation",
                "pass exactly one --train-run with them",
            )
        with Progress(console=console) as progress:
            for train_run in chosen:
                config, _ = runs.stored_config(wh, train_run)
                bar = progress.add_task(f"evaluating {train_run}", total=args.samples)
                folder = args.checkpoint_dir or default_checkpoint_dir(wh.path, train_run)
                result = evaluate_training_run(
                    wh, train_run, folder, args.samples, args.eval_seed, args.batch_size,
                    args.device, lambda n, bar=bar: progress.advance(bar, n),
                )  # fmt: skip
                progress.update(bar, total=result.n_samples, completed=result.n_samples)
                eval_id = args.run_id or f"eval-{train_run}"
                rows = position_rows(eval_id, config.model, config.length, config.length,
                                     result.rows, result.digest)  # fmt: skip
                store(wh, eval_id, config.model, result.record, rows, args.eval_seed)
                summary.append((eval_id, result.record))
                if config.data == "gaussian" and not args.no_baseline:
                    base_id, base_rows, base_record = baseline_evaluation(config)
                    if base_id not in baselines:
                        store(wh, base_id, "marginal-baseline", base_record, base_rows, None)
                        baselines[base_id] = base_record
    print_summary(summary, baselines, console)
    return 0


def _pm(value, se) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" + (f"±{se:.3f}" if se is not None else "")


def print_summary(summary, baselines, console: Console) -> None:
    """Averages over positions (Eqs. E.37, E.39) with standard errors over samples, one table
    per dataset; MC KL is the Monte-Carlo check of the analytic KL."""
    by_dataset = {(b["dataset"], b["seq_len"]): b["averages"]["kl"] for b in baselines.values()}
    for dataset in sorted({r["dataset"] for _, r in summary}):
        table = cli_table(
            f"{dataset}: average KL and NLL over positions (nats per token, mean over copies)",
            [(c, "left" if c == "evaluation" else "right")
             for c in ["evaluation", "L_train", "n", "KL", "MC KL", "baseline", "NLL"]],
        )  # fmt: skip
        for eval_id, r in summary:
            if r["dataset"] != dataset:
                continue
            a = r["averages"]
            base = by_dataset.get((r["dataset"], r["seq_len"]))
            table.add_row(
                eval_id, str(r["train_length"]), str(r["n_samples"]),
                _pm(a.get("kl"), a.get("kl_stderr")), _pm(a.get("mc_kl"), None),
                "-" if base is None else f"{base:.3f}", _pm(a["nll"], a["nll_stderr"]),
            )  # fmt: skip
        console.print(table)
    console.print("position-wise: duckdb <warehouse> < queries/training_position_curves.sql")


if __name__ == "__main__":
    sys.exit(run_cli(main))
