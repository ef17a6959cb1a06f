"""One configuration per training run, and the named presets of its optimizer settings.

``TrainConfig`` holds everything that fixes a run's result: the model (preset, data kind,
length), the data (Gaussian family or corpus run), the optimizer and schedule, the seed. Its
dict form is the run's ``runs.config`` and is stored in every checkpoint, so a checkpoint is
never resumed or evaluated under another configuration.

Optimizer presets (``OPTIMIZER_PRESETS``):
* ``paper``: Appendix E — AdamW, lr 5e-5, weight decay 0.01, 2000 warmup steps, cosine decay
  over 500,000 steps, batch 4 fresh Gaussian samples / 8 text samples, FP32. Gaussian runs train
  500,000 steps; text runs stop at 5 epochs of PG19 (~235,000 steps, ``max_steps``).
* ``cpu``: the embedded default — a run a CPU finishes in seconds (lr 3e-3; Gaussian 200
  steps of batch 4, text 30 steps of batch 4).
* ``test``: for the test suite (lr 3e-3, 10 warmup, 100 steps).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.construction import BOUNDARY_RULES, DEFAULT_BOUNDARY_RULE, FAMILIES
from l2m_analysis.models.build import DATA_KINDS, ModelSpec
from l2m_analysis.models.presets import get_preset

NEOX_VOCAB = 50432  # GPT-NeoX-20B embedding size (its 50,277 ids padded), as the paper's GPT-2
NEOX_BOS = 0  # <|endoftext|>, the documents' separator in GPT-NeoX-20B
TEXT_WINDOWS = ("first", "all")


@dataclass(frozen=True)
class TrainConfig:
    """A training run. Lengths are in tokens; lr in 1/step units of AdamW; seeds are ints."""

    model: str  # model preset, models/presets.py
    data: str  # gaussian | text
    length: int  # L_train: tokens per training sample (BOS not counted)
    optimizer_preset: str = "cpu"
    max_steps: int = 200
    schedule_steps: int | None = None  # cosine horizon; None: max_steps
    batch_size: int = 4
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_steps: int = 20
    beta1: float = 0.9
    beta2: float = 0.999
    grad_clip: float = 1.0  # max global L2 norm of the gradient
    seed: int = 0
    # Gaussian data
    family: str = "subvolume"
    copies: int = 64
    boundary_rule: str = DEFAULT_BOUNDARY_RULE
    # text data
    corpus_run: str | None = None
    tokenizer: str = "gpt-neox-20b"  # must name the corpus run's tokenizer
    vocab_size: int = NEOX_VOCAB
    bos_id: int = NEOX_BOS
    windows: str = "first"  # first: the first L tokens of each sentence-aligned sample; all
    holdout_every: int = 10  # samples with sample_id % holdout_every == 0 are held out for eval
    # bookkeeping (part of the config: changing them changes the run's files)
    checkpoint_every: int = 100
    log_every: int = 10
    eval_every: int = 0  # 0: evaluate only at the end
    eval_samples: int = 32
    device: str = "cpu"

    @property
    def layers(self) -> int:
        """l with L_train = 4^l (Gaussian)."""
        return self.length.bit_length() // 2

    @property
    def total_schedule(self) -> int:
        return self.schedule_steps or self.max_steps

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.length

    def model_spec(self) -> ModelSpec:
        return ModelSpec(self.model, self.data, self.length, self.copies, self.vocab_size)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def digest(self) -> str:
        """sha256 of the canonical JSON of the config (first 16 hex digits)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def dataset(self) -> str:
        if self.data == "gaussian":
            return f"gaussian_{self.family}_x{self.copies}"
        return f"corpus:{self.corpus_run}"


