"""The HF transformers scoring backend: log q of each continuation token from a local
``AutoModelForCausalLM`` folder, in nats.

* Requests are grouped by context length, sorted by length and right-padded (attention mask)
  into batches of at most ``max_batch_tokens`` (rows × longest prompt).
* Logits are computed only for the rows that score a token (``logits_to_keep`` index tensor:
  the LM head never sees the context rows), then log q = logit − logsumexp in float32 (or
  float64 when the model is), gathered at the actual token.
* KV reuse (``reuse_kv=True``): a split request's prompt BOS + X′[:ℓ] + Y shares its first ℓ+1
  tokens with the no_split prompt BOS + X′ of X′'s own sample when both are in the same call.
  That no_split pass keeps its cache; the split pass starts from its first ℓ positions (BOS +
  X′[:ℓ−1], copied per row) and feeds X′[ℓ−1] + Y[:−1], so only len(Y) tokens are computed
  instead of ℓ + 1 + len(Y). Cached and uncached attention round differently: results agree
  to fp32 noise (tests assert ≤ 1e-4 nats on a tiny Llama; docs/scoring.md has SmolLM2's).
"""

from __future__ import annotations

import gc
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from l2m_analysis.errors import InputError
from l2m_analysis.scoring.backend import ScoreRequest
from l2m_analysis.scoring.pretrained import LocalLLMBackend, require_backend

DTYPES = ("float32", "bfloat16")
DEVICES = ("cpu", "cuda")


@dataclass
class ForwardStats:
    """Token counts since the backend was made: ``tokens_forwarded`` (real prompt tokens the
    model computed, padding excluded), ``tokens_from_cache`` (prompt tokens served from a
    no_split pass's KV cache instead), ``passes`` (forward calls)."""

    tokens_forwarded: int = 0
    tokens_from_cache: int = 0
    passes: int = 0


