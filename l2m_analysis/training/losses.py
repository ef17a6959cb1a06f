"""Losses and per-position metrics, in nats per token.

**Units.** For continuous tokens of C stacked copies every KL and NLL here is *per token,
averaged over its C copies* — the normalization of Eq. (E.35), the paper's per-token number.
The exact oracle (``scoring/oracle.py``) and ``gaussian.conditionals.conditional_kl_per_position``
sum over the copies instead: multiply these by C (``copies`` in the run's config) to compare.
For text C = 1 and the two conventions agree.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def gaussian_kl(
    mean_q: torch.Tensor, std_q: torch.Tensor, mean_p: torch.Tensor, std_p: torch.Tensor
) -> torch.Tensor:
    """KL(N(μ_p, σ_p²) || N(μ_q, σ_q²)) elementwise, nats: the summand of Eq. (E.35)."""
    return torch.log(std_q / std_p) + (std_p**2 + (mean_q - mean_p) ** 2) / (2 * std_q**2) - 0.5


def gaussian_kl_per_position(mean_q, std_q, mean_p, std_p) -> torch.Tensor:
    """Eq. (E.36) in closed form per sample: the conditional KL at each position given the
    sample's own prefix, mean over copies. Inputs broadcast to (B, T, C); returns (B, T)."""
    return gaussian_kl(mean_q, std_q, mean_p, std_p).mean(dim=-1)


def gaussian_kl_loss(mean_q, std_q, mean_p, std_p) -> torch.Tensor:
    """Eq. (E.35): the average conditional KL — mean over samples, positions and copies."""
    return gaussian_kl_per_position(mean_q, std_q, mean_p, std_p).mean()


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log N(z; μ, σ²) elementwise, nats."""
    return -0.5 * ((z - mean) / std) ** 2 - torch.log(std) - _HALF_LOG_2PI


def gaussian_nll_per_position(z, mean_q, std_q) -> torch.Tensor:
    """Eq. (E.38) per sample: −log q(W_i | W_<i) / C, (B, T, C) -> (B, T)."""
    return -gaussian_log_density(z, mean_q, std_q).mean(dim=-1)


def gaussian_mc_kl_per_position(z, mean_q, std_q, mean_p, std_p) -> torch.Tensor:
    """Eq. (E.36) as Monte Carlo on the sample itself: (log p − log q)(W_i | W_<i) / C, (B, T)."""
    log_ratio = gaussian_log_density(z, mean_p, std_p) - gaussian_log_density(z, mean_q, std_q)
    return log_ratio.mean(dim=-1)


def text_nll_per_position(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Eq. (E.38) per sample: −log q(w_i | w_<i), logits (B, T, V), targets (B, T) -> (B, T)."""
    flat = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), reduction="none"
    )
    return flat.reshape(targets.shape)
