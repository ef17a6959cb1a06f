"""Token rows of an evaluation: their write cost against the aggregated evaluation, and the query
time of per-position curves over 10⁷ rows, on this machine.

Part 1, the write overhead. One tiny model (--model, random weights) evaluates --samples samples
(a Gaussian of each --length tokens × --copies copies, and held-out-like text windows of
--text-length tokens in GPT-NeoX's vocabulary) into a real warehouse, two ways, each timed
--repeats times, alternately, with the model, task and samples built outside the timing:

* ``aggregated`` (the baseline: pipelines.evaluate before its rows went to token_logprobs):
  the forward passes (``task.metrics``), per-position means and standard errors in numpy, and
  one result-table file of L rows;
* ``token rows`` (today's pipelines.evaluate, ``evaluate_run.write_blocks``): the same forward
  passes, then E·L rows committed to token_logprobs (+ token_kl and the exact-p reference run
  for the Gaussian: 3·E·L rows).

Part 2, the queries. --rows token rows of one Gaussian-like evaluation (--rows / 1000 samples of
1000 positions) are written with their token_kl rows and a reference run (3·--rows rows in
all); then ``position_nll.sql``, ``position_kl.sql`` (analytic KL, and the Monte-Carlo KL's
join with the reference run) and ``average_metrics.sql`` for that run are timed --repeats times.

Printed: ranges over the repeats (seconds), rows per second, and last the ratio of the token-row
evaluation's best time to the aggregated one's best (goal: ≤ 1.2×).

  python -m benchmarks.evaluation_rows
  python -m benchmarks.evaluation_rows --rows 1000000 --repeats 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

from l2m_analysis.models.build import build_model, configure_torch
from l2m_analysis.training import evaluation
from l2m_analysis.training.config import make_config
from l2m_analysis.training.evaluate_run import write_blocks
from l2m_analysis.training.tasks import EVAL_STREAM, GaussianTask, TextTask
from l2m_analysis.warehouse import Warehouse

POSITIONS = 1000  # part 2: positions per sample


def aggregated(wh: Warehouse, run_id: str, task, model, samples, batch_size: int) -> None:
    """The evaluation before token rows: forward, numpy per-position statistics, one file."""
    wh.start_run("evaluation", run_id=run_id, dataset="bench", config={"batch_size": batch_size})
    metrics = evaluation.evaluate_in_batches(
        lambda s: task.metrics(model, s, "cpu"), samples, batch_size
    )
    nll = metrics["nll"]
    kl = metrics.get("kl", np.full_like(nll, np.nan))
    n, length = nll.shape
    stderr = {k: v.std(0, ddof=1) / np.sqrt(n) for k, v in (("kl", kl), ("nll", nll))}
    rows = pl.DataFrame({
        "run_id": run_id, "seq_len": np.full(length, length, np.int32),
        "position": np.arange(length, dtype=np.int32), "kl": kl.mean(0), "nll": nll.mean(0),
        "kl_stderr": stderr["kl"], "nll_stderr": stderr["nll"],
    })  # fmt: skip
    wh.replace_partitions("exact_position_metrics", rows.drop("kl_stderr", "nll_stderr"))
    wh.finish_run(run_id)


def token_rows(wh: Warehouse, run_id: str, task, model, samples, batch_size: int) -> None:
    """Today's evaluation: the same forward, E·L rows per table (the pipeline's own code)."""
    gaussian = isinstance(task, GaussianTask)
    reference = f"{run_id}-exact-p" if gaussian else None
    record = {"copies": task.copies if gaussian else 1, "batch_size": batch_size,
              "rows_per_file": evaluation.ROWS_PER_FILE, "dataset": "bench"}  # fmt: skip
    for run in filter(None, (run_id, reference)):
        wh.start_run("evaluation", run_id=run, dataset="bench", config=record)
    write_blocks(wh, record, run_id, reference, task, model, samples, "cpu", None)
    for run in filter(None, (reference, run_id)):
        wh.finish_run(run)


def timed(fn: Callable[..., object], *args: object) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def part1(wh: Warehouse, args, console: Console) -> float:
    """Times both evaluations of both data kinds; returns the worst ratio of best times."""
    cases = []
    for length in args.length:
        config = make_config(args.model, "gaussian", length, "test", copies=args.copies)
        gaussian = GaussianTask("subvolume", config.layers, args.copies, 0, "magnitude")
        cases.append(("Gaussian", config, gaussian,
                      gaussian.samples(EVAL_STREAM, range(args.samples), seed=1234)))  # fmt: skip
    text_config = make_config(args.model, "text", args.text_length, "test", corpus_run="bench")
    ids = np.random.default_rng(0).integers(0, 50277, (args.samples, args.text_length))
    text = TextTask(ids, ids, bos_id=0, seed=0)
    cases.append(("text", text_config, text, text.held_out))
    table = Table(title=f"Evaluation of {args.samples} samples, {args.model}, write cost "
                        f"(seconds over {args.repeats} repeats)")  # fmt: skip
    for column in ["data", "L", "token rows", "aggregated", "token rows (s)", "ratio"]:
        table.add_column(column, justify="left" if column == "data" else "right")
    worst = 0.0
    for name, config, task, samples in cases:
        model = build_model(config.model_spec(), seed=0).eval()
        task.metrics(model, samples[:32], "cpu")  # warm-up, untimed
        times: dict[str, list[float]] = {"aggregated": [], "token rows": []}
        for repeat in range(args.repeats):
            for way, fn in (("aggregated", aggregated), ("token rows", token_rows)):
                run = f"bench-{name.lower()}-{task.length}-{way.replace(' ', '-')}-{repeat}"
                times[way].append(timed(fn, wh, run, task, model, samples, 32))
        ratio = min(times["token rows"]) / min(times["aggregated"])
        worst = max(worst, ratio)
        rows = len(samples) * task.length * (3 if name == "Gaussian" else 1)
        table.add_row(name, str(task.length), f"{rows:,}", _range(times["aggregated"]),
                      _range(times["token rows"]), f"{ratio:.2f}x")  # fmt: skip
    console.print(table)
    return worst


def write_synthetic(wh: Warehouse, rows: int) -> str:
    """One Gaussian-like evaluation of ``rows`` token rows, its token_kl rows and its reference
    run, in files of about a million rows; returns the evaluation's run id."""
    n_samples = rows // POSITIONS
    per_file = max(1, 1_000_000 // POSITIONS)
    wh.start_run("evaluation", run_id="big-exact-p", dataset="bench", config={"copies": 4})
    wh.start_run("evaluation", run_id="big", dataset="bench",
                 config={"copies": 4, "reference_run_id": "big-exact-p"})  # fmt: skip
    rng = np.random.default_rng(0)
    for start in range(0, n_samples, per_file):
        n = min(per_file, n_samples - start)
        key = evaluation.block_key(start, start + n)
        log_q = -np.abs(rng.normal(5.0, 1.0, (n, POSITIONS)))
        wh.append_batch("token_logprobs", "big", key, evaluation.logprob_rows(start, log_q, None))
        kl = np.abs(rng.normal(0.4, 0.1, (n, POSITIONS)))
        wh.append_batch("token_kl", "big", key, evaluation.kl_rows(start, kl))
        log_p = log_q + rng.normal(0.1, 0.05, (n, POSITIONS))
        wh.append_batch("token_logprobs", "big-exact-p", key,
                        evaluation.logprob_rows(start, log_p, None))  # fmt: skip
    return "big"


def part2(wh: Warehouse, args, console: Console) -> None:
    seconds = timed(write_synthetic, wh, args.rows)
    console.print(f"wrote {args.rows:,} token rows, {args.rows:,} token_kl rows and "
                  f"{args.rows:,} reference rows in {seconds:.1f} s")  # fmt: skip
    samples = args.rows // POSITIONS
    table = Table(title=f"Per-position curves of one run of {args.rows:,} token rows "
                        f"({samples:,} samples × {POSITIONS} positions)")  # fmt: skip
    for column in ["query", "rows out", "seconds", "token rows/s (best)"]:
        table.add_column(column, justify="left" if column == "query" else "right")
    for name in ("position_nll", "position_kl", "average_metrics"):
        times, out = [], None
        for _ in range(args.repeats):
            started = time.perf_counter()
            out = wh.query_file(name, {"run_id": "big"})
            times.append(time.perf_counter() - started)
        table.add_row(name, f"{out.height:,}", _range(times), f"{args.rows / min(times):,.0f}")
    console.print(table)


def _range(values: Sequence[float]) -> str:
    return f"{min(values):.3f}–{max(values):.3f}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.evaluation_rows", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--model", default="gpt2-tiny", help="model preset (default gpt2-tiny)")
    parser.add_argument("--samples", type=int, default=256, help="evaluation samples (256)")
    parser.add_argument("--length", type=int, nargs="+", default=[64, 256],
                        help="Gaussian L, 4^l (default 64 256)")  # fmt: skip
    parser.add_argument("--copies", type=int, default=64, help="copies per token (default 64)")
    parser.add_argument("--text-length", type=int, default=128, help="text L (default 128)")
    parser.add_argument("--rows", type=int, default=10_000_000, help="part 2 rows (10⁷)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_torch(args.threads)
    console = Console(width=80)
    with tempfile.TemporaryDirectory() as folder:
        with Warehouse.open(Path(folder) / "l2m.duckdb", notify=lambda _: None) as wh:
            ratio = part1(wh, args, console)
            part2(wh, args, console)
    console.print(
        "ranges over repeats on a machine whose 2 cores may be shared; token rows vs "
        f"aggregated evaluation, best times: worst case {ratio:.2f}x (goal ≤ 1.2x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
