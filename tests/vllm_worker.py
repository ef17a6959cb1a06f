"""Score requests with the vLLM backend in a process of its own (a helper of
test_scoring_vllm.py and benchmarks/scoring.py, not a test).

    python -m tests.vllm_worker MODEL_DIR REQUESTS.npz OUT.npz [--bos-id 0] [--options JSON]

REQUESTS.npz holds ``context_<i>``, ``continuation_<i>``, ``start_<i>`` for i < ``n``.
OUT.npz gets ``logprob_<i>`` (float64 nats), ``describe`` (JSON), ``startup_seconds`` and
``score_seconds``; it is written (atomically) before the engine shuts down, so a caller reads
the results whatever the process's exit status (vLLM may abort at exit, rc 134).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("requests")
    parser.add_argument("out")
    parser.add_argument("--bos-id", type=int, default=0)
    parser.add_argument("--options", default="{}", help="VLLMBackend keyword arguments, JSON")
    args = parser.parse_args()
    from l2m_analysis.scoring.backend import ScoreRequest
    from l2m_analysis.scoring.vllm_backend import VLLMBackend

    data = np.load(args.requests)
    requests = [
        ScoreRequest(data[f"context_{i}"], data[f"continuation_{i}"], int(data[f"start_{i}"]))
        for i in range(int(data["n"]))
    ]
    t0 = time.perf_counter()
    backend = VLLMBackend(args.model_dir, bos_id=args.bos_id, **json.loads(args.options))
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    logprobs = backend.score(requests)
    seconds = time.perf_counter() - t0
    tmp = args.out + ".tmp.npz"
    arrays = {f"logprob_{i}": lp for i, lp in enumerate(logprobs)}
    np.savez(tmp, describe=json.dumps(backend.describe()), startup_seconds=startup,
             score_seconds=seconds, **arrays)  # fmt: skip
    os.replace(tmp, args.out)
    backend.close()


def save_requests(path, requests) -> None:
    """Write ``requests`` in the format main() reads."""
    arrays = {"n": len(requests)}
    for i, r in enumerate(requests):
        arrays |= {f"context_{i}": np.asarray(r.context, np.int64),
                   f"continuation_{i}": np.asarray(r.continuation, np.int64),
                   f"start_{i}": r.start_position}  # fmt: skip
    np.savez(path, **arrays)


def load_results(path, n: int) -> tuple[list[np.ndarray], dict, float, float]:
    """(log-probs, describe(), startup seconds, score seconds) that main() wrote."""
    data = np.load(path)
    logprobs = [data[f"logprob_{i}"] for i in range(n)]
    return (logprobs, json.loads(str(data["describe"])), float(data["startup_seconds"]),
            float(data["score_seconds"]))  # fmt: skip


if __name__ == "__main__":
    main()
