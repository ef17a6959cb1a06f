"""Training throughput of GPT-2 vs Mamba vs Mamba2 at equal parameter count, on this machine.

GPT-2 (width --hidden, --layers blocks) is the baseline; Mamba and Mamba2 get the same width and
the number of blocks that brings their parameter count closest to GPT-2's (the paper pairs
12-layer GPT-2 with 24-layer Mamba). Each trains --steps AdamW steps on the sub-volume Gaussian
(batch --batch-size, L = --length tokens of --copies copies, the analytic KL loss of Eq. E.35)
after --warmup untimed steps, --repeats times. Printed: parameters, the range of ms per step
and of training tokens/s over the repeats, the best run's ratio to GPT-2's best in the same
run, and the kernel path that ran (on CPU: transformers' PyTorch reference path; Mamba's
sequential scan costs O(T²) memory traffic in its backward, so its ratio falls with --length).

  python -m benchmarks.training
  python -m benchmarks.training --length 256 --hidden 128
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace

from rich.console import Console
from rich.table import Table

from l2m_analysis.models.backbone import kernel_path
from l2m_analysis.models.build import configure_torch, parameter_count
from l2m_analysis.models.heads import ContinuousTokenModel
from l2m_analysis.models.presets import ModelPreset
from l2m_analysis.training.schedule import make_optimizer
from l2m_analysis.training.tasks import GaussianTask


def presets(hidden: int, layers: int) -> list[ModelPreset]:
    """GPT-2 and the Mamba/Mamba2 depth whose parameter count is closest to it."""
    gpt2 = ModelPreset("gpt2-bench", "gpt2", hidden, layers, heads=max(1, hidden // 32))
    target = backbone_params(gpt2)
    out = [gpt2]
    for arch, extra in (("mamba", {}), ("mamba2", {"head_dim": 32, "chunk_size": 64})):
        base = ModelPreset(f"{arch}-bench", arch, hidden, 1, **extra)
        gap = {n: abs(backbone_params(replace(base, layers=n)) - target)
               for n in range(1, 8 * layers + 1)}  # fmt: skip
        depth = min(gap, key=gap.get)
        out.append(replace(base, layers=depth))
    return out


def backbone_params(preset: ModelPreset) -> int:
    from l2m_analysis.models.backbone import build_backbone

    return parameter_count(build_backbone(preset, n_positions=8, vocab_size=1))


def time_training(preset: ModelPreset, task: GaussianTask, args) -> tuple[int, list[float]]:
    """(parameters, seconds per step of each timed repeat)."""
    from l2m_analysis.models import backbone as bb

    model = ContinuousTokenModel(
        bb.build_backbone(preset, task.length, vocab_size=1), preset.hidden, task.copies
    )
    optimizer = make_optimizer(model, 1e-3, 0.01, (0.9, 0.999))
    batches = [task.train_batch(s, args.batch_size) for s in range(args.warmup + args.steps)]

    def step(batch) -> None:
        loss = task.loss(model, batch, "cpu")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for batch in batches[: args.warmup]:
        step(batch)
    seconds = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        for batch in batches[args.warmup :]:
            step(batch)
        seconds.append((time.perf_counter() - started) / args.steps)
    return parameter_count(model), seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--length", type=int, default=64, help="L, a power of 4 (default 64)")
    parser.add_argument("--hidden", type=int, default=64, help="model width (default 64)")
    parser.add_argument("--layers", type=int, default=2, help="GPT-2 blocks (default 2)")
    parser.add_argument("--copies", type=int, default=4, help="copies per token (default 4)")
    parser.add_argument("--batch-size", type=int, default=4, help="default 4 (Appendix E)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="best of (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_torch(args.threads)
    console = Console(width=80)
    task = GaussianTask("subvolume", args.length.bit_length() // 2, args.copies, 0, "magnitude")
    table = Table(title=f"Training throughput, Gaussian L = {task.length}, batch "
                        f"{args.batch_size}, {args.threads} thread(s)")  # fmt: skip
    for column in ["model", "blocks", "parameters", "ms/step", "tokens/s", "vs GPT-2"]:
        table.add_column(column, justify="left" if column == "model" else "right")
    results = [(p, *time_training(p, task, args)) for p in presets(args.hidden, args.layers)]
    tokens = args.batch_size * task.length
    base = tokens / min(results[0][2])
    for preset, params, seconds in results:
        table.add_row(preset.arch, str(preset.layers), f"{params:,}",
                      f"{min(seconds) * 1e3:.1f}–{max(seconds) * 1e3:.1f}",
                      f"{tokens / max(seconds):,.0f}–{tokens / min(seconds):,.0f}",
                      f"{tokens / min(seconds) / base:.2f}x")  # fmt: skip
    console.print(table)
    for preset, _, _ in results:
        console.print(f"{preset.arch}: {kernel_path(preset.arch, 'cpu')}")
    ratios = ", ".join(f"{p.arch} {tokens / min(s) / base:.2f}x" for p, _, s in results[1:])
    console.print(f"ranges over {args.repeats} repeats of {args.steps} steps; best tokens/s "
                  f"relative to GPT-2's best (same run): {ratios}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
