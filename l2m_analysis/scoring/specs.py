"""Choosing and opening a scoring backend: specs that any process can open.

A backend holds a loaded model (GPU memory, vLLM's worker processes), so it cannot travel to a
Dask worker; a *spec* can: a small frozen (hashable, picklable) description whose ``open()``
loads the backend where the work runs. ``LLMSpec`` is ``--model``/``--backend`` of
``score_logprobs`` (resolved to a folder by ``resolve_model`` without loading weights: a local
folder, ``smollm2`` or ``train:<run id>``, a text model trained by pipelines.train);
``MarkovOracleSpec`` is the exact Markov-chain scorer. ``opened(spec)`` opens a backend as a
context manager that shuts it down (vLLM holds processes and memory until then).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from l2m_analysis.scoring.backend import ScoringBackend
from l2m_analysis.scoring.pretrained import require_backend
from l2m_analysis.warehouse.location import MODEL_FOLDER, checkpoint_dir_for, resolve_catalog

BACKENDS = ("vllm", "hf")
EMBEDDED_MODEL = "smollm2"
TRAINED_PREFIX = "train:"  # --model train:<run id>: a text model trained by pipelines.train


class BackendSpec(Protocol):
    """What a backend is, small enough to send to another process; ``open()`` loads it."""

    def open(self) -> ScoringBackend: ...


def resolve_model(spec: str, warehouse: str | Path | None = None) -> tuple[Path, Any]:
    """(folder, ``pretrained.ModelIdentity``) of ``--model``; clear errors for a bad folder.

    ``train:<run id>``: the model folder of a text training run of ``warehouse``
    (``<warehouse>_checkpoints/<run id>/hf``, written by pipelines.train when the run completes).
    """
    from l2m_analysis.assets import embedded_smollm2
    from l2m_analysis.scoring.pretrained import model_identity

    if spec == EMBEDDED_MODEL:
        folder = embedded_smollm2()
    elif spec.startswith(TRAINED_PREFIX):
        run_id = spec.removeprefix(TRAINED_PREFIX)
        folder = checkpoint_dir_for(resolve_catalog(warehouse), run_id) / MODEL_FOLDER
    else:
        folder = Path(spec).expanduser()
    return folder, model_identity(folder)


@dataclass(frozen=True)
class LLMSpec:
    """A local Hugging Face model folder scored by vLLM or transformers (``--backend``)."""

    backend: str
    folder: str
    bos_id: int
    dtype: str = "float32"
    device: str = "cpu"
    tensor_parallel: int = 1
    max_num_batched_tokens: int | None = None

    def open(self) -> ScoringBackend:
        require_backend(self.backend)
        if self.backend == "vllm":
            from l2m_analysis.scoring.vllm_backend import VLLMBackend

            extra = {} if self.max_num_batched_tokens is None else {
                "max_num_batched_tokens": self.max_num_batched_tokens}  # fmt: skip
            return VLLMBackend(Path(self.folder), bos_id=self.bos_id, dtype=self.dtype,
                               tensor_parallel_size=self.tensor_parallel, **extra)  # fmt: skip
        from l2m_analysis.scoring.hf import HFBackend

        return HFBackend(Path(self.folder), bos_id=self.bos_id, dtype=self.dtype,
                         device=self.device)  # fmt: skip


@dataclass(frozen=True)
class MarkovOracleSpec:
    """The exact scorer of a Markov chain: transition rows (K × K) and an optional start."""

    transition: tuple[tuple[float, ...], ...]
    start: tuple[float, ...] | None = None

    @classmethod
    def of(cls, transition: np.ndarray, start: np.ndarray | None = None) -> MarkovOracleSpec:
        rows = tuple(tuple(float(v) for v in row) for row in np.asarray(transition))
        return cls(rows, None if start is None else tuple(float(v) for v in start))

    def open(self) -> ScoringBackend:
        from l2m_analysis.scoring.markov_oracle import MarkovOracle

        start = None if self.start is None else np.array(self.start)
        return MarkovOracle(np.array(self.transition), start)


@contextlib.contextmanager
def opened(spec: BackendSpec) -> Iterator[ScoringBackend]:
    """``spec.open()`` as a context manager that closes the backend."""
    backend = spec.open()
    try:
        yield backend
    finally:
        backend.close()
