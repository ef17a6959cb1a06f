"""Pair-count throughput for a d-sweep: the toolkit's engines vs collections.Counter.

Same tokens, same run: the embedded corpus (four Gutenberg books, GPT-NeoX-20B tokens), pairs
(w_i, w_{i+d}) inside each book for d = 1, 2, 4, ..., 8192, reduced to count-of-counts.

* toolkit: ``count_corpus`` (baseline series off) with each engine; its time also covers the
  1-gram and adjacent 2-gram series, so the pairs/s it reports are a lower bound;
* baseline: ``Counter(zip(doc[:-d], doc[d:]))`` per document on Python lists, then
  ``Counter(counts.values())`` -- the fastest plain-Python form (the counting loop runs in C).
  It runs on the first --baseline-tokens tokens only (it is slow) and its per-pair rate is
  extrapolated (a smaller dict is, if anything, faster per pair); its count-of-counts are
  checked equal to the toolkit's on that subset. An explicit ``c[(a, b)] += 1`` loop is also
  timed, for reference only.
Peak memory: resident-set growth (peak minus start) of one sweep, each in a fresh process.
Threads: series are counted on a thread pool (default: every core); the numpy engine is timed
on one thread (the per-core number) and on every core. The Counter is single-threaded. The
ratio printed last is the default configuration (numpy engine, every core) vs the Counter.

    python -m benchmarks.pair_counting [--max-tokens N] [--baseline-tokens N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from l2m_analysis.corpus.corpus_counts import count_corpus
from l2m_analysis.corpus.gutenberg import embedded_books
from l2m_analysis.corpus.series import DEFAULT_DISTANCES
from l2m_analysis.corpus.tokenizer import load_tokenizer


def _status_kib(field: str) -> int:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _peak_growth_worker(npz: str, vocab: int, distances, engine: str, threads: int) -> float:
    """In a fresh process: peak RSS growth (MB) while one sweep runs. The kernel's peak
    (VmHWM) is reset first (clear_refs 5), so import-time peaks do not count."""
    data = np.load(npz)
    token_ids, group_ids = data["token_ids"], data["group_ids"]
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kib("VmRSS")
    if engine == "counter":
        counter_sweep(token_ids, group_ids, distances)
    else:
        count_corpus(token_ids, group_ids, vocab, distances, engine=engine, shuffle_seed=None,
                     threads=threads)  # fmt: skip
    return max(_status_kib("VmHWM") - before, 0) / 1024


def peak_growth_mb(npz: str, vocab: int, distances, engine: str, threads: int = 1) -> float:
    """Peak memory of one sweep, measured in a spawned child so runs do not share a peak."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        job = pool.submit(_peak_growth_worker, npz, vocab, distances, engine, threads)
        return job.result()


