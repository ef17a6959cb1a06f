"""A trained text model as a local Hugging Face folder, so that it can be scored as q.

When a text run completes, ``pipelines.train`` writes ``<checkpoint dir>/hf/``:

    config.json, model.safetensors   GPT2LMHeadModel / MambaForCausalLM / Mamba2ForCausalLM with
                                     the trained backbone and its tied LM head
    tokenizer.json                   the very bytes of the tokenizer the corpus was tokenized
                                     with (so its sha256 is the corpus run's)
    l2m_model.json                   the training run, step, preset, BOS id, training length,
                                     its corpus run and which of its samples were held out

``python -m pipelines.score_logprobs --model <that folder>`` (or ``--model train:<run id>``)
scores a corpus with it like any other local model. Exports are exact: the folder's logits
equal the training model's. The context window recorded for scoring (``max_length`` in
l2m_model.json) is BOS + L_train tokens for every architecture, so scoring refuses samples
longer than the model was trained on; the config allows two positions more (a GPT-2's position
table gets two copies of its last row), because scoring L tokens feeds BOS + L tokens, of which
the last one's output predicts nothing scored, and vLLM adds one generated token.

The folder is written under a temporary name and renamed into place, only when the run has
completed: a killed or unfinished run has no model folder, and the scoring checks refuse its
checkpoint folder (``latest.pt``, no config.json) with that explanation.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from l2m_analysis.assets import RECORD, _read_record
from l2m_analysis.corpus.tokenizer import NEOX, NEOX_NAME, load_tokenizer
from l2m_analysis.errors import InputError
from l2m_analysis.training.config import TrainConfig
from l2m_analysis.warehouse.location import MODEL_FOLDER


def hf_folder(checkpoint_dir: Path) -> Path:
    """Where a run's Hugging Face folder lives: ``<checkpoint dir>/hf``."""
    return Path(checkpoint_dir) / MODEL_FOLDER


def tokenizer_file(corpus_label: str | None, given: Path | None, corpus_run: str) -> Path | None:
    """The tokenizer.json a text run's corpus was tokenized with (``runs.tokenizer`` label
    ``<name> sha256:<hex>``): ``given``, else the embedded GPT-NeoX-20B when the label names
    it; checked against the label's sha256. None when no file is known."""
    name, _, sha = (corpus_label or "").partition(" sha256:")
    if given is None and name != NEOX_NAME:
        return None
    tokenizer = load_tokenizer(given if given is not None else NEOX)
    path = Path(tokenizer.identity.path)
    if tokenizer.identity.sha256 != sha or path.is_dir():
        raise InputError(
            f"tokenizer {path} (sha256:{tokenizer.identity.sha256}) is not the tokenizer.json "
            f"corpus run {corpus_run!r} was tokenized with ({corpus_label!r})",
            "pass --tokenizer-file with the tokenizer.json given to prepare_corpus --tokenizer",
        )
    return path


def causal_lm(model: torch.nn.Module, config: TrainConfig):
    """The transformers causal LM of a trained ``TextTokenModel`` (same weights, same logits)."""
    from transformers import GPT2LMHeadModel, Mamba2ForCausalLM, MambaForCausalLM

    arch = config.model_spec().arch
    cls = {"gpt2": GPT2LMHeadModel, "mamba": MambaForCausalLM, "mamba2": Mamba2ForCausalLM}[arch]
    hf_config = model.backbone.config.__class__.from_dict(model.backbone.config.to_dict())
    hf_config.update(
        {"tie_word_embeddings": True, "use_cache": True, "bos_token_id": config.bos_id}
    )
    state = {k: v.detach().clone() for k, v in model.backbone.state_dict().items()}
    positions = config.length + 2  # BOS + L scored tokens + the one token vLLM generates
    if arch == "gpt2":  # the appended rows only ever hold tokens whose outputs are not scored
        hf_config.n_positions = positions
        state["wpe.weight"] = torch.cat(
            [state["wpe.weight"], state["wpe.weight"][-1:].repeat(2, 1)]
        )
    else:
        hf_config.update({"max_position_embeddings": positions})
        if arch == "mamba":
            hf_config.use_mambapy = False  # a runtime choice of this machine, not of the model
    lm = cls(hf_config)
    lm.base_model.load_state_dict(state)  # the backbone class itself: the same keys
    lm.tie_weights()
    return lm.eval()


def save_hf_folder(
    model: torch.nn.Module, config: TrainConfig, folder: Path, tokenizer_file: Path | None,
    record: dict[str, Any],
) -> Path:  # fmt: skip
    """Write ``folder`` (config, weights, tokenizer.json, l2m_model.json) atomically."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the pipeline prints where the folder went
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        causal_lm(model, config).save_pretrained(tmp)
        if tokenizer_file is not None:
            shutil.copyfile(tokenizer_file, tmp / "tokenizer.json")
            (tmp / "tokenizer_config.json").write_text(json.dumps({
                "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": config.length,
            }, indent=2) + "\n")  # fmt: skip
        (tmp / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        if folder.exists():
            os.rename(folder, old)
        os.rename(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def export_record(config: TrainConfig, run_id: str, step: int, tokenizer: str | None) -> dict:
    """What ``l2m_model.json`` says of an exported run (``name`` names q in scoring runs)."""
    return {
        "name": run_id, "train_run_id": run_id, "preset": config.model,
        "arch": config.model_spec().arch, "data": config.data, "corpus_run": config.corpus_run,
        "holdout_every": config.holdout_every, "windows": config.windows,
        "tokenizer": tokenizer, "bos_id": config.bos_id, "train_length": config.length,
        "max_length": config.length + 1,  # BOS + L_train: the longest prompt scoring may use
        "step": step, "max_steps": config.max_steps, "complete": step >= config.max_steps,
        "config_digest": config.digest(), "source": "pipelines.train",
    }  # fmt: skip


def is_current(folder: Path, record: dict[str, Any]) -> bool:
    """True when ``folder`` already holds the export ``record`` describes."""
    return _read_record(Path(folder)) == json.loads(json.dumps(record))


def export_completed_run(
    model: torch.nn.Module, config: TrainConfig, run_id: str, step: int, checkpoint_dir: Path,
    tokenizer_path: Path | None, tokenizer_label: str | None,
) -> Path | None:  # fmt: skip
    """The model folder of a completed text run, written unless it is already there; None for
    Gaussian runs and unfinished ones."""
    if config.data != "text" or step < config.max_steps:
        return None
    folder = hf_folder(checkpoint_dir)
    record = export_record(config, run_id, step, tokenizer_label)
    if not is_current(folder, record):
        save_hf_folder(model, config, folder, tokenizer_path, record)
    return folder