class HFBackend(LocalLLMBackend):
    """log q(token | BOS, context, earlier continuation) from a local HF causal LM, nats."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        bos_id: int,
        dtype: str = "float32",
        device: str = "cpu",
        attn_implementation: str = "sdpa",
        max_batch_tokens: int = 4096,
        reuse_kv: bool = True,
    ) -> None:
        require_backend("hf")
        if dtype not in DTYPES or device not in DEVICES:
            raise InputError(f"dtype {dtype!r} / device {device!r} not supported",
                             f"use dtype in {DTYPES} and device in {DEVICES}")  # fmt: skip
        if max_batch_tokens < 1:
            raise InputError(f"max_batch_tokens must be >= 1, got {max_batch_tokens}",
                             "use e.g. 4096 on CPU, 65536 on a GPU")  # fmt: skip
        super().__init__(model_dir, bos_id)
        import torch
        from transformers import AutoModelForCausalLM

        if device == "cuda" and not torch.cuda.is_available():
            raise InputError("device 'cuda' asked for but torch sees no GPU", "use device='cpu'")
        self.torch = torch
        self.dtype, self.device, self.attn = dtype, device, attn_implementation
        self.max_batch_tokens, self.reuse_kv = int(max_batch_tokens), bool(reuse_kv)
        options = {"dtype": getattr(torch, dtype), "local_files_only": True}
        try:
            try:
                model = AutoModelForCausalLM.from_pretrained(
                    str(self.model_dir), attn_implementation=attn_implementation, **options
                )
            except ValueError as err:  # a model without attention (Mamba) refuses the option
                if "attention implementation" not in str(err):
                    raise
                model = AutoModelForCausalLM.from_pretrained(str(self.model_dir), **options)
                self.attn = None
        except (OSError, ValueError) as err:
            raise InputError(f"cannot load a causal LM from {self.model_dir}: {err}",
                             "pass a folder written by save_pretrained") from err  # fmt: skip
        self.model = model.to(device).eval()
        self.vocab_size = int(self.model.get_input_embeddings().num_embeddings)
        self.name = f"hf:{self.identity.name}"
        self._keep = "logits_to_keep" in inspect.signature(self.model.forward).parameters
        self.stats = ForwardStats()
        self._reusable = self._kv_reusable()

    def describe(self) -> dict[str, Any]:
        import torch
        import transformers

        return {
            "backend": "HFBackend", "name": self.name, "model_dir": str(self.model_dir),
            "bos_id": self.bos_id, "dtype": self.dtype, "device": self.device,
            "attn_implementation": self.attn, "max_batch_tokens": self.max_batch_tokens,
            "reuse_kv": self.reuse_kv, "transformers": transformers.__version__,
            "torch": torch.__version__, "identity": self.identity.as_dict(),
        }  # fmt: skip

    def close(self) -> None:
        """Free the model's memory (and the CUDA cache)."""
        self.model = None
        gc.collect()
        if self.device == "cuda":
            self.torch.cuda.empty_cache()

    def score(self, requests: Sequence[ScoreRequest]) -> list[np.ndarray]:
        """Per-token log q of each continuation: (n_cont,) float64 nats, in request order.

        A prompt's last token predicts nothing scored, so the model is fed BOS + context +
        continuation[:-1]; its last n_cont rows score the continuation."""
        if self.model is None:
            raise InputError(f"{self.name} is closed", "make a new backend")
        fed = [p[:-1] for p in self.prompts(requests)]
        targets = [np.asarray(r.continuation, dtype=np.int64) for r in requests]
        lengths = [len(f) for f in fed]
        keys = [len(r.context) for r in requests]
        out: list = [None] * len(requests)
        lenders = find_lenders(requests) if self.reuse_kv and self._reusable else {}
        lending = sorted(set(lenders.values()))
        plain = sorted(set(range(len(requests))) - set(lenders) - set(lending))
        with self.torch.inference_mode():
            for batch in length_batches(plain, lengths, keys, self.max_batch_tokens):
                rows, _ = self._forward([fed[i] for i in batch], [targets[i] for i in batch])
                _place(out, batch, rows)
            for batch in length_batches(lending, lengths, keys, self.max_batch_tokens):
                rows, cache = self._forward([fed[i] for i in batch], [targets[i] for i in batch],
                                            use_cache=True)  # fmt: skip
                _place(out, batch, rows)
                slot = {lender: row for row, lender in enumerate(batch)}
                splits = [i for i, lender in lenders.items() if lender in slot]
                slots = {i: slot[lenders[i]] for i in splits}
                self._score_borrowers(splits, slots, cache, fed, targets, keys, out)
                del cache
        return [np.asarray(o, dtype=np.float64) for o in out]

    def _score_borrowers(self, splits, slots, cache, fed, targets, keys, out) -> None:
        """Score split requests ``splits`` from rows ``slots[i]`` of a no_split pass's
        ``cache``: its first ℓ positions (BOS + X′[:ℓ−1]) are copied, and X′[ℓ−1] +
        Y[:−1] (n_cont tokens, the last n_cont of the split's fed tokens) is computed."""
        tail = {i: fed[i][keys[i] :] for i in splits}
        span = {i: len(fed[i]) for i in splits}  # keys each computed token may attend to
        for group in length_batches(splits, span, keys, self.max_batch_tokens):
            ell = keys[group[0]]
            rows_idx = self.torch.tensor([slots[i] for i in group], device=self.device)
            past = self._prefix_cache(cache, rows_idx, ell)
            rows, _ = self._forward([tail[i] for i in group], [targets[i] for i in group], past)
            self.stats.tokens_from_cache += ell * len(group)
            _place(out, group, rows)

    def _kv_reusable(self) -> bool:
        """KV reuse needs plain full-attention DynamicCache layers (no sliding window, no SSM)."""
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        try:
            cache = DynamicCache(config=self.model.config)
        except Exception:  # a model type DynamicCache does not know: no reuse
            return False
        return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)

    def _prefix_cache(self, cache, rows, ell: int):
        """A new DynamicCache of the first ``ell`` positions of ``cache``'s ``rows`` (copied)."""
        from transformers import DynamicCache

        layers = [
            (layer.keys[rows, :, :ell], layer.values[rows, :, :ell]) for layer in cache.layers
        ]
        return DynamicCache(layers, config=self.model.config)

    def _forward(self, fed, targets, past=None, use_cache=False):
        """One right-padded forward of ``fed`` (token rows, after ``past`` if given); the last
        len(targets[b]) positions of row b score targets[b]. Logits are computed only for the
        union of scored positions. Returns ([(n_b,) float64 nats], the cache if use_cache)."""
        torch = self.torch
        n_rows, width = len(fed), max(len(f) for f in fed)
        ids = np.full((n_rows, width), self.bos_id, dtype=np.int64)
        mask = np.zeros((n_rows, width), dtype=np.int64)
        first = [len(f) - len(t) for f, t in zip(fed, targets, strict=True)]
        lo, hi = min(first), max(len(f) for f in fed)
        goal = np.zeros((n_rows, hi - lo), dtype=np.int64)  # the token each kept row scores
        for b, (f, t) in enumerate(zip(fed, targets, strict=True)):
            ids[b, : len(f)], mask[b, : len(f)] = f, 1
            goal[b, first[b] - lo : len(f) - lo] = t
        attention = torch.from_numpy(mask).to(self.device)
        kwargs: dict[str, Any] = {"use_cache": use_cache or past is not None}
        if past is not None:
            seen = attention.new_ones(n_rows, past.get_seq_length())
            attention, kwargs["past_key_values"] = torch.cat([seen, attention], 1), past
        if self._keep:
            kwargs["logits_to_keep"] = torch.arange(lo, hi, device=self.device)
        output = self.model(torch.from_numpy(ids).to(self.device), attention_mask=attention,
                            **kwargs)  # fmt: skip
        logits = output.logits if self._keep else output.logits[:, lo:hi]
        logits = logits if logits.dtype == torch.float64 else logits.float()
        goal_t = torch.from_numpy(goal).to(self.device)[..., None]
        logq = (logits.gather(-1, goal_t)[..., 0] - torch.logsumexp(logits, -1)).double()
        logq = logq.cpu().numpy()
        self.stats.tokens_forwarded += int(mask.sum())
        self.stats.passes += 1
        rows = [logq[b, first[b] - lo : len(f) - lo] for b, f in enumerate(fed)]
        return rows, output.past_key_values if use_cache else None


