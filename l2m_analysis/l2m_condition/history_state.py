"""The history state z_ℓ of each architecture (Definition 5.1, Appendix C) and its size.

z_ℓ is what the model keeps of x_1..x_{ℓ-1} when token x_ℓ comes in. Counting n_past = ℓ
tokens already in the cache (BOS + w_1..w_{ℓ-1}, the model input before w_ℓ):

* GPT-2 (Appendix C.I): the keys and values of every past token in every layer,
  dim = 2 · n_layer · d_model · n_past — it grows linearly with ℓ.
* Mamba (C.II): per layer the SSM state (d_inner × N) and the causal-conv state. transformers
  stores K conv columns (``conv_states``: d_inner × K); the newest K − 1 are the history (the
  oldest is overwritten before it is read), so the smallest state is d_inner · (N + K − 1).
* Mamba2: per layer the SSM state (heads × head_dim × N) and the conv state over the
  x, B, C channels (d_inner + 2 · n_groups · N) × K as stored, K − 1 columns needed.

``cache_elements`` counts what transformers' cache holds (checked against the tensors a model
returns in ``measured_cache_elements``); ``history_dim`` is the smallest state, dim(z_ℓ).
"""

from __future__ import annotations

import polars as pl
import torch

from l2m_analysis.models.backbone import build_backbone
from l2m_analysis.models.presets import ModelPreset


def _conv_channels(p: ModelPreset) -> int:
    if p.arch == "mamba":
        return p.intermediate
    return p.intermediate + 2 * p.n_groups * p.state_size  # Mamba2: x, B, C


def _ssm_elements(p: ModelPreset) -> int:
    if p.arch == "mamba":
        return p.intermediate * p.state_size
    return p.ssm_heads * p.head_dim * p.state_size


def cache_elements(p: ModelPreset, n_past: int) -> int:
    """Numbers in transformers' cache after ``n_past`` tokens (per sequence, all layers)."""
    if p.arch == "gpt2":
        return 2 * p.layers * p.hidden * n_past
    return p.layers * (_ssm_elements(p) + _conv_channels(p) * p.conv_kernel)


def history_dim(p: ModelPreset, n_past: int) -> int:
    """dim(z_ℓ) with ℓ = n_past: the smallest state that carries the past (see module doc)."""
    if p.arch == "gpt2":
        return cache_elements(p, n_past)
    return p.layers * (_ssm_elements(p) + _conv_channels(p) * (p.conv_kernel - 1))


def per_token_growth(p: ModelPreset) -> int:
    """d dim(z_ℓ) / dℓ: 2 · n_layer · d_model for GPT-2, 0 for the SSMs."""
    return 2 * p.layers * p.hidden if p.arch == "gpt2" else 0


def _count(tensors) -> int:
    return sum(t.numel() for t in tensors if t is not None)


def returned_cache_elements(cache, batch: int) -> int:
    """Numbers per sequence in a transformers ``DynamicCache`` returned by a forward pass:
    keys/values of attention layers, conv and recurrent states of linear-attention layers."""
    total = 0
    for layer in cache.layers:
        total += _count([getattr(layer, "keys", None), getattr(layer, "values", None)])
        for name in ("conv_states", "recurrent_states"):
            states = getattr(layer, name, None)
            if isinstance(states, dict):
                total += _count(states.values())
    return total // batch


@torch.no_grad()
def measured_cache_elements(
    p: ModelPreset, n_past: int, layers: int | None = None, batch: int = 2
) -> int:
    """Run a freshly initialized backbone of ``p`` (``layers`` blocks, default all; tiny vocab)
    on ``n_past`` random inputs with ``use_cache=True`` and count what its cache holds per
    sequence, scaled to all ``p.layers`` blocks (blocks are identical)."""
    used = p.layers if layers is None else layers
    shape = ModelPreset(**{**p.to_dict(), "layers": used})
    model = build_backbone(shape, n_positions=max(n_past, 8), vocab_size=8).eval()
    x = torch.randn(batch, n_past, p.hidden)
    out = model(inputs_embeds=x, use_cache=True)
    cache = getattr(out, "past_key_values", None) or getattr(out, "cache_params", None)
    return returned_cache_elements(cache, batch) * p.layers // used


def history_state_frame(presets: list[ModelPreset], lengths: list[int]) -> pl.DataFrame:
    """dim(z_{L/2}) per model and sequence length L: the states the L²M chart draws.

    Columns: model, architecture, length (L), state_dim (numbers held after L/2 tokens)."""
    return pl.DataFrame(
        [{"model": p.name, "architecture": p.arch, "length": n, "state_dim": history_dim(p, n // 2)}
         for p in presets for n in lengths],
        schema={"model": pl.String, "architecture": pl.String, "length": pl.Int64,
                "state_dim": pl.Int64},
    )  # fmt: skip
