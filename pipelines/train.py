"""Train GPT-2, Mamba or Mamba2 on the sub-volume Gaussian or on text (Section 6, Appendix E).

  gaussian  fresh samples of the sub-volume Gaussian every step (L = 4^l tokens, each 64 stacked
            copies, Eq. E.34, after a zero BOS token); loss = the analytic average conditional
            KL of Eq. (E.35) against the exact conditionals, nats per token (mean over copies)
  text      windows of a corpus run's `tokens` (pipelines.prepare_corpus; the first --length
            tokens of each sentence-aligned sample); loss = average NLL, nats per token

AdamW with cosine decay after linear warmup and gradient clipping; --preset picks the optimizer
settings (paper: Appendix E's lr 5e-5, weight decay 0.01, 2000 warmup, batch 4 Gaussian / 8
text; cpu: a short run for this machine; test). Streams the training curve to the warehouse
(training_curve) and writes a checkpoint every --checkpoint-every steps to --checkpoint-dir
(default <warehouse>_checkpoints/<run-id>/latest.pt). A killed run resumes exactly: rerun the
same command (same --run-id and options). A completed text run is also written as a Hugging Face
folder (<checkpoint dir>/hf: config, weights, the corpus's tokenizer.json), which
pipelines.score_logprobs scores as q (--model <that folder>, or --model train:<run-id>).

Examples:
  python -m pipelines.train --model gpt2-tiny --data gaussian --length 64
  python -m pipelines.train --model mamba-tiny --data text --corpus-run corpus-embedded-neox
  python -m pipelines.train --model mamba-130m --data gaussian --length 1024 --preset paper \\
      --device cuda
Next: python -m pipelines.evaluate --train-run <run-id>
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from l2m_analysis.cli import make_parser, nonnegative_int, positive_int, run_cli
from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.construction import BOUNDARY_RULES, FAMILIES
from l2m_analysis.models.build import build_model, configure_torch, parameter_count
from l2m_analysis.models.presets import PRESETS
from l2m_analysis.training import records
from l2m_analysis.training.checkpoint import (
    LATEST,
    TrainState,
    default_checkpoint_dir,
    load_checkpoint,
)
from l2m_analysis.training.config import OPTIMIZER_PRESETS, TEXT_WINDOWS, TrainConfig, make_config
from l2m_analysis.training.hf_export import export_completed_run, tokenizer_file
from l2m_analysis.training.loop import train
from l2m_analysis.training.schedule import cosine_with_warmup, make_optimizer
from l2m_analysis.warehouse import Warehouse

OVERRIDES = {  # option -> (TrainConfig field, type, help)
    "--steps": ("max_steps", positive_int, "optimizer steps (default: the preset's)"),
    "--schedule-steps": ("schedule_steps", positive_int, "cosine horizon (default: --steps)"),
    "--batch-size": ("batch_size", positive_int, "samples per step (default: the preset's)"),
    "--lr": ("lr", float, "peak learning rate"),
    "--weight-decay": ("weight_decay", float, "AdamW weight decay"),
    "--warmup": ("warmup_steps", nonnegative_int, "linear warmup steps"),
    "--grad-clip": ("grad_clip", float, "max global gradient norm (default 1.0)"),
    "--seed": ("seed", nonnegative_int, "seeds the weights and the data (default 0)"),
    "--copies": ("copies", positive_int, "Gaussian copies per token (default 64, Eq. E.34)"),
    "--corpus-run": ("corpus_run", str, "text: the prepare_corpus run to train on"),
    "--tokenizer": ("tokenizer", str, "text: tokenizer the model's vocabulary belongs to "
                    "(default gpt-neox-20b); must match the corpus run's"),
    "--vocab-size": ("vocab_size", positive_int, "text: embedding rows (default 50432)"),
    "--bos-id": ("bos_id", nonnegative_int, "text: BOS token id (default 0, <|endoftext|>)"),
    "--holdout-every": ("holdout_every", positive_int, "text: samples with id %% N == 0 are "
                        "held out for evaluation (default 10)"),
    "--checkpoint-every": ("checkpoint_every", positive_int, "steps between checkpoints"),
    "--log-every": ("log_every", positive_int, "steps between training-curve rows"),
    "--eval-every": ("eval_every", nonnegative_int, "steps between eval rows (0: at the end)"),
    "--eval-samples": ("eval_samples", positive_int, "held-out samples of the eval rows"),
    "--device": ("device", str, "cpu, cuda or cuda:N (default cpu)"),
}  # fmt: skip


def build_parser():
    parser = make_parser(
        "pipelines.train", __doc__,
        run_id_help="id of the training run to write or resume (default: from the options)",
    )  # fmt: skip
    parser.add_argument("--model", required=True, help=f"model preset: {', '.join(PRESETS)}")
    parser.add_argument("--data", default="gaussian", help="gaussian (default) or text")
    parser.add_argument(
        "--length", type=positive_int, default=64,
        help="L_train, tokens per sample; 4^l for the Gaussian (default 64)",
    )  # fmt: skip
    parser.add_argument(
        "--preset", default="cpu", help=f"optimizer preset: {', '.join(OPTIMIZER_PRESETS)}"
    )
    parser.add_argument("--family", default=None, help=f"Gaussian family: {', '.join(FAMILIES)}")
    parser.add_argument("--boundary-rule", default=None, help=f"Eq. (B.23): {BOUNDARY_RULES}")
    parser.add_argument("--windows", default=None, help=f"text windows: {TEXT_WINDOWS}")
    for option, (_, kind, text) in OVERRIDES.items():
        parser.add_argument(option, type=kind, default=None, help=text)
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="CPU threads (default 1: fastest for small models on shared cores; not part of "
        "the run's config)",
    )
    parser.add_argument(
        "--checkpoint-dir", type=Path, default=None,
        help="folder of this run's checkpoint (default <warehouse>_checkpoints/<run-id>/)",
    )  # fmt: skip
    parser.add_argument(
        "--tokenizer-file", type=Path, default=None,
        help="text: the tokenizer.json the corpus was tokenized with, copied into the model "
        "folder (default: the embedded GPT-NeoX-20B's when the corpus used it)",
    )  # fmt: skip
    return parser


def config_of(args) -> TrainConfig:
    overrides = {field: getattr(args, opt[2:].replace("-", "_")) for opt, (field, _, _) in
                 OVERRIDES.items()}  # fmt: skip
    overrides.update(family=args.family, boundary_rule=args.boundary_rule, windows=args.windows)
    config = make_config(args.model, args.data, args.length, args.preset, **overrides)
    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {config.device}: no CUDA device here", "use --device cpu")
    return config


def default_run_id(config: TrainConfig) -> str:
    return f"train-{config.data}-{config.model}-L{config.length}-{config.digest()[:8]}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = config_of(args)
    configure_torch(args.threads)
    console = Console()
    with Warehouse.open(args.warehouse) as wh:
        task = records.make_task(config, wh)
        text = config.data == "text"
        tokenizer = records.corpus_tokenizer(wh, config.corpus_run) if text else None
        tokenizer_path = (
            tokenizer_file(tokenizer, args.tokenizer_file, config.corpus_run) if tokenizer else None
        )
        model = build_model(config.model_spec(), config.seed, config.device)
        record = records.run_record(config, tokenizer, parameter_count(model))
        run_id = wh.start_run(records.TRAIN_KIND, run_id=args.run_id or default_run_id(config),
                              **record)  # fmt: skip
        folder = args.checkpoint_dir or default_checkpoint_dir(wh.path, run_id)
        optimizer = make_optimizer(model, config.lr, config.weight_decay,
                                   (config.beta1, config.beta2))  # fmt: skip
        scheduler = cosine_with_warmup(optimizer, config.warmup_steps, config.total_schedule)
        state = TrainState()
        if (folder / LATEST).exists():
            state = load_checkpoint(folder / LATEST, config, model, optimizer, scheduler)
            console.print(f"resuming {run_id} at step {state.step} from {folder / LATEST}")
        held_out = records.held_out_samples(task, config.eval_samples, seed=config.seed)
        runtime = record["config"]["runtime"]

        def commit(rows, _state) -> None:
            if rows:
                wh.append_batch(records.CURVE_TABLE, run_id, records.curve_key(rows),
                                records.curve_frame(rows), meta=runtime)  # fmt: skip

        console.print(
            f"run {run_id}: {config.model} ({record['config']['n_params']:,} parameters) on "
            f"{config.dataset()}, L_train = {config.length}; {runtime['kernel_path']}"
        )
        with _progress(console) as progress:
            bar = progress.add_task("training", total=config.max_steps, completed=state.step,
                                    loss=float("nan"), speed=0.0)  # fmt: skip

            def on_step(s: TrainState, loss: float, speed: float) -> None:
                progress.update(bar, completed=s.step, loss=loss, speed=speed)

            state = train(config, task, model, optimizer, scheduler, state, folder, held_out,
                          commit, on_step)  # fmt: skip
        exported = export_completed_run(model, config, run_id, state.step, folder, tokenizer_path,
                                        tokenizer)  # fmt: skip
        wh.finish_run(run_id, summary={"model_dir": str(exported)} if exported else None)
        final = wh.query(
            "SELECT split, loss FROM training_curve WHERE run_id = ? AND step = ?",
            [run_id, state.step],
        )
    losses = {r["split"]: r["loss"] for r in final.iter_rows(named=True)}
    what = "KL (Eq. E.35)" if config.data == "gaussian" else "NLL"
    console.print(
        f"run {run_id}: {state.step} steps, {state.tokens:,} tokens, {state.elapsed_s:.1f} s; "
        f"final {what}: train {losses.get('train', float('nan')):.4f}, held-out "
        f"{losses.get('eval', float('nan')):.4f} nats per token; checkpoint {folder / LATEST}"
    )
    if exported is not None:
        note = "" if tokenizer_path else " (no tokenizer.json: pass --tokenizer-file to add one)"
        console.print(
            f"model folder {exported}{note}; score a corpus with it as q: python -m "
            f"pipelines.score_logprobs --model train:{run_id} --backend hf ..."
        )
    console.print(f"next: python -m pipelines.evaluate --train-run {run_id}")
    return 0


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.fields[speed]:,.0f} tok/s"),
        TimeElapsedColumn(), console=console,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(run_cli(main))
