"""Counting and scoring on Dask against the in-process path, on this machine, in one run.

Counting: the embedded books (GPT-NeoX tokens) repeated to at least --tokens tokens (each
repeat new documents), stored as a warehouse corpus run in 1M-token batches, then counted for
--distances with the shuffle baseline in blocks of --block-tokens, four ways:
  in process, 1 thread   (the baseline the Dask numbers are compared with: one core)
  in process, 2 threads  (today's default on 2 cores, for reference)
  dask-local, 1 worker × 1 thread, and 2 workers × 1 thread (a LocalCluster of processes),
  with the default (disk: numpy hash buckets through a scratch folder) and with the Dask
  DataFrame shuffle (tasks; p2p on 2 workers);
pairs/s = token pairs of the real series counted / wall seconds (the baseline series are
counted too). Tables are checked identical. Peak worker RSS is each worker's VmHWM after a
count (reset before it), printed for three corpus sizes at the same block size (half the
corpus is the untimed warm-up of each cluster; twice the corpus is counted on one worker with
the default method, for memory only): it follows the block, not the corpus. The default
``disk`` method is timed beside the Dask DataFrame shuffle (``tasks``, ``p2p``) it replaced.
Scoring: the Markov-chain oracle scores --samples samples of --length tokens (the windowed
plan) in process and on 1 and 2 workers (tokens/s of backend calls and of the whole run).
Ranges are over --repeats runs; the ratios come last.

    python -m benchmarks.dask_scaling [--tokens 20000000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from l2m_analysis.cluster.counting import count_token_files_on_dask
from l2m_analysis.cluster.scoring import score_run_on_dask
from l2m_analysis.corpus.block_counting import CountOptions, count_token_files
from l2m_analysis.corpus.gutenberg import embedded_books
from l2m_analysis.corpus.markov import sample_markov_chain, sticky_transition_matrix
from l2m_analysis.corpus.tokenizer import load_tokenizer
from l2m_analysis.scoring import ScoringPlan, TokenWindows, default_splits, derangement, score_run
from l2m_analysis.scoring.specs import MarkovOracleSpec
from l2m_analysis.warehouse import Warehouse

DISTANCES = (1, 4, 16, 64, 256, 1024)


def write_corpus(catalog: Path, run_id: str, target: int) -> int:
    """The books repeated until ``target`` tokens, 1M-token batches of whole documents."""
    tok = load_tokenizer("neox")
    books = [np.asarray(tok.encode(b.text), np.int64) for b in embedded_books()]
    with Warehouse.open(catalog) as wh:
        wh.start_run("corpus", run_id=run_id, config={"vocab_size": tok.identity.vocab_size})
        total, doc = 0, 0
        while total < target:
            for ids in books:
                wh.append_batch("tokens", run_id, f"docs-{doc:09d}-{doc:09d}", pl.DataFrame({
                    "doc_id": np.full(ids.size, doc), "sample_id": np.full(ids.size, doc),
                    "chunk_index": np.zeros(ids.size, np.int32),
                    "position": np.arange(ids.size, dtype=np.int32), "token_id": ids,
                }))  # fmt: skip
                total += ids.size
                doc += 1
        wh.finish_run(run_id)
    return total


def cluster(workers: int):
    from distributed import Client, LocalCluster

    c = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                     dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
                     memory_limit="8GiB")  # fmt: skip
    client = Client(c)
    client.wait_for_workers(workers)
    return c, client


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_count(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, times


def span(values, fmt="{:.1f}") -> str:
    return f"{fmt.format(min(values))}–{fmt.format(max(values))}"


def corpus_files(catalog: Path) -> list[tuple[str, int]]:
    with Warehouse.open(catalog, create=False) as wh:
        return wh.batch_files("tokens", "books")


def counting(args, folder: Path) -> dict[str, list[float]]:
    sizes = {"full": args.tokens, "half": args.tokens // 2, "double": args.tokens * 2}
    for name, target in sizes.items():
        write_corpus(folder / f"{name}.duckdb", "books", target)
    files, half_files, double_files = (corpus_files(folder / f"{name}.duckdb") for name in sizes)
    n = sum(k for _, k in files)
    with Warehouse.open(folder / "full.duckdb", create=False) as wh:
        vocab = wh.run_config("books")["vocab_size"]
    options = CountOptions(block_tokens=args.block_tokens, spill_dir=folder / "spill")
    pairs = sum(max(n - d * 4 * (n // 1_520_000 + 1), 0) for d in args.distances)  # ≈
    print(
        f"corpus: {n:,} tokens (the books ×{n / 1.52e6:.1f}), distances {args.distances} "
        f"+ baseline, blocks of {args.block_tokens:,} tokens; ≈{pairs / 1e6:.0f} M real pairs"
    )
    times: dict[str, list[float]] = {}
    ref, times["in process, 1 thread"] = time_count(lambda: count_token_files(
        files, vocab, args.distances, CountOptions(**{**vars(options), "threads": 1})),
        args.repeats)  # fmt: skip
    _, times["in process, 2 threads"] = time_count(
        lambda: count_token_files(files, vocab, args.distances, options), args.repeats
    )
    peaks = {}
    for workers, method in ((1, "auto"), (2, "auto"), (1, "tasks"), (2, "tasks"), (2, "p2p")):
        c, client = cluster(workers)
        name = f"dask, {workers} worker(s)" + ("" if method == "auto" else f", {method}")
        try:  # warm-up, untimed: the half corpus (its peak RSS, for the memory line)
            client.run(_reset_peak)
            count_token_files_on_dask(client, half_files, vocab, args.distances, options,
                                      shuffle_method=method)  # fmt: skip
            peaks[(workers, method, sum(k for _, k in half_files))] = max(
                client.run(_peak_mib).values()
            )
            client.run(_reset_peak)
            got, times[name] = time_count(
                lambda c=client, m=method: count_token_files_on_dask(
                    c, files, vocab, args.distances, options, shuffle_method=m),
                args.repeats)  # fmt: skip
            assert got.pairs.equals(ref.pairs) and got.ngrams.equals(ref.ngrams), "MISMATCH"
            peaks[(workers, method, n)] = max(client.run(_peak_mib).values())
            if (workers, method) == (1, "auto"):
                client.run(_reset_peak)
                count_token_files_on_dask(client, double_files, vocab, args.distances, options)
                peaks[(1, method, sum(k for _, k in double_files))] = max(
                    client.run(_peak_mib).values()
                )
        finally:
            client.close()
            c.close()
    print("check: Dask count-of-counts == in-process, real pairs and baseline, every method")
    for name, t in times.items():
        print(f"  {name:28s} {span(t)} s   {span([pairs / s / 1e6 for s in t])} M pairs/s")
    for (workers, method, tokens), mib in sorted(peaks.items()):
        way = "disk (default)" if method == "auto" else method
        print(f"  peak worker RSS, {workers} worker(s), {way}, {tokens:,} tokens: {mib:,.0f} MiB")
    return times


def scoring(args) -> dict[str, list[float]]:
    rng = np.random.default_rng(0)
    transition = sticky_transition_matrix(200, 0.5, rng)
    windows = TokenWindows(sample_markov_chain(transition, args.samples, args.length, rng),
                           np.arange(args.samples))  # fmt: skip
    plan = ScoringPlan(args.samples, default_splits(args.length), batch_size=16)
    partners = derangement(windows.doc_ids, 0)
    spec = MarkovOracleSpec.of(transition)
    tokens = args.samples * plan.tokens_forwarded(args.length)
    print(
        f"scoring: Markov oracle, {args.samples} samples × {args.length} tokens, "
        f"{tokens:,} prompt tokens in {-(-args.samples // 16)} batches"
    )
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:

        def fresh(name: str) -> Warehouse:
            wh = Warehouse.open(Path(tmp) / f"{name}-{time.monotonic_ns()}.duckdb")
            wh.start_run("llm", run_id="r", config={})
            return wh

        def local():
            with fresh("local") as wh:
                score_run(wh, "r", spec.open(), windows, plan, partners, show_progress=False)

        _, times["in process"] = time_count(local, args.repeats)
        for workers in (1, 2):
            c, client = cluster(workers)
            try:

                def remote(c=client):
                    with fresh("dask") as wh:
                        score_run_on_dask(c, str(wh.root), "r", spec, windows, plan, partners)

                _, times[f"dask, {workers} worker(s)"] = time_count(remote, args.repeats)
            finally:
                client.close()
                c.close()
    for name, t in times.items():
        print(f"  {name:24s} {span(t)} s   {span([tokens / s / 1e3 for s in t])} k tokens/s")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dask_scaling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tokens", type=int, default=20_000_000)
    parser.add_argument("--block-tokens", type=int, default=10_000_000)
    parser.add_argument("--distances", type=int, nargs="+", default=list(DISTANCES))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--length", type=int, default=512)
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        count_times = counting(args, Path(tmp))
    score_times = scoring(args)
    best = {k: min(v) for k, v in count_times.items()}
    local = best["in process, 1 thread"]
    for way, suffix in (("disk (default)", ""), ("DataFrame shuffle, tasks", ", tasks")):
        one, two = best[f"dask, 1 worker(s){suffix}"], best[f"dask, 2 worker(s){suffix}"]
        print(
            f"counting, {way}: 1 worker vs in process (1 thread): {one / local:.2f}x the "
            f"time (target <= 1.3); 2 workers vs 1: {one / two:.2f}x as fast (target >= 1.6)"
        )
    s = {k: min(v) for k, v in score_times.items()}
    print(
        f"scoring, 2 workers vs 1: {s['dask, 1 worker(s)'] / s['dask, 2 worker(s)']:.2f}x as "
        f"fast; 1 worker vs in process: {s['dask, 1 worker(s)'] / s['in process']:.2f}x the time"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
