"""Build the model of a run: preset + data kind + context length -> an ``nn.Module``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from l2m_analysis.models.backbone import build_backbone, kernel_path
from l2m_analysis.models.heads import ContinuousTokenModel, TextTokenModel
from l2m_analysis.models.presets import get_preset

DATA_KINDS = ("gaussian", "text")


@dataclass(frozen=True)
class ModelSpec:
    """What fixes a model's architecture: preset name, data kind, context length T (the model
    input: BOS + T-1 tokens), copies per continuous token, vocabulary size for text."""

    preset: str
    data: str
    context: int
    copies: int = 64
    vocab_size: int = 50432

    @property
    def arch(self) -> str:
        return get_preset(self.preset).arch


def build_model(spec: ModelSpec, seed: int, device: str = "cpu") -> nn.Module:
    """A freshly initialized model; weights depend only on ``seed`` (torch's global RNG is
    seeded here)."""
    preset = get_preset(spec.preset)
    torch.manual_seed(seed)
    if spec.data == "gaussian":
        backbone = build_backbone(preset, spec.context, vocab_size=1, device=device)
        model: nn.Module = ContinuousTokenModel(backbone, preset.hidden, spec.copies)
    else:
        backbone = build_backbone(preset, spec.context, spec.vocab_size, device=device)
        model = TextTokenModel(backbone, preset.hidden, spec.vocab_size)
    return model.to(device)


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters, tied weights counted once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe_runtime(spec: ModelSpec, device: str) -> dict[str, str]:
    """The device and kernel path a model of ``spec`` runs on here (for the run record)."""
    return {"device": str(device), "kernel_path": kernel_path(spec.arch, device)}


def configure_torch(threads: int) -> None:
    """CPU settings of every training, evaluation and benchmark command: ``threads`` intra-op
    threads, and denormals flushed to zero. On a machine whose cores are shared (a VM, CI) two
    threads were measured 15× slower than one for the tiny models (OpenMP waits on a
    descheduled core), and Adam's second moments of tiny gradients become denormal floats,
    which are ~100× slower to compute with on x86."""
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
