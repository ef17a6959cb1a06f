"""Transformers backbones (GPT2Model, MambaModel, Mamba2Model) from a preset, and which kernels
run them.

The backbone maps input embeddings (B, T, d) to hidden states (B, T, d); the input layer and the
head are ours (``continuous.py``, ``text.py``). Dropout is 0 as in the paper's configs.

Kernel paths (recorded in every run's config): on CUDA with the ``gpu`` extra installed
(mamba-ssm, causal-conv1d) transformers calls their fused kernels for Mamba and Mamba2; without
them it runs its PyTorch reference path: a per-token loop for Mamba (slow at long T: its backward
is O(T²) in memory traffic) unless the pure-PyTorch ``mambapy`` parallel scan is importable, and
the chunked SSD in PyTorch for Mamba2. GPT-2 uses PyTorch's scaled-dot-product attention.
"""

from __future__ import annotations

import importlib.util
import logging

import torch
from torch import nn

from l2m_analysis.models.presets import ModelPreset

_NO_TOKENS = {"bos_token_id": None, "eos_token_id": None, "pad_token_id": None}


def _quiet_transformers() -> None:
    """transformers logs one 'falling back to the reference path' line per kernel and model;
    the run records the path instead (``kernel_path``)."""
    for name in ("transformers", "transformers.integrations.hub_kernels"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()


def has_package(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def cuda_kernels_available() -> bool:
    """mamba-ssm and causal-conv1d importable and a CUDA device present."""
    return torch.cuda.is_available() and has_package("mamba_ssm") and has_package("causal_conv1d")


def hf_config(preset: ModelPreset, n_positions: int, vocab_size: int, use_mambapy: bool):
    """The transformers config of ``preset`` for contexts of ``n_positions`` tokens."""
    from transformers import GPT2Config, Mamba2Config, MambaConfig

    if preset.arch == "gpt2":
        return GPT2Config(
            n_embd=preset.hidden, n_layer=preset.layers, n_head=preset.heads,
            n_positions=n_positions, vocab_size=vocab_size, resid_pdrop=0.0, embd_pdrop=0.0,
            attn_pdrop=0.0, use_cache=False, **_NO_TOKENS,
        )  # fmt: skip
    if preset.arch == "mamba":
        return MambaConfig(
            hidden_size=preset.hidden, num_hidden_layers=preset.layers,
            state_size=preset.state_size, expand=preset.expand, conv_kernel=preset.conv_kernel,
            vocab_size=vocab_size, use_mambapy=use_mambapy, use_cache=False, **_NO_TOKENS,
        )  # fmt: skip
    return Mamba2Config(
        hidden_size=preset.hidden, num_hidden_layers=preset.layers, state_size=preset.state_size,
        expand=preset.expand, conv_kernel=preset.conv_kernel, head_dim=preset.head_dim,
        num_heads=preset.ssm_heads, n_groups=preset.n_groups,
        chunk_size=min(preset.chunk_size, n_positions), vocab_size=vocab_size, use_cache=False,
        tie_word_embeddings=False, **_NO_TOKENS,
    )  # fmt: skip


def build_backbone(
    preset: ModelPreset, n_positions: int, vocab_size: int, device: str = "cpu"
) -> nn.Module:
    """A freshly initialized backbone of ``preset`` (random weights from torch's global RNG)."""
    _quiet_transformers()
    from transformers import GPT2Model, Mamba2Model, MambaModel

    use_mambapy = preset.arch == "mamba" and not _kernels_on(device) and has_package("mambapy")
    config = hf_config(preset, n_positions, vocab_size, use_mambapy)
    cls = {"gpt2": GPT2Model, "mamba": MambaModel, "mamba2": Mamba2Model}[preset.arch]
    return cls(config)


def _kernels_on(device: str) -> bool:
    return str(device).startswith("cuda") and cuda_kernels_available()


def kernel_path(arch: str, device: str) -> str:
    """Which implementation runs ``arch`` on ``device`` here, in words."""
    if arch == "gpt2":
        return f"torch scaled-dot-product attention on {device}"
    if _kernels_on(device):
        return f"mamba-ssm + causal-conv1d CUDA kernels on {device}"
    if str(device).startswith("cuda"):
        where = "CUDA without mamba-ssm/causal-conv1d"
    else:
        where = "CPU"
    if arch == "mamba":
        scan = "mambapy parallel scan" if has_package("mambapy") else "sequential scan loop"
        return f"transformers PyTorch reference path ({scan}) on {where}"
    return f"transformers PyTorch reference path (chunked SSD) on {where}"
