"""Scoring shards on a real Dask cluster with the Markov-chain oracle: worker processes killed
by pid before a commit and after one, and a batch that kills every worker that runs it. Every
batch ends committed once, check_warehouse passes, and the rows and the bipartite MI equal the
single-process run; with the retries used up the error is clear, the warehouse intact, and a
rerun (on Dask or in process) resumes."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from l2m_analysis.cli import run_cli
from l2m_analysis.cluster.scoring import score_run_on_dask
from l2m_analysis.errors import L2MError
from l2m_analysis.scoring import ScoringPlan, score_run
from l2m_analysis.scoring.driver import TABLE
from l2m_analysis.scoring.markov_oracle import MarkovOracle
from l2m_analysis.scoring.specs import MarkovOracleSpec
from l2m_analysis.warehouse import Warehouse
from l2m_analysis.warehouse.check import check
from pipelines import bipartite_mi, count_ngrams
from tests.cluster import create_once, local_cluster, markov_windows, write_markov_corpus

pytestmark = pytest.mark.slow  # real clusters of worker processes

LENGTH, SAMPLES, BATCH = 64, 22, 4  # 6 batches; the last holds 2 samples
PLAN = ScoringPlan(SAMPLES, (4, 16), batch_size=BATCH)
N_KEYS = sum(len(PLAN.batch_keys(a, min(a + BATCH, SAMPLES))) for a in range(0, SAMPLES, BATCH))


@dataclass(frozen=True)
class HeldMarkovSpec(MarkovOracleSpec):
    """The Markov oracle, but the first score call on the whole cluster writes its worker's pid
    to ``gate/pid`` and waits to be killed."""

    gate: str = ""

    def open(self):
        return HeldOracle(np.array(self.transition), gate=self.gate)


class HeldOracle(MarkovOracle):
    def __init__(self, transition, gate: str) -> None:
        super().__init__(transition)
        self.gate = Path(gate)

    def score(self, requests):
        if create_once(self.gate / "held"):
            _hold(self.gate)
        return super().score(requests)


@dataclass(frozen=True)
class PoisonMarkovSpec(MarkovOracleSpec):
    """The Markov oracle, but scoring the last (short) batch ends the worker process."""

    def open(self):
        return PoisonOracle(np.array(self.transition))


class PoisonOracle(MarkovOracle):
    def score(self, requests):
        if len(requests) == (SAMPLES % BATCH) * 5:  # 2 samples × (no_split + 2 + 2)
            os._exit(1)
        return super().score(requests)


def _hold(gate: Path) -> None:
    (gate / "pid.tmp").write_text(str(os.getpid()))
    os.replace(gate / "pid.tmp", gate / "pid")
    time.sleep(300)  # killed long before


def _hold_after_first_commit(gate: str) -> None:
    """On a worker: after the first batch committed on the whole cluster, wait to be killed."""
    import l2m_analysis.cluster.scoring as scoring

    real = scoring.append_batch

    def append_then_hold(*args, **kwargs):
        written = real(*args, **kwargs)
        if written and create_once(Path(gate) / "held"):
            _hold(Path(gate))
        return written

    scoring.append_batch = append_then_hold


def kill_when_held(gate: Path, killed: list) -> threading.Thread:
    """A thread that SIGKILLs the worker whose pid appears in ``gate/pid``."""

    def run() -> None:
        for _ in range(1200):
            if (gate / "pid").exists():
                pid = int((gate / "pid").read_text())
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """A Markov corpus with its 2-gram counts, and the run scored in this process ("local")."""
    catalog = tmp_path_factory.mktemp("dask-score") / "l2m.duckdb"
    transition = write_markov_corpus(catalog, "chain", docs=30, files=5)
    assert run_cli(count_ngrams.main, ["--warehouse", str(catalog), "--run-id", "chain",
                                       "--distances", "1"]) == 0  # fmt: skip
    windows, partners = markov_windows(catalog, "chain", LENGTH, SAMPLES)
    start_run(catalog, "local")
    with Warehouse.open(catalog, create=False) as wh:
        score_run(wh, "local", MarkovOracle(transition), windows, PLAN, partners,
                  show_progress=False)  # fmt: skip
    return catalog, transition, windows, partners


def start_run(catalog: Path, run_id: str) -> None:
    with Warehouse.open(catalog, create=False) as wh:
        wh.start_run("llm", run_id=run_id, model="markov-oracle", dataset="markov",
                     config={"corpus_run_id": "chain", "ratios": [2, 3, 4]})  # fmt: skip


def rows(catalog: Path, run_id: str) -> pl.DataFrame:
    with Warehouse.open(catalog, create=False) as wh:
        return wh.query(
            "SELECT * EXCLUDE (run_id) FROM token_logprobs WHERE run_id = ? "
            "ORDER BY condition, split_at, sample_id, position",
            [run_id],
        )


def estimates(catalog: Path, run_id: str) -> pl.DataFrame:
    assert run_cli(bipartite_mi.main, ["--warehouse", str(catalog), "--run-id", run_id]) == 0
    with Warehouse.open(catalog, create=False) as wh:
        return wh.query(
            "SELECT estimator, length, split_at, ratio, value, stderr, n FROM "
            "mi_estimates WHERE run_id = ? ORDER BY ALL",
            [run_id],
        )


def assert_like_the_local_run(catalog: Path, run_id: str) -> None:
    with Warehouse.open(catalog, create=False) as wh:
        records = wh.batches(TABLE, run_id)
    assert len(records) == len({r.key for r in records}) == N_KEYS  # each batch once
    report = check(Warehouse.open(catalog, create=False).root, tmp_age_s=0)
    assert report.ok, report.problems
    assert_frame_equal(rows(catalog, run_id), rows(catalog, "local"))
    assert_frame_equal(estimates(catalog, run_id), estimates(catalog, "local"))


@pytest.mark.parametrize("when", ["before-commit", "after-commit"])
def test_a_worker_killed_by_pid_loses_and_duplicates_nothing(chain, tmp_path, when) -> None:
    catalog, transition, windows, partners = chain
    run_id = f"dask-{when}"
    start_run(catalog, run_id)
    gate = tmp_path / "gate"
    gate.mkdir()
    spec = (HeldMarkovSpec(MarkovOracleSpec.of(transition).transition, gate=str(gate))
            if when == "before-commit" else MarkovOracleSpec.of(transition))  # fmt: skip
    killed: list[int] = []
    with local_cluster(2) as (_, client):
        if when == "after-commit":
            client.run(_hold_after_first_commit, str(gate))
        killer = kill_when_held(gate, killed)
        root = str(Warehouse.open(catalog, create=False).root)
        summary = score_run_on_dask(client, root, run_id, spec, windows, PLAN, partners)
        killer.join(5)
    assert killed, "no worker was held and killed"
    assert summary.batches_written + summary.batches_skipped >= N_KEYS
    assert_like_the_local_run(catalog, run_id)


def test_retries_used_up_give_a_clear_error_and_a_rerun_resumes(chain) -> None:
    catalog, transition, windows, partners = chain
    start_run(catalog, "dask-poison")
    root = str(Warehouse.open(catalog, create=False).root)
    poison = PoisonMarkovSpec(MarkovOracleSpec.of(transition).transition)
    with local_cluster(2, **{"distributed.scheduler.allowed-failures": 1}) as (_, client):
        with pytest.raises(L2MError, match="rerun the same command to resume"):
            score_run_on_dask(client, root, "dask-poison", poison, windows, PLAN, partners)
    with Warehouse.open(catalog, create=False) as wh:
        committed = wh.batches(TABLE, "dask-poison")
    last = PLAN.batch_keys(SAMPLES - SAMPLES % BATCH, SAMPLES)
    assert len(committed) == N_KEYS - len(last)  # every other batch is in
    assert check(Path(root), tmp_age_s=0).ok  # the warehouse is intact
    with local_cluster(2) as (_, client):  # the rerun scores only the missing batch
        summary = score_run_on_dask(client, root, "dask-poison", MarkovOracleSpec.of(transition),
                                    windows, PLAN, partners)  # fmt: skip
    assert summary.batches_written == len(last)
    assert summary.batches_skipped == N_KEYS - len(last)
    with Warehouse.open(catalog, create=False) as wh:  # and an in-process rerun finds it done
        again = score_run(wh, "dask-poison", MarkovOracle(transition), windows, PLAN, partners,
                          show_progress=False)  # fmt: skip
    assert again.batches_written == 0 and again.batches_skipped == N_KEYS
    assert_like_the_local_run(catalog, "dask-poison")
