"""Real Dask clusters for the tests: worker processes on 127.0.0.1, closed by the test that
started them; and a Markov-chain corpus written straight into a warehouse."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import dask
import numpy as np
import polars as pl

from l2m_analysis.corpus.markov import sample_markov_chain, sticky_transition_matrix
from l2m_analysis.warehouse import Warehouse


@contextlib.contextmanager
def local_cluster(workers: int = 2, **config) -> Iterator:
    """(cluster, client): a LocalCluster of ``workers`` one-thread worker processes, 127.0.0.1
    only, no dashboard; ``config``: dask config set while it starts (e.g. allowed failures)."""
    from distributed import Client, LocalCluster

    settings = {"distributed.worker.daemon": False, **config}
    with dask.config.set(settings):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0",
                               silence_logs=logging.ERROR)  # fmt: skip
        client = Client(cluster)
    try:
        client.wait_for_workers(workers, timeout=60)
        yield cluster, client
    finally:
        client.close()
        cluster.close()


def worker_pids(client) -> dict[str, int]:
    """Worker address -> pid of its process."""
    return client.run(os.getpid)


def create_once(path: str | Path) -> bool:
    """Atomically create an empty file; True for the one caller that created it."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


def write_markov_corpus(
    catalog: Path,
    run_id: str,
    *,
    n_states: int = 30,
    docs: int = 48,
    files: int = 8,
    seed: int = 11,
) -> np.ndarray:
    """A corpus run of ``docs`` Markov-chain documents of varying lengths (300..1400 tokens,
    2 samples each) in ``files`` token batches; returns the transition matrix."""
    rng = np.random.default_rng(seed)
    transition = sticky_transition_matrix(n_states, 0.5, rng, concentration=0.5)
    lengths = 2 * rng.integers(150, 700, size=docs)
    with Warehouse.open(catalog) as wh:
        wh.start_run("corpus", run_id=run_id, dataset="markov",
                     config={"vocab_size": n_states})  # fmt: skip
        sample = 0
        for part in np.array_split(np.arange(docs), files):
            frames = []
            for d in part:
                n = int(lengths[d])
                tokens = sample_markov_chain(transition, 1, n, rng)[0]
                frames.append(pl.DataFrame({
                    "doc_id": np.full(n, d), "sample_id": np.repeat([sample, sample + 1], n // 2),
                    "chunk_index": np.repeat(np.array([0, 1], np.int32), n // 2),
                    "position": np.tile(np.arange(n // 2, dtype=np.int32), 2), "token_id": tokens,
                }))  # fmt: skip
                sample += 2
            wh.append_batch("tokens", run_id, f"docs-{part[0]:09d}-{part[-1]:09d}",
                            pl.concat(frames))  # fmt: skip
        wh.finish_run(run_id)
    return transition


def markov_windows(catalog: Path, corpus_run: str, length: int, samples: int, seed: int = 0):
    """(TokenWindows, partners) of ``samples`` samples of ``length`` tokens of a corpus run,
    X′ from other documents, as score_logprobs chooses them."""
    from l2m_analysis.scoring import derangement
    from l2m_analysis.scoring.samples import choose_samples, windows_from_tokens

    with Warehouse.open(catalog, create=False) as wh:
        lengths = wh.query(
            "SELECT sample_id, any_value(doc_id) AS doc_id, count(*) AS n_tokens "
            "FROM tokens WHERE run_id = ? GROUP BY sample_id",
            [corpus_run],
        )
        tokens = wh.query("SELECT sample_id, position, token_id FROM tokens WHERE run_id = ?",
                          [corpus_run])  # fmt: skip
    choice = choose_samples(lengths, length, samples, seed, corpus_run)
    windows = windows_from_tokens(tokens, choice, length)
    return windows, derangement(windows.doc_ids, seed + 1)
