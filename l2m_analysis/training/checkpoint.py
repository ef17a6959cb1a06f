"""Checkpoints for exact resume: model, optimizer, scheduler, RNG, and the data position.

One file per run, ``<checkpoint dir>/latest.pt``, replaced atomically (written beside it, then
renamed), so a kill -9 at any moment leaves either the previous or the new checkpoint. The
default folder is ``<warehouse>_checkpoints/<run_id>/`` beside the warehouse's catalog (e.g.
``warehouse/l2m_checkpoints/<run_id>/``); ``--checkpoint-dir`` overrides it. The data
position is the step count: batches are a function of the step (``training/tasks.py``).

A checkpoint records its run's config and is only ever loaded under the same config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from l2m_analysis.errors import InputError
from l2m_analysis.training.config import TrainConfig
from l2m_analysis.warehouse.location import CHECKPOINT_FILE, checkpoint_dir_for

FORMAT = 1
LATEST = CHECKPOINT_FILE


@dataclass
class TrainState:
    """Where a run is: optimizer steps done, tokens seen, training seconds, and the loss
    accumulated since the last logged step (so a resumed curve equals an uninterrupted one)."""

    step: int = 0
    tokens: int = 0
    elapsed_s: float = 0.0
    loss_sum: float = 0.0
    loss_count: int = 0


def default_checkpoint_dir(warehouse_path: Path, run_id: str) -> Path:
    """``<catalog dir>/<catalog stem>_checkpoints/<run_id>``."""
    return checkpoint_dir_for(warehouse_path, run_id)


def save_checkpoint(
    folder: Path,
    config: TrainConfig,
    state: TrainState,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> Path:
    """Write ``folder/latest.pt`` atomically; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "config": config.to_dict(),
        "config_digest": config.digest(),
        "state": vars(state).copy(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    target = folder / LATEST
    tmp = folder / f".{LATEST}.{os.getpid()}.tmp"
    torch.save(payload, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    return target


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's contents; a clear error if it is not one of ours."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for damaged files
        raise InputError(
            f"cannot read checkpoint {path}: {err}",
            "delete it to restart the run from the previous checkpoint or from scratch",
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{path} is not a l2m-analysis checkpoint", "point at a latest.pt")
    return payload


def check_config(payload: dict[str, Any], config: TrainConfig, path: Path) -> None:
    """Refuse a checkpoint written under another config, naming the fields that differ."""
    if payload.get("config_digest") == config.digest():
        return
    stored = payload.get("config", {})
    differs = sorted(k for k, v in config.to_dict().items() if stored.get(k) != v)
    shown = ", ".join(f"{k}: {stored.get(k)!r} there, {getattr(config, k)!r} here" for k in differs)
    raise InputError(
        f"checkpoint {path} was written by a run with another config ({shown})",
        "rerun with the options of that run to resume it, or choose a new --run-id / "
        "--checkpoint-dir for this config",
    )


def load_checkpoint(
    path: Path,
    config: TrainConfig,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> TrainState:
    """Restore everything from ``path`` (written under ``config``) and return the state."""
    payload = read_checkpoint(path)
    check_config(payload, config, path)
    model.load_state_dict(payload["model"])
    if optimizer is not None:
        optimizer.load_state_dict(payload["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(payload["scheduler"])
    torch.set_rng_state(payload["torch_rng"])
    if payload["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["cuda_rng"])
    return TrainState(**payload["state"])
