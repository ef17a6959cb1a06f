"""An external cluster, as on a few hosts: `dask scheduler --scheduler-file F` and two
`dask worker --scheduler-file F` processes on 127.0.0.1 (one declaring GPU=1). The pipelines,
given --scheduler-file, count, score (a real tiny Llama through transformers) and estimate the
bipartite MI exactly as in process; scoring tasks run only where a GPU is declared. The cluster
is shut down by the test, and its processes are gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from l2m_analysis.cli import run_cli
from l2m_analysis.warehouse import Warehouse
from pipelines import bipartite_mi, count_ngrams, score_logprobs
from tests.test_score_logprobs_pipeline import command, setup  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow  # real clusters of worker processes

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")


def start(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    return subprocess.Popen([str(DASK), *args], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)  # fmt: skip


@pytest.fixture
def cluster(tmp_path):
    """(scheduler file, address of the GPU worker); every process stopped afterwards."""
    from distributed import Client

    sched = tmp_path / "sched.json"
    procs = [
        start(
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                str(sched),
            ],
            tmp_path / "scheduler.log",
        )
    ]
    for _ in range(300):
        if sched.exists() and json.loads(sched.read_text() or "{}").get("address"):
            break
        time.sleep(0.1)
    for i, extra in enumerate(([], ["--resources", "GPU=1", "--name", "gpu-worker"])):
        procs.append(start(["worker", "--scheduler-file", str(sched), "--nthreads", "1",
                            "--memory-limit", "4GiB", "--host", "127.0.0.1", "--dashboard-address",
                            "127.0.0.1:0", *extra], tmp_path / f"worker{i}.log"))  # fmt: skip
    try:
        with Client(scheduler_file=str(sched), timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            client.get_task_stream()  # the scheduler records tasks from now on
            gpu = [a for a, w in client.scheduler_info()["workers"].items()
                   if w.get("resources", {}).get("GPU")]  # fmt: skip
        yield sched, gpu[0]
        with Client(scheduler_file=str(sched), timeout=30) as client:
            client.shutdown()  # the clean way: scheduler and workers close
        for p in procs:
            p.wait(timeout=30)
    finally:
        for p in procs:  # only if the clean shutdown failed: our own process groups
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    assert all(p.returncode is not None for p in procs)


def table(catalog: Path, sql: str) -> pl.DataFrame:
    with Warehouse.open(catalog, create=False) as wh:
        return wh.query(sql)


def test_the_pipelines_on_an_external_cluster_give_the_local_results(setup, cluster) -> None:  # noqa: F811
    from distributed import Client

    catalog, model = setup
    sched, gpu_worker = cluster
    on_cluster = ["--scheduler-file", str(sched)]
    # counting: a copy of the corpus run counted on the cluster equals the local counts
    count = ["--warehouse", str(catalog), "--run-id", "books", "--distances", "1", "2", "16"]
    assert run_cli(count_ngrams.main, count) == 0
    local_counts = table(catalog, "SELECT * FROM pair_counts WHERE run_id = 'books' ORDER BY ALL")
    with Warehouse.open(catalog, create=False) as wh:  # count again from scratch on Dask
        for name in ("ngram_counts", "pair_counts"):
            for path, _ in wh.batch_files(name, "books"):
                path.unlink()
    assert run_cli(count_ngrams.main, [*count, *on_cluster]) == 0
    assert_frame_equal(table(catalog, "SELECT * FROM pair_counts WHERE run_id = 'books' "
                                      "ORDER BY ALL"), local_counts)  # fmt: skip
    # scoring and the bipartite MI: local run vs cluster run
    started = time.time()
    assert run_cli(score_logprobs.main, command(catalog, model, "ext-local")) == 0
    assert run_cli(score_logprobs.main, [*command(catalog, model, "ext-dask"), *on_cluster]) == 0
    for run_id, extra in (("ext-local", []), ("ext-dask", on_cluster)):
        assert run_cli(bipartite_mi.main, ["--warehouse", str(catalog), "--run-id", run_id,
                                           *extra]) == 0  # fmt: skip
    rows = {r: table(catalog, "SELECT * EXCLUDE (run_id) FROM token_logprobs WHERE run_id = "
                     f"'{r}' ORDER BY condition, split_at, sample_id, position")
            for r in ("ext-local", "ext-dask")}  # fmt: skip
    assert_frame_equal(rows["ext-dask"], rows["ext-local"], check_exact=False, abs_tol=1e-5)
    mi = {r: table(catalog, "SELECT estimator, length, split_at, ratio, value, n FROM "
                   f"mi_estimates WHERE run_id = '{r}' AND estimator NOT LIKE 'compression_lzma%' "
                   "ORDER BY ALL") for r in ("ext-local", "ext-dask")}  # fmt: skip
    assert mi["ext-dask"].height > 0
    assert_frame_equal(mi["ext-dask"], mi["ext-local"], check_exact=False, abs_tol=1e-4)
    with Client(scheduler_file=str(sched), timeout=30) as client:
        stream = client.get_task_stream(start=started)
    scored_on = {t["worker"] for t in stream if "score-batch" in str(t["key"])}
    assert scored_on == {gpu_worker}  # tasks asked for resources={"GPU": 1}
