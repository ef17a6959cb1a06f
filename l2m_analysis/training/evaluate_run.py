"""Evaluate one trained model: position-wise KL and NLL on exact, named samples.

``evaluate_training_run`` loads a run's checkpoint (refusing one written under another config),
draws its evaluation samples — Gaussian: stream 1 of ``--eval-seed`` (never trained on; the same
samples for every model of one length, so their curves compare), text: the held-out windows of
the corpus run — and names them by a sha256 digest of the exact sample array. For the Gaussian
the KL of every position is analytic given the sample's prefix (Eq. E.35's summand against the
exact conditionals, computed on the very array the model saw); a Monte-Carlo KL (log p − log q
of the sample) is kept beside it as a check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from l2m_analysis.errors import InputError
from l2m_analysis.models.build import build_model, describe_runtime, parameter_count
from l2m_analysis.training import evaluation, runs
from l2m_analysis.training.checkpoint import LATEST, load_checkpoint
from l2m_analysis.training.config import TrainConfig
from l2m_analysis.training.tasks import GaussianTask, digest_array

EVAL_KIND = "evaluation"
BASELINE_MODEL = "marginal-baseline"
KL_UNIT = "nats per token, mean over its copies (Eq. E.35 normalization)"


@dataclass(frozen=True)
class Evaluation:
    """The rows for ``position_metrics`` and the facts for the evaluation run's record."""

    rows: pl.DataFrame  # position, kl, kl_stderr, nll, nll_stderr, n
    digest: str
    n_samples: int
    averages: dict[str, float | None]
    record: dict[str, Any]


def checkpoint_path(folder: Path, run_id: str) -> Path:
    path = folder / LATEST
    if not path.exists():
        raise InputError(
            f"no checkpoint of training run {run_id!r} at {path}",
            "train it first (python -m pipelines.train --run-id ... with its options), or pass "
            "--checkpoint-dir where its latest.pt is",
        )
    return path


def evaluate_training_run(
    wh, run_id: str, folder: Path, n_samples: int, eval_seed: int, batch_size: int,
    device: str, on_batch: Callable[[int], None] | None = None,
) -> Evaluation:  # fmt: skip
    """Evaluate the latest checkpoint of training run ``run_id`` found in ``folder``."""
    config, stored = runs.stored_config(wh, run_id)
    path = checkpoint_path(folder, run_id)
    model = build_model(config.model_spec(), config.seed, device)
    state = load_checkpoint(path, config, model)
    model.eval()
    task = runs.make_task(config, wh)
    samples = runs.held_out_samples(task, n_samples, seed=eval_seed)
    label = task.label if isinstance(task, GaussianTask) else f"{config.dataset()} held-out"
    digest = digest_array(samples, f"{label} seed={eval_seed} n={len(samples)}")
    metrics = evaluation.evaluate_in_batches(
        lambda s: task.metrics(model, s, device), samples, batch_size, on_batch
    )
    averages = evaluation.averages(metrics)
    table = evaluation.position_table(metrics)
    record = {
        "train_run_id": run_id, "data": config.data, "arch": config.model_spec().arch,
        "dataset": config.dataset(), "train_length": config.length, "seq_len": config.length,
        "copies": config.copies if config.data == "gaussian" else 1, "kl_unit": KL_UNIT,
        "checkpoint_step": state.step, "max_steps": config.max_steps,
        "n_params": stored.get("n_params", parameter_count(model)), "eval_seed": eval_seed,
        "n_samples": len(samples), "samples_digest": digest, "averages": averages,
        "runtime": describe_runtime(config.model_spec(), device),
    }  # fmt: skip
    return Evaluation(table, digest, len(samples), averages, record)


def position_rows(
    evaluation_run: str, model: str, train_length: int | None, seq_len: int, rows: pl.DataFrame,
    digest: str,
) -> pl.DataFrame:  # fmt: skip
    """``position_metrics`` rows of one evaluation."""
    return rows.with_columns(
        run_id=pl.lit(evaluation_run), model=pl.lit(model),
        train_length=pl.lit(train_length, pl.Int32), seq_len=pl.lit(seq_len, pl.Int32),
        samples_digest=pl.lit(digest),
    )  # fmt: skip


def baseline_evaluation(config: TrainConfig) -> tuple[str, pl.DataFrame, dict[str, Any]]:
    """(run id, rows, config) of the unconditional baseline q = N(0, 1) per variable at the
    run's Gaussian and length: exact KL^(i) = −log σ_p,i and NLL = ½ log 2π + ½ (no samples)."""
    task = runs.make_task(config)
    kl = task.baseline_kl()
    length = task.length
    rows = pl.DataFrame({
        "position": np.arange(length, dtype=np.int32), "kl": kl, "kl_stderr": np.zeros(length),
        "nll": np.full(length, task.baseline_nll()), "nll_stderr": np.zeros(length),
    })  # fmt: skip
    dataset = config.dataset()
    run_id = f"baseline-{dataset}-L{length}-{config.boundary_rule}"
    record = {
        "data": "gaussian", "arch": "baseline", "dataset": dataset, "train_length": None,
        "seq_len": length, "copies": config.copies, "kl_unit": KL_UNIT,
        "family": config.family, "boundary_rule": config.boundary_rule, "analytic": True,
        "averages": {"kl": float(kl.mean()), "kl_stderr": 0.0, "nll": task.baseline_nll(),
                     "nll_stderr": 0.0},
    }  # fmt: skip
    return run_id, position_rows(run_id, BASELINE_MODEL, None, length, rows, "exact"), record
