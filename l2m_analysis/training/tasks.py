"""What a model is trained and evaluated on: the sub-volume Gaussian or text windows.

A task turns a step number into a batch (so the data position of a run IS its step count, and
a resumed run sees exactly the batches an uninterrupted one would), computes the training loss,
and the per-sample, per-position metrics of an evaluation. Units: ``training/losses.py``.

* ``GaussianTask``: fresh samples every step (a single epoch, Appendix E). Sample i of stream
  s comes from ``numpy.random.default_rng([seed, s, i])`` alone: stream 0 trains, stream 1
  evaluates, so no evaluation sample is ever trained on. The exact conditionals
  (``gaussian.conditionals.ExactConditionals``) give μ_p, σ_p of every position for the
  analytic KL loss of Eq. (E.35).
* ``TextTask``: windows of the corpus token store; epoch e visits the training windows in the
  order ``default_rng([seed, 2, e]).permutation``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from l2m_analysis.gaussian.conditionals import ExactConditionals
from l2m_analysis.training import losses

TRAIN_STREAM, EVAL_STREAM, ORDER_STREAM = 0, 1, 2


def digest_array(array: np.ndarray, label: str) -> str:
    """``label`` + sha256 (16 hex) of an array's dtype, shape and bytes: names exact samples."""
    data = np.ascontiguousarray(array)
    h = hashlib.sha256(f"{data.dtype.str}{data.shape}".encode())
    h.update(data.tobytes())
    return f"{label} sha256:{h.hexdigest()[:16]}"


