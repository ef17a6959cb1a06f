"""The two kinds of token model around a backbone (Appendix E).

* ``ContinuousTokenModel``: a token is a vector of C real numbers (C = 64 stacked copies of the
  sub-volume Gaussian, Eq. E.34). A two-layer MLP replaces the embedding; a two-layer MLP head
  gives, for each of the C copies, the conditional mean μ_q and standard deviation σ_q of the
  next token (σ_q = softplus(·) + σ_min: positive by construction).
* ``TextTokenModel``: token embedding (the backbone's own) + a linear LM head tied to it.

Both take the model input of length T (BOS, w_1 .. w_{T-1}) and predict w_1 .. w_T, so output
t is the conditional of the token at 0-based position t (BOS excluded, ``warehouse/schema.py``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

MIN_STD = 1e-4  # σ_q floor, keeps log σ_q finite


class ContinuousTokenModel(nn.Module):
    """Continuous tokens (B, T, C) -> conditional means and standard deviations (B, T, C)."""

    def __init__(self, backbone: nn.Module, hidden: int, copies: int) -> None:
        super().__init__()
        self.copies = copies
        self.embed = nn.Sequential(nn.Linear(copies, hidden), nn.GELU(), nn.Linear(hidden, hidden))
        self.backbone = backbone
        self.head = nn.Sequential(
            nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, 2 * copies)
        )
        with torch.no_grad():  # start at σ_q = 1, the variables' marginal scale
            self.head[-1].bias[copies:].fill_(math.log(math.e - 1.0))

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.embed(tokens)  # (B, T, d)
        h = self.backbone(inputs_embeds=x).last_hidden_state  # (B, T, d)
        mean, raw = self.head(h).chunk(2, dim=-1)  # (B, T, C) each
        return mean, F.softplus(raw) + MIN_STD


class TextTokenModel(nn.Module):
    """Token ids (B, T) -> next-token logits (B, T, V)."""

    def __init__(self, backbone: nn.Module, hidden: int, vocab_size: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.lm_head = nn.Linear(hidden, vocab_size, bias=False)
        self.lm_head.weight = backbone.get_input_embeddings().weight  # tied, as in GPT-2/Mamba

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.backbone(input_ids=ids).last_hidden_state  # (B, T, d)
        return self.lm_head(h)  # (B, T, V)