def find_lenders(requests: Sequence[ScoreRequest]) -> dict[int, int]:
    """split request index -> index of a no_split request whose continuation starts with the
    split's context (X′[:ℓ]); splits without one are left out."""
    no_split = [i for i, r in enumerate(requests) if len(r.context) == 0 and r.start_position == 0]
    lenders: dict[int, int] = {}
    by_prefix: dict[int, dict[bytes, int]] = {}
    for i, req in enumerate(requests):
        ell = len(req.context)
        if ell == 0:
            continue
        if ell not in by_prefix:
            by_prefix[ell] = {}
            for j in no_split:
                cont = np.asarray(requests[j].continuation, dtype=np.int64)
                if len(cont) >= ell:  # the no_split pass must hold X′[:ℓ]
                    by_prefix[ell].setdefault(cont[:ell].tobytes(), j)
        key = np.asarray(req.context, dtype=np.int64).tobytes()
        if key in by_prefix[ell]:
            lenders[i] = by_prefix[ell][key]
    return lenders


def length_batches(indices, lengths, keys, max_tokens: int) -> list[list[int]]:
    """``indices`` grouped by ``keys[i]`` (the context length), longest ``lengths[i]`` first,
    cut into batches whose rows × longest length stays within ``max_tokens`` (a longer one
    gets a batch of its own)."""
    order = sorted(indices, key=lambda i: (keys[i], -lengths[i], i))
    batches: list[list[int]] = []
    for i in order:
        last = batches[-1] if batches else None
        if last and keys[last[0]] == keys[i] and (len(last) + 1) * lengths[last[0]] <= max_tokens:
            last.append(i)
        else:
            batches.append([i])
    return batches


def _place(out: list, batch: Sequence[int], rows: Sequence[np.ndarray]) -> None:
    for i, row in zip(batch, rows, strict=True):
        out[i] = row