class GaussianTask:
    """Stacked sub-volume Gaussian tokens (B, L, C), Eq. (E.34), with a zero BOS token."""

    def __init__(self, family: str, layers: int, copies: int, seed: int, boundary_rule: str):
        self.exact = ExactConditionals(family, layers, boundary_rule)
        self.length = self.exact.length
        self.copies = copies
        self.seed = seed
        self.label = f"gaussian_{family}_x{copies} L={self.length} {boundary_rule}"

    def samples(self, stream: int, ids: np.ndarray, seed: int | None = None) -> np.ndarray:
        """Samples ``ids`` of ``stream``: (n, L, C) float64."""
        seed = self.seed if seed is None else seed
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        xi = np.empty((ids.size, self.copies, self.length))
        for row, i in enumerate(ids):  # one generator per sample: batching-independent
            rng = np.random.default_rng([seed, stream, int(i)])
            xi[row] = rng.standard_normal((self.copies, self.length))
        z = self.exact.model.apply(xi)  # (n, C, L)
        return z.transpose(0, 2, 1).copy()  # (n, L, C)

    def exact_moments(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """μ_p (n, L, C) and σ_p (1, L, 1) of each position given the sample's prefix."""
        mean, std = self.exact.moments(tokens.transpose(0, 2, 1))  # (n, C, L), (L,)
        return mean.transpose(0, 2, 1), std.reshape(1, -1, 1)

    def train_batch(self, step: int, batch_size: int) -> np.ndarray:
        return self.samples(TRAIN_STREAM, np.arange(step * batch_size, (step + 1) * batch_size))

    def _forward(self, model, tokens: np.ndarray, device: str, moments=None):
        z = torch.as_tensor(tokens, dtype=torch.float32, device=device)  # (B, L, C)
        inputs = torch.cat([torch.zeros_like(z[:, :1]), z[:, :-1]], dim=1)  # BOS, w_1..w_{L-1}
        mean_q, std_q = model(inputs)  # (B, L, C) each
        mean_p, std_p = (
            torch.as_tensor(a, dtype=torch.float32, device=device)
            for a in (moments or self.exact_moments(tokens))
        )
        return z, mean_q, std_q, mean_p, std_p

    def loss(self, model, tokens: np.ndarray, device: str) -> torch.Tensor:
        """Eq. (E.35): analytic average conditional KL, nats per token (mean over copies)."""
        _, mean_q, std_q, mean_p, std_p = self._forward(model, tokens, device)
        return losses.gaussian_kl_loss(mean_q, std_q, mean_p, std_p)

    @torch.no_grad()
    def metrics(
        self, model, tokens: np.ndarray, device: str, exact_log_p: bool = False
    ) -> dict[str, np.ndarray]:
        """Per sample and position (n, L): kl (analytic, Eq. E.36 given the prefix), mc_kl
        (log p − log q of the sample), nll (Eq. E.38), all per token, mean over copies, from
        the model's float32 forward; with ``exact_log_p`` also log_p, the exact log-density of
        each token (summed over its copies, in float64: what the oracle scores)."""
        moments = self.exact_moments(tokens)
        z, mean_q, std_q, mean_p, std_p = self._forward(model, tokens, device, moments)
        out = {
            "kl": losses.gaussian_kl_per_position(mean_q, std_q, mean_p, std_p),
            "mc_kl": losses.gaussian_mc_kl_per_position(z, mean_q, std_q, mean_p, std_p),
            "nll": losses.gaussian_nll_per_position(z, mean_q, std_q),
        }
        result = {k: v.double().cpu().numpy() for k, v in out.items()}
        if exact_log_p:
            exact = losses.gaussian_log_density(*(torch.as_tensor(a) for a in (tokens, *moments)))
            result["log_p"] = exact.sum(dim=-1).numpy()
        return result

    def baseline_kl(self) -> np.ndarray:
        """KL^(i) of the unconditional model q = N(0, 1) per variable (every marginal), exactly:
        E[KL(N(μ_p, σ_p²) || N(0, 1))] = −log σ_p,i since E[μ_p²] = 1 − σ_p²; (L,), nats."""
        return -np.log(self.exact_moments(np.zeros((1, self.length, 1)))[1].reshape(-1))

    def baseline_nll(self) -> float:
        """NLL^(i) of q = N(0, 1) under p: ½ log 2π + ½ E[z²] = ½ log 2π + ½, nats."""
        return 0.5 * np.log(2 * np.pi) + 0.5


class TextTask:
    """Token windows (n, L) int64; the model sees BOS + w_1..w_{L-1} and predicts w_1..w_L."""

    def __init__(
        self, train: np.ndarray, held_out: np.ndarray, bos_id: int, seed: int,
        held_out_ids: np.ndarray | None = None,
    ):  # fmt: skip
        self.train = np.asarray(train, dtype=np.int64)
        self.held_out = np.asarray(held_out, dtype=np.int64)
        # the corpus sample each held-out window comes from (None when not known)
        self.held_out_ids = held_out_ids
        self.length = self.train.shape[1]
        self.bos_id = bos_id
        self.seed = seed
        self._order: tuple[int, np.ndarray] | None = None

    def _permutation(self, epoch: int) -> np.ndarray:
        if self._order is None or self._order[0] != epoch:
            rng = np.random.default_rng([self.seed, ORDER_STREAM, epoch])
            self._order = (epoch, rng.permutation(len(self.train)))
        return self._order[1]

    def train_batch(self, step: int, batch_size: int) -> np.ndarray:
        """Windows of global positions step·B .. step·B + B − 1 of the epoch-wise order."""
        n = len(self.train)
        rows = []
        for g in range(step * batch_size, (step + 1) * batch_size):
            rows.append(self.train[self._permutation(g // n)[g % n]])
        return np.stack(rows)

    def epoch_of(self, step: int, batch_size: int) -> float:
        return step * batch_size / len(self.train)

    def _forward(self, model, ids: np.ndarray, device: str):
        targets = torch.as_tensor(ids, dtype=torch.long, device=device)  # (B, L)
        bos = torch.full_like(targets[:, :1], self.bos_id)
        logits = model(torch.cat([bos, targets[:, :-1]], dim=1))  # (B, L, V)
        return losses.text_nll_per_position(logits, targets)  # (B, L)

    def loss(self, model, ids: np.ndarray, device: str) -> torch.Tensor:
        """Average NLL, nats per token."""
        return self._forward(model, ids, device).mean()

    @torch.no_grad()
    def metrics(
        self, model, ids: np.ndarray, device: str, exact_log_p: bool = False
    ) -> dict[str, np.ndarray]:
        """nll per sample and position (n, L), nats (Eq. E.38); p is unknown for text, so
        ``exact_log_p`` adds nothing."""
        return {"nll": self._forward(model, ids, device).double().cpu().numpy()}
