"""--scheduler and friends: each distributed pipeline has them; an unreachable scheduler, a
missing scheduler file, a nonsense choice or a worker memory limit below one counting block is
refused with exit 2 and the fix — quickly, never a hang."""

from __future__ import annotations

import socket
import time

import numpy as np
import polars as pl
import pytest

from l2m_analysis.cli import run_cli
from l2m_analysis.warehouse import Warehouse
from pipelines import bipartite_mi, count_ngrams, run_all, score_logprobs
from tests.cluster import write_markov_corpus

DISTRIBUTED = (count_ngrams, bipartite_mi, score_logprobs, run_all)


@pytest.mark.parametrize("module", DISTRIBUTED, ids=lambda m: m.__name__)
def test_every_distributed_pipeline_explains_where_work_runs(module, capsys) -> None:
    with pytest.raises(SystemExit):
        module.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--scheduler ", "dask-local", "--scheduler-file", "--workers",
                   "--threads-per-worker", "--memory-limit"):  # fmt: skip
        assert option in text, option


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    catalog = tmp_path_factory.mktemp("sched") / "l2m.duckdb"
    write_markov_corpus(catalog, "chain", docs=8, files=2)
    return catalog


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def count(catalog, *extra: str) -> list[str]:
    return ["--warehouse", str(catalog), "--run-id", "chain", "--distances", "1", *extra]


@pytest.mark.slow
def test_an_unreachable_scheduler_exits_2_with_the_fix(corpus, capsys) -> None:
    started = time.perf_counter()
    code = run_cli(
        count_ngrams.main, count(corpus, "--scheduler", f"tcp://127.0.0.1:{free_port()}")
    )
    waited = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler" in err
    assert "dask scheduler" in err and "--scheduler dask-local" in err  # the fix
    assert waited < 30  # about the 8 s connect timeout, not a hang


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scheduler-file", "/nonexistent/sched.json"], "does not exist"),
        (["--scheduler", "my-cluster"], "neither local, dask-local nor an address"),
        (["--scheduler", "dask-local", "--memory-limit", "lots"], "is not a memory size"),
    ],
)
def test_bad_scheduler_options_exit_2(corpus, capsys, extra, message) -> None:
    assert run_cli(count_ngrams.main, count(corpus, *extra)) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_a_memory_limit_below_one_block_names_the_fix_and_smaller_blocks_fit(
    tmp_path, capsys
) -> None:
    """6 documents of 1M tokens: one 6M-token block needs ~0.6 GiB a task, more than a 1 GiB
    worker may use (80 %, less its own ~0.3 GiB); 1M-token blocks fit the same worker."""
    catalog = tmp_path / "l2m.duckdb"
    rng = np.random.default_rng(0)
    n = 1_000_000
    with Warehouse.open(catalog) as wh:
        wh.start_run("corpus", run_id="big", config={"vocab_size": 500})
        for d in range(6):
            wh.append_batch("tokens", "big", f"docs-{d:09d}-{d:09d}", pl.DataFrame({
                "doc_id": np.full(n, d), "sample_id": np.full(n, d),
                "chunk_index": np.zeros(n, np.int32), "position": np.arange(n, dtype=np.int32),
                "token_id": rng.integers(0, 500, n),
            }))  # fmt: skip
    args = ["--warehouse", str(catalog), "--run-id", "big", "--distances", "1", "--scheduler",
            "dask-local", "--workers", "1", "--memory-limit", "1GiB"]  # fmt: skip
    assert run_cli(count_ngrams.main, [*args, "--block-tokens", "10000000"]) == 2
    err = capsys.readouterr().err
    assert "counting block of 6,000,000 tokens" in err
    assert "--memory-limit" in err and "--block-tokens" in err
    assert run_cli(count_ngrams.main, [*args, "--block-tokens", "1000000"]) == 0