OPTIMIZER_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "gaussian": {"lr": 5e-5, "weight_decay": 0.01, "warmup_steps": 2000, "batch_size": 4,
                     "max_steps": 500_000, "checkpoint_every": 5000, "log_every": 100,
                     "eval_every": 5000},
        "text": {"lr": 5e-5, "weight_decay": 0.01, "warmup_steps": 2000, "batch_size": 8,
                 "max_steps": 235_000, "schedule_steps": 500_000, "checkpoint_every": 5000,
                 "log_every": 100, "eval_every": 5000},
    },
    "cpu": {
        "gaussian": {"lr": 3e-3, "warmup_steps": 20, "batch_size": 4, "max_steps": 200,
                     "checkpoint_every": 100, "log_every": 10},
        "text": {"lr": 3e-3, "warmup_steps": 5, "batch_size": 4, "max_steps": 30,
                 "checkpoint_every": 30, "log_every": 5},
    },
    "test": {
        "gaussian": {"lr": 3e-3, "warmup_steps": 10, "batch_size": 4, "max_steps": 100,
                     "checkpoint_every": 20, "log_every": 5},
        "text": {"lr": 3e-3, "warmup_steps": 5, "batch_size": 4, "max_steps": 20,
                 "checkpoint_every": 10, "log_every": 5},
    },
}  # fmt: skip


def make_config(
    model: str, data: str, length: int, optimizer_preset: str = "cpu", **overrides: Any
) -> TrainConfig:
    """The config of ``optimizer_preset`` for this model and data, with ``overrides`` (None
    values ignored), validated."""
    if optimizer_preset not in OPTIMIZER_PRESETS:
        raise InputError(
            f"unknown optimizer preset {optimizer_preset!r}",
            f"use one of: {', '.join(OPTIMIZER_PRESETS)}",
        )
    check_data(data)
    values = dict(OPTIMIZER_PRESETS[optimizer_preset][data])
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"unknown config fields {unknown}", f"use some of {sorted(known)}")
    config = TrainConfig(model, data, length, optimizer_preset, **values)
    validate(config)
    return config


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """Rebuild a stored config (``runs.config`` or a checkpoint's)."""
    known = {f.name for f in fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in values.items() if k in known})
    validate(config)
    return config


def check_data(data: str) -> None:
    if data not in DATA_KINDS:
        raise InputError(f"unknown data kind {data!r}", f"use one of: {', '.join(DATA_KINDS)}")


def validate(config: TrainConfig) -> None:
    """Every field in range; the Gaussian length a power of 4; a corpus run for text."""
    get_preset(config.model)
    check_data(config.data)
    if config.data == "gaussian":
        if config.length < 4 or 4**config.layers != config.length:
            below = 4 ** max(1, (config.length.bit_length() - 1) // 2)
            raise InputError(
                f"a Gaussian training length must be 4^l (the sub-volume Gaussian of "
                f"Appendix B has L = 4^l variables), got {config.length}",
                f"use e.g. --length 64, 256, 1024 or 4096 (nearest: {below}, {4 * below})",
            )
        if config.family not in FAMILIES:
            raise InputError(f"unknown family {config.family!r}", f"use one of {list(FAMILIES)}")
        if config.boundary_rule not in BOUNDARY_RULES:
            raise InputError(
                f"unknown boundary rule {config.boundary_rule!r}", f"use one of {BOUNDARY_RULES}"
            )
    elif not config.corpus_run:
        raise InputError(
            "text training needs a corpus run (the `tokens` of pipelines.prepare_corpus)",
            "pass --corpus-run RUN, e.g. python -m pipelines.prepare_corpus --run-id books "
            "then --corpus-run books",
        )
    if config.windows not in TEXT_WINDOWS:
        raise InputError(f"unknown windows {config.windows!r}", f"use one of {TEXT_WINDOWS}")
    positive = ("length", "max_steps", "batch_size", "copies", "vocab_size", "checkpoint_every",
                "log_every", "eval_samples", "holdout_every")  # fmt: skip
    for name in positive:
        if getattr(config, name) < 1:
            raise InputError(f"{name} must be >= 1, got {getattr(config, name)}", "pass >= 1")
    if config.lr <= 0 or config.grad_clip <= 0 or config.weight_decay < 0:
        raise InputError("lr and grad_clip must be > 0, weight_decay >= 0", "fix the option")
    if config.warmup_steps < 0 or config.eval_every < 0:
        raise InputError("warmup_steps and eval_every must be >= 0", "fix the option")


def with_steps(config: TrainConfig, max_steps: int) -> TrainConfig:
    """The same run, longer or shorter (a different config, hence a different run)."""
    return replace(config, max_steps=max_steps)