def embedded_tokens(max_tokens: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """(token_ids, group_ids) of the embedded books (one group per book), and the vocab size."""
    tok = load_tokenizer("neox")
    ids, groups = [], []
    for i, book in enumerate(embedded_books()):
        book_ids = tok.encode(book.text)
        ids.append(book_ids)
        groups.append(np.full(book_ids.size, i))
    token_ids, group_ids = np.concatenate(ids), np.concatenate(groups)
    if max_tokens:
        token_ids, group_ids = token_ids[:max_tokens], group_ids[:max_tokens]
    return token_ids, group_ids, tok.identity.vocab_size


def counter_sweep(token_ids: np.ndarray, group_ids: np.ndarray, distances) -> dict[int, Counter]:
    """The straightforward way: a Counter of token tuples per distance, count-of-counts after."""
    bounds = np.flatnonzero(np.diff(group_ids)) + 1
    docs = [d.tolist() for d in np.split(token_ids, bounds)]
    out = {}
    for d in distances:
        pairs: Counter = Counter()
        for doc in docs:
            pairs.update(zip(doc[:-d], doc[d:], strict=False))
        out[d] = Counter(pairs.values())
    return out


def counter_loop_rate(token_ids: np.ndarray, distances, n_tokens: int = 100_000) -> float:
    """Pairs/s of the other common form, a Python loop ``c[(a, b)] += 1`` (for reference)."""
    doc = token_ids[:n_tokens].tolist()
    t0, n = time.perf_counter(), 0
    for d in distances:
        pairs: Counter = Counter()
        for i in range(len(doc) - d):
            pairs[(doc[i], doc[i + d])] += 1
        Counter(pairs.values())
        n += max(len(doc) - d, 0)
    return n / (time.perf_counter() - t0)


def best_time(fn: Callable[[], object], repeats: int) -> tuple[object, float]:
    """(result, best wall time in seconds) over ``repeats`` calls."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return result, best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pair_counting",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--max-tokens", type=int, default=None, help="tokens used (default all)")
    parser.add_argument(
        "--baseline-tokens",
        type=int,
        default=500_000,
        help="tokens the Counter baseline runs on (default 5e5; extrapolated "
        "per pair to the whole sweep)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="toolkit timings, best kept")
    args = parser.parse_args(argv)  # fmt: skip
    distances = DEFAULT_DISTANCES
    cores = os.cpu_count() or 1

    token_ids, group_ids, vocab = embedded_tokens(args.max_tokens)
    n_pairs = pairs_in_sweep(group_ids, distances)
    print(f"tokens: {token_ids.size:,} in {len(np.unique(group_ids))} documents; "
          f"d-sweep {distances[0]}..{distances[-1]} ({len(distances)} distances): "
          f"{n_pairs:,} token pairs; {cores} cores")  # fmt: skip
    sub = min(args.baseline_tokens, token_ids.size)
    sub_ids, sub_groups = token_ids[:sub], group_ids[:sub]
    sub_pairs = pairs_in_sweep(sub_groups, distances)

    with tempfile.TemporaryDirectory() as tmp:
        full_npz, sub_npz = str(Path(tmp) / "full.npz"), str(Path(tmp) / "sub.npz")
        np.savez(full_npz, token_ids=token_ids, group_ids=group_ids)
        np.savez(sub_npz, token_ids=sub_ids, group_ids=sub_groups)
        rates = {}
        for engine, threads in (("numpy", 1), ("numpy", cores), ("polars", cores),
                                ("duckdb", cores)):  # fmt: skip
            _, seconds = best_time(lambda e=engine, t=threads: count_corpus(
                token_ids, group_ids, vocab, distances, engine=e, shuffle_seed=None, threads=t),
                args.repeats)  # fmt: skip
            mem = peak_growth_mb(full_npz, vocab, distances, engine, threads)
            rates[engine, threads] = rate = n_pairs / seconds
            print(f"toolkit {engine:6s} {threads} thread(s): {seconds:6.3f} s "
                  f"{rate / 1e6:7.1f} M pairs/s, {rate / threads / 1e6:6.1f} M pairs/s per "
                  f"thread, peak +{mem:.0f} MB")  # fmt: skip
        baseline, seconds = best_time(lambda: counter_sweep(sub_ids, sub_groups, distances), 1)
        mem = peak_growth_mb(sub_npz, vocab, distances, "counter")
    counter_rate = sub_pairs / seconds
    print(f"baseline Counter: {seconds:6.3f} s on the first {sub:,} tokens "
          f"({sub_pairs:,} pairs): {counter_rate / 1e6:.2f} M pairs/s (1 thread), "
          f"peak +{mem:.0f} MB on that subset; extrapolated per pair to all {n_pairs:,} "
          f"pairs: {n_pairs / counter_rate:.1f} s")  # fmt: skip
    loop_rate = counter_loop_rate(token_ids, distances)
    print(f"for reference, a Python loop c[(a, b)] += 1: {loop_rate / 1e6:.2f} M pairs/s "
          f"(first 100,000 tokens); the numpy engine is {rates['numpy', cores] / loop_rate:.0f}x "
          f"that")  # fmt: skip
    check = count_corpus(sub_ids, sub_groups, vocab, distances, shuffle_seed=None)
    for d, cc in baseline.items():
        mine = check.pairs.filter(distance=d)
        if dict(zip(mine["count"], mine["n_items"], strict=True)) != dict(cc):
            print(f"MISMATCH at d={d}: toolkit and Counter disagree", file=sys.stderr)
            return 1
    print("check: toolkit count-of-counts == Counter's on that subset, at every d")
    one, every = rates["numpy", 1], rates["numpy", cores]
    print(f"numpy engine on one core: {one / 1e6:.1f} M token pairs/s (target >= 20), "
          f"{one / counter_rate:.1f}x the Counter")  # fmt: skip
    print(f"pair-count speed-up over collections.Counter (d-sweep, numpy engine, {cores} "
          f"threads): {every / counter_rate:.1f}x")  # fmt: skip
    return 0


def pairs_in_sweep(group_ids: np.ndarray, distances) -> int:
    """Token pairs inside groups summed over the sweep."""
    return sum(
        int(np.sum(group_ids[:-d] == group_ids[d:])) for d in distances if d < group_ids.size
    )


if __name__ == "__main__":
    sys.exit(main())
