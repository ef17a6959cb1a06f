"""The training loop: plain PyTorch, nanoGPT's train.py in shape, not HF Trainer.

Each step: batch(step) -> loss -> backward -> clip the global grad norm -> AdamW -> scheduler.
Every ``log_every`` steps a training-curve row (loss = mean over the steps since the last row,
nats per token); every ``eval_every`` steps (and at the end) an eval row on fixed held-out
samples; every ``checkpoint_every`` steps (and at the end) the rows are handed to ``commit``
and THEN the checkpoint is written — so a kill between the two only repeats steps whose rows
are already committed under the same keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from l2m_analysis.training.checkpoint import TrainState, save_checkpoint
from l2m_analysis.training.config import TrainConfig


@dataclass(frozen=True)
class CurveRow:
    """One row of the ``training_curve`` table (loss in nats per token)."""

    step: int
    tokens: int
    split: str  # train | eval
    loss: float
    lr: float
    grad_norm: float | None
    elapsed_s: float


Commit = Callable[[list[CurveRow], TrainState], None]
OnStep = Callable[[TrainState, float, float], None]  # state, loss, tokens per second


def eval_loss(task, model: torch.nn.Module, held_out: np.ndarray, device: str) -> float:
    """Mean analytic KL (Gaussian) or NLL (text) over the held-out samples, nats per token."""
    model.eval()
    try:
        metrics = task.metrics(model, held_out, device)
    finally:
        model.train()
    return float(metrics["kl" if "kl" in metrics else "nll"].mean())


def train(
    config: TrainConfig,
    task,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: TrainState,
    checkpoint_dir: Path,
    held_out: np.ndarray,
    commit: Commit,
    on_step: OnStep | None = None,
) -> TrainState:
    """Train from ``state`` to ``config.max_steps``; returns the final state."""
    device = config.device
    params = [p for p in model.parameters() if p.requires_grad]
    rows: list[CurveRow] = []
    model.train()
    while state.step < config.max_steps:
        started = time.perf_counter()
        batch = task.train_batch(state.step, config.batch_size)
        loss = task.loss(model, batch, device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, config.grad_clip))
        lr = float(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
        seconds = time.perf_counter() - started
        state.step += 1
        state.tokens += config.tokens_per_step
        state.elapsed_s += seconds
        state.loss_sum += float(loss.detach())
        state.loss_count += 1
        last = state.step == config.max_steps
        if state.step % config.log_every == 0 or last:
            mean_loss = state.loss_sum / state.loss_count
            rows.append(CurveRow(state.step, state.tokens, "train", mean_loss, lr, grad_norm,
                                 state.elapsed_s))  # fmt: skip
            state.loss_sum, state.loss_count = 0.0, 0
        if (config.eval_every and state.step % config.eval_every == 0) or last:
            value = eval_loss(task, model, held_out, device)
            rows.append(CurveRow(state.step, state.tokens, "eval", value, lr, None,
                                 state.elapsed_s))  # fmt: skip
        if state.step % config.checkpoint_every == 0 or last:
            commit(rows, state)
            rows = []
            save_checkpoint(checkpoint_dir, config, state, model, optimizer, scheduler)
        if on_step is not None:
            on_step(state, float(loss.detach()), config.tokens_per_step / max(seconds, 1e-9))
    return state
