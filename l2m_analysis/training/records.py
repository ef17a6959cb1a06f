"""A training run in the warehouse: the task of a run (its data), the run's record, and the
training-curve rows. Reads and writes only through ``Warehouse``."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from l2m_analysis.errors import InputError
from l2m_analysis.models.build import describe_runtime
from l2m_analysis.training import text_data
from l2m_analysis.training.config import TrainConfig, config_from_dict
from l2m_analysis.training.loop import CurveRow
from l2m_analysis.training.tasks import EVAL_STREAM, GaussianTask, TextTask
from l2m_analysis.warehouse import Warehouse

TRAIN_KIND = "train"
CURVE_TABLE = "training_curve"


def corpus_tokenizer(wh: Warehouse, corpus_run: str) -> str | None:
    """The ``runs.tokenizer`` label of a corpus run (clear error when it is not one)."""
    row = wh.require_run(corpus_run)
    if row["kind"] != "corpus":
        raise InputError(
            f"run {corpus_run!r} is a {row['kind']!r} run, not a corpus run",
            "pass the --run-id of a python -m pipelines.prepare_corpus run",
        )
    return row["tokenizer"]


def make_task(config: TrainConfig, wh: Warehouse | None = None) -> GaussianTask | TextTask:
    """The run's data: the Gaussian of its length, or the windows of its corpus run."""
    if config.data == "gaussian":
        return GaussianTask(
            config.family, config.layers, config.copies, config.seed, config.boundary_rule
        )
    if wh is None:
        raise InputError("text runs read their corpus from a warehouse", "pass --warehouse")
    text_data.check_tokenizer(
        corpus_tokenizer(wh, config.corpus_run), config.tokenizer, config.corpus_run
    )
    tokens = wh.query(
        "SELECT sample_id, position, token_id FROM tokens WHERE run_id = ?", [config.corpus_run]
    )
    owners, rows = text_data.corpus_windows(tokens, config.length, config.windows)
    text_data.check_vocabulary(rows, config.vocab_size, config.corpus_run)
    train, held_out = text_data.split_holdout(owners, rows, config.holdout_every)
    if len(train) == 0 or len(held_out) == 0:
        raise InputError(
            f"corpus run {config.corpus_run!r} has {len(train)} training and {len(held_out)} "
            f"held-out samples of >= {config.length} tokens",
            "use a shorter --length, a larger corpus, or --windows all",
        )
    held_ids = owners[text_data.held_out(owners, config.holdout_every)]
    return TextTask(train, held_out, config.bos_id, config.seed, held_ids)


def held_out_samples(task: GaussianTask | TextTask, n: int, seed: int):
    """The first ``n`` evaluation samples: Gaussian stream 1 under ``seed``, or held-out
    windows (their order is the corpus's)."""
    if isinstance(task, GaussianTask):
        return task.samples(EVAL_STREAM, range(n), seed=seed)
    return task.held_out[:n]


def run_record(config: TrainConfig, tokenizer: str | None, n_params: int) -> dict[str, Any]:
    """The ``runs`` fields of a training run; its config is the TrainConfig plus facts that
    follow from it here (parameter count, kernel path) so a resume elsewhere is refused."""
    return {
        "model": config.model,
        "tokenizer": tokenizer,
        "dataset": config.dataset(),
        "seed": config.seed,
        "config": {
            **config.to_dict(),
            "n_params": n_params,
            "runtime": describe_runtime(config.model_spec(), config.device),
        },
    }


def stored_config(wh: Warehouse, run_id: str) -> tuple[TrainConfig, dict[str, Any]]:
    """(TrainConfig, full stored config) of a training run."""
    row = wh.require_run(run_id)
    if row["kind"] != TRAIN_KIND:
        raise InputError(
            f"run {run_id!r} is a {row['kind']!r} run, not a training run",
            "pass the --run-id of a python -m pipelines.train run",
        )
    stored = json.loads(row["config"] or "{}")
    return config_from_dict(stored), stored


def curve_frame(rows: list[CurveRow]) -> pl.DataFrame:
    """``training_curve`` rows (run_id is added by the warehouse)."""
    return pl.DataFrame(
        [vars(r) for r in rows],
        schema={"step": pl.Int64, "tokens": pl.Int64, "split": pl.String, "loss": pl.Float64,
                "lr": pl.Float64, "grad_norm": pl.Float64, "elapsed_s": pl.Float64},
        orient="row",
    )  # fmt: skip


def curve_key(rows: list[CurveRow]) -> str:
    """Batch key of the rows committed at one checkpoint: the step range they cover."""
    return f"steps-{rows[0].step:09d}-{rows[-1].step:09d}"
