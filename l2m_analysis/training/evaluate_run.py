"""Evaluate one trained model: its token log-probs on exact, named samples, into the warehouse.

``evaluate_training_run`` loads a run's checkpoint (refusing one written under another config),
draws its evaluation samples — Gaussian: stream 1 of ``--eval-seed`` (never trained on; the same
samples for every model of one length, so their curves compare), text: the held-out windows of
the corpus run — names them by a sha256 digest of the exact sample array, and streams one row
per (sample, position) into ``token_logprobs`` (``training.evaluation``), block by block: a
killed evaluation rerun with the same options writes only the blocks it lacks. For the Gaussian
the KL of every token is analytic given the sample's prefix (Eq. E.35's summand against the
exact conditionals, on the very array the model saw: ``token_kl``), and a reference run holds
the exact log p of the same tokens, so the Monte-Carlo KL is a query too. Per-position and
average KL/NLL are then the named queries over these rows (``queries/stg_position_metrics``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from l2m_analysis.errors import InputError
from l2m_analysis.models.build import build_model, describe_runtime, parameter_count
from l2m_analysis.training import evaluation, records
from l2m_analysis.training.checkpoint import LATEST, load_checkpoint
from l2m_analysis.training.config import TrainConfig
from l2m_analysis.training.tasks import GaussianTask, TextTask, digest_array
from l2m_analysis.warehouse import Warehouse

EVAL_KIND = "evaluation"
REFERENCE_KIND = "evaluation_reference"  # the exact log p of an evaluation's Gaussian samples
BASELINE_MODEL = "marginal-baseline"
KL_UNIT = "nats per token, mean over its copies (Eq. E.35 normalization)"


@dataclass(frozen=True)
class EvaluationRun:
    """What an evaluation wrote: its run, its reference run (Gaussian), and blocks of rows."""

    run_id: str
    reference_run_id: str | None
    record: dict[str, Any]
    blocks_written: int
    blocks_skipped: int


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
    wh: Warehouse, run_id: str, folder: Path, eval_id: str, n_samples: int, eval_seed: int,
    batch_size: int, device: str, rows_per_file: int = evaluation.ROWS_PER_FILE,
    on_batch: Callable[[int], None] | None = None,
) -> EvaluationRun:  # fmt: skip
    """Evaluate the latest checkpoint of training run ``run_id`` found in ``folder`` as run
    ``eval_id``; resumes an evaluation made with the same options, replaces one made with others."""
    config, stored = records.stored_config(wh, run_id)
    path = checkpoint_path(folder, run_id)
    model = build_model(config.model_spec(), config.seed, device)
    state = load_checkpoint(path, config, model)
    model.eval()
    task = records.make_task(config, wh)
    samples = records.held_out_samples(task, n_samples, seed=eval_seed)
    gaussian = isinstance(task, GaussianTask)
    label = task.label if gaussian else f"{config.dataset()} held-out"
    reference = f"{eval_id}-exact-p" if gaussian else None
    record = {
        "train_run_id": run_id, "data": config.data, "arch": config.model_spec().arch,
        "dataset": config.dataset(), "train_length": config.length, "seq_len": config.length,
        "copies": config.copies if gaussian else 1, "kl_unit": KL_UNIT,
        "checkpoint_step": state.step, "max_steps": config.max_steps,
        "n_params": stored.get("n_params", parameter_count(model)), "eval_seed": eval_seed,
        "n_samples": len(samples),
        "samples_digest": digest_array(samples, f"{label} seed={eval_seed} n={len(samples)}"),
        "batch_size": batch_size, "rows_per_file": rows_per_file,
        "runtime": describe_runtime(config.model_spec(), device),
    }  # fmt: skip
    if gaussian:
        record["reference_run_id"] = reference
    else:
        record["corpus_run_id"] = config.corpus_run
        record["corpus_sample_ids"] = np.asarray(task.held_out_ids)[: len(samples)].tolist()
    begin(wh, eval_id, EVAL_KIND, record, model=config.model, seed=eval_seed, dependent=reference)
    if reference is not None:
        keep = ("dataset", "seq_len", "copies", "eval_seed", "n_samples", "samples_digest",
                "rows_per_file", "kl_unit")  # fmt: skip
        exact = {k: record[k] for k in keep} | {"evaluation_run_id": eval_id, "exact": True}
        begin(wh, reference, REFERENCE_KIND, exact, model="exact p", seed=eval_seed)
    written, skipped = write_blocks(wh, record, eval_id, reference, task, model, samples,
                                     device, on_batch)  # fmt: skip
    for run in filter(None, (reference, eval_id)):
        wh.finish_run(run)
    return EvaluationRun(eval_id, reference, record, written, skipped)


def write_blocks(
    wh: Warehouse, record: dict[str, Any], eval_id: str, reference: str | None,
    task: GaussianTask | TextTask, model: torch.nn.Module, samples: np.ndarray, device: str,
    on_batch: Callable[[int], None] | None,
) -> tuple[int, int]:  # fmt: skip
    """Commit the rows of every block of samples not committed yet (the reference run's, then
    the KL's, then the model's log q); ``record`` gives copies, batch size and block size.
    Returns (blocks written, blocks already committed)."""
    copies, gaussian = record["copies"], reference is not None
    targets = [("token_logprobs", reference), ("token_kl", eval_id), ("token_logprobs", eval_id)]
    targets = [(t, r) for t, r in targets if r is not None and (gaussian or t != "token_kl")]
    done = {(t, r): wh.committed_batches(t, r) for t, r in targets}
    written = skipped = 0
    for start, stop in evaluation.blocks(len(samples), task.length, record["rows_per_file"]):
        key = evaluation.block_key(start, stop)
        todo = [(t, r) for t, r in targets if key not in done[(t, r)]]
        if not todo:
            skipped += 1
            if on_batch is not None:
                on_batch(stop - start)
            continue
        metrics = evaluation.evaluate_in_batches(
            lambda s: task.metrics(model, s, device, exact_log_p=gaussian),
            samples[start:stop], record["batch_size"], on_batch,
        )  # fmt: skip
        ids = None if gaussian else samples[start:stop]
        frames = {(t, eval_id): f for t, f in
                  evaluation.model_rows(start, metrics, copies, ids).items()}  # fmt: skip
        if gaussian:
            frames[("token_logprobs", reference)] = evaluation.logprob_rows(
                start, metrics["log_p"], None
            )
        for table, run in todo:  # the reference first, the model's log q last
            wh.append_batch(table, run, key, frames[(table, run)])
        written += 1
    return written, skipped


def begin(
    wh: Warehouse, run_id: str, kind: str, record: dict[str, Any], *, model: str,
    seed: int | None, dependent: str | None = None,
) -> None:  # fmt: skip
    """Start (or resume) run ``run_id``; one made under another record is deleted first, with
    its ``dependent`` run (an evaluation's reference run)."""
    if wh.has_run(run_id):
        if wh.run_config(run_id) != json.loads(json.dumps(record, sort_keys=True, default=str)):
            for run in filter(None, (dependent, run_id)):
                if wh.has_run(run):
                    wh.delete_run(run)
    wh.start_run(kind, run_id=run_id, model=model, dataset=record["dataset"], config=record,
                 seed=seed)  # fmt: skip


def store_baseline(wh: Warehouse, config: TrainConfig) -> str:
    """Write the unconditional baseline q = N(0, 1) per variable at the run's Gaussian and
    length: exact KL^(i) = −log σ_p,i and NLL = ½ log 2π + ½ (no samples), into
    ``exact_position_metrics``; returns its run id."""
    task = records.make_task(config)
    kl = task.baseline_kl()
    length = task.length
    dataset = config.dataset()
    run_id = f"baseline-{dataset}-L{length}-{config.boundary_rule}"
    record = {
        "data": "gaussian", "arch": "baseline", "dataset": dataset, "train_length": None,
        "seq_len": length, "copies": config.copies, "kl_unit": KL_UNIT,
        "family": config.family, "boundary_rule": config.boundary_rule, "analytic": True,
        "samples_digest": "exact",
    }  # fmt: skip
    begin(wh, run_id, EVAL_KIND, record, model=BASELINE_MODEL, seed=None)
    wh.replace_partitions("exact_position_metrics", pl.DataFrame({
        "run_id": run_id, "seq_len": np.full(length, length, np.int32),
        "position": np.arange(length, dtype=np.int32), "kl": kl,
        "nll": np.full(length, task.baseline_nll()),
    }))  # fmt: skip
    wh.finish_run(run_id)
    return run_id
